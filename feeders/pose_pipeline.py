"""MMAction2's skeleton data pipeline for GCN models, one clip at a time, as small building blocks.

The transforms reproduce MMAction2 1.2's ``PreNormalize3D``, ``PreNormalize2D``, ``GenSkeFeat``,
``UniformSampleFrames``, ``PoseDecode`` and ``FormatGCNInput`` exactly (the same frames, the same
float rounding; checked against reference outputs in ``tests/test_pose_pipeline.py``). Each exists
twice: as a plain function on arrays (``pre_normalize_3d``, ``gen_ske_feat``, ...) and as a class
that updates an MMAction2-style ``results`` dict (``PreNormalize3D()(results)``), so other pipelines
(PoseC3D's heatmaps) can reuse the sampling and decoding steps. :func:`gcn_clip` chains the GCN
pipeline for one annotation; ``feeders.pose_pickle`` is the dataset around it.

Shapes: an annotation holds ``keypoint`` (M, T, V, C) (C = 3 for 3D; C = 2 for 2D, plus
``keypoint_score`` (M, T, V)). MMAction2's output is (num_clips, M, clip_len, V, C);
:func:`to_nctvm` turns it into this project's layout (num_clips, C, clip_len, V, M).

Quirks kept on purpose (they are what MMAction2's published weights were trained on):

* PreNormalize3D drops the main person's empty frames (the clip gets shorter), swaps the two persons
  when the second has more valid frames, centres on one joint of the first kept frame, and returns
  float64;
* the bone pairs (:data:`BONE_PAIRS`) are MMAction2's tables, not the graph edges: NTU's hand tip
  hangs on the thumb, COCO's and OpenPose's hips hang on the nose, and the roots (NTU joint 20, the
  nose) have a zero bone;
* for 2D data the score is channel 2; bones and motion average the two scores instead of subtracting;
* 'j' and 'jm' keep the dtype of the keypoints (float64 after PreNormalize3D), 'b' and 'bm' are
  float32; PoseDecode casts to float32 afterwards, so only the rounding point differs;
* test-mode sampling draws from a fresh ``np.random.RandomState(seed)`` per sample: the indices of
  MMAction2's ``np.random.seed(255)`` without touching NumPy's global generator. Train mode draws from
  the global legacy generator, which the engine seeds per process and DataLoader worker.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Pair = tuple[int, int]

# --------------------------------------------------------------------------------------------------
# layouts: MMAction2's bone tables, kept as data in this one place
# --------------------------------------------------------------------------------------------------
#: (joint, parent) pairs of MMAction2's ``JointToBone`` per dataset name. A joint paired with itself
#: is a root: its bone is zero.
# fmt: off
BONE_PAIRS: dict[str, tuple[Pair, ...]] = {
    "nturgb+d": (
        (0, 1), (1, 20), (2, 20), (3, 2), (4, 20), (5, 4), (6, 5), (7, 6), (8, 20), (9, 8), (10, 9),
        (11, 10), (12, 0), (13, 12), (14, 13), (15, 14), (16, 0), (17, 16), (18, 17), (19, 18),
        (21, 22), (20, 20), (22, 7), (23, 24), (24, 11),
    ),
    "openpose": (
        (0, 0), (1, 0), (2, 1), (3, 2), (4, 3), (5, 1), (6, 5), (7, 6), (8, 2), (9, 8), (10, 9),
        (11, 5), (12, 11), (13, 12), (14, 0), (15, 0), (16, 14), (17, 15),
    ),
    "coco": (
        (0, 0), (1, 0), (2, 0), (3, 1), (4, 2), (5, 0), (6, 0), (7, 5), (8, 6), (9, 7), (10, 8),
        (11, 0), (12, 0), (13, 11), (14, 12), (15, 13), (16, 14),
    ),
}
# fmt: on
#: Aliases accepted for the dataset names (this project's layout names).
DATASET_ALIASES = {"ntu_rgb_d": "nturgb+d", "ntu": "nturgb+d", "coco17": "coco"}
#: Stream names: MMAction2's feature names and this project's stream names.
STREAM_FEATS = {
    "j": "j",
    "b": "b",
    "jm": "jm",
    "bm": "bm",
    "joint": "j",
    "bone": "b",
    "joint_motion": "jm",
    "bone_motion": "bm",
}


@dataclass(frozen=True)
class PoseLayout:
    """What the pipeline needs to know about a skeleton.

    Attributes:
        name: MMAction2's dataset name (``nturgb+d``, ``coco``, ``openpose``) or a custom name.
        num_node: V, the joint count.
        bone_pairs: (joint, parent) for every joint; a root is paired with itself.
        coords: 3 (3D keypoints) or 2 (2D keypoints with ``keypoint_score``); None: either.
        score_channel: whether a third channel of 2D data is a score (bone and motion average it).
        zaxis, xaxis: PreNormalize3D's joint pairs (spine bottom, top) and (right, left shoulder);
            None skips that rotation (custom layouts that do not give them).
    """

    name: str
    num_node: int
    bone_pairs: tuple[Pair, ...]
    coords: int | None = None
    score_channel: bool = True
    zaxis: Pair | None = (0, 1)
    xaxis: Pair | None = (8, 4)
    parents: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parents = np.arange(self.num_node)
        seen = set()
        for v, u in self.bone_pairs:
            if not (0 <= v < self.num_node and 0 <= u < self.num_node):
                raise ValueError(f"layout '{self.name}': bone pair ({v}, {u}) outside 0..{self.num_node - 1}")
            parents[v] = u
            seen.add(v)
        if len(seen) != self.num_node:
            missing = sorted(set(range(self.num_node)) - seen)
            raise ValueError(
                f"layout '{self.name}': joints {missing} have no bone pair (pair a root with itself)"
            )
        for key in ("zaxis", "xaxis"):
            pair = getattr(self, key)
            if pair is not None and (len(pair) != 2 or not all(0 <= int(j) < self.num_node for j in pair)):
                raise ValueError(
                    f"layout '{self.name}': {key} {pair} is not two joints in 0..{self.num_node - 1}"
                )
        object.__setattr__(self, "parents", parents)


LAYOUTS: dict[str, PoseLayout] = {
    "nturgb+d": PoseLayout("nturgb+d", 25, BONE_PAIRS["nturgb+d"], coords=3, score_channel=False),
    "coco": PoseLayout("coco", 17, BONE_PAIRS["coco"], coords=2),
    "openpose": PoseLayout("openpose", 18, BONE_PAIRS["openpose"], coords=2),
}


def get_pose_layout(spec: str | Mapping[str, Any] | PoseLayout) -> PoseLayout:
    """A layout by MMAction2 dataset name (or alias), or given as data.

    A mapping holds ``num_node`` and ``bone_pairs`` (a list of [joint, parent]), and optionally
    ``name``, ``coords`` (2 or 3), ``score_channel``, ``zaxis``, ``xaxis``. Raises ValueError.
    """
    if isinstance(spec, PoseLayout):
        return spec
    if isinstance(spec, str):
        name = DATASET_ALIASES.get(spec, spec)
        if name not in LAYOUTS:
            raise ValueError(
                f"unknown dataset '{spec}'; expected one of {', '.join(LAYOUTS)} or a layout mapping"
            )
        return LAYOUTS[name]
    if isinstance(spec, Mapping):
        known = {"name", "num_node", "bone_pairs", "coords", "score_channel", "zaxis", "xaxis"}
        unknown = sorted(set(spec) - known)
        if unknown or "num_node" not in spec or "bone_pairs" not in spec:
            raise ValueError(
                f"a layout mapping needs num_node and bone_pairs (optional: name, coords, score_channel, "
                f"zaxis, xaxis); got keys {sorted(spec)}"
            )
        coords = spec.get("coords")
        if coords not in (None, 2, 3):
            raise ValueError(f"layout coords must be 2 or 3, got {coords!r}")
        try:
            pairs = tuple((int(v), int(u)) for v, u in spec["bone_pairs"])
            return PoseLayout(
                name=str(spec.get("name", "custom")),
                num_node=int(spec["num_node"]),
                bone_pairs=pairs,
                coords=coords,
                score_channel=bool(spec.get("score_channel", True)),
                zaxis=_pair(spec.get("zaxis")),
                xaxis=_pair(spec.get("xaxis")),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad layout mapping: {exc}") from None
    raise ValueError(f"dataset must be a name or a layout mapping, got {type(spec).__name__}")


def _pair(value: Any) -> Any:
    """A joint pair from data (checked by PoseLayout), or None."""
    return None if value is None else tuple(int(j) for j in value)


def stream_feats(stream: str | Sequence[str]) -> list[str]:
    """MMAction2 feature names ('j', 'b', 'jm', 'bm') of a stream name or a list of them."""
    names = [stream] if isinstance(stream, str) else list(stream)
    if not names:
        raise ValueError("stream: empty list")
    feats = []
    for name in names:
        if name not in STREAM_FEATS:
            raise ValueError(f"unknown stream '{name}'; expected one of {', '.join(STREAM_FEATS)}")
        feats.append(STREAM_FEATS[name])
    return feats


# --------------------------------------------------------------------------------------------------
# PreNormalize3D / PreNormalize2D
# --------------------------------------------------------------------------------------------------
def _angle(u: np.ndarray, v: np.ndarray) -> float:
    """Angle between two vectors (radians); 0 when either is (nearly) zero."""
    if np.abs(u).sum() < 1e-6 or np.abs(v).sum() < 1e-6:
        return 0.0
    cos = np.dot(u / np.linalg.norm(u), v / np.linalg.norm(v))
    return float(np.arccos(np.clip(cos, -1.0, 1.0)))


def _rotation(axis: np.ndarray, theta: float) -> np.ndarray:
    """(3, 3) rotation by ``theta`` about ``axis``; identity for a (nearly) zero axis or angle.

    Built from the Euler-Rodrigues parameters (a, b, c, d) = (cos θ/2, k sin θ/2), k the unit axis:
    the same matrix as Rodrigues' I + sin θ K + (1 - cos θ) K², but rounded as MMAction2's is, so
    PreNormalize3D matches it bit for bit (the K form differs by up to 1e-8).
    """
    if np.abs(axis).sum() < 1e-6 or abs(theta) < 1e-6:
        return np.eye(3)
    b, c, d = axis / np.linalg.norm(axis) * math.sin(theta / 2.0)
    a = math.cos(theta / 2.0)
    aa, bb, cc, dd = a * a, b * b, c * c, d * d
    return np.array(
        [
            [aa + bb - cc - dd, 2 * (b * c - a * d), 2 * (b * d + a * c)],
            [2 * (b * c + a * d), aa + cc - bb - dd, 2 * (c * d - a * b)],
            [2 * (b * d - a * c), 2 * (c * d + a * b), aa + dd - bb - cc],
        ]
    )


def _align(kp: np.ndarray, a: int, b: int, target: np.ndarray) -> np.ndarray:
    """Rotate all points so that joint b minus joint a of person 0, first frame, points along ``target``."""
    u = kp[0, 0, b] - kp[0, 0, a]
    rot = _rotation(np.cross(u, target), _angle(u, target))
    return np.einsum("mtvc,kc->mtvk", kp, rot)  # p' = R p


def pre_normalize_3d(
    keypoint: np.ndarray,
    zaxis: Sequence[int] | None = (0, 1),
    xaxis: Sequence[int] | None = (8, 4),
    align_spine: bool = True,
    align_shoulder: bool = True,
    align_center: bool = True,
) -> tuple[np.ndarray, int, np.ndarray | None]:
    """MMAction2's ``PreNormalize3D`` of (M, T, V, 3) keypoints, M in {1, 2}.

    Returns ``(keypoint (M, T', V, 3) float64, T', body_center (3,) float32 or None)``. Frames where
    the main person is empty (all values close to 0) are dropped; when person 1 has more valid frames
    than person 0 the two are swapped. The centre (joint 1 for V = 25, else the last joint) of
    person 0's first kept frame is subtracted from every non-zero joint; then everything is rotated
    so that ``zaxis[0] -> zaxis[1]`` points along +z and ``xaxis[1] -> xaxis[0]`` along +x (both
    measured on person 0's first frame; None skips a rotation). An all-zero input is returned
    unchanged (no centre).
    """
    kp = np.asarray(keypoint)
    if kp.ndim != 4 or kp.shape[-1] != 3:
        raise ValueError(f"PreNormalize3D expects keypoints (M, T, V, 3), got shape {kp.shape}")
    M, T, V, _ = kp.shape
    if M not in (1, 2):
        raise ValueError(f"PreNormalize3D handles 1 or 2 persons, got {M}")
    if not np.any(kp):
        return kp, T, None
    valid = ~np.isclose(kp, 0).all(axis=(2, 3))  # (M, T)
    if M == 2 and valid[1].sum() > valid[0].sum():
        kp, keep = kp[::-1], valid[1]
    else:
        keep = valid[0]
    kp = kp[:, keep]
    center = kp[0, 0, 1] if V == 25 else kp[0, 0, -1]
    if align_center:
        present = (kp != 0).any(axis=-1, keepdims=True)  # (M, T', V, 1)
        kp = (kp - center) * present  # in the input dtype (float32), as MMAction2
    if align_spine and zaxis is not None:  # axes measured on the data as it is; rotated data is float64
        kp = _align(kp, int(zaxis[0]), int(zaxis[1]), np.array([0.0, 0.0, 1.0]))
    if align_shoulder and xaxis is not None:
        kp = _align(kp, int(xaxis[1]), int(xaxis[0]), np.array([1.0, 0.0, 0.0]))
    return kp.astype(np.float64), int(kp.shape[1]), np.asarray(center, dtype=np.float32)


def pre_normalize_2d(keypoint: np.ndarray, img_shape: Sequence[int] | None = None) -> np.ndarray:
    """MMAction2's ``PreNormalize2D``: pixel (x, y) to [-1, 1] by the image (h, w) (default 1080 x 1920).

    Computed in the keypoints' dtype; returns a new array (the input is not modified).
    """
    h, w = (1080, 1920) if img_shape is None else (int(img_shape[0]), int(img_shape[1]))
    kp = np.array(keypoint, copy=True)
    kp[..., 0] = (kp[..., 0] - (w / 2)) / (w / 2)
    kp[..., 1] = (kp[..., 1] - (h / 2)) / (h / 2)
    return kp


# --------------------------------------------------------------------------------------------------
# GenSkeFeat: joint, bone, joint motion, bone motion
# --------------------------------------------------------------------------------------------------
def joint_to_bone(keypoint: np.ndarray, layout: PoseLayout) -> np.ndarray:
    """(M, T, V, C) -> float32 bones: joint minus parent; a score channel (2D, C = 3) gets the mean score."""
    parent = keypoint[..., layout.parents, :]
    bone = (keypoint - parent).astype(np.float32)
    if layout.score_channel and keypoint.shape[-1] == 3:
        bone[..., 2] = (keypoint[..., 2] + parent[..., 2]) / 2
    return bone


def to_motion(x: np.ndarray, layout: PoseLayout) -> np.ndarray:
    """(M, T, V, C) -> next frame minus this frame (last frame 0), same dtype; a score channel averages."""
    motion = np.zeros_like(x)
    motion[:, :-1] = x[:, 1:] - x[:, :-1]
    if layout.score_channel and x.shape[-1] == 3:
        motion[:, :-1, :, 2] = (x[:, :-1, :, 2] + x[:, 1:, :, 2]) / 2
    return motion


def gen_ske_feat(
    keypoint: np.ndarray,
    layout: PoseLayout,
    feats: Sequence[str] = ("j",),
    keypoint_score: np.ndarray | None = None,
) -> np.ndarray:
    """MMAction2's ``GenSkeFeat``: the features ``feats`` concatenated on the last axis, (M, T, V, C·len(feats)).

    With ``keypoint_score`` (M, T, V) the score is first appended as channel C (2D data).
    """
    if keypoint_score is not None:
        if not layout.score_channel:
            raise ValueError(f"layout '{layout.name}' takes no keypoint_score")
        keypoint = np.concatenate([keypoint, keypoint_score[..., None]], axis=-1)
    out: list[np.ndarray] = []
    bone = None
    for feat in feats:
        if feat in ("b", "bm") and bone is None:
            bone = joint_to_bone(keypoint, layout)
        if feat == "j":
            out.append(keypoint)
        elif feat == "b":
            out.append(bone)  # type: ignore[arg-type]
        elif feat == "jm":
            out.append(to_motion(keypoint, layout))
        elif feat == "bm":
            out.append(to_motion(bone, layout))  # type: ignore[arg-type]
        else:
            raise ValueError(f"unknown feature '{feat}'; expected j, b, jm or bm")
    return out[0] if len(out) == 1 else np.concatenate(out, axis=-1)


# --------------------------------------------------------------------------------------------------
# UniformSampleFrames, PoseDecode, FormatGCNInput
# --------------------------------------------------------------------------------------------------
def _clip_indices(n: int, clip_len: int, i: int, num_clips: int, test_mode: bool, rs: Any) -> np.ndarray:
    """Frame indices of clip ``i`` (before the modulo), drawing from ``rs`` in MMAction2's order."""
    L = clip_len
    if n < L:
        if test_mode:
            start = i if n < num_clips else i * n // num_clips
        else:
            start = rs.randint(0, n)
        return np.arange(start, start + L)
    if n < 2 * L:
        chosen = rs.choice(L + 1, n - L, replace=False)
        gaps = np.zeros(L + 1, dtype=np.int64)
        gaps[chosen] = 1
        return np.arange(L) + np.cumsum(gaps)[:-1]
    borders = np.arange(L + 1) * n // L
    return borders[:-1] + rs.randint(np.diff(borders))


def uniform_sample_frames(
    total_frames: int,
    clip_len: int,
    num_clips: int = 1,
    test_mode: bool = False,
    seed: int = 255,
    start_index: int = 0,
    rng: Any = None,
) -> np.ndarray:
    """MMAction2's ``UniformSampleFrames``: ``num_clips * clip_len`` int32 frame indices.

    Each clip covers the whole clip: short clips (n < clip_len) are read from a start frame and wrap
    around; longer ones take ``clip_len`` frames spread uniformly (random gaps for n < 2·clip_len,
    one random frame per segment otherwise). Test mode draws from ``np.random.RandomState(seed)``
    (MMAction2 reseeds NumPy's global generator with 255 per sample; the same indices, global state
    untouched). Train mode draws from ``rng`` (a legacy ``RandomState``; default: NumPy's global
    generator, which the engine seeds per process and DataLoader worker).
    """
    n = int(total_frames)
    if n < 1:
        raise ValueError(f"cannot sample frames from an empty clip (total_frames = {n})")
    if clip_len < 1 or num_clips < 1:
        raise ValueError(f"clip_len and num_clips must be positive, got {clip_len} and {num_clips}")
    if test_mode:
        rs = np.random.RandomState(seed)
    else:
        rs = np.random if rng is None else rng
    clips = [_clip_indices(n, clip_len, i, num_clips, test_mode, rs) for i in range(num_clips)]
    return (np.concatenate(clips) % n + start_index).astype(np.int32)


def pose_decode(x: np.ndarray, frame_inds: np.ndarray) -> np.ndarray:
    """MMAction2's ``PoseDecode``: the sampled frames of (M, T, ...) as float32 (M, len(frame_inds), ...)."""
    return np.asarray(x)[:, frame_inds].astype(np.float32)


def format_gcn_input(
    keypoint: np.ndarray,
    num_clips: int = 1,
    num_person: int = 2,
    mode: str = "zero",
    keypoint_score: np.ndarray | None = None,
) -> np.ndarray:
    """MMAction2's ``FormatGCNInput``: (M, K·L, V, C) -> (K, num_person, L, V, C), contiguous.

    A ``keypoint_score`` (M, K·L, V) still present is appended as a channel. Persons beyond
    ``num_person`` are dropped (the first ones are kept); missing ones are zero, or, in ``loop`` mode
    with a single person, copies of that person.
    """
    if mode not in ("zero", "loop"):
        raise ValueError(f"FormatGCNInput mode must be 'zero' or 'loop', got {mode!r}")
    if keypoint_score is not None:
        keypoint = np.concatenate([keypoint, keypoint_score[..., None]], axis=-1)
    M, T, V, C = keypoint.shape
    if T % num_clips:
        raise ValueError(f"{T} frames cannot be split into {num_clips} clips")
    if M < num_person:
        pad = np.zeros((num_person - M, T, V, C), dtype=keypoint.dtype)
        if mode == "loop" and M == 1:
            pad[:] = keypoint[0]
        keypoint = np.concatenate([keypoint, pad], axis=0)
    keypoint = keypoint[:num_person].reshape(num_person, num_clips, T // num_clips, V, C)
    return np.ascontiguousarray(keypoint.transpose(1, 0, 2, 3, 4))


def to_nctvm(x: np.ndarray) -> np.ndarray:
    """MMAction2's (K, M, T, V, C) clips to this project's (K, C, T, V, M), contiguous."""
    return np.ascontiguousarray(np.asarray(x).transpose(0, 4, 2, 3, 1))


# --------------------------------------------------------------------------------------------------
# the whole GCN pipeline for one annotation
# --------------------------------------------------------------------------------------------------
def gcn_clip(
    annotation: Mapping[str, Any],
    layout: PoseLayout,
    feats: Sequence[str] = ("j",),
    clip_len: int = 100,
    num_clips: int = 1,
    test_mode: bool = False,
    num_person: int = 2,
    pad_mode: str = "zero",
    seed: int = 255,
    rng: Any = None,
) -> np.ndarray:
    """MMAction2's GCN pipeline on one annotation; returns float32 (num_clips, M, clip_len, V, C).

    3D keypoints (C = 3, no score): PreNormalize3D; 2D (C = 2): PreNormalize2D with the
    annotation's ``img_shape``. Then GenSkeFeat(``feats``), UniformSampleFrames on the (possibly
    shortened) clip, PoseDecode and FormatGCNInput. Raises ValueError for input it cannot take.
    """
    keypoint = annotation["keypoint"]
    score = annotation.get("keypoint_score")
    if keypoint.shape[-1] == 3 and score is None:
        keypoint, total, _ = pre_normalize_3d(keypoint, layout.zaxis, layout.xaxis)
    else:
        keypoint = pre_normalize_2d(keypoint, annotation.get("img_shape"))
        total = int(annotation.get("total_frames", keypoint.shape[1]))
    feat = gen_ske_feat(keypoint, layout, feats, score)
    inds = uniform_sample_frames(total, clip_len, num_clips, test_mode, seed=seed, rng=rng)
    return format_gcn_input(pose_decode(feat, inds), num_clips, num_person, pad_mode)


# --------------------------------------------------------------------------------------------------
# the same steps on MMAction2-style ``results`` dicts
# --------------------------------------------------------------------------------------------------
class PreNormalize3D:
    """``results['keypoint']`` (M, T, V, 3) -> float64 (M, T', V, 3); sets ``total_frames`` and ``body_center``."""

    def __init__(self, zaxis: Sequence[int] = (0, 1), xaxis: Sequence[int] = (8, 4), **align: bool) -> None:
        self.zaxis, self.xaxis, self.align = tuple(zaxis), tuple(xaxis), align

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        kp, total, center = pre_normalize_3d(results["keypoint"], self.zaxis, self.xaxis, **self.align)
        results["keypoint"], results["total_frames"] = kp, total
        if center is not None:
            results["body_center"] = center
        return results


class PreNormalize2D:
    """``results['keypoint']`` pixels -> [-1, 1] by ``results['img_shape']`` (default ``img_shape``)."""

    def __init__(self, img_shape: Sequence[int] = (1080, 1920)) -> None:
        self.img_shape = tuple(img_shape)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        results["keypoint"] = pre_normalize_2d(results["keypoint"], results.get("img_shape", self.img_shape))
        return results


class GenSkeFeat:
    """``results['keypoint']`` (+ ``keypoint_score``, removed) -> the concatenated features ``feats``."""

    def __init__(
        self, dataset: str | Mapping[str, Any] | PoseLayout = "nturgb+d", feats: Sequence[str] = ("j",)
    ):
        self.layout, self.feats = get_pose_layout(dataset), stream_feats(list(feats))

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        score = results.pop("keypoint_score", None)
        results["keypoint"] = gen_ske_feat(results["keypoint"], self.layout, self.feats, score)
        return results


class UniformSampleFrames:
    """Sets ``frame_inds`` (int32, num_clips·clip_len), ``clip_len``, ``num_clips`` from ``total_frames``."""

    def __init__(
        self, clip_len: int, num_clips: int = 1, test_mode: bool = False, seed: int = 255, rng: Any = None
    ):
        self.clip_len, self.num_clips, self.test_mode = clip_len, num_clips, test_mode
        self.seed, self.rng = seed, rng

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        results["frame_inds"] = uniform_sample_frames(
            results["total_frames"],
            self.clip_len,
            self.num_clips,
            self.test_mode,
            self.seed,
            results.get("start_index", 0),
            self.rng,
        )
        results.update(clip_len=self.clip_len, num_clips=self.num_clips, frame_interval=None)
        return results


class PoseDecode:
    """``keypoint`` and ``keypoint_score`` (if present) at ``frame_inds``, as float32."""

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        inds = results["frame_inds"]
        for key in ("keypoint", "keypoint_score"):
            if key in results:
                results[key] = pose_decode(results[key], inds)
        return results


class FormatGCNInput:
    """``keypoint`` (M, K·L, V, C) -> (K, num_person, L, V, C) (the score appended first if present)."""

    def __init__(self, num_person: int = 2, mode: str = "zero") -> None:
        self.num_person, self.mode = num_person, mode

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        results["keypoint"] = format_gcn_input(
            results["keypoint"],
            results.get("num_clips", 1),
            self.num_person,
            self.mode,
            results.pop("keypoint_score", None),
        )
        return results


class Compose:
    """Apply transforms in order to a ``results`` dict (a shallow copy of the input)."""

    def __init__(self, transforms: Sequence[Callable[[dict[str, Any]], dict[str, Any]]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, results: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(results)
        for transform in self.transforms:
            out = transform(out)
        return out
