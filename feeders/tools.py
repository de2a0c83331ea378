"""2s-AGCN's augmentations on one sample (C, T, V, M).

They draw from the global ``random`` / ``numpy.random`` generators, which every DataLoader worker
seeds from its own torch seed (``engine.runtime.worker_init_fn``), so each worker and each epoch gets
different draws and a run is reproducible from ``--seed``.
"""

from __future__ import annotations

import random

import numpy as np


def auto_pading(data: np.ndarray, size: int, random_pad: bool = False) -> np.ndarray:
    """Zero-pad the time axis to ``size`` frames (data first, or at a random offset); longer: unchanged."""
    C, T, V, M = data.shape
    if T >= size:
        return data
    begin = random.randint(0, size - T) if random_pad else 0
    out = np.zeros((C, size, V, M), dtype=data.dtype)
    out[:, begin : begin + T] = data
    return out


def random_choose(data: np.ndarray, size: int, auto_pad: bool = True) -> np.ndarray:
    """A random window of ``size`` frames (shorter input: random zero padding when ``auto_pad``)."""
    C, T, V, M = data.shape
    if T == size:
        return data
    if T < size:
        return auto_pading(data, size, random_pad=True) if auto_pad else data
    begin = random.randint(0, T - size)
    return data[:, begin : begin + size]


def valid_frame_range(data: np.ndarray) -> tuple[int, int]:
    """[begin, end) of the frames that have any non-zero value ((0, 0) for an all-zero sample)."""
    C, T = data.shape[:2]
    nonzero = np.flatnonzero((data != 0).reshape(C, T, -1).any(axis=2).any(axis=0))  # contiguous reductions
    if nonzero.size == 0:
        return 0, 0
    return int(nonzero[0]), int(nonzero[-1]) + 1


def random_shift(data: np.ndarray) -> np.ndarray:
    """Move the non-empty frame span to a random offset inside a zero array of the same shape."""
    begin, end = valid_frame_range(data)
    length = end - begin
    out = np.zeros_like(data)
    offset = np.random.randint(0, data.shape[1] - length + 1)
    out[:, offset : offset + length] = data[:, begin:end]
    return out


def random_move(
    data: np.ndarray,
    angle_candidate: tuple[float, ...] = (-10.0, -5.0, 0.0, 5.0, 10.0),
    scale_candidate: tuple[float, ...] = (0.9, 1.0, 1.1),
    transform_candidate: tuple[float, ...] = (-0.2, -0.1, 0.0, 0.1, 0.2),
    move_time_candidate: tuple[int, ...] = (1,),
) -> np.ndarray:
    """Rotate, scale and translate the x/y channels, interpolating the parameters over time.

    Key frames are spread evenly over T; at each one an angle (degrees), scale and x/y shift are drawn
    from the candidates and linearly interpolated in between. Channel 2 (z or confidence) is untouched;
    zero (missing) joints are moved too, as in 2s-AGCN.
    """
    C, T, V, M = data.shape
    move_time = int(np.random.choice(move_time_candidate))
    nodes = np.append(np.arange(0, T, T * 1.0 / move_time).round().astype(int), T)
    num_node = len(nodes)
    angles = np.random.choice(angle_candidate, num_node)
    scales = np.random.choice(scale_candidate, num_node)
    shift_x = np.random.choice(transform_candidate, num_node)
    shift_y = np.random.choice(transform_candidate, num_node)

    # (4, T): angle (radians), scale, x and y shift per frame, linear between the key frames
    params = np.zeros((4, T))
    keys = np.stack([angles, scales, shift_x, shift_y])  # (4, num_node)
    for i in range(num_node - 1):
        span = nodes[i + 1] - nodes[i]
        params[:, nodes[i] : nodes[i + 1]] = np.linspace(keys[:, i], keys[:, i + 1], span, axis=-1)
    params[0] *= np.pi / 180
    a, s, tx, ty = (row[:, None] for row in params)  # (T, 1) each

    # per-frame scaled rotation of (x, y), every joint and person: (T, V*M) planes in float64
    out = data.astype(np.float64, copy=True)
    x, y = out[0].reshape(T, V * M), out[1].reshape(T, V * M)
    cos, sin = np.cos(a) * s, np.sin(a) * s
    new_x = cos * x - sin * y + tx
    new_y = sin * x + cos * y + ty
    out[0], out[1] = new_x.reshape(T, V, M), new_y.reshape(T, V, M)
    return out.astype(data.dtype, copy=False)
