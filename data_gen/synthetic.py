"""Synthetic skeleton actions as genuine NTU RGB+D ``.skeleton`` files, Kinetics-skeleton JSON and MMAction2 pickles.

The project's embedded default dataset. Procedurally animated actions (``resources/labels/synthetic.txt``:
waving, clapping, kicking, squatting, a two-person handshake, ...) are performed by subjects with their own
body proportions and style (amplitude, tempo, handedness, posture) and filmed by three Kinect-like cameras
at -45, 0 and +45 degrees of yaw, with speed and length variation, joint noise, jitter spikes, tracking
dropouts, empty frames and occasional extra bodies. The files go through the same readers as the real
datasets, so the cross-subject and cross-view benchmarks mean what they mean for NTU RGB+D.

Output layout (``--out DIR``)::

    DIR/nturgb+d_skeletons/SsssCcccPpppRrrrAaaa.skeleton   NTU text format (CRLF, 7 significant digits)
    DIR/samples_with_missing_skeletons.txt                 empty ignore list (every sample has a body)
    DIR/kinetics_{train,val}/<11-character id>.json        Kinetics-skeleton (``--format kinetics|both``)
    DIR/kinetics_{train,val}_label.json                    ``{id: {has_skeleton, label, label_index}}``
    DIR/synthetic_3d.pkl, DIR/synthetic_2d.pkl             MMAction2/PYSKL annotations (``--format mmaction|all``):
                                                           3D camera-space joints; 2D COCO-17 pixels of the
                                                           colour camera with scores; splits xsub/xview_{train,val}
    DIR/manifest.csv                                       one row per recording
    DIR/label_map.txt                                      the class names used, in label order

Subjects are NTU performer ids, alternating between the cross-subject training ids and the others; each
subject is recorded in one setup (:func:`setup_of`), and replication r of subject p faces the
left camera (C001) when p + r is even, else the right one (C003), as NTU's two replications do. Kinetics
files are split train/val by the same subject rule.

Determinism: every draw comes from ``numpy.random.default_rng([seed, stream, *ids])``. A subject's body
and style depend on (seed, subject); a performance, the motion that all cameras of one (subject, action,
replication) record, on (seed, subject, action, replication); camera noise and tracking artefacts on
(seed, sample name fields). Files are therefore byte-identical for any worker count and any subset of
classes, subjects or cameras.

Usage::

    python data_gen/synthetic.py --out data/synthetic/raw              # demo preset (360 NTU files)
    python -m data_gen.synthetic --out DIR --format both --classes 15 --subjects 40 --replications 2
    python data_gen/synthetic.py --out DIR --format all                # NTU, Kinetics and MMAction2 files

The code lives in ``data_gen/synth/``: ``geometry`` (joint indices, random streams, vector helpers),
``body`` (proportions, style, the performer), ``actions`` (one motion generator per class),
``capture`` (cameras, noise, tracking artefacts), ``writers`` (the file formats) and ``generate``
(names, splits, parallel jobs); this file is the command line and re-exports the API.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_gen.synth.actions import ACTIONS, LABEL_MAP, Action, load_class_names
from data_gen.synth.capture import CAMERA_YAW_DEG, Artefacts
from data_gen.synth.generate import (
    FORMATS,
    MAX_FRAMES,
    NTU_DIR,
    XSUB_TEST_SUBJECTS,
    XSUB_TRAIN_SUBJECTS,
    XVIEW_TRAIN_CAMERAS,
    Summary,
    choose_subjects,
    generate,
    sample_name,
    setup_of,
)
from data_gen.synth.geometry import FPS
from data_gen.synth.writers import kinetics_id
from utils.errors import ConfigError

__all__ = [
    "ACTIONS",
    "CAMERA_YAW_DEG",
    "FORMATS",
    "FPS",
    "LABEL_MAP",
    "MAX_FRAMES",
    "NTU_DIR",
    "XSUB_TEST_SUBJECTS",
    "XSUB_TRAIN_SUBJECTS",
    "XVIEW_TRAIN_CAMERAS",
    "Action",
    "Artefacts",
    "Summary",
    "build_parser",
    "choose_subjects",
    "generate",
    "kinetics_id",
    "load_class_names",
    "main",
    "sample_name",
    "setup_of",
]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="synthetic.py",
        description="Write the synthetic skeleton dataset as NTU .skeleton files, Kinetics-skeleton JSON "
        "and/or MMAction2 annotation pickles.",
    )
    p.add_argument("--out", default="data/synthetic/raw", help="output folder (default: %(default)s)")
    p.add_argument(
        "--format",
        nargs="+",
        default=["ntu"],
        choices=FORMATS,
        help="one or more of ntu, kinetics, mmaction (synthetic_{3d,2d}.pkl); both = ntu kinetics; "
        "all = all three (default: ntu)",
    )
    p.add_argument("--classes", type=int, default=12, help="first K classes of the label map (default: 12)")
    p.add_argument(
        "--subjects", type=int, default=10, help="number of performers, half xsub-train (default: 10)"
    )
    p.add_argument(
        "--subject-ids", type=int, nargs="+", help="explicit performer ids 1..40 (overrides --subjects)"
    )
    p.add_argument("--replications", type=int, default=1, help="takes per subject and action (default: 1)")
    p.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 3], help="camera ids (default: 1 2 3)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--difficulty", type=float, default=1.0, help="artefact scale, 0 = clean (default: 1)")
    p.add_argument("--noise-mm", type=float, help="joint noise in mm (default: 2.5 x difficulty)")
    p.add_argument(
        "--max-frames", type=int, default=None, help="cap on frames per clip (default: 300, 299 Kinetics)"
    )
    p.add_argument("--workers", type=int, help="worker processes (default: automatic, 0 = none)")
    p.add_argument(
        "--overwrite", action="store_true", help="remove files of an earlier, different run in --out"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary line")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        summary = generate(
            args.out,
            fmt=args.format[0] if len(args.format) == 1 else args.format,
            num_classes=args.classes,
            subjects=args.subject_ids if args.subject_ids else args.subjects,
            replications=args.replications,
            cameras=args.cameras,
            seed=args.seed,
            difficulty=args.difficulty,
            noise_mm=args.noise_mm,
            max_frames=args.max_frames,
            workers=args.workers,
            overwrite=args.overwrite,
            progress=not args.quiet,
        )
    except (ConfigError, OSError) as exc:
        print(f"synthetic.py: error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        lo, hi, mean = summary.frames
        print(
            f"wrote {summary.num_samples} recordings ({len(summary.class_names)} classes, {len(summary.subjects)} "
            f"subjects, cameras {', '.join(map(str, summary.cameras))}, {lo}-{hi} frames, mean {mean:.0f}) "
            f"as {summary.fmt} to {summary.out_dir} in {summary.seconds:.1f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
