"""Stratified splits of a labelled sample list: a held-out fraction and k folds (NumPy only, so the
data converters and the engine share them)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def stratified_split(labels: Sequence[int], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hold out about ``fraction`` of every class (at least one sample of classes with two or more).

    Returns ``(kept indices, held-out indices)``, both sorted.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    val: list[np.ndarray] = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = int(round(fraction * len(idx)))
        if len(idx) >= 2:
            k = min(max(k, 1), len(idx) - 1)
        val.append(rng.permutation(idx)[:k])
    val_idx = np.sort(np.concatenate(val)) if val else np.zeros(0, dtype=np.int64)
    train_idx = np.setdiff1d(np.arange(len(labels)), val_idx)
    return train_idx, val_idx


def stratified_folds(labels: Sequence[int], k: int, seed: int) -> np.ndarray:
    """The fold (0..k-1) of every sample: each class's samples, shuffled with ``seed``, are dealt to the
    folds in turn, and the dealing goes on from class to class, so every fold holds about 1/k of every
    class and fold sizes differ by at most one."""
    labels = np.asarray(labels)
    if k < 2:
        raise ValueError(f"k folds need k >= 2, got {k}")
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(labels), dtype=np.int64)
    start = 0
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        fold[idx] = (start + np.arange(len(idx))) % k
        start = (start + len(idx)) % k
    return fold
