"""Shared pieces of the synthetic generator: frame rate, NTU joint indices, random streams, vector helpers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graph.layouts import NTU_RGB_D

FPS = 30.0
JOINT = {name: i for i, name in enumerate(NTU_RGB_D.joint_names)}
#: Independent random streams: ``stream_rng(seed, STREAM_..., *ids)``.
STREAM_SUBJECT, STREAM_PARTNER, STREAM_SETUP, STREAM_PERFORMANCE, STREAM_CAPTURE = 1, 2, 3, 4, 5
STREAM_POSE2D = 6  # 2D detector noise of the MMAction2 annotations

# Bone parents rooted at the base of the spine (Kinect's hierarchy); leaves get a zero orientation.
PARENTS = NTU_RGB_D.parents(0)
LEAVES = np.array(sorted(set(range(25)) - {int(PARENTS[j]) for j in range(1, 25)}))
EXTREMITIES = [JOINT[n] for n in ("left_hand", "right_hand", "left_hand_tip", "left_thumb")] + [
    JOINT[n] for n in ("right_hand_tip", "right_thumb", "left_foot", "right_foot")
]
ARM_JOINTS = {
    s: [JOINT[f"{side}_{n}"] for n in ("elbow", "wrist", "hand", "hand_tip", "thumb")]
    for s, side in ((1, "right"), (-1, "left"))
}


# ---------------------------------------------------------------------------------------------------
# small vector helpers (arrays of T frames)
# ---------------------------------------------------------------------------------------------------
def stream_rng(seed: int, stream: int, *ids: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), stream, *(int(i) for i in ids)])


def unit_vec(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def rot_axis(axis: int, angle: np.ndarray) -> np.ndarray:
    """(T, 3, 3) right-handed rotations by ``angle`` (T,) about coordinate ``axis``."""
    angle = np.asarray(angle, dtype=float)
    c, s = np.cos(angle), np.sin(angle)
    R = np.zeros((*angle.shape, 3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    R[..., axis, axis] = 1.0
    R[..., i, i], R[..., j, j], R[..., i, j], R[..., j, i] = c, c, -s, s
    return R


def facing_rot(yaw: float | np.ndarray) -> np.ndarray:
    """Body-to-world yaw: body -z (forward) maps to (sin yaw, 0, -cos yaw), body +x (right) to (cos, 0, sin)."""
    return rot_axis(1, -np.asarray(yaw, dtype=float))


def mv(R: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors: R (T, 3, 3) times v (3,) or (T, 3)."""
    return np.einsum("tij,tj->ti", R, np.broadcast_to(v, (R.shape[0], 3)))


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def ramp(t: np.ndarray, t0: float, dur: float) -> np.ndarray:
    """0 before t0, smooth rise to 1 over ``dur`` seconds."""
    return smoothstep((t - t0) / max(dur, 1e-6))


def window(t: np.ndarray, t0: float, t1: float, rise: float, fall: float | None = None) -> np.ndarray:
    """1 between t0 + rise and t1 - fall, smooth ramps on both sides, 0 outside [t0, t1]."""
    fall = rise if fall is None else fall
    return ramp(t, t0, rise) * (1.0 - ramp(t, t1 - fall, fall))


def arc_curve(t: np.ndarray, t0: float, dur: float) -> np.ndarray:
    """Ballistic arc 4x(1-x) over [t0, t0 + dur], 0 elsewhere."""
    x = np.clip((t - t0) / max(dur, 1e-6), 0.0, 1.0)
    return 4.0 * x * (1.0 - x)


def keyframes(t: np.ndarray, times: Sequence[float], values: Any) -> np.ndarray:
    """Smooth (ease in/out) interpolation through keyframes; holds the first/last value outside them."""
    times = np.asarray(times, dtype=float)
    values = np.asarray(values, dtype=float)
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
    w = smoothstep((t - times[i]) / np.maximum(times[i + 1] - times[i], 1e-9))
    if values.ndim > 1:
        w = w[:, None]
    return values[i] + w * (values[i + 1] - values[i])


def two_bone(
    root: np.ndarray, target: np.ndarray, l1: float, l2: float, pole: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Analytic two-bone IK: (middle joint, end joint, unit bend direction); unreachable targets clip."""
    d = target - root
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    u = d / np.maximum(dist, 1e-9)
    dc = np.clip(dist, abs(l1 - l2) + 1e-3, (l1 + l2) * 0.999)
    cos_a = np.clip((l1 * l1 + dc * dc - l2 * l2) / (2.0 * l1 * dc), -1.0, 1.0)
    pole = np.broadcast_to(pole, d.shape)
    v = pole - np.sum(pole * u, axis=-1, keepdims=True) * u
    bad = np.linalg.norm(v, axis=-1) < 1e-6
    if bad.any():  # pole parallel to the limb: bend towards any perpendicular
        alt = np.cross(u[bad], np.array([1.0, 0.0, 0.0]))
        v = v.copy()
        v[bad] = alt
    v = unit_vec(v)
    mid = root + l1 * (cos_a * u + np.sqrt(1.0 - cos_a * cos_a) * v)
    return mid, root + dc * u, v
