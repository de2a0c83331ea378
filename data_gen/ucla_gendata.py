"""Northwestern-UCLA Multiview Action 3D (Kinect v1 skeletons) to 2s-AGCN tensors.

Reads ``{data_path}/*.json`` (``all_sqe``; the folder above it is accepted too), one sequence per file:
``{"file_name": "a12_s06_e04_v03", "skeletons": [[[x, y, z] x 20 joints] x T frames], "label": 1-based}``,
and writes ``{out_folder}/{train,val}_data_joint.npy`` (float32, (N, 3, T, 20, 1)) and
``{train,val}_label.pkl`` = ``(file stems, labels 0..9)``, names sorted, plus ``preprocess.json`` (the
options of :func:`read_clip`, which turns one raw file into one row, e.g. for prediction).

* Labels come from the action id in the file name ``aAA_sSS_eEE_vVV``: a01..a06 -> 0..5, a08 -> 6,
  a09 -> 7, a11 -> 8, a12 -> 9 (``data_gen/resources/labels/nw_ucla.txt``); the JSON's 1-based
  ``label`` is cross-checked and disagreements are reported.
* Protocol: views ``--train-views`` (default 1 2) train, ``--test-views`` (default 3) are ``val``
  (the standard cross-view split: 1,020 / 464 sequences). A ``val_label.pkl`` found beside the data
  (NW-UCLA's list of test sequences) is cross-checked against the val split.
* Time: ``--max_frame`` (default: the longest clip, 201 for the released data); longer clips are
  uniformly downsampled (warning). Clips are followed by zeros (``--pad zero``, default: the feeders'
  samplers drop all-zero frames) or repeated cyclically (``--pad repeat``, as 2s-AGCN pads).
* ``--normalize center`` (default): every frame is translated so that the spine joint (1) of the first
  frame is the origin (SGN/CTR-GCN style); ``agcn``: 2s-AGCN's pre-normalisation
  (``data_gen/preprocess.py``; zaxis hip centre 0 -> spine 1, xaxis right 8 -> left shoulder 4, per-frame
  centring on the spine); ``view``: centred as ``center``, then one rotation per clip into the body's
  mean frame (hip centre -> shoulder centre up = +y, right -> left hips and shoulders = -x;
  :func:`data_gen.custom_gendata.view_normalize`), which removes the camera's viewpoint; ``none``:
  camera coordinates in metres. Joints reported as exactly (0, 0, 0) are missing and stay 0.

Bad files (unreadable, not JSON, wrong shape, NaN/inf, no frames, a name that is not
``aAA_sSS_eEE_vVV.json`` or an unknown action) are reported in one line naming the file, skipped and
listed; the exit code is 1 only if a split ends up empty, or with ``--strict``.

Usage, from the repository root::

    python data_gen/ucla_gendata.py --data_path ./data/nw-ucla/all_sqe --out_folder ./data/nw-ucla
    python -m data_gen.ucla_gendata --data_path ../shared/data/nw-ucla --out_folder ./data/nw-ucla --normalize agcn
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.common import (
    LOG,
    RunSummary,
    SplitWriter,
    add_common_arguments,
    cli,
    default_workers,
    open_npy,
    record_options,
    run_pool,
    setup_logging,
    split_done,
    write_splits,
)
from data_gen.custom_gendata import (
    agcn_normalize,
    center_on_joint,
    fit_frames,
    missing_joints,
    view_normalize,
)
from utils.errors import ConfigError, DataError
from utils.io import load_pickle
from utils.registry import READERS

NUM_JOINT = 20
MAX_FRAME = 201  # the longest clip of the released data
SPINE = 1  # origin of --normalize center (first frame)
ZAXIS = (0, 1)  # hip centre -> spine
XAXIS = (8, 4)  # right shoulder -> left shoulder
VIEW_UP = (0, 2)  # --normalize view: hip centre -> shoulder centre
VIEW_SIDES = ((16, 12), (8, 4))  # right -> left hip, right -> left shoulder
ACTIONS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)  # action ids in label order
TRAIN_VIEWS = (1, 2)
TEST_VIEWS = (3,)
PARTS = ("train", "val")
NORMALIZE = ("none", "center", "agcn", "view")
PADS = ("zero", "repeat")
DATA_FOLDER = "all_sqe"
REFERENCE_LIST = "val_label.pkl"
NAME = re.compile(r"a(\d+)_s(\d+)_e(\d+)_v(\d+)")


@dataclass(frozen=True)
class ClipId:
    """The fields of a sequence name ``aAA_sSS_eEE_vVV``."""

    action: int
    subject: int
    episode: int
    view: int

    @classmethod
    def from_name(cls, name: str) -> ClipId | None:
        """Parse ``a12_s06_e04_v03`` (with or without ``.json``); None if it does not match."""
        m = NAME.fullmatch(name[:-5] if name.endswith(".json") else name)
        return cls(*(int(g) for g in m.groups())) if m else None

    @property
    def label(self) -> int | None:
        """0-based class index, None for an action id that is not one of the 10 classes."""
        return ACTIONS.index(self.action) if self.action in ACTIONS else None


# -- one clip --------------------------------------------------------------------------------------
def load_clip(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, Any]]:
    """Parse one sequence file: ``(xyz (T, 20, 3) float64, {"file_name", "label"} as stored)``.

    Raises DataError naming the file (and the first bad frame) for anything but a non-empty, finite
    ``skeletons`` array of 20 joints x 3 coordinates per frame.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise DataError(f"{path}: file is empty")
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})") from exc
    except ValueError as exc:  # undecodable bytes
        raise DataError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("skeletons"), list):
        raise DataError(f"{path}: expected an object with a 'skeletons' list (frames of 20 [x, y, z] joints)")
    frames = obj["skeletons"]
    if not frames:
        raise DataError(f"{path}: empty clip (no frames in 'skeletons')")
    try:
        xyz = np.asarray(frames, dtype=np.float64)
    except (TypeError, ValueError):
        xyz = None
    if xyz is None or xyz.shape[1:] != (NUM_JOINT, 3):
        raise DataError(_first_bad_frame(path, frames))
    bad = ~np.isfinite(xyz)
    if bad.any():
        t, v, c = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"{path}: skeletons[{t}][{v}][{c}] is {frames[t][v][c]!r}; expected finite numbers "
            f"({int(bad.any(axis=(1, 2)).sum())} frame(s) affected)"
        )
    if not xyz.any():
        raise DataError(f"{path}: empty clip (every joint is (0, 0, 0) in all {len(xyz)} frames)")
    return xyz, {"file_name": obj.get("file_name"), "label": obj.get("label")}


def _first_bad_frame(path: Path, frames: list[Any]) -> str:
    """Message naming the first frame that is not 20 joints of 3 numbers."""
    for t, frame in enumerate(frames):
        if not isinstance(frame, list) or len(frame) != NUM_JOINT:
            got = len(frame) if isinstance(frame, list) else type(frame).__name__
            return f"{path}: skeletons[{t}] has {got} joints; expected {NUM_JOINT} [x, y, z] joints per frame"
        for v, joint in enumerate(frame):
            if not isinstance(joint, list) or len(joint) != 3:
                return f"{path}: skeletons[{t}][{v}] is {str(joint)[:40]}; expected [x, y, z]"
            for value in joint:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    return f"{path}: skeletons[{t}][{v}] holds {value!r}; expected numbers"
    return f"{path}: 'skeletons' is not a (T, {NUM_JOINT}, 3) array of numbers"


def process_clip(
    xyz: np.ndarray,
    max_frame: int | None = None,
    normalize: str = "center",
    pad: str = "zero",
    path: str | os.PathLike = "<clip>",
) -> tuple[np.ndarray, list[str]]:
    """(T, 20, 3) coordinates to the float32 sample (3, max_frame, 20, 1), and warnings.

    Order: uniform downsampling to ``max_frame`` (None: keep T), ``normalize``, padding.
    """
    if normalize not in NORMALIZE:
        raise ConfigError(f"normalize: unknown mode '{normalize}'; expected one of {', '.join(NORMALIZE)}")
    if pad not in PADS:
        raise ConfigError(f"pad: unknown mode '{pad}'; expected one of {', '.join(PADS)}")
    notes = []
    length = len(xyz)
    if length == 1:
        notes.append(f"{path}: only 1 frame (its motion streams are zero)")
    empty = ~(xyz != 0).any(axis=(1, 2))  # (T,)
    if empty.any():
        notes.append(f"{path}: {int(empty.sum())} of {length} frames are all zero (no skeleton)")
    gaps = missing_joints(xyz) & ~empty[:, None]  # (T, V)
    if gaps.any():
        notes.append(
            f"{path}: {int(gaps.sum())} joints in {int(gaps.any(axis=1).sum())} frame(s) are exactly (0, 0, 0) "
            "(not tracked); they stay 0"
            + (
                "; frames without the spine joint are not centred (agcn)"
                if normalize == "agcn" and gaps[:, SPINE].any()
                else ""
            )
        )
    max_frame = length if max_frame is None else int(max_frame)
    xyz, down = fit_frames(xyz, max_frame)
    if down:
        notes.append(f"{path}: {length} frames, uniformly downsampled to {max_frame}")
    if normalize == "center":
        xyz, found = center_on_joint(xyz[None], SPINE)
        xyz = xyz[0]
        if not found:
            notes.append(f"{path}: the spine joint is missing in every frame; not centred")
    elif normalize == "agcn":
        xyz = agcn_normalize(xyz[None], ZAXIS, XAXIS)[0]
    elif normalize == "view":
        xyz, found = view_normalize(xyz[None], SPINE, VIEW_UP, VIEW_SIDES)
        xyz = xyz[0]
        if not found:
            notes.append(f"{path}: hips, shoulders or spine never tracked; centred, not rotated (view)")
    frames = np.zeros((max_frame, NUM_JOINT, 3), dtype=np.float32)  # (T, V, C)
    frames[: len(xyz)] = xyz
    if pad == "repeat" and len(xyz) < max_frame:
        frames[len(xyz) :] = np.resize(frames[: len(xyz)], (max_frame - len(xyz), NUM_JOINT, 3))
    return np.ascontiguousarray(frames.transpose(2, 0, 1)[..., None]), notes  # (C, T, V, M=1)


@READERS.register("data_gen.ucla_gendata.read_clip")
def read_clip(
    path: str | os.PathLike, max_frame: int | None = None, normalize: str = "center", pad: str = "zero"
) -> np.ndarray:
    """One raw NW-UCLA ``.json`` to the float32 sample (3, T, 20, 1) exactly as :func:`gendata` writes it.

    Pass the dataset's options (recorded in ``{out_folder}/preprocess.json``; the defaults of a
    standard run are ``max_frame=201, normalize='center', pad='zero'``) to get its row;
    ``max_frame=None`` keeps the clip's own length. DataError naming the file for bad input.
    """
    xyz, _ = load_clip(path)
    sample, notes = process_clip(xyz, max_frame, normalize, pad, path)
    for note in notes:
        LOG.warning("%s", note)
    return sample


def read_sample(path: str, **options: Any) -> tuple[np.ndarray, list[str]]:
    """Reader for :func:`data_gen.common.write_splits`: ``(sample, warnings)``."""
    xyz, _ = load_clip(path)
    return process_clip(xyz, path=path, **options)


def scan_clips(paths: tuple[str, ...]) -> list[tuple[str, str | None, tuple[int, Any, Any] | None]]:
    """Worker body of the first pass: ``[(path, error or None, (T, JSON label, JSON file_name)), ...]``."""
    out: list[tuple[str, str | None, tuple[int, Any, Any] | None]] = []
    for path in paths:
        try:
            xyz, header = load_clip(path)
        except DataError as exc:
            out.append((path, str(exc), None))
            continue
        out.append((path, None, (len(xyz), header["label"], header["file_name"])))
    return out


# -- generation ------------------------------------------------------------------------------------
def resolve_data_folder(data_path: str | os.PathLike) -> Path:
    """``data_path`` itself, or its ``all_sqe`` subfolder when it has one."""
    folder = Path(data_path)
    if (folder / DATA_FOLDER).is_dir():
        folder = folder / DATA_FOLDER
    if not folder.is_dir():
        raise DataError(f"{folder}: data folder not found (expected NW-UCLA's all_sqe/ of .json sequences)")
    return folder


def read_reference_list(path: str | os.PathLike) -> dict[str, tuple[int, int | None]]:
    """NW-UCLA's ``val_label.pkl``: ``{file_name: (0-based label, length)}``; DataError if it is not one."""
    obj = load_pickle(path)
    if not isinstance(obj, list) or not all(isinstance(e, dict) and "file_name" in e for e in obj):
        raise DataError(f"{path}: expected NW-UCLA's list of {{file_name, length, label}} dicts")
    try:
        return {str(e["file_name"]): (int(e["label"]) - 1, e.get("length")) for e in obj}
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: an entry has no integer 'label' ({exc})") from exc


def _is_reference_list(path: Path) -> bool:
    try:
        read_reference_list(path)
    except DataError:
        return False
    return True


def gendata(
    data_path: str | os.PathLike,
    out_folder: str | os.PathLike,
    train_views: Sequence[int] = TRAIN_VIEWS,
    test_views: Sequence[int] = TEST_VIEWS,
    max_frame: int | None = None,
    normalize: str = "center",
    pad: str = "zero",
    val_label: str | os.PathLike | None = None,
    workers: int | None = None,
    strict: bool = False,
    overwrite: bool = False,
    chunk_size: int = 32,
) -> RunSummary:
    """Generate ``{out_folder}/{train,val}_data_joint.npy`` and ``{train,val}_label.pkl``.

    ``val_label``: NW-UCLA's list of test sequences to cross-check the val split against; None = a
    ``val_label.pkl`` beside the data if there is one, ``""`` = no check. ``max_frame`` None: the T
    of a kept split, else the longest clip. Splits whose two files exist are kept unless ``overwrite``.
    """
    folder, out_folder = resolve_data_folder(data_path), Path(out_folder)
    train_views, test_views = tuple(int(v) for v in train_views), tuple(int(v) for v in test_views)
    if not train_views or not test_views or set(train_views) & set(test_views):
        raise ConfigError(
            f"views: train {list(train_views)} and test {list(test_views)} must both be given and must not overlap"
        )
    if normalize not in NORMALIZE:
        raise ConfigError(f"normalize: unknown mode '{normalize}'; expected one of {', '.join(NORMALIZE)}")
    if pad not in PADS:
        raise ConfigError(f"pad: unknown mode '{pad}'; expected one of {', '.join(PADS)}")
    if max_frame is not None and (
        isinstance(max_frame, bool) or not isinstance(max_frame, int) or max_frame < 1
    ):
        raise ConfigError(f"max_frame: expected a positive integer, got {max_frame!r}")
    workers = default_workers() if workers is None else workers
    summary = RunSummary("ucla_gendata", strict=strict)

    todo, kept_frames = [], None
    for part in PARTS:
        npy, pkl = _split_paths(out_folder, part)
        if split_done(npy, pkl) and not overwrite:
            summary.split(part).status = "exists"
            array = open_npy(npy)
            kept_frames = int(array.shape[2]) if array.ndim == 5 else kept_frames
            del array
        else:
            todo.append(part)
    if not todo:
        summary.log()
        return summary
    own = out_folder / "val_label.pkl"
    if "val" in todo and own.is_file() and _is_reference_list(own):
        raise ConfigError(
            f"{own} is NW-UCLA's original list of test sequences and the output val_label.pkl would replace "
            "it; choose another --out_folder or move that file"
        )

    # Candidates by file name.
    views = {"train": train_views, "val": test_views}
    members: dict[str, list[tuple[str, Path, int]]] = {part: [] for part in todo}
    unused = 0
    for name in sorted(e.name for e in os.scandir(folder) if e.name.endswith(".json")):
        path = folder / name
        cid = ClipId.from_name(name)
        if cid is None:
            summary.add_bad(f"{path}: file name does not match aAA_sSS_eEE_vVV.json; skipped")
            continue
        if cid.label is None:
            summary.add_bad(
                f"{path}: action a{cid.action:02d} is not one of the 10 NW-UCLA classes "
                f"({', '.join(f'a{a:02d}' for a in ACTIONS)}); skipped"
            )
            continue
        part = next((p for p in PARTS if cid.view in views[p]), None)
        if part is None:
            unused += 1
        elif part in members:
            members[part].append((name[: -len(".json")], path, cid.label))
    if unused:
        summary.skipped["files of views outside the protocol"] = unused

    # First pass: lengths and stored labels (max_frame needs every length).
    paths = [str(p) for part in todo for _, p, _ in members[part]]
    chunks = [tuple(paths[k : k + chunk_size]) for k in range(0, len(paths), chunk_size)]
    scanned: dict[str, tuple[str | None, tuple[int, Any, Any] | None]] = {}
    for results in run_pool(scan_clips, chunks, workers, "scan", len(paths), len):
        for path, error, info in results:
            scanned[path] = (error, info)
    lengths: dict[str, list[int]] = {part: [] for part in todo}
    for part in todo:
        good = []
        for stem, path, label in members[part]:
            error, info = scanned[str(path)]
            if error is not None:
                summary.add_bad(error)
                summary.split(part).skipped["bad file"] += 1
                continue
            length, stored_label, stored_name = info  # type: ignore[misc]
            if stored_label != label + 1:
                summary.add_warning(
                    f"{path}: stored label {stored_label!r} disagrees with the file name's action "
                    f"(a{ACTIONS[label]:02d} -> {label + 1}, 1-based); using the file name's"
                )
            if stored_name is not None and stored_name != stem:
                summary.add_warning(f"{path}: stored file_name {stored_name!r} differs from the file name")
            lengths[part].append(length)
            good.append((stem, path, label))
        members[part] = good
        summary.split(part).candidates = len(good) + summary.split(part).skipped["bad file"]
    if "val" in todo and test_views == TEST_VIEWS:
        ours = {stem: (label, n) for (stem, _, label), n in zip(members["val"], lengths["val"])}
        _check_reference_list(summary, folder, val_label, ours)
    longest = max((n for part in todo for n in lengths[part]), default=0)
    if max_frame is None:
        max_frame = kept_frames or longest or MAX_FRAME
    for part in todo:
        if lengths[part]:
            n = np.asarray(lengths[part])
            LOG.info(
                "%s: %d clips (views %s), %d..%d frames (mean %.1f); T = %d%s",
                part,
                len(n),
                ", ".join(str(v) for v in views[part]),
                n.min(),
                n.max(),
                n.mean(),
                max_frame,
                f", {int((n > max_frame).sum())} clips downsampled" if (n > max_frame).any() else "",
            )

    writers: dict[str, SplitWriter] = {}
    items: list[tuple[str, list[tuple[str, int]]]] = []
    for part in todo:
        rep = summary.split(part)
        if not members[part]:
            rep.status = "empty"
            summary.add_warning(f"{part}: no clips of views {list(views[part])}; nothing written")
            continue
        items.extend((str(path), [(part, row)]) for row, (_, path, _) in enumerate(members[part]))
        npy, pkl = _split_paths(out_folder, part)
        names = [stem for stem, _, _ in members[part]]
        labels = [label for _, _, label in members[part]]
        writers[part] = SplitWriter(npy, pkl, names, labels, (3, max_frame, NUM_JOINT, 1))
    options = {"max_frame": max_frame, "normalize": normalize, "pad": pad}
    if writers:
        write_splits(summary, writers, items, read_sample, options, workers, "read + write", chunk_size)
    if any(summary.split(p).status == "written" for p in todo):
        record_options(summary, out_folder, "data_gen.ucla_gendata.read_clip", options)
    summary.log()
    return summary


def _check_reference_list(
    summary: RunSummary,
    folder: Path,
    val_label: str | os.PathLike | None,
    ours: dict[str, tuple[int, int]],
) -> None:
    """Compare the val split ``{name: (label, length)}`` with NW-UCLA's ``val_label.pkl``; warn on differences."""
    if val_label is None:
        candidates = [folder / REFERENCE_LIST, folder.parent / REFERENCE_LIST]
        path = next((p for p in candidates if p.is_file() and _is_reference_list(p)), None)
        if path is None:
            LOG.debug("no %s beside %s; val split not cross-checked", REFERENCE_LIST, folder)
            return
    elif not str(val_label):
        return
    else:
        path = Path(val_label)
    try:
        reference = read_reference_list(path)
    except DataError as exc:
        summary.add_warning(f"{exc}; val split not cross-checked")
        return
    missing, extra = sorted(set(reference) - set(ours)), sorted(set(ours) - set(reference))
    if missing:
        summary.add_warning(
            f"{path}: {len(missing)} listed sequence(s) not in the val split, e.g. {missing[0]}"
        )
    if extra:
        summary.add_warning(f"{path}: {len(extra)} val sequence(s) not in the list, e.g. {extra[0]}")
    for name in sorted(set(reference) & set(ours)):
        (label, length), (ref_label, ref_length) = ours[name], reference[name]
        if label != ref_label or (ref_length is not None and ref_length != length):
            summary.add_warning(
                f"{path}: {name} has label {ref_label + 1} and length {ref_length} in the list, "
                f"{label + 1} and {length} in the data"
            )
    if not missing and not extra:
        LOG.info("val split matches %s (%d sequences)", path, len(reference))


def _split_paths(out_folder: Path, part: str) -> tuple[Path, Path]:
    return out_folder / f"{part}_data_joint.npy", out_folder / f"{part}_label.pkl"


# -- command line ----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="NW-UCLA skeleton .json sequences to (N, 3, T, 20, 1) tensors and label pickles.",
    )
    parser.add_argument(
        "--data_path",
        default="./data/nw-ucla/all_sqe",
        help="folder of aAA_sSS_eEE_vVV.json files, or the folder above all_sqe/ (default: %(default)s)",
    )
    parser.add_argument("--out_folder", default="./data/nw-ucla", help="output folder (default: %(default)s)")
    parser.add_argument(
        "--train-views", type=int, nargs="+", default=list(TRAIN_VIEWS), help="training views (default: 1 2)"
    )
    parser.add_argument(
        "--test-views", type=int, nargs="+", default=list(TEST_VIEWS), help="test (val) views (default: 3)"
    )
    parser.add_argument(
        "--max_frame",
        type=int,
        default=None,
        help="frames per sample (default: the longest clip, 201 here); longer clips are uniformly downsampled",
    )
    parser.add_argument(
        "--pad",
        choices=PADS,
        default="zero",
        help="after the clip: zeros, or repeat it cyclically as 2s-AGCN (default: %(default)s)",
    )
    parser.add_argument(
        "--normalize",
        choices=NORMALIZE,
        default="center",
        help="center: first frame's spine joint to the origin; agcn: 2s-AGCN pre-normalisation; view: "
        "centred, then each clip rotated into its mean body frame (removes the camera's viewpoint); none "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--val_label",
        default=None,
        help="NW-UCLA's val_label.pkl to cross-check the val split (default: one beside the data; '' for none)",
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
            train_views=args.train_views,
            test_views=args.test_views,
            max_frame=args.max_frame,
            normalize=args.normalize,
            pad=args.pad,
            val_label=args.val_label,
            workers=args.workers,
            strict=args.strict,
            overwrite=args.overwrite,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
