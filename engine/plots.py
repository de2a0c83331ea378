"""PNG figures people would rather look at than read: training curves and confusion matrices."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from utils.io import atomic_path


def plot_training_curves(history: pd.DataFrame, path: str | Path, title: str = "") -> None:
    """Loss (left) and accuracy (right) per epoch from the metrics table."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    epochs = history["epoch"]
    for col, label in (("train_loss", "train"), ("val_loss", "validation"), ("test_loss", "test")):
        if col in history and history[col].notna().any():
            ax_loss.plot(epochs, history[col], marker="o", ms=3, label=label)
    for col, label in (("train_acc", "train"), ("val_top1", "validation"), ("test_top1", "test")):
        if col in history and history[col].notna().any():
            mask = history[col].notna()
            ax_acc.plot(epochs[mask], 100 * history[col][mask], marker="o", ms=3, label=label)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="top-1 accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def plot_confusion(
    cm: np.ndarray, path: str | Path, class_names: Sequence[str] | None = None, title: str = ""
) -> None:
    """Row-normalised confusion matrix (true class rows, predicted columns)."""
    n = cm.shape[0]
    support = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, np.maximum(support, 1), dtype=np.float64)
    size = min(max(6.0, n * 0.28), 30.0)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    ticks = np.arange(n)
    labels = list(class_names) if class_names is not None else [str(i) for i in ticks]
    fontsize = max(4, min(9, int(400 / max(n, 1))))
    ax.set_xticks(ticks, labels, rotation=90, fontsize=fontsize)
    ax.set_yticks(ticks, labels, fontsize=fontsize)
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    color = "white" if norm[i, j] > 0.5 else "black"
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=fontsize, color=color)
    ax.set(xlabel="predicted", ylabel="true", title=title or "confusion matrix")
    fig.tight_layout()
    _save(fig, path)


def _save(fig: plt.Figure, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
