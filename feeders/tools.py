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
    nonzero = np.flatnonzero(np.abs(data).sum(axis=(0, 2, 3)) > 0)
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

    a, s, tx, ty = (np.zeros(T) for _ in range(4))
    for i in range(num_node - 1):
        span = nodes[i + 1] - nodes[i]
        sl = slice(nodes[i], nodes[i + 1])
        a[sl] = np.linspace(angles[i], angles[i + 1], span) * np.pi / 180
        s[sl] = np.linspace(scales[i], scales[i + 1], span)
        tx[sl] = np.linspace(shift_x[i], shift_x[i + 1], span)
        ty[sl] = np.linspace(shift_y[i], shift_y[i + 1], span)

    # (T, 2, 2) per-frame scaled rotation, applied to (x, y) of every joint and person
    rot = np.stack(
        [np.stack([np.cos(a) * s, -np.sin(a) * s], -1), np.stack([np.sin(a) * s, np.cos(a) * s], -1)], 1
    )
    out = data.astype(np.float64, copy=True)
    xy = out[0:2].transpose(1, 0, 2, 3).reshape(T, 2, V * M)  # (T, 2, V*M)
    xy = np.einsum("tij,tjk->tik", rot, xy)
    xy[:, 0] += tx[:, None]
    xy[:, 1] += ty[:, None]
    out[0:2] = xy.reshape(T, 2, V, M).transpose(1, 0, 2, 3)
    return out.astype(data.dtype, copy=False)
