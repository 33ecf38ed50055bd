"""Uncertainty sampling (Lewis & Gale 1994; Settles 2009): least confidence, margin, entropy.

Each scores the candidate rows from the model's class probabilities and takes the ``budget``
most uncertain; ties go to the lowest row index (stable sort).  The score of each pick is
reported (``confidence``, ``margin``, ``entropy``).
"""

from __future__ import annotations

import numpy as np

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


def _proba_of_rows(model: object, X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """float64 ``predict_proba(X[rows])``.  Our MLPClassifier already runs its forward pass in batches of
    ``_forward_rows()`` rows: asking for those same batches one by one gives the same bits without
    copying every candidate row (and its float32 cast) at once."""
    from .._mlp import MLPClassifier

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
    top2 = np.partition(proba, proba.shape[1] - 2, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def uncertainty_keys(proba: np.ndarray, kind: str) -> np.ndarray:
    """Per-row key of an uncertainty strategy, smallest first: ``"margin"`` (the margin),
    ``"entropy"`` (sum p log p, minus the entropy) or ``"least_confidence"`` (the top
    probability).  One formula for every path (one machine, Dask blocks)."""
    if kind == "margin":
        return margins(proba)
    if kind == "entropy":
        return (proba * np.log(np.where(proba > 0, proba, 1.0))).sum(axis=1)
    if kind == "least_confidence":
        return proba.max(axis=1)
    raise ValueError(f"unknown uncertainty kind {kind!r}; one of margin, entropy, least_confidence")


def lowest_first(context: QueryContext, key: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate rows with the ``count`` smallest ``key`` values (ties to the lowest row), and those values.

    ``key`` has one value per candidate row (``context.candidates`` order).
    """
    order = np.argsort(key, kind="stable")[:count]
    return context.candidates[order], np.asarray(key, dtype=np.float64)[order]


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
