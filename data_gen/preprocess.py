"""2s-AGCN pre-normalisation of NTU skeletons, vectorised per sample.

Reproduces the reference ``pre_normalization(data, zaxis=[0, 1], xaxis=[8, 4])`` (see
``../shared/reference/2s-agcn.md`` section 2.3), including its quirks, which released checkpoints
were trained with:

1. *Pad*: a person slot whose frame 0 is empty is compacted (all its empty frames, leading and
   interior, are removed; each slot on its own, so two persons can end up out of step). Then the
   trailing empty frames are filled by repeating the frames before them cyclically; interior gaps
   stay zero (and are repeated too).
2. *Centre*: every frame is shifted by joint 1 of person slot 0 *in that frame*; joints whose
   coordinates sum to 0 (computed before the shift) stay 0. Where person 0 has a gap, person 1 is
   not centred.
3. *Spine to +z*: one rotation, from person 0 frame 0 (joint ``zaxis[0]`` to ``zaxis[1]``).
4. *Shoulders to +x*: a second rotation (joint ``xaxis[1]`` to ``xaxis[0]``); afterwards the spine
   is only approximately on +z.

"Empty" means, as in the reference, that the plain sum of the values is 0. Samples that are all
zero are left unchanged. Precision follows the reference: the array is float32 between the steps;
centring is float32 arithmetic, each rotation is computed in float64 from the float32 values and
rounded back to float32.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# Joint indices (0-based NTU): base of spine -> middle of spine; right shoulder, left shoulder.
ZAXIS = (0, 1)
XAXIS = (8, 4)
CENTRE_JOINT = 1


def angle_between(v1: np.ndarray, v2: np.ndarray) -> float:
    """Angle in radians between two 3-vectors; 0 when either is (nearly) zero (L1 norm < 1e-6).

    The unit vectors are computed in the inputs' own dtype (float32 for a stored sample), as the
    reference does; this decides the last bits of the rotation.
    """
    v1 = np.asarray(v1)
    v2 = np.asarray(v2)
    if np.abs(v1).sum() < 1e-6 or np.abs(v2).sum() < 1e-6:
        return 0.0
    cos = np.dot(v1 / np.linalg.norm(v1), v2 / np.linalg.norm(v2))
    return float(np.arccos(np.clip(cos, -1.0, 1.0)))


def rotation_matrix(axis: np.ndarray, theta: float) -> np.ndarray:
    """(3, 3) float64 counter-clockwise rotation by ``theta`` about ``axis`` (Rodrigues).

    Identity when the axis (L1 norm) or the angle is below 1e-6. Built from the unit quaternion
    ``(cos(theta/2), -k sin(theta/2))`` like the reference, so it matches it to the last bit.
    """
    axis = np.asarray(axis, dtype=np.float64)
    if np.abs(axis).sum() < 1e-6 or abs(theta) < 1e-6:
        return np.eye(3)
    k = axis / math.sqrt(float(np.dot(axis, axis)))
    w = math.cos(theta / 2.0)
    x, y, z = (-k * math.sin(theta / 2.0)).tolist()
    ww, xx, yy, zz = w * w, x * x, y * y, z * z
    return np.array(
        [
            [ww + xx - yy - zz, 2 * (x * y + w * z), 2 * (x * z - w * y)],
            [2 * (x * y - w * z), ww + yy - xx - zz, 2 * (y * z + w * x)],
            [2 * (x * z + w * y), 2 * (y * z - w * x), ww + zz - xx - yy],
        ]
    )


def cross(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    """``np.cross`` of two 3-vectors: the same operations in the same order, without its overhead.

    Python floats are float64, so this path is taken when NumPy would compute in float64 too (a
    float32 sample vector and an integer axis, as here); other dtypes go to ``np.cross``.
    """
    if np.result_type(np.asarray(a), np.asarray(b)) != np.float64:
        return np.cross(a, b)
    a0, a1, a2 = (float(v) for v in a)
    b0, b1, b2 = (float(v) for v in b)
    return np.array([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0])


def align_rotation(vector: np.ndarray, target: Sequence[int]) -> np.ndarray:
    """(3, 3) rotation taking the direction of ``vector`` onto the unit axis ``target``."""
    return rotation_matrix(cross(vector, target), angle_between(vector, target))


def _pad_person(person: np.ndarray, frame_sum: np.ndarray) -> np.ndarray:
    """Compact and cyclically pad one person slot (T, V, C) in place (step 1).

    ``frame_sum`` (T,) holds the plain sums of the frames; returns them for the padded slot.
    """
    if frame_sum[0] == 0:  # remove every empty frame (leading and interior)
        keep = frame_sum != 0
        count = int(keep.sum())
        person[:count] = person[keep]
        person[count:] = 0
        frame_sum = np.concatenate([frame_sum[keep], np.zeros(len(frame_sum) - count, frame_sum.dtype)])
    nonempty = np.flatnonzero(frame_sum)
    if len(nonempty) == 0:
        return frame_sum
    start = int(nonempty[-1]) + 1  # first frame of the all-empty tail
    rest = len(person) - start
    if rest > 0:  # repeat frames 0..start-1 (interior gaps included) over the tail
        person[start:] = np.resize(person[:start], (rest, *person.shape[1:]))
        frame_sum[start:] = np.resize(frame_sum[:start], rest)
    return frame_sum


def _rotate(s: np.ndarray, matrix: np.ndarray) -> None:
    """Apply ``matrix`` to every joint of the non-empty frames of (M, T, V, C) ``s``, in place.

    Each rotated value is computed in float64 as ``(m0 * x + m1 * y) + m2 * z`` (no BLAS, so the
    result is the same on every machine) and rounded to float32. Empty frames are left untouched.
    """
    frames = s.sum(axis=(2, 3)) != 0  # (M, T)
    for m in np.flatnonzero(frames.any(axis=1)):
        every = bool(frames[m].all())
        person = s[m] if every else s[m][frames[m]]  # (K, V, C)
        xyz = np.array(person.reshape(-1, 3).T, dtype=np.float64, order="C")  # (3, K * V)
        out = np.empty(person.shape, dtype=s.dtype)
        flat = out.reshape(-1, 3)
        for i in range(3):
            flat[:, i] = xyz[0] * matrix[i, 0] + xyz[1] * matrix[i, 1] + xyz[2] * matrix[i, 2]
        if every:
            s[m] = out
        else:
            s[m][frames[m]] = out


def normalize_mtvc(s: np.ndarray, zaxis: Sequence[int] = ZAXIS, xaxis: Sequence[int] = XAXIS) -> bool:
    """Pre-normalise one sample laid out (M, T, V, C), float32, in place.

    Returns False (and leaves the array unchanged) when the sample is all zero.
    """
    frame_sum = s.sum(axis=(2, 3))  # (M, T): a frame or person is empty when its plain sum is 0
    if not frame_sum.any():
        return False
    for m, person in enumerate(s):
        if frame_sum[m].any():
            frame_sum[m] = _pad_person(person, frame_sum[m])
    centre = s[0, :, CENTRE_JOINT : CENTRE_JOINT + 1, :].copy()  # (T, 1, C): person 0, every frame
    for m in np.flatnonzero(frame_sum.any(axis=1)):
        mask = s[m, ..., 0] + s[m, ..., 1] + s[m, ..., 2] != 0  # (T, V): missing joints stay zero
        s[m] -= centre
        s[m] *= mask[..., None]
    _rotate(s, align_rotation(s[0, 0, zaxis[1]] - s[0, 0, zaxis[0]], [0, 0, 1]))
    _rotate(s, align_rotation(s[0, 0, xaxis[0]] - s[0, 0, xaxis[1]], [1, 0, 0]))
    return True


def normalize_sample(
    sample: np.ndarray, zaxis: Sequence[int] = ZAXIS, xaxis: Sequence[int] = XAXIS
) -> np.ndarray:
    """Pre-normalise one sample (C, T, V, M); returns a new float32 array (C, T, V, M)."""
    s = np.ascontiguousarray(np.asarray(sample, dtype=np.float32).transpose(3, 1, 2, 0))  # (M, T, V, C)
    normalize_mtvc(s, zaxis, xaxis)
    return np.ascontiguousarray(s.transpose(3, 1, 2, 0))


def pre_normalization(
    data: np.ndarray,
    zaxis: Sequence[int] = ZAXIS,
    xaxis: Sequence[int] = XAXIS,
    progress: bool = True,
) -> np.ndarray:
    """Pre-normalise a batch (N, C, T, V, M) float32 **in place** and return it (like the reference).

    Works sample by sample, so it can be applied to a memory-mapped array.
    """
    from tqdm import tqdm

    if data.ndim != 5:
        raise ValueError(f"pre_normalization expects (N, C, T, V, M), got shape {data.shape}")
    for i in tqdm(range(len(data)), desc="pre-normalising", unit="sample", disable=not progress or None):
        data[i] = normalize_sample(data[i], zaxis, xaxis)
    return data
