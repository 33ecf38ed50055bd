"""Classification metrics in NumPy (no scikit-learn)."""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy", "macro_f1", "aulc"]


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of rows where ``y_pred == y_true``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unweighted mean of per-class F1 = 2TP / (2TP + FP + FN).

    Classes are those present in ``y_true`` or ``y_pred`` (scikit-learn's default), so a class
    absent from the test set and never predicted does not count; a class in ``y_true`` that is
    never predicted (or predicted but absent) has F1 = 0.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    labels, inverse = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)
    true_idx, pred_idx = inverse[: len(y_true)], inverse[len(y_true):]
    k = len(labels)
    tp = np.bincount(true_idx[true_idx == pred_idx], minlength=k).astype(np.float64)
    true_count = np.bincount(true_idx, minlength=k)
    pred_count = np.bincount(pred_idx, minlength=k)
    denominator = true_count + pred_count  # = 2TP + FP + FN, > 0 for every listed class
    return float(np.mean(2.0 * tp / denominator))


def aulc(accuracies: np.ndarray) -> float:
    """Area under the learning curve: accuracy averaged over the rounds (equal label steps)."""
    values = np.asarray(accuracies, dtype=np.float64)
    if values.size == 0:
        raise ValueError("aulc needs at least one accuracy")
    return float(values.mean())


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must be 1-D of the same length, got {y_true.shape} and {y_pred.shape}")
    if y_true.size == 0:
        raise ValueError("metrics need at least one row")
    return y_true, y_pred
