"""Bone stream files from joint files, as 2s-AGCN writes them.

For every dataset folder and part: ``{data_root}/{dataset}/{part}_data_joint.npy`` (N, C, T, V, M) to
``{part}_data_bone.npy``, where ``bone[v] = joint[v] - joint[parent(v)]`` and the root's bone is
zero (:mod:`feeders.streams`, bone pairs from :mod:`graph.layouts`). By default every channel is
differenced, as 2s-AGCN does (for Kinetics that includes the OpenPose score, and bones are rooted
at the nose); ``--score-channel 2`` keeps a confidence channel as the mean of the two joints'.

The input is read memory-mapped in chunks of samples and the output published only when
complete, so memory stays bounded for any dataset size. Existing outputs are kept unless
``--overwrite``.

Usage, from the repository root::

    python data_gen/gen_bone_data.py --dataset ntu/xsub ntu/xview kinetics
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse
from collections.abc import Sequence
from pathlib import Path

from data_gen.common import (
    RunSummary,
    add_common_arguments,
    cli,
    derive_file,
    open_npy,
    setup_logging,
    split_done,
)
from feeders.streams import bone_parents, make_stream
from graph.layouts import Layout, get_layout
from utils.errors import ConfigError, DataError

DEFAULT_DATASETS = ("ntu/xview", "ntu/xsub")
PARTS = ("train", "val")


def infer_layout(dataset: str) -> str:
    """Layout name for a dataset folder such as ``ntu/xsub``, ``ntu120/xset120``, ``kinetics``."""
    for part in Path(dataset).parts:
        name = part.lower()
        if name.startswith("ntu"):
            return "ntu_rgb_d"
        if name.startswith("kinetics"):
            return "openpose"
        if "ucla" in name:
            return "nw_ucla"
    raise ConfigError(
        f"cannot infer the skeleton layout of dataset '{dataset}' (expected a name starting with ntu or "
        "kinetics, or containing ucla); pass --layout"
    )


def resolve_layout(dataset: str, layout: str | Layout | None) -> Layout:
    return get_layout(layout if layout is not None else infer_layout(dataset))


def check_joints(path: Path, layout: Layout) -> None:
    """The joint axis of ``path`` (N, C, T, V, M) must match the layout."""
    array = open_npy(path)
    shape = array.shape
    del array
    if len(shape) != 5 or shape[3] != layout.num_node:
        raise DataError(
            f"{path}: expected (N, C, T, {layout.num_node}, M) for layout '{layout.name}', got shape {shape}"
        )


def gen_bone(
    datasets: Sequence[str] = DEFAULT_DATASETS,
    data_root: str | os.PathLike = "./data",
    parts: Sequence[str] = PARTS,
    layout: str | Layout | None = None,
    score_channel: int | None = None,
    overwrite: bool = False,
    strict: bool = False,
) -> RunSummary:
    """Write ``{part}_data_bone.npy`` next to every ``{part}_data_joint.npy``; returns the summary."""
    summary = RunSummary("gen_bone_data", strict=strict)
    for dataset in datasets:
        skeleton = resolve_layout(dataset, layout)
        parents = bone_parents(skeleton)
        folder = Path(data_root) / dataset
        for part in parts:
            rep = summary.split(f"{dataset}/{part}")
            src, dst = folder / f"{part}_data_joint.npy", folder / f"{part}_data_bone.npy"
            if split_done(dst, None) and not overwrite:
                rep.status = "exists"
                continue
            try:
                check_joints(src, skeleton)
                rep.candidates = rep.written = derive_file(
                    src,
                    dst,
                    lambda x, p=parents: make_stream(x, "bone", parents=p, score_channel=score_channel),
                    f"{dataset} {part} bone",
                )
            except DataError as exc:
                summary.add_bad(str(exc))
                rep.status = "empty"
                continue
            rep.status = "written"
    summary.log()
    return summary


def add_dataset_arguments(parser: argparse.ArgumentParser, default_datasets: Sequence[str]) -> None:
    """Flags shared by gen_bone_data and gen_motion_data."""
    parser.add_argument(
        "--dataset",
        nargs="+",
        default=list(default_datasets),
        help="dataset folders under --data_root, e.g. ntu/xsub ntu120/xset120 kinetics (default: %(default)s)",
    )
    parser.add_argument(
        "--data_root", default="./data", help="folder that holds the dataset folders (default: %(default)s)"
    )
    parser.add_argument(
        "--parts", "--part", nargs="+", default=list(PARTS), help="parts to process (default: train val)"
    )
    parser.add_argument(
        "--layout",
        default=None,
        help="skeleton layout (ntu_rgb_d, openpose/kinetics, nw_ucla, coco); default: from the dataset name",
    )
    parser.add_argument(
        "--score-channel",
        type=int,
        default=None,
        help="keep this channel (e.g. 2, an OpenPose confidence) as a mean instead of differencing it; "
        "default: difference every channel, as 2s-AGCN",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Bone stream (joint minus parent joint) files from joint files.",
    )
    add_dataset_arguments(parser, DEFAULT_DATASETS)
    add_common_arguments(parser, workers=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    return cli(
        lambda: gen_bone(
            args.dataset,
            args.data_root,
            args.parts,
            layout=args.layout,
            score_channel=args.score_channel,
            overwrite=args.overwrite,
            strict=args.strict,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
