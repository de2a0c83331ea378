"""Input streams derived from joint coordinates: bone, joint motion and bone motion.

One implementation serves both the on-disk writers (``data_gen/gen_bone_data.py``,
``data_gen/gen_motion_data.py``) and the feeder's on-the-fly ``stream`` option, so the two give
identical arrays. All functions work on a single sample (C, T, V, M) or a batch (N, C, T, V, M):
time is axis -3 and joints axis -2.

* bone: ``bone[..., v, :] = joint[..., v, :] - joint[..., parent(v), :]``, parents from the layout
  (:meth:`graph.layouts.Layout.bone_pairs`); the bone root maps to itself and gets a zero vector.
* motion: ``motion[..., t, :, :] = x[..., t + 1, :, :] - x[..., t, :, :]``; the last frame is zero.

By default every channel is differenced, as 2s-AGCN does (its Kinetics bones subtract the OpenPose
confidence channel too, and its released bone checkpoints were trained on that). Pass
``score_channel`` for 2D input with a confidence channel: that channel is then never subtracted;
a bone gets the mean confidence of its two joints, a motion frame the mean of its two frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from graph.layouts import Layout, get_layout

STREAMS = ("joint", "bone", "joint_motion", "bone_motion")


def bone_parents(layout: str | Mapping[str, Any] | Layout) -> np.ndarray:
    """(V,) int64 parent index of every joint for the bone stream of ``layout``."""
    return np.asarray([p for _, p in get_layout(layout).bone_pairs()], dtype=np.int64)


def joint_to_bone(data: np.ndarray, parents: np.ndarray, score_channel: int | None = None) -> np.ndarray:
    """Bone vectors (same shape and dtype as ``data``); see the module docstring."""
    bone = data - np.take(data, parents, axis=-2)
    if score_channel is not None:
        c = _channel_index(data, score_channel)
        score = data[..., c, :, :, :] if data.ndim == 5 else data[c]
        mean = (score + np.take(score, parents, axis=-2)) * np.asarray(0.5, dtype=data.dtype)
        _set_channel(bone, c, mean)
    return bone


def to_motion(data: np.ndarray, score_channel: int | None = None) -> np.ndarray:
    """Forward temporal difference along axis -3, last frame zero; see the module docstring."""
    motion = np.zeros_like(data)
    motion[..., :-1, :, :] = data[..., 1:, :, :] - data[..., :-1, :, :]
    if score_channel is not None:
        c = _channel_index(data, score_channel)
        score = data[..., c, :, :, :] if data.ndim == 5 else data[c]
        mean = np.zeros_like(score)
        mean[..., :-1, :, :] = (score[..., 1:, :, :] + score[..., :-1, :, :]) * np.asarray(
            0.5, dtype=data.dtype
        )
        _set_channel(motion, c, mean)
    return motion


def make_stream(
    joint: np.ndarray,
    stream: str,
    layout: str | Mapping[str, Any] | Layout | None = None,
    score_channel: int | None = None,
    parents: np.ndarray | None = None,
) -> np.ndarray:
    """Compute ``stream`` (one of :data:`STREAMS`) from joint data (C, T, V, M) or (N, C, T, V, M)."""
    if stream not in STREAMS:
        raise ValueError(f"unknown stream '{stream}'; expected one of {', '.join(STREAMS)}")
    if stream == "joint":
        return joint
    x = joint
    if stream.startswith("bone"):
        if parents is None:
            if layout is None:
                raise ValueError(f"stream '{stream}' needs a layout (bone pairs)")
            parents = bone_parents(layout)
        if len(parents) != joint.shape[-2]:
            raise ValueError(
                f"stream '{stream}': the layout has {len(parents)} joints but the data has {joint.shape[-2]}"
            )
        x = joint_to_bone(x, parents, score_channel)
    if stream.endswith("motion"):
        x = to_motion(x, score_channel)
    return x


def _channel_index(data: np.ndarray, channel: int) -> int:
    num_channels = data.shape[-4]
    if not -num_channels <= channel < num_channels:
        raise ValueError(f"score_channel {channel} is outside the {num_channels} channels of the data")
    return channel % num_channels


def _set_channel(array: np.ndarray, channel: int, value: np.ndarray) -> None:
    if array.ndim == 5:
        array[:, channel] = value
    else:
        array[channel] = value
