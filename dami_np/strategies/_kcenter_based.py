"""K-Center baselines: ``coreset`` (Sener & Savarese 2018) and ``kcenter_input`` (model-free).

Both run greedy K-Center with the labeled rows as initial centers; they differ in the space:
the last hidden layer's activations (coreset) or the preprocessed inputs (kcenter_input).
"""

from __future__ import annotations

import numpy as np

from ._base import register
from ._context import QueryContext
from ._kcenter import kcenter

__all__ = ["coreset", "kcenter_input"]


@register("kcenter_input", needs_model=False)
def kcenter_input(context: QueryContext, budget: int, rng: np.random.Generator) -> np.ndarray:
    """K-Center on the (preprocessed) inputs; with nothing labeled the first pick is the row
    farthest from the column mean.  Deterministic; also the cold-start rule."""
    return kcenter(context.X, context.labeled, budget)


@register("coreset")
def coreset(context: QueryContext, budget: int, rng: np.random.Generator) -> np.ndarray:
    """K-Center on the last hidden layer's activations (the inputs for a model without hidden layers)."""
    model = context.model
    if len(getattr(model, "coefs_", [None, None])) < 2:
        features = context.X
    else:
        features = np.asarray(model.hidden_activations(context.X, layer=-1), dtype=np.float64)
    return kcenter(features, context.labeled, budget)
