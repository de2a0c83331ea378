"""Your own skeletons (one ``.npz`` or ``.json`` per clip) to 2s-AGCN tensors, for any layout.

The per-clip format, the split and the class names are documented in ``docs/custom_data.md``. In short,
a clip holds ``keypoints`` (M, T, V, C) with C = 2 (x, y) or 3 (x, y, z), optional ``scores`` (M, T, V),
a ``label`` (class index or class name) and an optional ``fps``; the split comes from ``split.json`` /
``split.csv`` or from ``train/``, ``val/``, ``test/`` subfolders (``train`` fits, ``val`` chooses,
``test`` evaluates), several named splits from a split table (``name,split1,split2,...``), or
``--folds K`` stratified folds of all clips (:mod:`data_gen.custom_splits`); ``classes.txt`` lists
class names.

Writes, for every part that has clips, ``{out_folder}/{part}_data_joint.npy`` (float32,
(N, C', T, V, M)) and ``{part}_label.pkl`` = ``(file stems, labels)``, names sorted; C' = C, plus the
confidence as the last channel when the clips have scores (2D + score: C' = 3, configs then set
``score_channel: 2``). Also ``label_map.txt`` (class names in label order) when labels are names, and
``preprocess.json`` (the options :func:`read_clip` needs to reproduce one row, e.g. for prediction,
and the layout). Folds and named splits write these into ``{out_folder}/fold<k>/`` or
``{out_folder}/<split>/``; each clip is read once however many outputs it goes into. Next to the data:
``layout.yaml`` (the skeleton, for configs' ``graph_args``) and, unless ``--no-configs``, starter
configs in ``configs/`` and a starter ``experiment.yaml`` sized for the data (:mod:`data_gen.starter`).

Dataset-wide defaults: ``max_frame`` the 95th percentile of the clip lengths (at most 300; the longer
clips are named in the summary), ``max_person`` the most persons in a clip (at most 2).

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
import json
import math
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.common import (
    LOG,
    RunSummary,
    SplitWriter,
    _layout_dict,
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
from data_gen.custom_splits import (
    PARTS,
    Output,
    carve_val,
    discover_splits,
    fold_outputs,
    read_split_file,  # noqa: F401  (part of this module's API)
    read_split_table,  # noqa: F401
)
from data_gen.preprocess import normalize_mtvc
from data_gen.starter import layout_text, shown, write_starter
from graph.layouts import LAYOUT_FILE_SUFFIXES, Layout, get_layout, layout_from_file
from utils.errors import ConfigError, DataError, closest
from utils.io import save_text
from utils.registry import READERS

MAX_FRAME_CAP = 300  # default max_frame: a percentile of the clip lengths, but no more than this
MAX_FRAME_PERCENTILE = 95.0
LAYOUT_FILE = "layout.yaml"  # the dataset's skeleton, beside the data
MAX_PERSON = 2
NORMALIZE = ("none", "center", "agcn", "view")
# 2s-AGCN pre-normalisation axes (zaxis: hip -> spine, xaxis: right -> left shoulder) of named layouts.
AGCN_AXES: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "ntu_rgb_d": ((0, 1), (8, 4)),
    "nw_ucla": ((0, 1), (8, 4)),
}
CLASSES_FILE = "classes.txt"


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
    the top level or under a ``layout:`` key (so a config's ``graph_args`` block can be reused); see
    :func:`graph.layouts.layout_from_file`.
    """
    if isinstance(spec, (Layout, Mapping)):
        return get_layout(spec)
    text = str(spec)
    if Path(text).suffix.lower() in LAYOUT_FILE_SUFFIXES or Path(text).is_file():
        return layout_from_file(text)
    return get_layout(text)


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
def default_max_frame(lengths: Sequence[int], percentile: float = MAX_FRAME_PERCENTILE) -> int:
    """``max_frame`` when none is given: the ``percentile`` of the clip lengths (rounded up), at most 300."""
    return int(min(MAX_FRAME_CAP, math.ceil(float(np.percentile(np.asarray(lengths), percentile)))))


def planned_outputs(
    splits: Mapping[str, Mapping[str, Sequence[Any]]], folds: int | None, val_fraction: float
) -> list[Output]:
    """Every output part, known before any clip is read (so finished ones can be kept)."""
    if folds is not None:
        parts = ("train", "val", "test") if val_fraction > 0 else ("train", "test")
        return [Output(f"fold{k}", part) for k in range(folds) for part in parts]
    out = []
    for split, parts in splits.items():
        names = set(parts)
        if val_fraction > 0 and "train" in names and "val" not in names:
            names.add("val")
        out += [Output(split, part) for part in PARTS if part in names]
    return out


def gendata(
    data_path: str | os.PathLike,
    out_folder: str | os.PathLike,
    layout: str | os.PathLike | Mapping[str, Any] | Layout,
    split: str | os.PathLike | None = None,
    classes: str | os.PathLike | Sequence[str] | None = None,
    max_frame: int | None = None,
    max_person: int | None = None,
    normalize: str = "none",
    scores: bool = True,
    channels: int | None = None,
    zaxis: Sequence[int] | None = None,
    xaxis: Sequence[int] | None = None,
    workers: int | None = None,
    strict: bool = False,
    overwrite: bool = False,
    chunk_size: int = 16,
    folds: int | None = None,
    seed: int = 0,
    val_fraction: float = 0.0,
    starter: bool = True,
    command: Mapping[str, Any] | None = None,
) -> RunSummary:
    """Generate ``{part}_data_joint.npy`` and ``{part}_label.pkl`` for every part of every split.

    ``split``: a split file or table (default: ``split.json``/``split.csv`` in ``data_path``, or the
    part subfolders); ``classes``: a class list file or the names (default: ``classes.txt`` in
    ``data_path`` if present); ``scores=False`` drops the confidence channel; ``channels`` fixes C
    (default: what most clips have). ``folds``: k stratified folds (``seed``) of all clips instead of
    the given split, in ``{out_folder}/fold<k>/``; named splits of a split table go to
    ``{out_folder}/<name>/``. ``val_fraction``: a split without a val part gets a stratified share of
    its training clips as val. Every clip is read once, whatever the number of folds or splits.
    Outputs whose two files exist are kept unless ``overwrite``. With ``starter``, starter configs and
    an experiment file are written next to the data (:mod:`data_gen.starter`; ``command``: the
    generator's arguments for the experiment's data step).
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
    if folds is not None and (isinstance(folds, bool) or not isinstance(folds, int) or folds < 2):
        raise ConfigError(f"folds: expected an integer >= 2, got {folds!r}")
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"val_fraction: expected a fraction in [0, 1), got {val_fraction}")
    workers = default_workers() if workers is None else workers
    summary = RunSummary("custom_gendata", strict=strict)
    if isinstance(classes, (str, os.PathLike)):
        class_names = read_classes(classes)
    elif classes is None and (data_path / CLASSES_FILE).is_file():
        class_names = read_classes(data_path / CLASSES_FILE)
    else:
        class_names = None if classes is None else [str(c) for c in classes]

    splits = discover_splits(
        data_path, None if split is None else Path(split), summary, pool=folds is not None
    )
    if not any(members for parts in splits.values() for members in parts.values()):
        raise ConfigError(f"{data_path}: no .npz or .json clips found for any part")
    planned = planned_outputs(splits, folds, val_fraction)
    todo = [o for o in planned if overwrite or not split_done(*o.paths(out_folder))]
    for output in planned:
        if output not in todo:
            summary.split(output.name).status = "exists"
    folders = list(dict.fromkeys(o.folder for o in planned))

    def starter_files() -> None:  # next to the data, also when it was all made before
        if starter:
            layout_ref, step = _layout_ref(skeleton, out_folder), _step(command, planned, out_folder)
            write_starter(out_folder, folders, layout_ref, step, overwrite)

    if not todo:
        summary.log()
        starter_files()
        return summary
    todo_folders = {o.folder for o in todo}

    # First pass: shapes, scores and labels of every clip. Dataset-wide choices (C, scores, class
    # names) come from all parts, kept ones included, so that a part made again matches them.
    clips = sorted({str(p) for parts in splits.values() for members in parts.values() for _, p in members})
    found = scan(clips, workers, chunk_size)
    infos = {path: info for path, (error, info) in found.items() if error is None}
    if infos:
        channels = channels or _majority([i.channels for i in infos.values()])
        use_scores = scores and _majority([i.has_scores for i in infos.values()])
        class_names, rejected = _label_classes(infos, class_names, summary)  # type: ignore[arg-type]
    else:
        use_scores, rejected = scores, None
    labels: dict[str, int] = {}
    bad: dict[str, str] = {}
    for path in clips:
        error, info = found[path]
        if info is not None:
            try:
                check_dims(path, info.joints, info.channels, skeleton, channels)
                labels[path] = _accept(Path(path), info, use_scores, rejected, class_names)
                continue
            except DataError as exc:
                error = str(exc)
        bad[path] = str(error)

    # Which clips go into which output; a bad clip is reported once and counted in its parts.
    assigned: dict[Output, list[tuple[str, Path]]] = {}
    if folds is not None:
        pool = [(n, p) for n, p in splits[""]["all"] if str(p) in labels]
        for path in bad:
            summary.add_bad(bad[path])
            summary.skipped["bad file"] += 1
        if pool:
            assigned = fold_outputs(pool, [labels[str(p)] for _, p in pool], folds, seed, val_fraction)
        small = sorted(c for c, n in collections.Counter(labels.values()).items() if n < folds)
        if small:
            summary.add_warning(
                f"{len(small)} class(es) have fewer clips than the {folds} folds (e.g. label {small[0]}); "
                "some folds test none of them"
            )
    else:
        reported = set()
        for name, parts in splits.items():
            for part, members in parts.items():
                output = Output(name, part)
                for _, path in members:
                    if str(path) in bad and output in todo:
                        summary.split(output.name).skipped["bad file"] += 1
                        if str(path) not in reported:
                            reported.add(str(path))
                            summary.add_bad(bad[str(path)])
            good = {part: [(n, p) for n, p in members if str(p) in labels] for part, members in parts.items()}
            for part, members in carve_val(good, labels, val_fraction, seed, name or str(data_path)).items():
                assigned[Output(name, part)] = members
    for output in todo:
        rep = summary.split(output.name)
        rep.candidates = len(assigned.get(output, [])) + sum(rep.skipped.values())

    kept = [o for o in planned if o not in todo]
    if kept and (max_frame is None or max_person is None):  # the T and M of a kept part
        array = open_npy(kept[0].paths(out_folder)[0])
        if array.ndim == 5:
            max_frame = int(array.shape[2]) if max_frame is None else max_frame
            max_person = int(array.shape[4]) if max_person is None else max_person
        del array
    used = sorted({str(p) for o in todo for _, p in assigned.get(o, [])})
    if max_person is None:  # as many person slots as the clips have, at most MAX_PERSON
        max_person = min(MAX_PERSON, max((infos[p].persons for p in used), default=1))
    crowded = sum(infos[p].persons > max_person for p in used)
    if crowded:
        rule = "highest mean score" if use_scores else "most motion"
        summary.add_warning(
            f"{crowded} clip(s) have more than {max_person} persons; the {max_person} with the {rule} are kept"
        )
    if max_frame is None and used:
        lengths = [infos[p].frames for p in used]
        max_frame = default_max_frame(lengths)
        longer = sorted((p for p in used if infos[p].frames > max_frame), key=lambda p: -infos[p].frames)
        if longer:
            named = ", ".join(f"{Path(p).stem} ({infos[p].frames})" for p in longer[:20])
            more = f" and {len(longer) - 20} more" if len(longer) > 20 else ""
            summary.add_warning(
                f"max_frame {max_frame}: the {MAX_FRAME_PERCENTILE:g}th percentile of the {len(lengths)} clip "
                f"lengths (longest {max(lengths)}); {len(longer)} longer clip(s) are uniformly downsampled to "
                f"{max_frame} frames: {named}{more}; pass --max_frame to choose"
            )

    writers: dict[str, SplitWriter] = {}
    targets: dict[str, list[tuple[str, int]]] = {}
    sample_shape = (int(channels or 0) + int(use_scores), max_frame or 1, skeleton.num_node, max_person)
    for output in todo:
        rep = summary.split(output.name)
        good = assigned.get(output, [])
        if not good:
            rep.status = "empty"
            summary.add_warning(f"{output.name}: no usable clips; nothing written")
            continue
        for row, (_, path) in enumerate(good):
            targets.setdefault(str(path), []).append((output.name, row))
        npy, pkl = output.paths(out_folder)
        writers[output.name] = SplitWriter(
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
        items = sorted(targets.items())
        write_splits(summary, writers, items, read_sample, options, workers, "read + write", chunk_size)
    written = {o.folder for o in todo if summary.split(o.name).status == "written"}
    for folder in sorted(written & todo_folders):
        base = out_folder / folder if folder else out_folder
        if class_names is not None:
            save_text("".join(f"{name}\n" for name in class_names), base / "label_map.txt")
        record_options(
            summary, base, "data_gen.custom_gendata.read_clip", {**options, "classes": class_names}
        )
    if written:
        save_text(layout_text(_layout_dict(skeleton)), out_folder / LAYOUT_FILE)
    summary.log()
    if written:
        starter_files()
    return summary


def _step(
    command: Mapping[str, Any] | None, planned: Sequence[Output], out_folder: Path
) -> dict[str, Any] | None:
    """The experiment file's data step: this generator, its arguments, and the last file it makes."""
    if command is None:
        return None
    creates = shown(planned[-1].paths(out_folder)[1])
    return {"generator": "custom_gendata", "args": dict(command), "creates": creates}


def _layout_ref(skeleton: Layout, out_folder: Path) -> str:
    """What configs put in ``graph_args.layout``: the name of a named layout, else ``{out}/layout.yaml``."""
    spec = _layout_dict(skeleton)
    return spec if isinstance(spec, str) else shown(out_folder / LAYOUT_FILE)


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
        help=f"frames per sample (default: the {MAX_FRAME_PERCENTILE:g}th percentile of the clip lengths, at most "
        f"{MAX_FRAME_CAP}; the longer clips are named in the summary); longer clips are uniformly downsampled",
    )
    parser.add_argument(
        "--max_person",
        type=int,
        default=None,
        help=f"persons per sample (default: the most persons in a clip, at most {MAX_PERSON})",
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
    parser.add_argument(
        "--folds",
        type=int,
        default=None,
        help="make K folds stratified by label (seeded by --seed) from all clips, in OUT/fold0 .. fold<K-1>, "
        "each with train and test (and val with --val_fraction); a given split is pooled",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of --folds and --val_fraction (default: 0)")
    parser.add_argument(
        "--val_fraction",
        type=float,
        default=0.0,
        help="a split (or fold) without a val part gets this stratified share of its training clips as val",
    )
    parser.add_argument(
        "--no-configs",
        dest="starter",
        action="store_false",
        help="do not write the starter configs (OUT/configs/) and experiment file (OUT/experiment.yaml)",
    )
    add_common_arguments(parser)
    return parser


def command_args(args: argparse.Namespace) -> dict[str, Any]:
    """This command's arguments as an experiment file's data step gives them (non-default options)."""
    defaults = vars(build_parser().parse_args(["--data_path", "x", "--out_folder", "x", "--layout", "x"]))
    keep = ("data_path", "out_folder", "layout")
    skip = ("workers", "verbose", "overwrite", "strict", "starter")
    flags = {}
    for key, value in vars(args).items():
        if key in skip or (key not in keep and value == defaults.get(key)):
            continue
        flags["no-scores" if key == "scores" else key] = True if key == "scores" else value
    return flags


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
            folds=args.folds,
            seed=args.seed,
            val_fraction=args.val_fraction,
            starter=args.starter,
            command=command_args(args),
        )
    )


if __name__ == "__main__":
    sys.exit(main())
