"""Uncertainty sampling (Lewis & Gale 1994; Settles 2009): least confidence, margin, entropy.

Each scores the unlabeled rows from the model's class probabilities and takes the ``budget``
most uncertain; ties go to the lowest row index (stable sort).
"""

from __future__ import annotations

import numpy as np

from ._base import register
from ._context import QueryContext

__all__ = ["least_confidence", "margin", "entropy", "unlabeled_proba", "margins"]


def unlabeled_proba(context: QueryContext) -> np.ndarray:
    """(n_unlabeled, C) float64 class probabilities of the unlabeled rows (cached per round)."""
    if "unlabeled_proba" not in context.cache:
        proba = context.model.predict_proba(context.X[context.unlabeled_indices])
        context.cache["unlabeled_proba"] = np.asarray(proba, dtype=np.float64)
    return context.cache["unlabeled_proba"]


def margins(proba: np.ndarray) -> np.ndarray:
    """Top-1 minus top-2 probability per row (0 = on the boundary)."""
    if proba.shape[1] < 2:
        return np.ones(proba.shape[0])
    top2 = np.partition(proba, proba.shape[1] - 2, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def _lowest_first(context: QueryContext, key: np.ndarray, budget: int) -> np.ndarray:
    """Unlabeled rows with the ``budget`` smallest ``key`` values, ties to the lowest row."""
    order = np.argsort(key, kind="stable")[:budget]
    return context.unlabeled_indices[order]


@register("least_confidence")
def least_confidence(context: QueryContext, budget: int, rng: np.random.Generator) -> np.ndarray:
    """Rows whose most likely class has the lowest probability."""
    return _lowest_first(context, unlabeled_proba(context).max(axis=1), budget)


@register("margin")
def margin(context: QueryContext, budget: int, rng: np.random.Generator) -> np.ndarray:
    """Rows with the smallest gap between the two most likely classes."""
    return _lowest_first(context, margins(unlabeled_proba(context)), budget)


@register("entropy")
def entropy(context: QueryContext, budget: int, rng: np.random.Generator) -> np.ndarray:
    """Rows with the highest entropy of the predicted class distribution."""
    proba = unlabeled_proba(context)
    plogp = proba * np.log(np.where(proba > 0, proba, 1.0))
    return _lowest_first(context, plogp.sum(axis=1), budget)  # sum p log p = -entropy
