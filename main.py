#!/usr/bin/env python
"""Train or test one stream of one model.

    python main.py --config config/nturgbd-cross-subject/train_joint.yaml
    python main.py --config config/nturgbd-cross-subject/test_joint.yaml
    torchrun --nproc_per_node=4 main.py --config ...        # DistributedDataParallel

Every config key can be overridden on the command line (``--base-lr 0.05``,
``--set train_feeder_args.window_size=64``); see ``python main.py --help``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine.config import parse_config
from engine.loop import TrainingError
from engine.run import run
from utils.errors import ConfigError, DataError


def main(argv: list[str] | None = None) -> int:
    try:
        run(parse_config(argv))
    except (ConfigError, DataError, TrainingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the last full checkpoint is intact; continue with --resume auto", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
