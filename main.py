#!/usr/bin/env python
"""Train or test one stream of one model.

    python main.py --config config/nturgbd-cross-subject/train_joint.yaml
    python main.py --config config/nturgbd-cross-subject/test_joint.yaml
    torchrun --nproc_per_node=4 main.py --config ...        # DistributedDataParallel

Every config key can be overridden on the command line (``--base-lr 0.05``,
``--set train_feeder_args.window_size=64``); see ``python main.py --help``. Expected failures (a bad
config, missing or bad data, an unwritable folder, a full disk) end with one ``error:`` line and exit
code 2; ``SKELETON_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from utils.cli import one_line_warnings, run_cli


def main(argv: list[str] | None = None) -> int:
    one_line_warnings()

    def go() -> None:
        from engine.config import parse_config
        from engine.run import run

        run(parse_config(argv))

    return run_cli(go, "interrupted: the last full checkpoint is intact; continue with --resume")


if __name__ == "__main__":
    sys.exit(main())
