"""Readable explanations from a row's local linear model.

Inside its linear region a ReLU MLP is exactly ``f(x) = W(x) x + b(x)``; row ``W_c(x)`` says
how much the logit of class ``c`` moves per unit of each preprocessed feature (per standard
deviation for a numeric column).  The explanation of a row lists the features with the
largest ``|W_c(x)|`` for its predicted class, one entry per input column: a numeric column by
its own weight, a categorical column by the weight of the level the row actually has.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def eligible_features(features: np.ndarray, feature_names: Sequence[str], source_columns: Sequence[str]) -> np.ndarray:
    """Boolean (n, p): which features speak for each row.

    A plain numeric feature (named like its source column) always does; an indicator feature
    (a one-hot level ``col=level`` or a missing-value flag) only where the row has it set.
    """
    features = np.asarray(features)
    plain = np.array([name == source for name, source in zip(feature_names, source_columns)], dtype=bool)
    return plain[None, :] | (features != 0)


def top_features(
    weights: np.ndarray,
    feature_names: Sequence[str],
    *,
    eligible: np.ndarray | None = None,
    top: int = 3,
) -> list[str]:
    """For each row of ``weights`` (n, p), the ``top`` eligible features by absolute weight.

    Each entry reads like ``"x2 +1.31, x4=b -0.87, x8 +0.52"``; ties keep feature order.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[1] != len(feature_names):
        raise ValueError(f"weights must have shape (n, {len(feature_names)}), got {weights.shape}")
    if eligible is None:
        eligible = np.ones(weights.shape, dtype=bool)
    score = np.where(eligible, np.abs(weights), -1.0)
    order = np.argsort(-score, axis=1, kind="stable")
    explanations = []
    for i in range(weights.shape[0]):
        chosen = [j for j in order[i, :top] if eligible[i, j]]
        explanations.append(", ".join(f"{feature_names[j]} {weights[i, j]:+.3g}" for j in chosen))
    return explanations


def explain_rows(network: object, rows: np.ndarray, best: np.ndarray, feature_names: Sequence[str],
                 source_columns: Sequence[str], *, top: int = 3) -> list[str]:
    """The explanation of each preprocessed row for class index ``best[i]``: its ``top`` eligible
    features by weight in the row's local linear model (``network.local_linear``)."""
    W, _ = network.local_linear(rows)  # type: ignore[attr-defined]
    weights = np.asarray(W, dtype=np.float64)[np.arange(rows.shape[0]), np.asarray(best, dtype=np.int64), :]
    return top_features(weights, feature_names, eligible=eligible_features(rows, feature_names, source_columns),
                        top=top)
