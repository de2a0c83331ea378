"""SGN / ImpSGNv2 clip sampling on the same (C, T, V, M) samples AGCN reads.

Configured as the feeder's ``sampler`` mapping, e.g. for training and testing::

    train_feeder_args: {..., sampler: {seg: 20, rotation: 0.3}}
    test_feeder_args:  {..., sampler: {seg: 20, num_clips: 5, deterministic: true}}

Per sample, in order (SGN's loader):

1. drop frames in which every value is exactly zero (padding and frames with nobody);
2. persons: ``split`` (SGN): a frame with two persons becomes two consecutive one-person frames
   (person 0 then person 1), a frame with one person keeps that person -> (C, L, V, 1);
   ``keep``: keep the M person slots side by side -> (C, L, V, M) (SGN and ImpSGNv2 then run every
   person slot through the network on its own and average the logits over the slots);
   ``auto`` (the default): what the model takes, ``split`` for a model with ``num_person: 1`` and
   ``keep`` for one with more slots. The engine fills ``num_person`` from ``model_args`` (see
   :func:`fit_persons`); without it ``auto`` is ``split``, SGN's rule;
3. pad with zero frames at the end up to ``seg`` frames;
4. split the L frames into ``seg`` segments of d = floor(L / seg) frames and take one frame of each:
   a uniformly random one (``random: true``) or the middle one; frames from ``seg * d`` on are unused
   (``segments: sgn``, the default, as SGN's official weights expect). ``segments: even`` instead
   spreads the segments over all L frames (sizes floor or ceil of L / seg; no tail dropped) and, for
   clips shorter than ``seg``, repeats frames instead of padding (step 3 is skipped) — for short clips
   such as NW-UCLA's (median 25-40 frames), where SGN's rule would drop up to half of each clip;
   ``num_clips: K`` draws K such clips -> (K, C, seg, V, M'), whose logits the engine averages;
5. ``rotation: theta`` (radians, training): rotate every joint by R = Rz·Ry·Rx with angles drawn
   uniformly from [-theta, theta] per axis (SGN's convention; theta 0.3 NTU xsub/NTU120, 0.5 xview);
   a list ``[theta_x, theta_y, theta_z]`` gives each axis its own range (CTR-GCN's NW-UCLA
   augmentation is 60 degrees about x and y: ``[1.047, 1.047, 0]``). 2D data (two coordinate
   channels) get a true in-plane rotation: the (x, y) image plane is turned by the z angle alone,
   drawn from [-theta_z, theta_z] (rotations about x and y would need the depth the data lack, so
   ``[theta, theta, 0]`` leaves 2D data unrotated);
6. ``scale: s`` (training): multiply the coordinates by one factor drawn from [1 - s, 1 + s];
7. ``normalize: minmax`` (training and test; CTR-GCN's NW-UCLA input): map each coordinate axis of the
   clip to [-1, 1] by its minimum and maximum over the clip's non-empty frames (after the rotation).

Coordinates are the first three channels, or the first two when a confidence channel follows them:
``score_channel`` (the feeder passes its own) marks that channel, which steps 5-7 leave as it is.

Randomness: by default the global NumPy generator (seeded per DataLoader worker and epoch by the
engine); ``deterministic: true`` draws from a generator seeded with (``seed``, sample index), so test
scores do not depend on batch order, worker count or run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from utils.errors import ConfigError, unknown_key_message


def present_persons(x: np.ndarray) -> np.ndarray:
    """(T, M) bool: person slot m of frame t has a value that is not exactly zero; x (C, T, V, M).

    Reduced so that every reduction runs over a contiguous axis (C first: a few elementwise ORs; then
    V after a transpose): a reduction over axes (0, 2) with M innermost is several times slower.
    """
    nonzero = (x != 0).any(axis=0)  # (T, V, M)
    return np.ascontiguousarray(nonzero.transpose(0, 2, 1)).any(axis=2)


def drop_empty_frames(x: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    """(C, T, V, M) -> (C, T', V, M) without the frames whose values are all exactly zero."""
    present = present_persons(x) if present is None else present
    return x[:, present.any(axis=1)]


def split_persons(x: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    """SGN's two-to-one: (C, T, V, M) -> (C, T', V, 1), one frame per present person, in person order."""
    present = present_persons(x) if present is None else present  # (T, M)
    frames = x.transpose(1, 3, 0, 2)[present]  # (T', C, V): frame-major, then person order
    return frames.transpose(1, 0, 2)[..., None]


def even_indices(length: int, seg: int, rng: np.random.Generator | None, random: bool) -> np.ndarray:
    """One frame index per segment, the segments spread over all ``length`` frames (``segments: even``).

    Segment i covers frames [floor(i L / seg), floor((i + 1) L / seg)); a uniformly random frame of it
    or its middle one. For L < seg, segments are single frames and some frames repeat (every frame is
    used, in order). Unlike SGN's segments no tail of the clip is ever dropped, which matters for short
    clips: SGN's d = floor(L / seg) uses only the first 20 of 39 frames.
    """
    if length < seg:
        return np.arange(seg) * length // seg
    start = np.arange(seg) * length // seg
    size = (np.arange(1, seg + 1) * length // seg) - start  # >= 1
    if not random:
        return start + size // 2
    u = np.random.random_sample(seg) if rng is None else rng.random(seg)
    return start + np.minimum((u * size).astype(np.int64), size - 1)


def segment_indices(length: int, seg: int, rng: np.random.Generator | None, random: bool) -> np.ndarray:
    """One frame index per segment; ``length >= seg`` (pad first)."""
    d = length // seg
    base = np.arange(seg) * d
    if not random:
        return base + d // 2
    if rng is None:
        return base + np.random.randint(0, d, size=seg)
    return base + rng.integers(0, d, size=seg)


def minmax(clip: np.ndarray, axes: int | None = None) -> np.ndarray:
    """(C, T, V, M) -> the same with each of the first ``axes`` (default min(C, 3)) channels mapped to
    [-1, 1] over the non-empty frames; empty (all-zero) frames stay zero, a constant axis becomes 0."""
    out = clip.astype(np.float32, copy=True)
    filled = np.abs(clip).reshape(clip.shape[0], clip.shape[1], -1).any(axis=(0, 2))  # (T,)
    if not filled.any():
        return out
    axes = min(clip.shape[0], 3) if axes is None else axes
    body = clip[:axes, filled]  # (axes, T', V, M)
    low = body.min(axis=(1, 2, 3), keepdims=True)
    span = body.max(axis=(1, 2, 3), keepdims=True) - low
    scaled = np.where(span > 0, (body - low) / np.where(span > 0, span, 1) * 2 - 1, 0)
    out[:axes, filled] = scaled
    return out


def coordinate_channels(channels: int, score_channel: int | None = None) -> int:
    """How many leading channels are coordinates: 3 (x, y, z), or 2 when the confidence channel is
    the third (2D + score) or there are only two channels."""
    if score_channel is not None and score_channel < 3:
        return min(channels, int(score_channel))
    return min(channels, 3)


def in_plane_rotation(angle: float) -> np.ndarray:
    """(2, 2): the x-y block of :func:`rotation_matrix` (0, 0, angle), a rotation of the image plane."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, s], [-s, c]])


def rotation_matrix(ax: float, ay: float, az: float) -> np.ndarray:
    """R = Rz·Ry·Rx with SGN's sign convention (rotating column vectors p' = R p)."""
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, sx], [0, -sx, cx]])
    ry = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
    rz = np.array([[cz, sz, 0], [-sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


class SegmentSampler:
    """Callable ``(x (C, T, V, M), index) -> (C, seg, V, M')`` or ``(K, C, seg, V, M')``; see module doc."""

    def __init__(
        self,
        seg: int = 20,
        num_clips: int = 1,
        random: bool = True,
        persons: str = "auto",
        rotation: float | list[float] = 0.0,
        deterministic: bool = False,
        seed: int = 0,
        scale: float = 0.0,
        normalize: str | None = None,
        segments: str = "sgn",
        num_person: int | None = None,
        score_channel: int | None = None,
    ) -> None:
        if seg < 1 or num_clips < 1:
            raise ConfigError(
                f"sampler: seg and num_clips must be positive, got seg={seg}, num_clips={num_clips}"
            )
        if persons not in ("auto", "split", "keep"):
            raise ConfigError(f"sampler.persons: expected 'auto', 'split' or 'keep', got {persons!r}")
        if persons == "auto":  # the model's person slots decide: one -> SGN's two-to-one split
            persons = "keep" if num_person is not None and int(num_person) > 1 else "split"
        ranges = [rotation] * 3 if isinstance(rotation, (int, float)) else list(rotation)
        if len(ranges) != 3 or any(not isinstance(r, (int, float)) or r < 0 for r in ranges):
            raise ConfigError(
                "sampler.rotation: expected a non-negative angle in radians or a list of three "
                f"(x, y, z), got {rotation!r}"
            )
        if not 0 <= scale < 1:
            raise ConfigError(f"sampler.scale: expected a number in [0, 1), got {scale!r}")
        self.seg, self.num_clips, self.random = int(seg), int(num_clips), bool(random)
        self.persons, self.rotation = persons, np.asarray(ranges, dtype=np.float64)
        self.scale = float(scale)
        if normalize not in (None, "none", "minmax"):
            raise ConfigError(f"sampler.normalize: expected 'minmax' or null, got {normalize!r}")
        self.normalize = normalize if normalize != "none" else None
        if segments not in ("sgn", "even"):
            raise ConfigError(f"sampler.segments: expected 'sgn' or 'even', got {segments!r}")
        self.segments = segments
        self.deterministic, self.seed = bool(deterministic), int(seed)
        self.score_channel = None if score_channel is None else int(score_channel)

    def __call__(self, x: np.ndarray, index: int = 0) -> np.ndarray:
        rng = np.random.default_rng([self.seed, int(index)]) if self.deterministic else None
        present = present_persons(x)  # (T, M)
        if self.persons == "split":
            x = split_persons(x, present)  # empty frames have no present person: dropped too
        else:
            x = drop_empty_frames(x, present)
        C, L, V, M = x.shape
        if self.segments == "even" and L > 0:
            pick = even_indices
        else:
            pick = segment_indices
            if L < self.seg:
                x = np.concatenate([x, np.zeros((C, self.seg - L, V, M), dtype=x.dtype)], axis=1)
                L = self.seg
        clips = np.stack([x[:, pick(L, self.seg, rng, self.random)] for _ in range(self.num_clips)])
        if self.rotation.any() or self.scale > 0:
            clips = np.stack([self._rotate(clip, rng) for clip in clips])
        if self.normalize == "minmax":
            axes = coordinate_channels(C, self.score_channel)
            clips = np.stack([minmax(clip, axes) for clip in clips])
        return clips[0] if self.num_clips == 1 else clips

    def _rotate(self, clip: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        t = self.rotation
        draw = np.random.uniform if rng is None else rng.uniform
        angles = draw(-t, t, size=3)
        axes = coordinate_channels(clip.shape[0], self.score_channel)
        # 3D: R = Rz·Ry·Rx; 2D: the image plane turned by the z angle (x and y rotations need depth)
        R = rotation_matrix(*angles) if axes == 3 else in_plane_rotation(angles[2])[:axes, :axes]
        if self.scale > 0:
            R = R * draw(1 - self.scale, 1 + self.scale)
        out = clip.copy()
        out[:axes] = np.einsum("ij,jtvm->itvm", R, clip[:axes].astype(np.float64)).astype(clip.dtype)
        return out

    def __repr__(self) -> str:
        return (
            f"SegmentSampler(seg={self.seg}, num_clips={self.num_clips}, random={self.random}, "
            f"persons={self.persons!r}, rotation={self.rotation.tolist()}, scale={self.scale}, "
            f"score_channel={self.score_channel}, "
            f"normalize={self.normalize!r}, segments={self.segments!r}, "
            f"deterministic={self.deterministic})"
        )


_SAMPLER_KEYS = (
    "seg", "num_clips", "random", "persons", "rotation", "scale", "normalize", "segments", "deterministic",
    "seed", "num_person", "score_channel",
)  # fmt: skip


def build_sampler(options: Mapping[str, Any], score_channel: int | None = None) -> SegmentSampler:
    """A SegmentSampler from the feeder's ``sampler`` mapping (unknown keys are errors);
    ``score_channel``: the feeder's confidence channel, unless the mapping names one."""
    for key in options:
        if key not in _SAMPLER_KEYS:
            raise ConfigError(unknown_key_message(str(key), _SAMPLER_KEYS, "sampler"))
    if score_channel is not None and "score_channel" not in options:
        options = {**options, "score_channel": score_channel}
    return SegmentSampler(**options)


def fit_persons(sampler: Mapping[str, Any] | None, num_person: int | None) -> dict[str, Any] | None:
    """The sampler options with the model's person slots filled in for ``persons: auto`` (the default).

    The engine calls this with ``model_args.num_person``: a one-slot model (SGN's official weights)
    gets SGN's two-to-one split of two-person data, a model with M slots gets the M slots as they are.
    """
    if not sampler:
        return None if sampler is None else dict(sampler)
    out = dict(sampler)
    if out.get("persons", "auto") == "auto" and "num_person" not in out and num_person is not None:
        out["num_person"] = int(num_person)
    return out
