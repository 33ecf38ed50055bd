"""Calibrated pseudo-labels for self-training (issue 29, candidate (b)).

A teacher's probabilities are over-confident on a few dozen labels, so they are calibrated first
(one temperature fitted on cross-fitted logits of the labeled rows), then only confident pool rows
are pseudo-labeled, in the labeled set's class proportions.  The user's labels are never replaced:
the caller passes only rows that carry no label.
"""

from __future__ import annotations

import numpy as np

from dami_np._mlp_math import softmax_inplace

__all__ = ["fit_temperature", "pick_pseudo_labels", "two_folds"]

_TEMPERATURES = np.exp(np.linspace(np.log(0.05), np.log(20.0), 241))


def fit_temperature(logits: np.ndarray, y_idx: np.ndarray) -> float:
    """The temperature ``T`` (on a fixed log grid, 0.05..20) minimising the NLL of ``softmax(logits / T)``."""
    z = np.asarray(logits, dtype=np.float64)
    rows = np.arange(z.shape[0])
    best, best_nll = 1.0, np.inf
    for t in _TEMPERATURES:
        s = z / t
        s -= s.max(axis=1, keepdims=True)
        nll = float(np.mean(np.log(np.exp(s).sum(axis=1)) - s[rows, y_idx]))
        if nll < best_nll - 1e-12:
            best, best_nll = float(t), nll
    return best


def two_folds(y_idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Fold (0 or 1) of each labeled row, alternating within each class in random order."""
    fold = np.empty(y_idx.shape[0], dtype=np.int64)
    order = rng.permutation(y_idx.shape[0])
    for c in np.unique(y_idx):
        members = order[y_idx[order] == c]
        fold[members] = np.arange(members.size) % 2
    return fold


def pick_pseudo_labels(
    logits: np.ndarray, temperature: float, labeled_counts: np.ndarray, *, threshold: float, ratio: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, class indices)`` of the pool rows to pseudo-label.

    A row qualifies when its calibrated top probability is >= ``threshold``; per class at most
    ``ratio`` x that class's labeled count are kept (so in all at most ``ratio`` x the labels, in
    the labeled set's proportions), most confident first, ties by row order.
    """
    proba = softmax_inplace(np.asarray(logits, dtype=np.float64) / temperature)
    top = proba.argmax(axis=1)
    conf = proba[np.arange(proba.shape[0]), top]
    rows_out, classes_out = [], []
    for c, count in enumerate(labeled_counts):
        cap = int(np.floor(ratio * count))
        rows = np.flatnonzero((top == c) & (conf >= threshold))
        if cap <= 0 or rows.size == 0:
            continue
        rows = rows[np.argsort(-conf[rows], kind="stable")[:cap]]
        rows_out.append(rows)
        classes_out.append(np.full(rows.size, c, dtype=np.int64))
    if not rows_out:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    rows, classes = np.concatenate(rows_out), np.concatenate(classes_out)
    order = np.argsort(rows, kind="stable")
    return rows[order], classes[order]
