"""Classification metrics on score matrices (N, num_class): used by testing and by ``ensemble.py``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Fraction of rows whose label is among the ``k`` highest scores."""
    scores = np.asarray(scores)
    labels = np.asarray(labels)
    if len(labels) == 0:
        return float("nan")
    # the label is in the top k when fewer than k classes score strictly higher (ties favour the label)
    target = np.take_along_axis(scores, labels[:, None].astype(np.int64), axis=1)
    higher = (scores > target).sum(axis=1)
    return float((higher < k).mean())


def confusion_matrix(labels: np.ndarray, preds: np.ndarray, num_class: int) -> np.ndarray:
    """(num_class, num_class) int64 counts; rows are true classes, columns predictions."""
    cm = np.zeros((num_class, num_class), dtype=np.int64)
    np.add.at(cm, (np.asarray(labels, dtype=np.int64), np.asarray(preds, dtype=np.int64)), 1)
    return cm


def mean_class_accuracy(cm: np.ndarray) -> float:
    """Mean over the classes present in the labels of per-class recall."""
    support = cm.sum(axis=1)
    present = support > 0
    if not present.any():
        return float("nan")
    return float((np.diag(cm)[present] / support[present]).mean())


def per_class_table(cm: np.ndarray, class_names: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per class: index, name, support, correct, accuracy, most frequent wrong prediction."""
    num_class = cm.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(num_class)]
    support = cm.sum(axis=1)
    correct = np.diag(cm)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    confused = off.argmax(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.where(support > 0, correct / np.maximum(support, 1), np.nan)
    return pd.DataFrame(
        {
            "class": np.arange(num_class),
            "name": names,
            "support": support,
            "correct": correct,
            "accuracy": acc,
            "most_confused_with": [names[j] if off[i, j] > 0 else "" for i, j in enumerate(confused)],
        }
    )


def summarize(scores: np.ndarray, labels: np.ndarray, topk: Sequence[int] = (1, 5)) -> dict[str, float]:
    """top-k accuracies and mean-class accuracy of a score matrix."""
    labels = np.asarray(labels, dtype=np.int64)
    out = {f"top{k}": topk_accuracy(scores, labels, k) for k in topk}
    cm = confusion_matrix(labels, np.asarray(scores).argmax(axis=1), np.asarray(scores).shape[1])
    out["mean_class"] = mean_class_accuracy(cm)
    out["num_samples"] = len(labels)
    return out
