"""Your own skeletons (one ``.npz`` or ``.json`` per clip) to 2s-AGCN tensors, for any layout.

The per-clip format, the split and the class names are documented in ``docs/custom_data.md``. In short,
a clip holds ``keypoints`` (M, T, V, C) with C = 2 (x, y) or 3 (x, y, z), optional ``scores`` (M, T, V),
a ``label`` (class index or class name) and an optional ``fps``; the split comes from ``split.json`` /
``split.csv`` or from ``train/``, ``val/``, ``test/`` subfolders; ``classes.txt`` lists class names.

Writes, for every part that has clips, ``{out_folder}/{part}_data_joint.npy`` (float32,
(N, C', T, V, M)) and ``{part}_label.pkl`` = ``(file stems, labels)``, names sorted; C' = C, plus the
confidence as the last channel when the clips have scores (2D + score: C' = 3, configs then set
``score_channel: 2``). Also ``label_map.txt`` (class names in label order) when labels are names, and
``preprocess.json`` (the options :func:`read_clip` needs to reproduce one row, e.g. for prediction).

Per clip, in order: persons beyond ``max_person`` dropped (the highest mean score stay, else the most
motion), joints with score 0 zeroed, clips longer than ``max_frame`` uniformly downsampled (warning),
``normalize`` applied (``none``, ``center``: the layout's centre joint of the first frame where it is
present becomes the origin, ``agcn``: 2s-AGCN's pre-normalisation, 3D only, ``view``: centred, then
one rotation per clip into the body's mean frame, up -> +y, right -> left -> -x, 3D only; see
:func:`view_normalize`), then zero padding in time and missing persons zero. A joint whose coordinates are all exactly 0 counts as missing and stays 0.

Bad clips (wrong joint count for the layout, wrong C, NaN/inf, empty clip, unknown or missing label,
unreadable file) are reported in one line naming the file, skipped and listed in the summary; the
others are written. Exit code 1 only if a part ends up empty, or with ``--strict``.

Usage, from the repository root::

    python data_gen/custom_gendata.py --data_path ./data/my_clips --out_folder ./data/my_dataset --layout coco
    python -m data_gen.custom_gendata --data_path DIR --out_folder OUT --layout my_layout.yaml --normalize center
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse
import collections
import csv
import io
import json
import math
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

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
from data_gen.preprocess import normalize_mtvc
from graph.layouts import Layout, get_layout
from utils.errors import ConfigError, DataError, closest
from utils.io import save_text
from utils.registry import READERS

SUFFIXES = (".npz", ".json")
PARTS = ("train", "val", "test")
MAX_FRAME_CAP = 300  # default max_frame: the longest clip, but no more than this
MAX_PERSON = 2
NORMALIZE = ("none", "center", "agcn", "view")
# 2s-AGCN pre-normalisation axes (zaxis: hip -> spine, xaxis: right -> left shoulder) of named layouts.
AGCN_AXES: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "ntu_rgb_d": ((0, 1), (8, 4)),
    "nw_ucla": ((0, 1), (8, 4)),
}
CLASSES_FILE = "classes.txt"
SPLIT_FILES = ("split.json", "split.csv")


# -- clip files ------------------------------------------------------------------------------------
@dataclass
class Clip:
    """One clip as stored: ``keypoints`` (M, T, V, C) float64, ``scores`` (M, T, V) float64 or None."""

    keypoints: np.ndarray
    scores: np.ndarray | None
    label: int | str | None
    fps: float | None


def load_clip_file(path: str | os.PathLike) -> Clip:
    """Read and check one ``.npz`` / ``.json`` clip (structure and values; not the layout).

    Raises DataError naming the file: unreadable, keys missing, wrong ranks or shapes, NaN/inf, a
    label that is neither an integer nor a string, empty clip (T = 0 or every keypoint 0).
    """
    path = Path(path)
    if path.suffix.lower() == ".npz":
        fields = _read_npz(path)
    elif path.suffix.lower() == ".json":
        fields = _read_json(path)
    else:
        raise DataError(f"{path}: unsupported file type; expected .npz or .json")
    if fields.get("keypoints") is None:
        raise DataError(f"{path}: no 'keypoints'; expected keys keypoints, label[, scores, fps]")
    keypoints = _float_array(path, "keypoints", fields["keypoints"])
    if keypoints.ndim == 3:  # (T, V, C): one person
        keypoints = keypoints[None]
    if keypoints.ndim != 4:
        raise DataError(f"{path}: keypoints have shape {keypoints.shape}; expected (M, T, V, C) or (T, V, C)")
    _check_finite(path, "keypoints", keypoints)
    scores = None
    if fields.get("scores") is not None:
        scores = _float_array(path, "scores", fields["scores"])
        if scores.ndim == 2 and keypoints.shape[0] == 1:
            scores = scores[None]
        if scores.shape != keypoints.shape[:3]:
            raise DataError(
                f"{path}: scores have shape {scores.shape}; expected (M, T, V) = {keypoints.shape[:3]} "
                "to match keypoints"
            )
        _check_finite(path, "scores", scores)
    if keypoints.shape[1] == 0:
        raise DataError(f"{path}: empty clip (T = 0 frames)")
    if not keypoints.any():
        raise DataError(f"{path}: empty clip (every keypoint is 0 in all {keypoints.shape[1]} frames)")
    return Clip(
        keypoints, scores, _label_value(path, fields.get("label")), _fps_value(path, fields.get("fps"))
    )


def _read_npz(path: Path) -> dict[str, Any]:
    if not zipfile.is_zipfile(path):  # also False for an unreadable file
        try:
            path.open("rb").close()
        except OSError as exc:
            raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
        raise DataError(f"{path}: not a .npz file (no zip archive; write clips with numpy.savez)")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {key: z[key] for key in z.files}
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except ValueError as exc:  # object arrays are never unpickled
        if "pickle" in str(exc):
            raise DataError(
                f"{path}: holds object (pickled) arrays, which are not read; save numeric arrays"
            ) from exc
        raise DataError(f"{path}: not a readable .npz file ({exc})") from exc
    except (zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from exc


def _read_json(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})") from exc
    except ValueError as exc:  # undecodable bytes
        raise DataError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected a JSON object with keypoints, label[, scores, fps]")
    return obj


def _float_array(path: Path, key: str, value: Any) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        kind = "ragged nested lists" if "inhomogeneous" in str(exc) else str(exc)
        raise DataError(f"{path}: '{key}' is not a rectangular array of numbers ({kind})") from None
    return array


def _check_finite(path: Path, key: str, array: np.ndarray) -> None:
    bad = ~np.isfinite(array)
    if bad.any():
        where = ", ".join(str(int(i)) for i in np.argwhere(bad)[0])
        raise DataError(
            f"{path}: {key}[{where}] is {array[bad][0]} ({int(bad.sum())} non-finite values); "
            "expected finite numbers (mark a missing joint as 0, with score 0)"
        )


def _label_value(path: Path, label: Any) -> int | str | None:
    if isinstance(label, np.ndarray):
        if label.size != 1:
            raise DataError(f"{path}: label has shape {label.shape}; expected one class index or name")
        label = label.reshape(()).item()
    if label is None:
        return None
    if isinstance(label, bytes):
        label = label.decode("utf-8", errors="replace")
    if isinstance(label, str):
        label = label.strip()
        if not label:
            raise DataError(f"{path}: label is an empty string; expected a class index or name")
        return label
    if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
        if label < 0:
            raise DataError(f"{path}: label {label} is negative; expected a class index >= 0 or a name")
        return int(label)
    raise DataError(f"{path}: label {label!r} is neither a class index (integer) nor a class name (string)")


def _fps_value(path: Path, fps: Any) -> float | None:
    if isinstance(fps, np.ndarray) and fps.size == 1:
        fps = fps.reshape(()).item()
    if fps is None:
        return None
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
        raise DataError(f"{path}: fps {fps!r} is not a positive number")
    return float(fps)


def resolve_label(path: str | os.PathLike, label: int | str | None, classes: Sequence[str] | None) -> int:
    """The class index of ``label``: integers as they are (checked against ``classes``), names
    looked up in ``classes``. DataError naming the file for a missing or unknown label."""
    if label is None:
        raise DataError(f"{path}: no label; expected a class index or a class name")
    if isinstance(label, str):
        if classes is None:
            raise DataError(f"{path}: label '{label}' is a class name but no class list was given")
        if label not in classes:
            hint = closest(label, classes)
            suggestion = f"; did you mean '{hint}'?" if hint else ""
            raise DataError(f"{path}: unknown label '{label}', not in the {len(classes)} classes{suggestion}")
        return list(classes).index(label)
    if classes is not None and label >= len(classes):
        raise DataError(
            f"{path}: label {label} is out of range for the {len(classes)} classes (0..{len(classes) - 1})"
        )
    return int(label)


def check_clip(path: str | os.PathLike, clip: Clip, layout: Layout, channels: int | None = None) -> None:
    """The clip fits ``layout`` (V joints) and has 2 or 3 coordinates per joint (``channels`` if given)."""
    check_dims(path, clip.keypoints.shape[2], clip.keypoints.shape[3], layout, channels)


def check_dims(
    path: str | os.PathLike, joints: int, coords: int, layout: Layout, channels: int | None
) -> None:
    """DataError naming the file when V is not the layout's or C is not 2/3 (or not ``channels``)."""
    if joints != layout.num_node:
        raise DataError(
            f"{path}: keypoints have V={joints} joints but layout '{layout.name}' has {layout.num_node}"
        )
    if coords not in (2, 3):
        raise DataError(
            f"{path}: keypoints have C={coords} values per joint; expected 2 (x, y) or 3 (x, y, z)"
        )
    if channels is not None and coords != channels:
        raise DataError(
            f"{path}: keypoints have C={coords} values per joint; expected {channels} like the other clips"
        )


# -- per-clip preprocessing --------------------------------------------------------------------------
def uniform_indices(length: int, max_frame: int) -> np.ndarray:
    """``max_frame`` frame indices spread evenly over ``0..length-1`` (first and last included)."""
    return np.linspace(0, length - 1, max_frame).round().astype(np.int64)


def fit_frames(clip: np.ndarray, max_frame: int, axis: int = 0) -> tuple[np.ndarray, bool]:
    """Downsample ``clip`` uniformly along ``axis`` to ``max_frame`` frames if it is longer.

    Returns the clip and whether it was downsampled.
    """
    length = clip.shape[axis]
    if length <= max_frame:
        return clip, False
    return np.take(clip, uniform_indices(length, max_frame), axis=axis), True


def missing_joints(coords: np.ndarray) -> np.ndarray:
    """(..., V) bool: joints whose coordinates (last axis) are all exactly 0."""
    return ~(coords != 0).any(axis=-1)


def center_on_joint(coords: np.ndarray, joint: int) -> tuple[np.ndarray, bool]:
    """Translate (M, T, V, C) so that ``joint`` of the first frame where it is present is the origin.

    Person 0 is searched first, then the others. Missing joints stay 0. Returns the array and
    whether an origin was found (otherwise the input is returned unchanged).
    """
    present = ~missing_joints(coords)  # (M, T, V)
    for m in range(coords.shape[0]):
        frames = np.flatnonzero(present[m, :, joint])
        if len(frames):
            origin = coords[m, frames[0], joint]
            return np.where(present[..., None], coords - origin, 0.0), True
    return coords, False


def agcn_normalize(coords: np.ndarray, zaxis: Sequence[int], xaxis: Sequence[int]) -> np.ndarray:
    """2s-AGCN pre-normalisation of (M, T, V, 3) coordinates; returns float32 (M, T, V, 3).

    :func:`data_gen.preprocess.normalize_mtvc` centres on joint 1 (NTU's middle of the spine); here the
    centre is ``zaxis[1]`` (the spine end of the "up" axis), so joints 1 and ``zaxis[1]`` are swapped
    for the call and back afterwards. For NTU and NW-UCLA (``zaxis = (0, 1)``) nothing moves.
    """
    V = coords.shape[2]
    perm = np.arange(V)
    perm[[1, zaxis[1]]] = perm[[zaxis[1], 1]]  # an involution: perm[perm[i]] == i
    s = np.ascontiguousarray(coords[:, :, perm], dtype=np.float32)
    normalize_mtvc(s, (int(perm[zaxis[0]]), 1), (int(perm[xaxis[0]]), int(perm[xaxis[1]])))
    return s[:, :, perm]


def view_normalize(
    coords: np.ndarray, center: int, up: Sequence[int], sides: Sequence[Sequence[int]]
) -> tuple[np.ndarray, bool]:
    """Put (M, T, V, 3) coordinates in a body frame; returns float32 (M, T, V, 3) and success.

    The ``center`` joint of the first frame where it is present becomes the origin; then one rotation
    for the whole clip (so motion and turning are kept) maps the body's mean "up" direction, the
    vector ``up[0] -> up[1]`` (hip -> shoulder centre) averaged over the frames of person 0 where both
    joints are present, to +y, and its mean "right -> left" direction (the sum of the ``sides`` pairs,
    e.g. right -> left hip and right -> left shoulder), made orthogonal to up, to -x (a person facing
    a Kinect camera; such clips barely move). Averaging over the clip makes the frame robust to the
    noise of single frames. This removes the camera's viewpoint (yaw, tilt, roll), which is what
    differs between cross-view splits. Missing joints stay 0; when an axis cannot be measured (joints
    never present, or up parallel to the sides) the clip is only centred and ``False`` is returned.
    """
    out, found = center_on_joint(coords.astype(np.float64), center)
    present = ~missing_joints(coords)  # (M, T, V)

    def mean_vector(a: int, b: int) -> np.ndarray | None:
        both = present[0, :, a] & present[0, :, b]  # (T,)
        if not both.any():
            return None
        return (coords[0, both, b] - coords[0, both, a]).mean(axis=0)

    up_vec = mean_vector(int(up[0]), int(up[1]))
    side_vecs = [v for v in (mean_vector(int(a), int(b)) for a, b in sides) if v is not None]
    if not found or up_vec is None or not side_vecs or np.linalg.norm(up_vec) == 0:
        return out.astype(np.float32), False
    e_y = up_vec / np.linalg.norm(up_vec)
    side = np.sum(side_vecs, axis=0)
    side = side - side.dot(e_y) * e_y  # orthogonal to up
    if np.linalg.norm(side) < 1e-6 * max(np.linalg.norm(np.sum(side_vecs, axis=0)), 1e-12):
        return out.astype(np.float32), False
    e_x = -side / np.linalg.norm(side)
    e_z = np.cross(e_x, e_y)  # right-handed: det = +1
    rotation = np.stack([e_x, e_y, e_z])  # rows: p' = R p
    rotated = out @ rotation.T
    return np.where(present[..., None], rotated, 0.0).astype(np.float32), True


def _person_rank(keypoints: np.ndarray, scores: np.ndarray | None) -> np.ndarray:
    """Persons best first: highest mean score, or (without scores) most motion."""
    if scores is not None:
        key = scores.mean(axis=(1, 2))
    else:
        present = ~missing_joints(keypoints)  # (M, T, V)
        both = present[:, 1:] & present[:, :-1]
        step = np.linalg.norm(np.diff(keypoints, axis=1), axis=-1)  # (M, T-1, V)
        key = (step * both).sum(axis=(1, 2))
    return np.argsort(-key, kind="stable")


def process_clip(
    clip: Clip,
    layout: Layout,
    max_frame: int | None = None,
    max_person: int = MAX_PERSON,
    normalize: str = "none",
    scores: bool | None = None,
    zaxis: Sequence[int] | None = None,
    xaxis: Sequence[int] | None = None,
    path: str | os.PathLike = "<clip>",
) -> tuple[np.ndarray, list[str]]:
    """One checked clip to the float32 sample (C', T, V, M) and warnings for the summary.

    C' = C coordinates, plus the score as the last channel when ``scores`` (None: when the clip has
    them); T = ``max_frame`` (None: the clip's length, at most 300); M = ``max_person``.
    """
    notes: list[str] = []
    keypoints, score = clip.keypoints, clip.scores
    if scores and score is None:
        raise DataError(
            f"{path}: no 'scores', but the dataset has a confidence channel (or pass --no-scores)"
        )
    use_scores = score is not None if scores is None else bool(scores)
    M, T, V, C = keypoints.shape
    if M > max_person:
        keep = _person_rank(keypoints, score)[:max_person]
        keypoints = keypoints[keep]
        score = None if score is None else score[keep]
    if score is not None:  # a joint the estimator did not find has score 0: its coordinates mean nothing
        keypoints = np.where(score[..., None] > 0, keypoints, 0.0)
    length = min(T, MAX_FRAME_CAP) if max_frame is None else max_frame
    keypoints, down = fit_frames(keypoints, length, axis=1)
    if score is not None:
        score, _ = fit_frames(score, length, axis=1)
    if down:
        notes.append(f"{path}: {T} frames, uniformly downsampled to {length}")
    if normalize == "center":
        keypoints, found = center_on_joint(keypoints, layout.center)
        if not found:
            notes.append(f"{path}: centre joint {layout.center} is missing in every frame; not centred")
    elif normalize == "agcn":
        if C != 3:
            raise DataError(f"{path}: --normalize agcn needs 3-D keypoints (C=3), got C={C}")
        zaxis, xaxis = agcn_axes(layout, zaxis, xaxis)
        keypoints = agcn_normalize(keypoints, zaxis, xaxis)
    elif normalize == "view":
        if C != 3:
            raise DataError(f"{path}: --normalize view needs 3-D keypoints (C=3), got C={C}")
        zaxis, xaxis = agcn_axes(layout, zaxis, xaxis)
        keypoints, found = view_normalize(keypoints, layout.center, zaxis, [xaxis])
        if not found:
            notes.append(f"{path}: body axes not measurable (joints {zaxis}, {xaxis} missing); only centred")
    elif normalize != "none":
        raise ConfigError(f"normalize: unknown mode '{normalize}'; expected one of {', '.join(NORMALIZE)}")
    channels = C + int(use_scores)
    sample = np.zeros((channels, length, V, max_person), dtype=np.float32)  # (C', T, V, M)
    kept, frames = keypoints.shape[0], keypoints.shape[1]
    sample[:C, :frames, :, :kept] = keypoints.transpose(3, 1, 2, 0)
    if use_scores and score is not None:
        sample[C, :frames, :, :kept] = score.transpose(1, 2, 0)
    return sample, notes


def agcn_axes(
    layout: Layout, zaxis: Sequence[int] | None, xaxis: Sequence[int] | None
) -> tuple[tuple[int, int], tuple[int, int]]:
    """The (zaxis, xaxis) joint pairs for ``--normalize agcn``: given, or known for the layout."""
    default = AGCN_AXES.get(layout.name)
    if (zaxis is None or xaxis is None) and default is None:
        raise ConfigError(
            f"--normalize agcn: give --zaxis (hip, spine) and --xaxis (right, left shoulder) joints for "
            f"layout '{layout.name}' (known only for {', '.join(AGCN_AXES)})"
        )
    z = tuple(int(i) for i in (zaxis if zaxis is not None else default[0]))  # type: ignore[index]
    x = tuple(int(i) for i in (xaxis if xaxis is not None else default[1]))  # type: ignore[index]
    for key, pair in (("zaxis", z), ("xaxis", x)):
        if len(pair) != 2 or not all(0 <= i < layout.num_node for i in pair) or pair[0] == pair[1]:
            raise ConfigError(
                f"--{key}: expected two different joints in 0..{layout.num_node - 1}, got {pair}"
            )
    return z, x  # type: ignore[return-value]


@READERS.register("data_gen.custom_gendata.read_clip")
def read_clip(
    path: str | os.PathLike,
    layout: str | Mapping[str, Any] | Layout,
    max_frame: int | None = None,
    max_person: int = MAX_PERSON,
    normalize: str = "none",
    scores: bool | None = None,
    channels: int | None = None,
    classes: Sequence[str] | None = None,
    zaxis: Sequence[int] | None = None,
    xaxis: Sequence[int] | None = None,
) -> tuple[np.ndarray, int | str | None]:
    """One raw clip to the float32 sample (C', T, V, M) exactly as :func:`gendata` writes it, and its label.

    Pass the options of the dataset (``{out_folder}/preprocess.json`` records them, see
    :func:`load_options`) to get the same tensor as its rows. ``max_frame=None`` keeps the clip's
    length (downsampled to 300 if longer); ``scores=None`` uses scores when the file has them. The
    label is the class index when it is an integer or ``classes`` maps it, the raw name otherwise,
    None when the file has none. DataError naming the file for bad input.
    """
    layout = load_layout(layout)
    clip = load_clip_file(path)
    check_clip(path, clip, layout, channels)
    sample, notes = process_clip(clip, layout, max_frame, max_person, normalize, scores, zaxis, xaxis, path)
    for note in notes:
        LOG.warning("%s", note)
    label = clip.label
    if label is not None and (classes is not None or isinstance(label, int)):
        label = resolve_label(path, label, classes)
    return sample, label


def read_sample(
    path: str, layout: Layout, channels: int | None = None, **options: Any
) -> tuple[np.ndarray, list[str]]:
    """Reader for :func:`data_gen.common.write_splits`: ``(sample, warnings)``."""
    clip = load_clip_file(path)
    check_clip(path, clip, layout, channels)
    return process_clip(clip, layout, path=path, **options)


# -- layouts, classes, splits ------------------------------------------------------------------------
def load_layout(spec: str | os.PathLike | Mapping[str, Any] | Layout) -> Layout:
    """A layout name, a mapping, a Layout, or a YAML/JSON file holding a custom layout mapping.

    The file holds ``{num_node, edges, center[, bone_root, joint_names, index_base, name]}``, either at
    the top level or under a ``layout:`` key (so a config's ``graph_args`` block can be reused).
    """
    if isinstance(spec, (Layout, Mapping)):
        return get_layout(spec)
    text = str(spec)
    path = Path(text)
    if not (path.suffix.lower() in (".yaml", ".yml", ".json") or path.is_file()):
        return get_layout(text)
    try:
        obj = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the layout file ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: not valid YAML/JSON ({getattr(exc, 'problem', exc)})") from exc
    if isinstance(obj, Mapping) and "layout" in obj and "num_node" not in obj:
        obj = obj["layout"]
    if isinstance(obj, str):
        return get_layout(obj)
    if not isinstance(obj, Mapping):
        raise ConfigError(
            f"{path}: expected a layout mapping {{num_node, edges, center}}, got {type(obj).__name__}"
        )
    try:
        layout = get_layout({"name": path.stem, **obj})
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return layout


def read_classes(path: str | os.PathLike) -> list[str]:
    """Class names, one per line, in label order (blank lines and ``#`` comments skipped)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the class list ({exc.strerror or exc})") from exc
    names = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise ConfigError(
                f"{path}: class '{name}' is listed twice (entries {seen[name] + 1} and {i + 1})"
            )
        seen[name] = i
    if not names:
        raise ConfigError(f"{path}: no class names (expected one per line, in label order)")
    return names


def read_split_file(path: str | os.PathLike) -> dict[str, str]:
    """``{sample name: part}`` from ``split.json`` or ``split.csv``.

    JSON: ``{"name": "train", ...}`` or ``{"train": [names], "val": [...], ...}``. CSV: rows
    ``name,part`` (a first row ``name,split`` / ``name,part`` is a header). Names may carry the file
    suffix. ConfigError naming the file (and line) for anything else.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the split file ({exc.strerror or exc})") from exc
    split: dict[str, str] = {}

    def add(name: Any, part: Any, where: str) -> None:
        name, part = str(name).strip(), str(part).strip().lower()
        if part not in PARTS:
            raise ConfigError(f"{where}: part '{part}' for '{name}'; expected one of {', '.join(PARTS)}")
        stem = _stem(name)
        if stem in split and split[stem] != part:
            raise ConfigError(f"{where}: '{name}' is in both {split[stem]} and {part}")
        split[stem] = part

    if path.suffix.lower() == ".json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise ConfigError(f"{path}: expected an object {{name: part}} or {{part: [names]}}")
        for key, value in obj.items():
            if isinstance(value, list):
                for name in value:
                    add(name, key, str(path))
            elif isinstance(value, str):
                add(key, value, str(path))
            else:
                raise ConfigError(f"{path}: entry '{key}' must be a part name or a list of sample names")
        return split
    for lineno, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if lineno == 1 and cells[0].lower() in ("name", "sample", "file") and len(cells) >= 2:
            continue  # header
        if len(cells) < 2:
            raise ConfigError(f"{path}:{lineno}: expected 'name,part', got {','.join(cells)!r}")
        add(cells[0], cells[1], f"{path}:{lineno}")
    return split


def _stem(name: str) -> str:
    for suffix in SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _clip_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix.lower() in SUFFIXES
        and p.name not in SPLIT_FILES
        and not p.name.startswith(".")
    )


def discover(
    data_path: Path, split_file: Path | None, summary: RunSummary
) -> dict[str, list[tuple[str, Path]]]:
    """``{part: [(name, path), ...]}`` (names sorted) from subfolders or a split file.

    Duplicate names and clips the split file does not mention are reported; problems with the split
    itself raise ConfigError.
    """
    if not data_path.is_dir():
        raise ConfigError(f"{data_path}: data folder not found")
    subfolders = [p for p in PARTS if (data_path / p).is_dir()]
    parts: dict[str, list[tuple[str, Path]]] = {}
    if split_file is None and subfolders:
        ignored = [name for name in SPLIT_FILES if (data_path / name).is_file()]
        if ignored:
            summary.add_warning(
                f"{data_path / ignored[0]}: not used, the {'/, '.join(subfolders)}/ subfolders give the split "
                "(pass --split to use the file)"
            )
        for part in subfolders:
            files = _clip_files(data_path / part)
            if not files:
                summary.add_warning(f"{data_path / part}: no .npz or .json clips in this folder")
            parts[part] = _unique(files, summary)
        loose = _clip_files(data_path)
        if loose:
            summary.skipped[f"clips outside {'/, '.join(subfolders)}/ subfolders"] += len(loose)
        return parts
    if split_file is None:
        found = [data_path / name for name in SPLIT_FILES if (data_path / name).is_file()]
        if not found:
            raise ConfigError(
                f"{data_path}: no split; put the clips in train/, val/, test/ subfolders or add "
                f"{' or '.join(SPLIT_FILES)} (sample name -> train/val/test), or pass --split"
            )
        split_file = found[0]
    split = read_split_file(split_file)
    files = _unique(_clip_files(data_path), summary)
    known = set()
    for name, path in files:
        part = split.get(name)
        if part is None:
            summary.skipped[f"clips not listed in {split_file.name}"] += 1
            LOG.debug("%s: not in %s; not used", path, split_file)
            continue
        known.add(name)
        parts.setdefault(part, []).append((name, path))
    absent = sorted(set(split) - known)
    if absent:
        summary.add_warning(
            f"{split_file}: {len(absent)} listed sample(s) have no clip file in {data_path}, e.g. '{absent[0]}'"
        )
    return {part: parts[part] for part in PARTS if part in parts}


def _unique(files: Sequence[Path], summary: RunSummary) -> list[tuple[str, Path]]:
    seen: dict[str, Path] = {}
    for path in files:
        name = path.stem
        if name in seen:
            summary.add_bad(f"{path}: duplicate sample name '{name}' (also {seen[name].name}); skipped")
            continue
        seen[name] = path
    return sorted(seen.items())


# -- scanning ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClipInfo:
    """What the first pass learns about a clip: its shape, whether it has scores, and its label."""

    persons: int
    frames: int
    joints: int
    channels: int
    has_scores: bool
    label: int | str | None


def scan_clips(paths: tuple[str, ...]) -> list[tuple[str, str | None, ClipInfo | None]]:
    """Worker body of the first pass: ``[(path, error or None, info or None), ...]``."""
    out: list[tuple[str, str | None, ClipInfo | None]] = []
    for path in paths:
        try:
            clip = load_clip_file(path)
        except DataError as exc:
            out.append((path, str(exc), None))
            continue
        M, T, V, C = clip.keypoints.shape
        out.append((path, None, ClipInfo(M, T, V, C, clip.scores is not None, clip.label)))
    return out


def scan(
    paths: Sequence[str], workers: int, chunk_size: int = 16
) -> dict[str, tuple[str | None, ClipInfo | None]]:
    """Run :func:`scan_clips` over ``paths`` in worker processes; ``{path: (error, info)}``."""
    chunks = [tuple(paths[k : k + chunk_size]) for k in range(0, len(paths), chunk_size)]
    found: dict[str, tuple[str | None, ClipInfo | None]] = {}
    for results in run_pool(scan_clips, chunks, workers, "scan", len(paths), len):
        for path, error, info in results:
            found[path] = (error, info)
    return found


def _majority(values: Sequence[Any]) -> Any:
    """The most common value; ties go to the one seen first."""
    return collections.Counter(values).most_common(1)[0][0]


def _label_classes(
    infos: dict[str, ClipInfo], classes: list[str] | None, summary: RunSummary
) -> tuple[list[str] | None, type | None]:
    """The class names labels are mapped through (``classes``, or the sorted label names), and the
    label kind (int or str) that is rejected because most clips use the other one (None: none)."""
    kinds = [type(i.label) for i in infos.values() if i.label is not None]
    if classes is not None or str not in kinds:
        return classes, None
    rejected = None
    if int in kinds:
        rejected = int if _majority(kinds) is str else str
        if rejected is str:
            return None, str
    names = sorted({i.label for i in infos.values() if isinstance(i.label, str)})
    summary.add_warning(
        f"no {CLASSES_FILE}: {len(names)} class names sorted alphabetically into labels 0..{len(names) - 1} "
        "(see label_map.txt)"
    )
    return names, rejected


# -- generation ------------------------------------------------------------------------------------
def gendata(
    data_path: str | os.PathLike,
    out_folder: str | os.PathLike,
    layout: str | os.PathLike | Mapping[str, Any] | Layout,
    split: str | os.PathLike | None = None,
    classes: str | os.PathLike | Sequence[str] | None = None,
    max_frame: int | None = None,
    max_person: int = MAX_PERSON,
    normalize: str = "none",
    scores: bool = True,
    channels: int | None = None,
    zaxis: Sequence[int] | None = None,
    xaxis: Sequence[int] | None = None,
    workers: int | None = None,
    strict: bool = False,
    overwrite: bool = False,
    chunk_size: int = 16,
) -> RunSummary:
    """Generate ``{out_folder}/{part}_data_joint.npy`` and ``{part}_label.pkl`` for every part with clips.

    ``split``: a split file (default: ``split.json``/``split.csv`` in ``data_path``, or the part
    subfolders); ``classes``: a class list file or the names (default: ``classes.txt`` in
    ``data_path`` if present); ``scores=False`` drops the confidence channel; ``channels`` fixes C
    (default: what most clips have). Parts whose two outputs exist are kept unless ``overwrite``.
    """
    data_path, out_folder = Path(data_path), Path(out_folder)
    skeleton = load_layout(layout)
    if normalize not in NORMALIZE:
        raise ConfigError(f"normalize: unknown mode '{normalize}'; expected one of {', '.join(NORMALIZE)}")
    if normalize in ("agcn", "view"):
        zaxis, xaxis = agcn_axes(skeleton, zaxis, xaxis)
    for key, value in (("max_frame", max_frame), ("max_person", max_person), ("channels", channels)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"{key}: expected a positive integer, got {value!r}")
    if channels is not None and channels not in (2, 3):
        raise ConfigError(f"channels: expected 2 (x, y) or 3 (x, y, z), got {channels}")
    workers = default_workers() if workers is None else workers
    summary = RunSummary("custom_gendata", strict=strict)
    if isinstance(classes, (str, os.PathLike)):
        class_names = read_classes(classes)
    elif classes is None and (data_path / CLASSES_FILE).is_file():
        class_names = read_classes(data_path / CLASSES_FILE)
    else:
        class_names = None if classes is None else [str(c) for c in classes]

    parts = discover(data_path, None if split is None else Path(split), summary)
    if not parts:
        raise ConfigError(f"{data_path}: no .npz or .json clips found for any part")
    todo = []
    for part, members in parts.items():
        rep = summary.split(part)
        rep.candidates = len(members)
        if split_done(*_split_paths(out_folder, part)) and not overwrite:
            rep.status = "exists"
        else:
            todo.append(part)
    if not todo:
        summary.log()
        return summary

    # First pass: shapes, scores and labels of every clip. Dataset-wide choices (C, scores, class
    # names) come from all parts, kept ones included, so that a part made again matches them.
    found = scan([str(p) for members in parts.values() for _, p in members], workers, chunk_size)
    infos: dict[str, ClipInfo] = {}
    for part, members in parts.items():
        for _, path in members:
            error, info = found[str(path)]
            if error is None:
                infos[str(path)] = info  # type: ignore[assignment]
            elif part in todo:
                _bad(summary, part, error)
    if infos:
        channels = channels or _majority([i.channels for i in infos.values()])
        use_scores = scores and _majority([i.has_scores for i in infos.values()])
        class_names, rejected = _label_classes(infos, class_names, summary)
    else:
        use_scores, rejected = scores, None
    if max_frame is None and len(todo) < len(parts):  # the T of a kept part
        kept = open_npy(_split_paths(out_folder, next(p for p in parts if p not in todo))[0])
        max_frame = int(kept.shape[2]) if kept.ndim == 5 else None
        del kept
    longest = 0
    labels: dict[str, int] = {}
    for part in todo:
        for _, path in parts[part]:
            info = infos.get(str(path))
            if info is None:
                continue
            try:
                check_dims(path, info.joints, info.channels, skeleton, channels)
                labels[str(path)] = _accept(path, info, use_scores, rejected, class_names)
            except DataError as exc:
                _bad(summary, part, str(exc))
                continue
            longest = max(longest, info.frames)
    crowded = sum(infos[p].persons > max_person for p in labels)
    if crowded:
        rule = "highest mean score" if use_scores else "most motion"
        summary.add_warning(
            f"{crowded} clip(s) have more than {max_person} persons; the {max_person} with the {rule} are kept"
        )
    if max_frame is None and longest:
        max_frame = min(longest, MAX_FRAME_CAP)
        if longest > MAX_FRAME_CAP:
            over = sum(i.frames > MAX_FRAME_CAP for p, i in infos.items() if p in labels)
            summary.add_warning(
                f"{over} clip(s) longer than {MAX_FRAME_CAP} frames (up to {longest}) are downsampled to "
                f"{MAX_FRAME_CAP}; pass --max_frame to choose"
            )

    writers: dict[str, SplitWriter] = {}
    items: list[tuple[str, list[tuple[str, int]]]] = []
    sample_shape = (int(channels or 0) + int(use_scores), max_frame or 1, skeleton.num_node, max_person)
    for part in todo:
        rep = summary.split(part)
        good = [(name, path) for name, path in parts[part] if str(path) in labels]
        if not good:
            rep.status = "empty"
            summary.add_warning(f"{part}: no usable clips; nothing written")
            continue
        for row, (_, path) in enumerate(good):
            items.append((str(path), [(part, row)]))
        npy, pkl = _split_paths(out_folder, part)
        writers[part] = SplitWriter(
            npy, pkl, [n for n, _ in good], [labels[str(p)] for _, p in good], sample_shape
        )
    options = {
        "layout": skeleton,
        "channels": channels,
        "max_frame": max_frame,
        "max_person": max_person,
        "normalize": normalize,
        "scores": use_scores,
        "zaxis": zaxis,
        "xaxis": xaxis,
    }
    if writers:
        write_splits(summary, writers, items, read_sample, options, workers, "read + write", chunk_size)
    if any(summary.split(p).status == "written" for p in todo):
        if class_names is not None:
            save_text("".join(f"{name}\n" for name in class_names), out_folder / "label_map.txt")
        record_options(
            summary, out_folder, "data_gen.custom_gendata.read_clip", {**options, "classes": class_names}
        )
    summary.log()
    return summary


def _accept(
    path: Path, info: ClipInfo, use_scores: bool, rejected: type | None, classes: list[str] | None
) -> int:
    """The label index of a scanned clip that fits the dataset-wide choices; DataError otherwise."""
    if use_scores and not info.has_scores:
        raise DataError(
            f"{path}: no 'scores', but most clips have them (pass --no-scores to drop the channel)"
        )
    if rejected is not None and isinstance(info.label, rejected):
        kind, other = ("a class index", "names") if rejected is int else ("a class name", "indices")
        raise DataError(
            f"{path}: label {info.label!r} is {kind}, but most clips use class {other}; "
            f"add {CLASSES_FILE} (class names in label order) to mix them"
        )
    return resolve_label(path, info.label, classes)


def _bad(summary: RunSummary, part: str, message: str) -> None:
    summary.add_bad(message)
    summary.split(part).skipped["bad file"] += 1


def _split_paths(out_folder: Path, part: str) -> tuple[Path, Path]:
    return out_folder / f"{part}_data_joint.npy", out_folder / f"{part}_label.pkl"


# -- command line ----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Your own skeleton clips (.npz/.json, see docs/custom_data.md) to (N, C, T, V, M) "
        "tensors and label pickles."
    )
    parser.add_argument(
        "--data_path", required=True, help="folder of clips (with split file or train/ val/ test/)"
    )
    parser.add_argument("--out_folder", required=True, help="output folder")
    parser.add_argument(
        "--layout",
        required=True,
        help="skeleton layout: a name (coco, openpose, ntu_rgb_d, nw_ucla) or a YAML/JSON file with "
        "{num_node, edges, center}",
    )
    parser.add_argument(
        "--split", default=None, help="split file (default: split.json/split.csv in --data_path)"
    )
    parser.add_argument(
        "--classes", default=None, help=f"class names, one per line (default: {CLASSES_FILE} in --data_path)"
    )
    parser.add_argument(
        "--max_frame",
        type=int,
        default=None,
        help=f"frames per sample (default: the longest clip, at most {MAX_FRAME_CAP}); longer clips are "
        "uniformly downsampled",
    )
    parser.add_argument(
        "--max_person", type=int, default=MAX_PERSON, help="persons per sample (default: %(default)s)"
    )
    parser.add_argument(
        "--normalize",
        choices=NORMALIZE,
        default="none",
        help="none; center: first-frame centre joint to the origin; agcn: 2s-AGCN pre-normalisation (3D); view: "
        "centre, then rotate each clip into its mean body frame (--zaxis up, --xaxis right -> left; 3D) "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--no-scores", dest="scores", action="store_false", help="drop the confidence channel"
    )
    parser.add_argument(
        "--channels",
        type=int,
        choices=(2, 3),
        default=None,
        help="coordinates per joint (default: as most clips)",
    )
    parser.add_argument(
        "--zaxis",
        type=int,
        nargs=2,
        default=None,
        help="agcn/view: hip and spine joints (0-based; the up axis)",
    )
    parser.add_argument(
        "--xaxis", type=int, nargs=2, default=None, help="agcn/view: right and left shoulder joints"
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
            args.layout,
            split=args.split,
            classes=args.classes,
            max_frame=args.max_frame,
            max_person=args.max_person,
            normalize=args.normalize,
            scores=args.scores,
            channels=args.channels,
            zaxis=args.zaxis,
            xaxis=args.xaxis,
            workers=args.workers,
            strict=args.strict,
            overwrite=args.overwrite,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
