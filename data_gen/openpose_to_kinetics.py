"""OpenPose per-frame JSON (``--write_json`` output) to the Kinetics-skeleton format.

Input: ``--data_path`` holds one folder per video with OpenPose's ``*_keypoints.json`` files
(``{"people": [{"pose_keypoints_2d": [x0, y0, c0, x1, ...]}, ...]}``, one file per frame); a folder
that holds ``*_keypoints.json`` files itself is one video. The frame order is the frame number in the
file name (``<video>_000000000042_keypoints.json``), sorted numerically.

Output (what ``data_gen/kinetics_gendata.py`` reads)::

    {out_folder}/kinetics_{part}/<video>.json     {"data": [{"frame_index": 1, "skeleton": [{"pose": [x0, y0,
                                                   ...], "score": [s0, ...]}]}, ...], "label", "label_index"}
    {out_folder}/kinetics_{part}_label.json       {video: {"has_skeleton", "label", "label_index"}}

* Joints: OpenPose-18 order (``graph/layouts.py``, layout ``openpose``). COCO-18 output (18 points) is
  already in it; BODY_25 (25 points) maps by joint name, which drops MidHip (8) and the six foot points
  (19-24): OpenPose-18 joint i is BODY_25 joint ``BODY_25_TO_OPENPOSE_18[i]`` =
  0 1 2 3 4 5 6 7 9 10 11 12 13 14 15 16 17 18.
* Coordinates: pixels divided by ``--width`` / ``--height`` (default 1920 x 1080, the usual video
  size; pass yours, or 1 and 1 for OpenPose's ``--keypoint_scale 3`` output, which is already in
  0..1), rounded to 3 decimals; a joint with confidence 0 (not detected) is written as 0 with score 0.
  A warning names videos whose coordinates leave 0..1 (a wrong size). Persons with no detected
  joint are left out.
* ``frame_index`` = frame number - first frame number + 1 (1-based, gaps in the numbering kept);
  frames without persons are written with an empty ``skeleton`` list.
* Labels: ``--labels videos.csv`` with rows ``video,label[,label_index]`` (an optional first row
  ``video,label,label_index`` is a header); indices missing from the CSV come from ``--classes``
  (class names, one per line) or else from the sorted label names of the CSV (written to
  ``label_map.txt``). Or ``--label NAME --label-index K`` for every video converted.

:func:`read_clip` turns one video folder into the (3, 300, 18, 2) sample that this converter followed by
``kinetics_gendata.py`` makes of it (for prediction).

Bad videos (a frame file that is not valid JSON, a pose list of the wrong length, non-finite
values, no frame files, no label) are reported in one line naming the file, skipped and listed; the
rest is written. The part is complete when its label file exists (kept unless ``--overwrite``; with
``--overwrite``, entries of videos not converted in this run are kept).

Usage, from the repository root::

    python data_gen/openpose_to_kinetics.py --data_path ./openpose_json --labels videos.csv \\
        --part train --out_folder ./data/my_kinetics_raw --width 1280 --height 720
    python data_gen/kinetics_gendata.py --data_path ./data/my_kinetics_raw --out_folder ./data/my_kinetics
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse
import csv
import io
import json
import math
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.common import (
    LOG,
    RunSummary,
    add_common_arguments,
    cli,
    default_workers,
    run_pool,
    setup_logging,
)
from data_gen.custom_gendata import read_classes
from graph.layouts import OPENPOSE
from utils.errors import ConfigError, DataError
from utils.io import save_text
from utils.registry import READERS

PARTS = ("train", "val")
WIDTH, HEIGHT = 1920, 1080
KINETICS_MAX_FRAME = 300  # frames kinetics_gendata keeps
FRAME_FILE = re.compile(r"(\d+)_keypoints\.json$")
POSE_KEYS = ("pose_keypoints_2d", "pose_keypoints")  # the second is OpenPose < 1.2

BODY_25_NAMES = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
    "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe", "left_small_toe",
    "left_heel", "right_big_toe", "right_small_toe", "right_heel",
)  # fmt: skip
OPENPOSE_18_NAMES = OPENPOSE.joint_names  # OpenPose's COCO-18 output order
BODY_25_TO_OPENPOSE_18 = tuple(BODY_25_NAMES.index(name) for name in OPENPOSE_18_NAMES)
# joints per person in the input -> (model name, input index of every OpenPose-18 joint)
MODELS: dict[int, tuple[str, tuple[int, ...]]] = {
    25: ("BODY_25", BODY_25_TO_OPENPOSE_18),
    18: ("COCO", tuple(range(18))),
}


# -- one video -------------------------------------------------------------------------------------
def frame_files(folder: str | os.PathLike) -> list[tuple[int, Path]]:
    """``[(frame number, path), ...]`` of the ``*_keypoints.json`` files in ``folder``, by frame number."""
    folder = Path(folder)
    frames: dict[int, Path] = {}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if not entry.name.endswith("_keypoints.json"):
            continue
        m = FRAME_FILE.search(entry.name)
        if m is None:
            raise DataError(f"{folder / entry.name}: no frame number before _keypoints.json in the file name")
        number = int(m.group(1))
        if number in frames:
            raise DataError(f"{folder / entry.name}: frame {number} again (also {frames[number].name})")
        frames[number] = folder / entry.name
    return sorted(frames.items())


def read_frame(path: Path) -> list[tuple[list[float], int]]:
    """The persons of one OpenPose frame file: ``[(flat [x, y, c, ...] list, joint count), ...]``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})") from exc
    except ValueError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("people"), list):
        raise DataError(f"{path}: expected an OpenPose object with a 'people' list")
    persons = []
    for p, person in enumerate(obj["people"]):
        key = next((k for k in POSE_KEYS if isinstance(person, dict) and k in person), None)
        pose = person.get(key) if key else None
        if not isinstance(pose, list):
            raise DataError(f"{path}: people[{p}] has no pose_keypoints_2d list")
        if not pose:
            continue  # face/hand-only detections carry an empty body pose
        joints, rest = divmod(len(pose), 3)
        if rest or joints not in MODELS:
            raise DataError(
                f"{path}: people[{p}].{key} has {len(pose)} numbers; expected 75 (BODY_25) or 54 (COCO-18) "
                "= 3 per joint (x, y, confidence)"
            )
        for k, value in enumerate(pose):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise DataError(f"{path}: people[{p}].{key}[{k}] is {value!r}; expected a finite number")
        persons.append((pose, joints))
    return persons


def convert_video(
    folder: str | os.PathLike,
    label: str | None = None,
    label_index: int | None = None,
    width: float = WIDTH,
    height: float = HEIGHT,
) -> tuple[dict[str, Any], bool, list[str]]:
    """One video folder to ``(Kinetics-skeleton object, has_skeleton, warnings)``; DataError names the file."""
    folder = Path(folder)
    frames = frame_files(folder)
    if not frames:
        raise DataError(f"{folder}: no *_keypoints.json frame files (OpenPose --write_json output)")
    first = frames[0][0]
    model: tuple[int, Path] | None = None
    data, notes = [], []
    lo, hi = 0.0, 1.0
    for number, path in frames:
        skeleton = []
        for pose, joints in read_frame(path):
            if model is None:
                model = (joints, path)
            elif joints != model[0]:
                raise DataError(
                    f"{path}: {joints} joints per person, but {model[1].name} has {model[0]} "
                    f"({MODELS[model[0]][0]}); one video must use one OpenPose model"
                )
            xy, score = [], []
            for j in MODELS[joints][1]:
                x, y, c = pose[3 * j : 3 * j + 3]
                if c <= 0:
                    x = y = c = 0.0
                else:
                    x, y = x / width, y / height
                    lo, hi = min(lo, x, y), max(hi, x, y)
                xy += [round(x, 3), round(y, 3)]
                score.append(round(c, 3))
            if any(score):
                skeleton.append({"pose": xy, "score": score})
        data.append({"frame_index": number - first + 1, "skeleton": skeleton})
    if lo < -0.01 or hi > 1.01:
        notes.append(
            f"{folder}: normalised coordinates reach {lo:.2f}..{hi:.2f}, outside 0..1; is the video "
            f"{width:g} x {height:g} (--width, --height)?"
        )
    last = data[-1]["frame_index"]
    if last >= KINETICS_MAX_FRAME:
        notes.append(
            f"{folder}: frame_index reaches {last}; kinetics_gendata keeps frames 0..{KINETICS_MAX_FRAME - 1}"
        )
    video = {"data": data, "label": label, "label_index": label_index}
    return video, any(frame["skeleton"] for frame in data), notes


@READERS.register("data_gen.openpose_to_kinetics.read_clip")
def read_clip(
    folder: str | os.PathLike,
    width: float = WIDTH,
    height: float = HEIGHT,
    max_frame: int = KINETICS_MAX_FRAME,
) -> np.ndarray:
    """One video's OpenPose folder to the float32 sample (3, max_frame, 18, 2) that this converter
    followed by ``kinetics_gendata.py`` makes of it (x - 0.5, 0.5 - y, score; 2 persons per frame).

    The video goes through the same two steps (via a temporary Kinetics-skeleton file), so the
    result equals the dataset row. DataError naming the file for bad input.
    """
    from data_gen.kinetics_gendata import read_video

    video, _, notes = convert_video(folder, None, None, width, height)
    for note in notes:
        LOG.warning("%s", note)
    with tempfile.TemporaryDirectory(prefix="openpose_clip_") as tmp:
        path = Path(tmp) / f"{Path(folder).name}.json"
        path.write_text(json.dumps(video), encoding="utf-8")
        sample, notes = read_video(path, max_frame=max_frame)
    for note in notes:
        LOG.warning("%s", note.replace(str(path), str(folder)))
    return sample


def _convert_chunk(
    task: tuple[tuple[tuple[str, str, str, int], ...], str | None, float, float],
) -> list[tuple[str, str | None, list[str], bool]]:
    """Worker body: convert ``(video, folder, label, index)`` items, writing into ``out_dir`` unless None."""
    items, out_dir, width, height = task
    results = []
    for video, folder, label, index in items:
        try:
            obj, has_skeleton, notes = convert_video(folder, label, index, width, height)
        except DataError as exc:
            results.append((video, str(exc), [], False))
            continue
        if out_dir is not None:
            save_text(json.dumps(obj), Path(out_dir) / f"{video}.json")
        results.append((video, None, notes, has_skeleton))
    return results


# -- labels ----------------------------------------------------------------------------------------
def read_label_table(
    path: str | os.PathLike, classes: Sequence[str] | None = None
) -> tuple[dict[str, tuple[str, int] | str], list[str] | None]:
    """``({video: (label, label_index) or an error message}, class names used)`` from a videos CSV.

    A row without an index takes it from ``classes``, or (without them) from the sorted label names
    of the file, which are then returned as the class names. A name given two indices is a ConfigError.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the video list ({exc.strerror or exc})") from exc
    rows: list[tuple[int, str, str, int | None]] = []
    table: dict[str, tuple[str, int] | str] = {}
    listed: dict[str, int] = {}
    for lineno, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if lineno == 1 and cells[0].lower() in ("video", "name", "video_id"):
            continue  # header
        if len(cells) < 2 or not cells[1]:
            raise ConfigError(
                f"{path}:{lineno}: expected 'video,label[,label_index]', got {','.join(cells)!r}"
            )
        if cells[0] in listed:
            raise ConfigError(
                f"{path}:{lineno}: video '{cells[0]}' is listed again (first on line {listed[cells[0]]})"
            )
        listed[cells[0]] = lineno
        index = None
        if len(cells) > 2 and cells[2]:
            try:
                index = int(cells[2])
            except ValueError:
                index = -1
            if index < 0:
                table[cells[0]] = f"{path}:{lineno}: label_index {cells[2]!r} is not an integer >= 0"
                continue
        rows.append((lineno, cells[0], cells[1], index))
    derived = None
    if classes is None and any(index is None for *_, index in rows):
        derived = sorted({label for _, _, label, _ in rows})
    names = list(classes) if classes is not None else derived
    seen: dict[str, tuple[int, int]] = {}
    for lineno, video, label, index in rows:
        if index is None:
            assert names is not None
            if label not in names:
                table[video] = f"{path}:{lineno}: unknown label '{label}' (not in the {len(names)} classes)"
                continue
            index = names.index(label)
        elif classes is not None and (index >= len(classes) or classes[index] != label):
            table[video] = f"{path}:{lineno}: label_index {index} is not '{label}' in the class list"
            continue
        if label in seen and seen[label][0] != index:
            raise ConfigError(
                f"{path}:{lineno}: label '{label}' has index {index}, but {seen[label][0]} on line {seen[label][1]}"
            )
        seen.setdefault(label, (index, lineno))
        table[video] = (label, index)
    return table, derived


def find_videos(data_path: Path) -> list[tuple[str, Path]]:
    """``[(video name, folder), ...]``: subfolders with frame files, or ``data_path`` itself."""
    if not data_path.is_dir():
        raise ConfigError(f"{data_path}: folder not found")
    if any(e.name.endswith("_keypoints.json") for e in os.scandir(data_path)):
        return [(data_path.resolve().name, data_path)]
    return [(e.name, Path(e.path)) for e in sorted(os.scandir(data_path), key=lambda e: e.name) if e.is_dir()]


# -- conversion ------------------------------------------------------------------------------------
def convert(
    data_path: str | os.PathLike,
    out_folder: str | os.PathLike,
    part: str = "train",
    labels: str | os.PathLike | None = None,
    label: str | None = None,
    label_index: int | None = None,
    classes: str | os.PathLike | Sequence[str] | None = None,
    width: float = WIDTH,
    height: float = HEIGHT,
    workers: int | None = None,
    strict: bool = False,
    overwrite: bool = False,
    chunk_size: int = 4,
) -> RunSummary:
    """Convert every video folder under ``data_path`` into ``{out_folder}/kinetics_{part}/`` and its label file."""
    data_path, out_folder = Path(data_path), Path(out_folder)
    if part not in PARTS:
        raise ConfigError(f"part: unknown part '{part}'; expected train or val")
    if (labels is None) == (label is None):
        raise ConfigError("labels: give either --labels videos.csv or --label NAME --label-index K")
    if label is not None and (label_index is None or label_index < 0):
        raise ConfigError("--label needs --label-index K (an integer >= 0)")
    if not (width > 0 and height > 0):
        raise ConfigError(f"--width and --height must be positive, got {width} x {height}")
    workers = default_workers() if workers is None else workers
    summary = RunSummary("openpose_to_kinetics", strict=strict)
    rep = summary.split(f"kinetics_{part}")
    video_dir = out_folder / f"kinetics_{part}"
    label_path = out_folder / f"kinetics_{part}_label.json"
    if label_path.is_file() and not overwrite:
        rep.status = "exists"
        summary.log()
        return summary
    class_names = read_classes(classes) if isinstance(classes, (str, os.PathLike)) else classes
    if labels is not None:
        table, derived = read_label_table(labels, class_names)
        if derived is not None:
            summary.add_warning(
                f"{labels}: label indices from the {len(derived)} sorted label names (label_map.txt); use "
                "the same CSV for every part, or pass --classes"
            )
    else:
        table, derived = {}, None

    items: list[tuple[str, str, str, int]] = []
    names: dict[str, str] = {}
    videos = find_videos(data_path)
    rep.candidates = len(videos)
    for video, folder in videos:
        entry = (label, label_index) if label is not None else table.get(video)
        if entry is None:
            _bad(summary, f"{folder}: no row for video '{video}' in {labels}; skipped")
            continue
        if isinstance(entry, str):
            _bad(summary, f"{entry}; video {folder} skipped")
            continue
        out_name = video.replace(".", "_")  # kinetics_gendata cuts the id at the first '.'
        if out_name in names:
            _bad(summary, f"{folder}: output name '{out_name}' is also used by '{names[out_name]}'; skipped")
            continue
        if out_name != video:
            summary.add_warning(f"{folder}: written as {out_name}.json ('.' ends the id in kinetics_gendata)")
        names[out_name] = video
        items.append((out_name, str(folder), str(entry[0]), int(entry[1])))
    if labels is not None and table:
        unused = set(table) - {v for v, _ in videos}
        if unused:
            summary.add_warning(
                f"{labels}: {len(unused)} listed video(s) have no folder, e.g. '{sorted(unused)[0]}'"
            )
    if not items or (strict and summary.bad):
        rep.status = "aborted" if strict and summary.bad else "empty"
        summary.log()
        return summary

    def run(out_dir: str | None) -> dict[str, bool]:
        chunks = [
            (tuple(items[k : k + chunk_size]), out_dir, width, height)
            for k in range(0, len(items), chunk_size)
        ]
        desc = "convert" if out_dir is not None else "check"
        done = {}
        for results in run_pool(
            _convert_chunk, chunks, workers, desc, len(items), lambda t: len(t[0]), "video"
        ):
            for video, error, notes, has_skeleton in results:
                if error is not None:
                    _bad(summary, error)
                    continue
                done[video] = has_skeleton
                if out_dir is not None:  # a dry run's notes come again with the real one
                    for note in notes:
                        summary.add_warning(note)
        return done

    if strict:
        run(None)  # dry run: write nothing unless every video converts
        if summary.bad:
            rep.status = "aborted"
            summary.log()
            return summary
    video_dir.mkdir(parents=True, exist_ok=True)
    done = run(str(video_dir))
    if not done:
        rep.status = "empty"
        summary.log()
        return summary
    entries = _existing_entries(label_path, summary) if overwrite else {}
    for video, folder, name, index in items:
        if video in done:
            entries[video] = {"has_skeleton": done[video], "label": name, "label_index": index}
            if not done[video]:
                summary.add_warning(f"{folder}: no person in any frame (has_skeleton false)")
    save_text(json.dumps(dict(sorted(entries.items())), indent=1) + "\n", label_path)
    if derived is not None:
        save_text("".join(f"{n}\n" for n in derived), out_folder / "label_map.txt")
    rep.written = len(done)
    rep.status = "written"
    LOG.debug("wrote %s (%d videos)", label_path, len(done))
    summary.log()
    return summary


def _bad(summary: RunSummary, message: str) -> None:
    summary.add_bad(message)
    for rep in summary.splits.values():
        rep.skipped["bad video"] += 1


def _existing_entries(label_path: Path, summary: RunSummary) -> dict[str, Any]:
    """Entries of an earlier label file whose videos were not converted now (kept on --overwrite)."""
    if not label_path.is_file():
        return {}
    try:
        entries = json.loads(label_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        summary.add_warning(f"{label_path}: not readable ({exc}); it is replaced")
        return {}
    return entries if isinstance(entries, dict) else {}


# -- command line ----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="OpenPose per-frame JSON folders (one per video) to Kinetics-skeleton JSON + label file."
    )
    parser.add_argument("--data_path", required=True, help="folder with one OpenPose output folder per video")
    parser.add_argument(
        "--out_folder", required=True, help="writes kinetics_{part}/ and kinetics_{part}_label.json"
    )
    parser.add_argument("--part", choices=PARTS, default="train", help="part name (default: %(default)s)")
    parser.add_argument("--labels", default=None, help="CSV rows video,label[,label_index]")
    parser.add_argument("--label", default=None, help="one label for every video (with --label-index)")
    parser.add_argument("--label-index", type=int, default=None, help="class index of --label")
    parser.add_argument(
        "--classes", default=None, help="class names, one per line (indices for --labels rows)"
    )
    parser.add_argument(
        "--width", type=float, default=WIDTH, help="video width in pixels (default: %(default)g)"
    )
    parser.add_argument(
        "--height", type=float, default=HEIGHT, help="video height in pixels (default: %(default)g)"
    )
    add_common_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    return cli(
        lambda: convert(
            args.data_path,
            args.out_folder,
            part=args.part,
            labels=args.labels,
            label=args.label,
            label_index=args.label_index,
            classes=args.classes,
            width=args.width,
            height=args.height,
            workers=args.workers,
            strict=args.strict,
            overwrite=args.overwrite,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
