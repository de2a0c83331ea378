"""Motion stream files (temporal differences of joint and bone), as 2s-AGCN writes them.

For every dataset folder and part: ``{part}_data_joint.npy`` to ``{part}_data_joint_motion.npy`` and
``{part}_data_bone.npy`` to ``{part}_data_bone_motion.npy``, with
``motion[:, :, t] = x[:, :, t + 1] - x[:, :, t]`` and the last frame zero (:mod:`feeders.streams`).
When the bone file is missing, bone motion is computed from the joint file on the fly (the same
numbers). ``--score-channel 2`` keeps a confidence channel as the mean of the two frames' values.

Inputs are read memory-mapped in chunks of samples; outputs are published only when complete and
kept unless ``--overwrite``.

Usage, from the repository root::

    python data_gen/gen_motion_data.py --dataset ntu/xsub ntu/xview
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse
import functools
from collections.abc import Sequence
from pathlib import Path

from data_gen.common import (
    LOG,
    RunSummary,
    add_common_arguments,
    cli,
    derive_file,
    setup_logging,
    split_done,
)
from data_gen.gen_bone_data import (
    DEFAULT_DATASETS,
    PARTS,
    add_dataset_arguments,
    check_joints,
    resolve_layout,
)
from feeders.streams import bone_parents, make_stream
from graph.layouts import Layout
from utils.errors import DataError

STREAMS = ("joint", "bone")


def gen_motion(
    datasets: Sequence[str] = DEFAULT_DATASETS,
    data_root: str | os.PathLike = "./data",
    parts: Sequence[str] = PARTS,
    streams: Sequence[str] = STREAMS,
    layout: str | Layout | None = None,
    score_channel: int | None = None,
    overwrite: bool = False,
    strict: bool = False,
) -> RunSummary:
    """Write ``{part}_data_{stream}_motion.npy`` for every dataset, part and stream; returns the summary."""
    for stream in streams:
        if stream not in STREAMS:
            raise ValueError(f"unknown stream '{stream}'; expected joint and/or bone")
    summary = RunSummary("gen_motion_data", strict=strict)
    for dataset in datasets:
        folder = Path(data_root) / dataset
        for part in parts:
            for stream in streams:
                rep = summary.split(f"{dataset}/{part}/{stream}_motion")
                dst = folder / f"{part}_data_{stream}_motion.npy"
                if split_done(dst, None) and not overwrite:
                    rep.status = "exists"
                    continue
                joint = folder / f"{part}_data_joint.npy"
                src = folder / f"{part}_data_{stream}.npy"
                try:
                    kind, parents = "joint_motion", None  # the frame difference of the file as it is
                    if stream == "bone" and not src.is_file():
                        skeleton = resolve_layout(dataset, layout)
                        check_joints(joint, skeleton)
                        LOG.info("%s not found: computing bone motion from %s", src, joint.name)
                        src, kind, parents = joint, "bone_motion", bone_parents(skeleton)
                    transform = functools.partial(
                        make_stream, stream=kind, parents=parents, score_channel=score_channel
                    )
                    rep.candidates = rep.written = derive_file(
                        src, dst, transform, f"{dataset} {part} {stream} motion"
                    )
                except DataError as exc:
                    summary.add_bad(str(exc))
                    rep.status = "empty"
                    continue
                rep.status = "written"
    summary.log()
    return summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Joint and bone motion (frame differences) files from joint/bone files.",
    )
    add_dataset_arguments(parser, DEFAULT_DATASETS)
    parser.add_argument(
        "--streams",
        nargs="+",
        default=list(STREAMS),
        choices=list(STREAMS),
        help="streams to difference (default: joint bone)",
    )
    add_common_arguments(parser, workers=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    return cli(
        lambda: gen_motion(
            args.dataset,
            args.data_root,
            args.parts,
            streams=args.streams,
            layout=args.layout,
            score_channel=args.score_channel,
            overwrite=args.overwrite,
            strict=args.strict,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
