"""Scores of a classification: confusion matrix, precision, recall, F1 (numpy only)."""

from __future__ import annotations

import numpy as np

__all__ = ["confusion_matrix", "scores"]


def confusion_matrix(true, predicted, n_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class) pairs: rows true, columns predicted.

    Examples
    --------
    >>> confusion_matrix([0, 0, 1], [0, 1, 1], 2).tolist()
    [[1, 1], [0, 1]]
    """
    true = np.asarray(true, np.int64)
    predicted = np.asarray(predicted, np.int64)
    flat = np.bincount(true * n_classes + predicted, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def scores(confusion: np.ndarray) -> dict:
    """Accuracy, per-class precision / recall / F1 and macro F1 from a confusion matrix.

    A class never predicted (or never present) scores 0 where its ratio is undefined.

    Examples
    --------
    >>> s = scores(np.array([[1, 1], [0, 1]]))
    >>> round(s["accuracy"], 3), s["recall"].tolist()
    (0.667, [0.5, 1.0])
    """
    confusion = np.asarray(confusion, np.float64)
    hits = np.diag(confusion)
    predicted = confusion.sum(axis=0)
    actual = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, hits / predicted, 0.0)
        recall = np.where(actual > 0, hits / actual, 0.0)
        total = precision + recall
        f1 = np.where(total > 0, 2 * precision * recall / total, 0.0)
    n = confusion.sum()
    return {
        "accuracy": float(hits.sum() / n) if n else 0.0,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "macro_f1": float(f1.mean()) if len(f1) else 0.0,
    }
