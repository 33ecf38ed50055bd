"""Uncertainty sampling (Lewis & Gale 1994; Settles 2009): least confidence, margin, entropy.

Each scores the candidate rows from the model's class probabilities and takes the ``budget``
most uncertain; ties go to the lowest row index (stable sort).  The score of each pick is
reported (``confidence``, ``margin``, ``entropy``).
"""

from __future__ import annotations

import numpy as np

from .._mlp_math import row_max
from ._base import register
from ._context import QueryContext
from ._selection import Selection

__all__ = ["least_confidence", "margin", "entropy", "unlabeled_proba", "margins", "lowest_first", "uncertainty_keys"]


def unlabeled_proba(context: QueryContext) -> np.ndarray:
    """(n_candidates, C) float64 class probabilities of the candidate rows (cached per round)."""
    if "unlabeled_proba" not in context.cache:
        from .._model_adapter import proba_model_check

        model = proba_model_check(context.model, context.strategy_name)
        context.cache["unlabeled_proba"] = _proba_of_rows(model, context.X, context.candidates)
    return context.cache["unlabeled_proba"]


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # inputs MLPClassifier._proba_of_rows gathers itself


def _proba_of_rows(model: object, X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """float64 ``predict_proba(X[rows])``.  Our MLPClassifier on a float array: its blocks over the
    cores, each gathered straight into its dtype (``MLPClassifier._proba_of_rows``).  Any other model
    or input: its forward batches (``_forward_rows()`` rows) asked one by one, the same bits
    without copying every candidate row (and its cast) at once."""
    from .._mlp import MLPClassifier

    if isinstance(model, MLPClassifier) and isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype in _FLOATS:
        return model._proba_of_rows(X, rows)
    step = model._forward_rows() if isinstance(model, MLPClassifier) else rows.size  # type: ignore[attr-defined]
    if rows.size <= step:
        return np.asarray(model.predict_proba(X[rows]), dtype=np.float64)  # type: ignore[attr-defined]
    out = np.empty((rows.size, len(model.classes_)), dtype=np.float64)  # type: ignore[attr-defined]
    for start in range(0, rows.size, step):
        out[start : start + step] = model.predict_proba(X[rows[start : start + step]])  # type: ignore[attr-defined]
    return out


def margins(proba: np.ndarray) -> np.ndarray:
    """Top-1 minus top-2 probability per row (0 = on the boundary)."""
    if proba.shape[1] < 2:
        return np.ones(proba.shape[0])
    if proba.shape[1] > _FEW_CLASSES or proba.dtype.kind != "f":
        return _margins_by_partition(proba)
    out = np.empty(proba.shape[0], dtype=np.result_type(proba.dtype, np.float16))
    with np.errstate(invalid="ignore"):  # inf - inf: such rows are redone below, warning as they always did
        for start in range(0, proba.shape[0], _MARGIN_ROWS):
            _top_two_gap(proba[start : start + _MARGIN_ROWS], out[start : start + _MARGIN_ROWS])
    bad = np.flatnonzero(np.isnan(out))
    if bad.size:  # NaN probabilities: partition's order decides, as it always did
        out[bad] = _margins_by_partition(proba[bad])
    return out


_FEW_CLASSES = 64  # up to this many classes margins keeps a running top two over the columns
_MARGIN_ROWS = 8192  # rows per piece (its columns stay in the cache)


def _margins_by_partition(proba: np.ndarray) -> np.ndarray:
    top2 = np.partition(proba, proba.shape[1] - 2, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def _top_two_gap(proba: np.ndarray, out: np.ndarray) -> None:
    """``out`` = largest minus second largest value per row (equal values count twice), the values
    ``np.partition`` picks: a running top two over the columns of a transposed piece."""
    columns = np.ascontiguousarray(proba.T)
    first = np.maximum(columns[0], columns[1])
    second = np.minimum(columns[0], columns[1])
    lower = np.empty_like(first)
    for column in columns[2:]:
        np.minimum(first, column, out=lower)
        np.maximum(second, lower, out=second)
        np.maximum(first, column, out=first)
    np.subtract(first, second, out=out)


def uncertainty_keys(proba: np.ndarray, kind: str) -> np.ndarray:
    """Per-row key of an uncertainty strategy, smallest first: ``"margin"`` (the margin),
    ``"entropy"`` (sum p log p, minus the entropy) or ``"least_confidence"`` (the top
    probability).  One formula for every path (one machine, Dask blocks)."""
    if kind == "margin":
        return margins(proba)
    if kind == "entropy":
        return (proba * np.log(np.where(proba > 0, proba, 1.0))).sum(axis=1)
    if kind == "least_confidence":
        return row_max(proba)
    raise ValueError(f"unknown uncertainty kind {kind!r}; one of margin, entropy, least_confidence")


def lowest_first(context: QueryContext, key: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate rows with the ``count`` smallest ``key`` values (ties to the lowest row), and those values.

    ``key`` has one value per candidate row (``context.candidates`` order).
    """
    order = _smallest_first(np.asarray(key), count)
    return context.candidates[order], np.asarray(key, dtype=np.float64)[order]


def _smallest_first(key: np.ndarray, count: int) -> np.ndarray:
    """``np.argsort(key, kind="stable")[:count]``: a partition finds the ``count``-th smallest value,
    and only the positions up to it are sorted (NaN keys, sorted last, take the full sort)."""
    if key.ndim != 1 or key.dtype.kind not in "fiu" or not 0 < count < key.shape[0] // 4:
        return np.argsort(key, kind="stable")[:count]
    bound = np.partition(key, count - 1)[count - 1]
    if key.dtype.kind == "f" and np.isnan(bound):
        return np.argsort(key, kind="stable")[:count]
    within = np.flatnonzero(key <= bound)
    return within[np.argsort(key[within], kind="stable")[:count]]


@register("least_confidence", x_through_model=True)
def least_confidence(context: QueryContext, budget: int, rng: np.random.Generator) -> Selection:
    """Rows whose most likely class has the lowest probability (score: that probability)."""
    rows, confidence = lowest_first(context, uncertainty_keys(unlabeled_proba(context), "least_confidence"), budget)
    return Selection(rows, scores=confidence, score_name="confidence")


@register("margin", x_through_model=True)
def margin(context: QueryContext, budget: int, rng: np.random.Generator) -> Selection:
    """Rows with the smallest gap between the two most likely classes (score: the margin)."""
    rows, gap = lowest_first(context, uncertainty_keys(unlabeled_proba(context), "margin"), budget)
    return Selection(rows, scores=gap, score_name="margin")


@register("entropy", x_through_model=True)
def entropy(context: QueryContext, budget: int, rng: np.random.Generator) -> Selection:
    """Rows with the highest entropy of the predicted class distribution (score: the entropy)."""
    rows, neg_entropy = lowest_first(context, uncertainty_keys(unlabeled_proba(context), "entropy"), budget)
    return Selection(rows, scores=-neg_entropy, score_name="entropy")
