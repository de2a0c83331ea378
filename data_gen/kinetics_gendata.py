"""Kinetics-skeleton (st-gcn JSON layout) to 2s-AGCN tensors.

Reads ``{data_path}/kinetics_{part}/*.json`` and ``{data_path}/kinetics_{part}_label.json`` and writes
``{out_folder}/{part}_data_joint.npy`` (float32, (N, 3, 300, 18, 2): x, y, OpenPose score) and
``{part}_label.pkl`` = ``(names with .json, label_index)``, names sorted, parts ``val`` then ``train``.

Exactly as the reference (``../shared/reference/2s-agcn.md`` section 2.4): ``frame_index`` is the time
row as is (so 1-based data leaves row 0 empty); only the first 5 persons listed in a frame are read;
x, y become ``x - 0.5`` and ``-(y - 0.5)`` (so y = 0.5 gives -0.0) and are zeroed where the score is
0; in every frame the persons are ranked by their score sum and the top 2 kept (identity is not
tracked across frames). Videos whose label entry says ``has_skeleton: false`` are skipped.

Where the reference would crash, this reports and goes on: a ``frame_index`` of 300 or more (those
frames are dropped, with a warning), a video without a label entry, a ``label_index`` that differs
from the label file, malformed JSON or pose lists (the file is skipped and listed in the summary).

Usage, from the repository root::

    python data_gen/kinetics_gendata.py --data_path ./data/kinetics_raw --out_folder ./data/kinetics
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.common import (
    RunSummary,
    SplitWriter,
    add_common_arguments,
    cli,
    default_workers,
    record_options,
    setup_logging,
    split_done,
    write_splits,
)
from utils.errors import ConfigError, DataError
from utils.registry import READERS

NUM_JOINT = 18
MAX_FRAME = 300
NUM_PERSON_IN = 5  # persons read per frame (those listed later are ignored)
NUM_PERSON_OUT = 2  # persons kept per frame, by score sum
SAMPLE_SHAPE = (3, MAX_FRAME, NUM_JOINT, NUM_PERSON_OUT)  # (C, T, V, M)
PARTS = ("val", "train")


def read_label_file(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """``{video id: {"has_skeleton": bool, "label_index": int, ...}}``; DataError naming the file."""
    path = Path(path)
    try:
        labels = json.loads(path.read_bytes())
    except OSError as exc:
        raise DataError(f"{path}: cannot read the label file ({exc.strerror or exc})") from exc
    except ValueError as exc:
        raise DataError(f"{path}:{getattr(exc, 'lineno', '?')}: not valid JSON ({exc})") from exc
    if not isinstance(labels, dict):
        raise DataError(f"{path}: expected a JSON object {{video id: {{has_skeleton, label_index}}}}")
    return labels


def _entry(labels: dict[str, Any], vid: str, label_path: Path) -> tuple[bool, int]:
    """(has_skeleton, label_index) of one label entry; DataError if it is malformed."""
    info = labels[vid]
    if not isinstance(info, dict):
        raise DataError(f"{label_path}: entry '{vid}' is not an object")
    index = info.get("label_index")
    if isinstance(index, bool) or not isinstance(index, int):
        raise DataError(f"{label_path}: entry '{vid}' has no integer label_index (got {index!r})")
    return bool(info.get("has_skeleton", True)), index


@READERS.register("data_gen.kinetics_gendata.read_video")
def read_video(
    path: str | os.PathLike,
    label_index: int | None = None,
    max_frame: int = MAX_FRAME,
    num_person_in: int = NUM_PERSON_IN,
    num_person_out: int = NUM_PERSON_OUT,
) -> tuple[np.ndarray, list[str]]:
    """One video JSON to the float32 (3, max_frame, 18, num_person_out) tensor, and warnings.

    ``label_index``: the label file's value; a different ``label_index`` in the video is an error.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise DataError(f"{path}: file is empty")
    try:
        video = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})") from exc
    except ValueError as exc:  # undecodable bytes
        raise DataError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(video, dict) or not isinstance(video.get("data"), list):
        raise DataError(f"{path}: expected an object with a 'data' list of frames")
    if label_index is not None and "label_index" in video and video["label_index"] != label_index:
        raise DataError(
            f"{path}: label_index {video['label_index']!r} differs from {label_index} in the label file"
        )

    rows, slots, poses, scores = [], [], [], []
    for i, frame in enumerate(video["data"]):
        where = f"{path}: data[{i}]"
        if not isinstance(frame, dict):
            raise DataError(f"{where}: expected an object with frame_index and skeleton")
        t = frame.get("frame_index")
        people = frame.get("skeleton")
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise DataError(f"{where}: frame_index must be a non-negative integer, got {t!r}")
        if not isinstance(people, list):
            raise DataError(f"{where} (frame_index {t}): 'skeleton' must be a list of persons")
        for m, person in enumerate(people[:num_person_in]):
            pose = person.get("pose") if isinstance(person, dict) else None
            score = person.get("score") if isinstance(person, dict) else None
            if not isinstance(pose, list) or len(pose) != 2 * NUM_JOINT:
                got = len(pose) if isinstance(pose, list) else type(pose).__name__
                raise DataError(
                    f"{where}.skeleton[{m}] (frame_index {t}): pose must list {2 * NUM_JOINT} numbers, got {got}"
                )
            if not isinstance(score, list) or len(score) != NUM_JOINT:
                got = len(score) if isinstance(score, list) else type(score).__name__
                raise DataError(
                    f"{where}.skeleton[{m}] (frame_index {t}): score must list {NUM_JOINT} numbers, got {got}"
                )
            rows.append(t)
            slots.append(m)
            poses.append(pose)
            scores.append(score)
    try:
        pose_arr = np.array(poses, dtype=np.float64).reshape(-1, NUM_JOINT, 2)  # (K, V, xy)
        score_arr = np.array(scores, dtype=np.float64).reshape(-1, NUM_JOINT)  # (K, V)
    except (TypeError, ValueError):
        pose_arr = score_arr = None
    if pose_arr is None or not (np.isfinite(pose_arr).all() and np.isfinite(score_arr).all()):
        raise DataError(_first_bad_number(path, video, num_person_in))

    notes = []
    rows_arr = np.asarray(rows, dtype=np.int64)
    late = rows_arr >= max_frame
    if late.any():
        notes.append(
            f"{path}: {int(late.sum())} person entries at frame_index >= {max_frame} "
            f"(up to {int(rows_arr.max())}) dropped; the reference would crash on them"
        )
    # Later entries for the same (frame, person slot) overwrite earlier ones, as in the reference.
    key = rows_arr * num_person_in + np.asarray(slots, dtype=np.int64)
    last = np.zeros(len(key), dtype=bool)
    last[len(key) - 1 - np.unique(key[::-1], return_index=True)[1]] = True
    keep = last & ~late
    if not keep.any():
        notes.append(f"{path}: no person in any frame; the sample is left all zero")

    data = np.zeros((3, max_frame, NUM_JOINT, num_person_in))  # (C, T, V, M) float64
    t, m = rows_arr[keep], np.asarray(slots, dtype=np.int64)[keep]
    data[0, t, :, m] = pose_arr[keep, :, 0]
    data[1, t, :, m] = pose_arr[keep, :, 1]
    data[2, t, :, m] = score_arr[keep]
    data[0:2] -= 0.5  # centre, y pointing up (y = 0.5 becomes -0.0)
    data[1] = -data[1]
    data[0][data[2] == 0] = 0
    data[1][data[2] == 0] = 0
    # Per frame, persons by descending score sum (the reference's argsort, ties included).
    order = (-data[2].sum(axis=1)).argsort(axis=1)  # (T, M)
    data = np.take_along_axis(data, order[None, :, None, :], axis=3)[..., :num_person_out]
    return data.astype(np.float32), notes


def _first_bad_number(path: Path, video: dict[str, Any], num_person_in: int) -> str:
    """Message naming the first pose/score value that is not a finite number."""
    for i, frame in enumerate(video["data"]):
        for m, person in enumerate(frame["skeleton"][:num_person_in]):
            for key in ("pose", "score"):
                for k, value in enumerate(person[key]):
                    ok = (
                        isinstance(value, (int, float))
                        and not isinstance(value, bool)
                        and math.isfinite(value)
                    )
                    if not ok:
                        return (
                            f"{path}: data[{i}].skeleton[{m}].{key}[{k}] (frame_index {frame['frame_index']}): "
                            f"expected a finite number, got {value!r}"
                        )
    return f"{path}: pose or score values are not all finite numbers"


def gendata(
    data_path: str | os.PathLike,
    out_folder: str | os.PathLike,
    parts: Sequence[str] = PARTS,
    workers: int | None = None,
    strict: bool = False,
    overwrite: bool = False,
    max_frame: int = MAX_FRAME,
    chunk_size: int = 16,
) -> RunSummary:
    """Generate ``{out_folder}/{part}_data_joint.npy`` and ``{part}_label.pkl`` for each part.

    Inputs: ``{data_path}/kinetics_{part}/*.json`` and ``{data_path}/kinetics_{part}_label.json``.
    Parts whose two outputs exist are kept unless ``overwrite``. Returns the run summary.
    """
    data_path, out_folder = Path(data_path), Path(out_folder)
    for part in parts:
        if part not in PARTS:
            raise ConfigError(f"unknown part '{part}'; expected val and/or train")
    workers = default_workers() if workers is None else workers
    summary = RunSummary("kinetics_gendata", strict=strict)
    writers: dict[str, SplitWriter] = {}
    items: list[tuple[str, list[tuple[str, int]]]] = []
    item_options: dict[str, dict[str, Any]] = {}
    for part in dict.fromkeys(parts):
        rep = summary.split(part)
        npy, pkl = out_folder / f"{part}_data_joint.npy", out_folder / f"{part}_label.pkl"
        if split_done(npy, pkl) and not overwrite:
            rep.status = "exists"
            continue
        folder, label_path = data_path / f"kinetics_{part}", data_path / f"kinetics_{part}_label.json"
        if not folder.is_dir():
            summary.add_bad(f"{folder}: data folder not found (expected kinetics_{part}/*.json)")
            rep.status = "empty"
            continue
        try:
            labels = read_label_file(label_path)
        except DataError as exc:
            summary.add_bad(str(exc))
            rep.status = "empty"
            continue
        names, label_list = [], []
        for name in sorted(e.name for e in os.scandir(folder) if e.name.endswith(".json")):
            vid = name.split(".")[0]
            if vid not in labels:
                summary.add_bad(f"{folder / name}: no entry '{vid}' in {label_path.name}; skipped")
                rep.skipped["no label entry"] += 1
                continue
            try:
                has_skeleton, label = _entry(labels, vid, label_path)
            except DataError as exc:
                summary.add_bad(str(exc))
                rep.skipped["bad label entry"] += 1
                continue
            if not has_skeleton:
                rep.skipped["has_skeleton false"] += 1
                continue
            path = str(folder / name)
            items.append((path, [(part, len(names))]))
            item_options[path] = {"label_index": label}
            names.append(name)
            label_list.append(label)
        rep.candidates = len(names)
        if not names:
            rep.status = "empty"
            summary.add_warning(f"{part}: no videos to convert in {folder}")
            continue
        writers[part] = SplitWriter(npy, pkl, names, label_list, SAMPLE_SHAPE)
    if writers:
        write_splits(
            summary,
            writers,
            items,
            read_video,
            {"max_frame": max_frame},
            workers,
            "read + write",
            chunk_size,
            item_options,
        )
        if any(rep.status == "written" for rep in summary.splits.values()):
            record_options(
                summary, out_folder, "data_gen.kinetics_gendata.read_video", {"max_frame": max_frame}
            )
    summary.log()
    return summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Kinetics-skeleton JSON to 2s-AGCN (N, 3, 300, 18, 2) tensors and label pickles.",
    )
    parser.add_argument(
        "--data_path",
        default="./data/kinetics_raw",
        help="folder with kinetics_{part}/ and kinetics_{part}_label.json (default: %(default)s)",
    )
    parser.add_argument(
        "--out_folder", default="./data/kinetics", help="output folder (default: %(default)s)"
    )
    parser.add_argument(
        "--part",
        nargs="+",
        default=list(PARTS),
        choices=list(PARTS),
        help="parts to make (default: val train)",
    )
    add_common_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    return cli(
        lambda: gendata(
            args.data_path,
            args.out_folder,
            parts=args.part,
            workers=args.workers,
            strict=args.strict,
            overwrite=args.overwrite,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
