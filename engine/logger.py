"""Run log: timestamped lines on the console and in ``<work_dir>/log.txt``; metrics table as CSV.

Only the main process (rank 0) writes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from utils.io import save_text


class RunLogger:
    def __init__(self, work_dir: str | Path, enabled: bool = True, to_file: bool = True) -> None:
        self.work_dir = Path(work_dir)
        self.enabled = enabled
        self.log_path = self.work_dir / "log.txt" if (enabled and to_file) else None
        self.history: list[dict[str, Any]] = []

    def __call__(self, message: str) -> None:
        if not self.enabled:
            return
        line = f"[ {time.asctime()} ] {message}"
        print(line, file=sys.stdout, flush=True)
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(line + "\n")

    def warn(self, message: str) -> None:
        self(f"WARNING: {message}")

    def record(self, row: dict[str, Any]) -> pd.DataFrame:
        """Add a row to the metrics history and rewrite ``metrics.csv``; returns the table."""
        self.history.append(row)
        table = pd.DataFrame(self.history)
        if self.enabled:
            save_text(table.to_csv(index=False, float_format="%.6g"), self.work_dir / "metrics.csv")
        return table
