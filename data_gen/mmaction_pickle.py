"""MMAction2 / PYSKL skeleton pickles <-> this project's (N, C, T, V, M) ``.npy`` + label ``.pkl`` files.

``to-npy``: two splits of an annotation pickle (``feeders/pose_pickle.py`` describes the format) to
``{out_folder}/{train,val}_data_joint.npy`` (float32 (N, C, T, V, M); C = 3: x, y, z, or x, y and the
``keypoint_score``) and ``{train,val}_label.pkl`` = ``(frame_dirs, labels)``, plus
``preprocess.json``. Per clip, exactly as ``data_gen/custom_gendata.py`` does for a clip file with
the same keypoints and scores (so ``predict.py`` reproduces a row from such a file): persons beyond
``--max-person`` dropped (the highest mean score stay, else the most motion), joints with score 0
zeroed, clips longer than ``--max-frame`` uniformly downsampled (default: the longest clip, at most
300 frames), ``--normalize`` (default none: the coordinates as stored), zero padding.

``to-pickle``: a generated data folder back to one annotation pickle whose ``split`` dict maps
``--train-split`` / ``--val-split`` / ``--test-split`` names to the ``train`` / ``val`` / ``test``
parts. Per sample: persons that are zero throughout dropped, trailing all-zero frames dropped
(``total_frames`` = what is left), ``frame_dir`` = the name without ``.skeleton``; with a score
channel (2D layouts) channel 2 becomes ``keypoint_score`` and ``--img-shape`` sets ``img_shape`` /
``original_shape``. The layout comes from ``--layout``, else the folder's ``preprocess.json``, else
the joint count (25: NTU, 17: COCO, 18: OpenPose).

Bad samples (wrong joint count or dimension, NaN/inf, empty, missing score) are reported in one line
naming the file and sample, skipped and listed in the summary; ``--strict`` publishes nothing then.
Outputs are published only when complete; existing ones are kept unless ``--overwrite``.
Memory: ``to-npy`` holds the input pickle (about its file size) and writes through memory maps;
``to-pickle`` reads memory-mapped and holds the output's arrays (the trimmed data) until it is written.

Usage, from the repository root::

    python data_gen/mmaction_pickle.py to-npy --data_path ./data/mmaction/ntu60_3d.pkl \\
        --out_folder ./data/ntu_mmaction/xsub --train-split xsub_train --val-split xsub_val --layout ntu_rgb_d
    python data_gen/mmaction_pickle.py to-pickle --data_folder ./data/ntu/xsub --out ./data/ntu_xsub.pkl \\
        --train-split xsub_train --val-split xsub_val
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.common import (
    CHUNK_ROWS,
    LOG,
    OPTIONS_FILE,
    RunSummary,
    SplitWriter,
    add_common_arguments,
    cli,
    load_options,
    open_npy,
    progress,
    record_options,
    remove_stale_temp_files,
    setup_logging,
    split_done,
    write_rows,
)
from data_gen.custom_gendata import (
    MAX_FRAME_CAP,
    MAX_PERSON,
    NORMALIZE,
    Clip,
    agcn_axes,
    check_clip,
    load_layout,
    process_clip,
)
from feeders.pose_pickle import load_annotation_file
from graph.layouts import Layout
from utils.errors import ConfigError, DataError
from utils.io import load_label_file, save_pickle

PARTS = ("train", "val", "test")
#: MMAction2 dataset names -> this project's layout names (same joint order).
LAYOUT_NAMES = {"nturgb+d": "ntu_rgb_d", "coco": "coco", "openpose": "openpose"}
LAYOUT_BY_JOINTS = {25: "ntu_rgb_d", 17: "coco", 18: "openpose"}
SCORE_LAYOUTS = ("coco", "openpose")  # 2D layouts: a third channel is the detector's score


def _layout(spec: str | os.PathLike | Mapping[str, Any] | Layout) -> Layout:
    if isinstance(spec, str):
        spec = LAYOUT_NAMES.get(spec, spec)
    return load_layout(spec)


def _split_paths(folder: Path, part: str) -> tuple[Path, Path]:
    return folder / f"{part}_data_joint.npy", folder / f"{part}_label.pkl"


# -- pickle -> npy ---------------------------------------------------------------------------------
def annotation_clip(path: str | os.PathLike, ann: Mapping[str, Any], layout: Layout) -> Clip:
    """An annotation as a checked :class:`data_gen.custom_gendata.Clip`; DataError naming the file and sample."""
    where = f"{path}: sample '{ann.get('frame_dir')}'"
    kp, score = ann.get("keypoint"), ann.get("keypoint_score")
    if not isinstance(kp, np.ndarray) or kp.ndim != 4 or kp.dtype.kind not in "fiu":
        raise DataError(
            f"{where}: keypoint is not a numeric (M, T, V, C) array (got {getattr(kp, 'shape', kp)!r})"
        )
    if score is not None and np.shape(score) != kp.shape[:3]:
        raise DataError(
            f"{where}: keypoint_score has shape {np.shape(score)}; expected (M, T, V) = {kp.shape[:3]}"
        )
    keypoints = kp.astype(np.float64)
    scores = None if score is None else np.asarray(score, dtype=np.float64)
    if not np.isfinite(keypoints).all() or (scores is not None and not np.isfinite(scores).all()):
        raise DataError(f"{where}: keypoint or keypoint_score holds NaN or inf")
    if kp.shape[0] == 0 or kp.shape[1] == 0 or not keypoints.any():
        raise DataError(f"{where}: empty clip (keypoint shape {kp.shape}, all zero or no frames)")
    label = ann.get("label")
    if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)) or label < 0:
        raise DataError(f"{where}: label {label!r} is not a class index (integer >= 0)")
    clip = Clip(keypoints, scores, int(label), None)
    check_clip(where, clip, layout)
    return clip


def to_npy(
    data_path: str | os.PathLike,
    out_folder: str | os.PathLike,
    layout: str | os.PathLike | Mapping[str, Any] | Layout,
    splits: Mapping[str, str],
    max_frame: int | None = None,
    max_person: int = MAX_PERSON,
    normalize: str = "none",
    zaxis: Sequence[int] | None = None,
    xaxis: Sequence[int] | None = None,
    strict: bool = False,
    overwrite: bool = False,
) -> RunSummary:
    """Write the parts ``splits`` = {part: split name} (part in train/val/test) of an annotation pickle."""
    out_folder = Path(out_folder)
    skeleton = _layout(layout)
    if normalize not in NORMALIZE:
        raise ConfigError(f"--normalize: unknown mode '{normalize}'; expected one of {', '.join(NORMALIZE)}")
    if normalize in ("agcn", "view"):
        zaxis, xaxis = agcn_axes(skeleton, zaxis, xaxis)
    for key, value in (("--max-frame", max_frame), ("--max-person", max_person)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"{key}: expected a positive integer, got {value!r}")
    if not splits:
        raise ConfigError("give at least one of --train-split, --val-split, --test-split")
    summary = RunSummary("mmaction_pickle to-npy", strict=strict)
    source = load_annotation_file(data_path)
    selected = {part: source.select(name) for part, name in splits.items()}
    clips: dict[str, list[tuple[str, Clip]]] = {}
    for part, anns in selected.items():
        rep = summary.split(part)
        rep.candidates = len(anns)
        if split_done(*_split_paths(out_folder, part)) and not overwrite:
            rep.status = "exists"
            continue
        good = []
        for ann in anns:
            try:
                good.append((str(ann["frame_dir"]), annotation_clip(data_path, ann, skeleton)))
            except DataError as exc:
                summary.add_bad(str(exc))
                rep.skipped["bad sample"] += 1
        clips[part] = good
    todo = {part: good for part, good in clips.items() if good}
    for part in clips:
        if not clips[part]:
            summary.split(part).status = "empty"
    if strict and summary.bad:
        for part in todo:
            summary.split(part).status = "aborted"
        summary.log()
        return summary
    every = [c for good in clips.values() for _, c in good]
    channels = {c.keypoints.shape[3] for c in every}
    if len(channels) > 1:
        raise DataError(f"{data_path}: clips mix C={sorted(channels)} values per joint; expected one kind")
    use_scores = any(c.scores is not None for c in every)
    if use_scores and not all(c.scores is not None for c in every):
        raise DataError(f"{data_path}: some clips have keypoint_score and others not")
    if max_frame is None and every:
        longest = max(c.keypoints.shape[1] for c in every)
        max_frame = min(longest, MAX_FRAME_CAP)
        over = sum(c.keypoints.shape[1] > max_frame for c in every)
        if over:
            summary.add_warning(
                f"{over} clip(s) longer than {max_frame} frames are uniformly downsampled to it"
            )
    options = {
        "layout": skeleton,
        "channels": channels.pop() if channels else None,
        "max_frame": max_frame,
        "max_person": max_person,
        "normalize": normalize,
        "scores": use_scores,
        "zaxis": zaxis,
        "xaxis": xaxis,
    }
    for part, good in todo.items():
        _write_part(summary, out_folder, part, good, options, str(data_path))
    if any(summary.split(p).status == "written" for p in splits):
        record_options(summary, out_folder, "data_gen.custom_gendata.read_clip", {**options, "classes": None})
    summary.log()
    return summary


def _write_part(
    summary: RunSummary,
    out_folder: Path,
    part: str,
    good: list[tuple[str, Clip]],
    options: Mapping[str, Any],
    source: str,
) -> None:
    """Process and write one part's clips through a memory-mapped split; bad ones are dropped."""
    rep = summary.split(part)
    channels = int(options["channels"]) + int(options["scores"])
    shape = (channels, int(options["max_frame"]), options["layout"].num_node, int(options["max_person"]))
    npy, pkl = _split_paths(out_folder, part)
    writer = SplitWriter(npy, pkl, [n for n, _ in good], [int(c.label) for _, c in good], shape)  # type: ignore[arg-type]
    keep: list[int] = []
    args = {k: options[k] for k in ("max_frame", "max_person", "normalize", "scores", "zaxis", "xaxis")}
    try:
        writer.open()
        rows: list[tuple[int, np.ndarray]] = []
        with progress(len(good), f"{part}: write") as bar:
            for row, (name, clip) in enumerate(good):
                try:
                    sample, notes = process_clip(
                        clip, options["layout"], path=f"{source}: sample '{name}'", **args
                    )
                except DataError as exc:
                    summary.add_bad(str(exc))
                    rep.skipped["bad sample"] += 1
                    continue
                for note in notes:
                    LOG.debug("%s", note)
                rows.append((row, sample))
                keep.append(row)
                if len(rows) >= CHUNK_ROWS:
                    write_rows(writer.tmp_path, rows)
                    rows = []
                bar.update(1)
            write_rows(writer.tmp_path, rows)
        if not keep or (summary.strict and summary.bad):
            rep.status = "empty" if not keep else "aborted"
            return
        rep.written = writer.publish(np.asarray(keep))
        rep.status = "written"
    finally:
        writer.abort()


# -- npy -> pickle ---------------------------------------------------------------------------------
def _folder_layout(folder: Path, layout: Any, joints: int) -> Layout:
    """``layout``, else the one in ``preprocess.json``, else the one with ``joints`` joints."""
    if layout is None and (folder / OPTIONS_FILE).is_file():
        layout = load_options(folder)[1].get("layout")
    if layout is None:
        if joints not in LAYOUT_BY_JOINTS:
            raise ConfigError(
                f"{folder}: data has V={joints} joints; pass --layout (known by joint count: 25, 17, 18)"
            )
        layout = LAYOUT_BY_JOINTS[joints]
    return _layout(layout)


def sample_annotation(
    sample: np.ndarray,
    name: str,
    label: int,
    score_channel: int | None,
    img_shape: Sequence[int] | None,
) -> dict[str, Any]:
    """One (C, T, V, M) sample as an MMAction2 annotation; DataError (no file name) when it is empty."""
    x = np.asarray(sample, dtype=np.float32)
    persons = np.flatnonzero(np.abs(x).sum(axis=(0, 1, 2)) > 0)
    if persons.size == 0:
        raise DataError(f"sample '{name}': every value is 0 (no person in any frame)")
    frames = np.flatnonzero(np.abs(x[..., persons]).sum(axis=(0, 2, 3)) > 0)
    T = int(frames[-1]) + 1
    coords = [c for c in range(x.shape[0]) if c != score_channel]
    ann: dict[str, Any] = {
        "frame_dir": name[: -len(".skeleton")] if name.endswith(".skeleton") else name,
        "label": int(label),
        "total_frames": T,
        "keypoint": np.ascontiguousarray(
            x[coords][:, :T][..., persons].transpose(3, 1, 2, 0)
        ),  # (M, T, V, C)
    }
    if score_channel is not None:
        ann["keypoint_score"] = np.ascontiguousarray(x[score_channel, :T][..., persons].transpose(2, 0, 1))
    if img_shape is not None:
        ann["img_shape"] = ann["original_shape"] = (int(img_shape[0]), int(img_shape[1]))
    return ann


def to_pickle(
    data_folder: str | os.PathLike,
    out: str | os.PathLike,
    splits: Mapping[str, str],
    layout: str | os.PathLike | Mapping[str, Any] | Layout | None = None,
    score_channel: int | str | None = "auto",
    img_shape: Sequence[int] | None = None,
    strict: bool = False,
    overwrite: bool = False,
) -> RunSummary:
    """Write the parts ``splits`` = {part: split name} of a generated data folder as one annotation pickle.

    ``score_channel``: the channel that becomes ``keypoint_score``, None for none; ``auto``: channel 2
    of 3-channel data in a 2D layout (COCO, OpenPose), else none.
    """
    folder, out = Path(data_folder), Path(out)
    if not splits:
        raise ConfigError("give at least one of --train-split, --val-split, --test-split")
    if out.exists() and not overwrite:
        summary = RunSummary("mmaction_pickle to-pickle", strict=strict)
        summary.split(str(out)).status = "exists"
        summary.log()
        return summary
    summary = RunSummary("mmaction_pickle to-pickle", strict=strict)
    annotations: list[dict[str, Any]] = []
    split_names: dict[str, list[str]] = {}
    seen: dict[str, str] = {}
    for part, split in splits.items():
        npy, pkl = _split_paths(folder, part)
        names, labels = load_label_file(pkl)
        data = open_npy(npy)
        if data.ndim != 5 or len(data) != len(names):
            raise DataError(
                f"{npy}: expected (N, C, T, V, M) with N = {len(names)} (from {pkl}), got {data.shape}"
            )
        C, V = data.shape[1], data.shape[3]
        skeleton = _folder_layout(folder, layout, V)
        if V != skeleton.num_node:
            raise DataError(
                f"{npy}: data has V={V} joints but layout '{skeleton.name}' has {skeleton.num_node}"
            )
        channel = score_channel
        if channel == "auto":
            channel = 2 if (C == 3 and skeleton.name in SCORE_LAYOUTS) else None
        if channel is not None and not 0 <= int(channel) < C:
            raise ConfigError(f"--score-channel {channel}: outside the {C} channels of {npy}")
        if C - int(channel is not None) not in (2, 3):
            raise DataError(f"{npy}: {C} channels; expected 3 (x, y, z) or 2 (x, y) plus a score channel")
        rep = summary.split(split)
        rep.candidates = len(names)
        members = []
        with progress(len(names), f"{part} -> {split}") as bar:
            for start in range(0, len(names), CHUNK_ROWS):
                block = np.asarray(data[start : start + CHUNK_ROWS])
                for i, sample in enumerate(block, start):
                    try:
                        if not np.isfinite(sample).all():
                            raise DataError(f"sample '{names[i]}': holds NaN or inf")
                        ann = sample_annotation(sample, names[i], labels[i], channel, img_shape)
                        if ann["frame_dir"] in seen:
                            other = seen[ann["frame_dir"]]
                            raise DataError(f"sample '{names[i]}': frame_dir already taken in part '{other}'")
                    except DataError as exc:
                        summary.add_bad(f"{npy}: {exc}")
                        rep.skipped["bad sample"] += 1
                        continue
                    seen[ann["frame_dir"]] = part
                    annotations.append(ann)
                    members.append(ann["frame_dir"])
                bar.update(len(block))
        del data
        split_names[split] = members
        rep.written = len(members)
        rep.status = "written" if members else "empty"
    if (strict and summary.bad) or not annotations:
        for rep in summary.splits.values():
            rep.status = "aborted" if rep.status == "written" else rep.status
            rep.written = 0
        summary.log()
        return summary
    remove_stale_temp_files(out)
    save_pickle({"split": split_names, "annotations": annotations}, out)
    LOG.info("wrote %s (%d annotations)", out, len(annotations))
    summary.log()
    return summary


# -- command line ----------------------------------------------------------------------------------
def _splits(args: argparse.Namespace) -> dict[str, str]:
    return {part: name for part in PARTS if (name := getattr(args, f"{part}_split"))}


def _score_channel(text: str) -> int | str | None:
    if text in ("auto", "none"):
        return None if text == "none" else text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected auto, none or a channel index, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Convert between MMAction2/PYSKL skeleton pickles and (N, C, T, V, M) .npy + label .pkl files."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser(
        "to-npy", help="annotation pickle -> {train,val}_data_joint.npy + {train,val}_label.pkl"
    )
    a.add_argument("--data_path", required=True, help="the annotation .pkl")
    a.add_argument("--out_folder", required=True, help="output folder")
    a.add_argument(
        "--layout",
        required=True,
        help="nturgb+d / ntu_rgb_d, coco, openpose, or a layout YAML/JSON file (see docs/custom_data.md)",
    )
    a.add_argument(
        "--max-frame",
        "--max_frame",
        type=int,
        default=None,
        help="frames per sample (default: longest, at most 300)",
    )
    a.add_argument(
        "--max-person",
        "--max_person",
        type=int,
        default=MAX_PERSON,
        help="persons per sample (default: %(default)s)",
    )
    a.add_argument(
        "--normalize", choices=NORMALIZE, default="none", help="as custom_gendata.py (default: %(default)s)"
    )
    a.add_argument("--zaxis", type=int, nargs=2, default=None, help="agcn/view: hip and spine joints")
    a.add_argument(
        "--xaxis", type=int, nargs=2, default=None, help="agcn/view: right and left shoulder joints"
    )
    b = sub.add_parser("to-pickle", help="generated data folder -> one annotation pickle with a split dict")
    b.add_argument(
        "--data_folder", required=True, help="folder with {part}_data_joint.npy and {part}_label.pkl"
    )
    b.add_argument("--out", required=True, help="the annotation .pkl to write")
    b.add_argument("--layout", default=None, help="layout (default: preprocess.json, else by joint count)")
    b.add_argument(
        "--score-channel",
        type=_score_channel,
        default="auto",
        help="channel that becomes keypoint_score, or 'none' (default: auto, 2 for COCO/OpenPose data with 3 channels)",
    )
    b.add_argument(
        "--img-shape", type=int, nargs=2, default=None, metavar=("H", "W"), help="2D: image height and width"
    )
    for p in (a, b):
        for part in PARTS:
            p.add_argument(
                f"--{part}-split", default=None, help=f"split name of the {part} part (e.g. xsub_{part})"
            )
        add_common_arguments(p, workers=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    common = {"splits": _splits(args), "strict": args.strict, "overwrite": args.overwrite}
    if args.command == "to-npy":
        extra = {k: getattr(args, k) for k in ("max_frame", "max_person", "normalize", "zaxis", "xaxis")}
        return cli(lambda: to_npy(args.data_path, args.out_folder, args.layout, **common, **extra))
    extra = {k: getattr(args, k) for k in ("layout", "score_channel", "img_shape")}
    return cli(lambda: to_pickle(args.data_folder, args.out, **common, **extra))


if __name__ == "__main__":
    sys.exit(main())
