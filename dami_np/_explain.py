"""Readable explanations from a row's local linear model.

Inside its linear region a ReLU MLP is exactly ``f(x) = W(x) x + b(x)``; row ``W_c(x)`` says
how much the logit of class ``c`` moves per unit of each (preprocessed) feature.  The
explanation of a row lists the features with the largest ``|W_c(x)|`` for its predicted class.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def top_features(weights: np.ndarray, feature_names: Sequence[str], *, top: int = 3) -> list[str]:
    """For each row of ``weights`` (n, p), the ``top`` features by absolute weight as text.

    Each entry reads like ``"x2 +1.31, x4=b -0.87, x8 +0.52"``; ties keep feature order.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[1] != len(feature_names):
        raise ValueError(
            f"weights must have shape (n, {len(feature_names)}), got {weights.shape}"
        )
    top = min(top, weights.shape[1])
    order = np.argsort(-np.abs(weights), axis=1, kind="stable")[:, :top]
    return [
        ", ".join(f"{feature_names[j]} {weights[i, j]:+.3g}" for j in order[i])
        for i in range(weights.shape[0])
    ]
