#!/usr/bin/env python
"""Fuse the class scores of several streams and models, matched by sample name.

    python ensemble.py --datasets ntu/xsub                      # every test run of the benchmark, weights 1:1
    python ensemble.py --datasets ntu/xsub --preset 4s          # joint 2 : joint motion 1 : bone 2 : bone motion 1
    python ensemble.py --scores j.pkl b.pkl --labels data/ntu/xsub/val_label.pkl --alpha 0.8
    python ensemble.py --datasets ntu/xsub --search             # weights searched on the validation split

Inputs are the score pickles of the test phase (``{sample_name: logits (num_class,)}``) and a label
pickle ``(names, labels)``. The label file defines the sample set. Every score file must hold exactly
those names, in any order, and the same number of classes; otherwise the run stops with an error
naming the file and a few of the offending samples. (2s-AGCN paired the files by position, which
gives nonsense when two files list the samples in different orders.)

Weights: by default every stream gets weight 1 and raw logits are summed, as in 2s-AGCN
(``joint + alpha * bone`` with ``alpha = 1``). ``--preset 4s`` gives the common four-stream weights
joint 2, joint motion 1, bone 2, bone motion 1 (by the stream named in each folder). ``--weights``
follows the file order: ``--scores`` as given; ``--datasets`` per model joint, joint_motion, bone,
bone_motion, so ``--weights 2 1 2 1`` is the four-stream setting. ``--softmax`` turns each stream into
probabilities before the weighted sum. ``--search`` chooses the weights on the validation scores that training
writes when it has a validation set (``val_feeder_args`` or ``val_fraction > 0``: ``epoch<E>_val_score.pkl``)
and then applies them to the test scores.

Splits (docs/custom_data.md, "The split"): ``train`` fits, ``val`` picks weights and fusion weights, ``test``
is the final evaluation. ``--datasets`` scores ``test_label.pkl``, or ``val_label.pkl`` when the data have no
test part (2s-AGCN's naming: NTU's, Kinetics' and NW-UCLA's ``val`` files are their test sets).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd

from engine.fusion import (
    PRESETS,
    TEST_SCORE,
    FusionOptions,
    Job,
    ScoreFile,
    _numbered,
    discover,
    discover_val,
    run_job,
    validation_labels,
)
from feeders.streams import STREAMS
from utils.cli import run_cli
from utils.errors import ConfigError
from utils.io import save_text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ensemble.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "default weights: raw logits, 1 per stream (2s-AGCN). --preset 4s: joint 2, joint_motion 1, "
            "bone 2, bone_motion 1.\nexit status: 0 on success, 2 on bad input (one 'error: ...' line)."
        ),
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--datasets",
        nargs="+",
        metavar="DATASET",
        help="benchmarks, e.g. ntu/xsub ntu120/xset120 (default ntu/xsub): score files <work-root>/<dataset>/*_test_*/epoch1_test_score.pkl, labels <data-root>/<dataset>/test_label.pkl, else val_label.pkl (2s-AGCN's name for the test set)",
    )
    src.add_argument(
        "--scores",
        nargs="+",
        type=Path,
        metavar="PKL",
        help="score pickles {name: logits} to fuse (needs --labels)",
    )
    p.add_argument(
        "--labels", type=Path, metavar="PKL", help="label pickle (names, labels) of the scored samples"
    )
    p.add_argument("--work-root", type=Path, default=Path("./work_dir"), help="default ./work_dir")
    p.add_argument("--data-root", type=Path, default=Path("./data"), help="default ./data")
    p.add_argument(
        "--models", nargs="+", metavar="MODEL", help="with --datasets: only these models (folder prefix)"
    )
    p.add_argument(
        "--streams",
        nargs="+",
        metavar="STREAM",
        help=f"with --datasets: only these streams ({', '.join(STREAMS)})",
    )
    w = p.add_mutually_exclusive_group()
    w.add_argument(
        "--weights",
        nargs="+",
        type=float,
        metavar="W",
        help="one weight per score file, in the order of the table (--datasets: joint, joint_motion, bone, bone_motion per model)",
    )
    w.add_argument(
        "--alpha", type=float, help="two files: weights 1 and ALPHA (2s-AGCN's joint + alpha * bone)"
    )
    w.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="2s: joint 1, bone 1; 4s: joint 2, joint_motion 1, bone 2, bone_motion 1; posec3d: keypoint 1, "
        "limb 1; 6s: 4s plus keypoint 2, limb 2 (by stream name; with PoseC3D streams add --softmax)",
    )
    w.add_argument(
        "--search",
        action="store_true",
        help="search the weights on validation scores, then apply them to the test scores",
    )
    w.add_argument(
        "--search-on-test",
        action="store_true",
        help="search the weights on the test labels (optimistically biased; prints a warning)",
    )
    p.add_argument(
        "--val-scores",
        nargs="+",
        type=Path,
        metavar="PKL",
        help="--search: validation score pickles, same order as the test files (default: latest epoch*_val_score.pkl of <model>_<stream>)",
    )
    p.add_argument(
        "--val-labels",
        type=Path,
        metavar="PKL",
        help="--search: label pickle covering the validation names (default <data-root>/<dataset>/val_label.pkl for data with a test part and a validation part, else train_label.pkl)",
    )
    p.add_argument("--softmax", action="store_true", help="softmax each stream before the weighted sum")
    p.add_argument("--csv", type=Path, help="write the accuracy table as CSV (fractions)")
    p.add_argument("--per-class-csv", type=Path, metavar="CSV", help="per-class accuracy of the fusion")
    p.add_argument("--confusion-png", type=Path, metavar="PNG", help="confusion matrix of the fusion")
    p.add_argument(
        "--label-map",
        help="class names for the per-class outputs: a file or a shipped map (default by class count)",
    )
    p.add_argument(
        "--out", type=Path, metavar="PKL", help="write the fused scores {name: float32 (num_class,)}"
    )
    return p


def _jobs(args: argparse.Namespace) -> list[Job]:
    if args.scores:
        if args.labels is None:
            raise ConfigError("--scores needs --labels (the label pickle of the scored samples)")
        if args.models or args.streams:
            raise ConfigError("--models/--streams filter what --datasets finds; list the files with --scores")
        jobs = [Job([ScoreFile.from_path(p) for p in args.scores], args.labels)]
    else:
        datasets = args.datasets or ["ntu/xsub"]
        if len(datasets) > 1 and (args.labels or args.val_scores or args.val_labels):
            raise ConfigError("--labels, --val-scores and --val-labels apply to one dataset at a time")
        jobs = discover(datasets, args.work_root, args.data_root, args.models, args.streams)
        for job in jobs:
            job.labels = args.labels or job.labels
            pattern = Path(args.work_root, job.dataset, "*_test_*", TEST_SCORE)
            job.notes.append(
                f"{job.dataset}: {len(job.files)} score file(s) match {pattern}; labels {job.labels}"
            )
    if (args.val_scores or args.val_labels) and not args.search:
        raise ConfigError("--val-scores and --val-labels are the validation data of --search")
    for job in jobs:
        if not args.search:
            continue
        job.val_labels = args.val_labels
        if args.val_scores:
            if len(args.val_scores) != len(job.files):
                raise ConfigError(
                    f"--val-scores: {len(args.val_scores)} files for {len(job.files)} test score files, "
                    f"which are in this order: {_numbered(job.files)}"
                )
            job.val_files = list(args.val_scores)
        elif job.dataset is None:
            raise ConfigError("--search with --scores needs --val-scores (same order) and --val-labels")
        else:
            job.val_files = discover_val(job.dataset, job.files, args.work_root)
        if job.val_labels is None and job.dataset is not None:
            job.val_labels = validation_labels(Path(args.data_root) / job.dataset, job.val_files[0])
        if job.val_labels is None:
            raise ConfigError(
                "--search needs --val-labels (the label pickle covering the validation samples)"
            )
    return jobs


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status (2 with an ``error:`` line on bad input)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2

    def go() -> None:
        jobs = _jobs(args)
        options = FusionOptions.from_namespace(args)
        tables = [run_job(options, job, len(jobs) > 1) for job in jobs]
        if args.csv is not None:
            save_text(pd.concat(tables).to_csv(index=False, float_format="%.6f"), args.csv)
            print(f"wrote {args.csv}")

    return run_cli(go)


if __name__ == "__main__":
    sys.exit(main())
