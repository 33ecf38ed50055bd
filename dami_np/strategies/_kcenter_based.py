"""K-Center baselines: ``coreset`` (Sener & Savarese 2018) and ``kcenter_input`` (model-free).

Both run greedy K-Center with the labeled rows as initial centers; they differ in the space:
the last hidden layer's activations (coreset) or the preprocessed inputs (kcenter_input).
"""

from __future__ import annotations

import numpy as np

from ._base import register
from ._context import QueryContext
from ._kcenter_grouped import kcenter_radii
from ._representations import last_layer_inputs
from ._selection import Selection

__all__ = ["coreset", "kcenter_input", "kcenter_over"]


def kcenter_over(context: QueryContext, points: np.ndarray, budget: int, space: str) -> Selection:
    """Greedy K-Center over ``points`` of the labeled rows (centers) and the candidates.

    ``points`` has one row per row of ``context.X`` or per row of ``context.considered``.
    """
    considered = context.considered
    if points.shape[0] != considered.size:
        points = points[considered]
    picks, radii = kcenter_radii(points, context.labeled[considered], budget)
    return Selection(considered[picks], radii, space)


@register("kcenter_input", needs_model=False)
def kcenter_input(context: QueryContext, budget: int, rng: np.random.Generator) -> Selection:
    """K-Center on the (preprocessed) inputs; with nothing labeled the first pick is the row
    farthest from the column mean.  Deterministic; also the cold-start rule."""
    return kcenter_over(context, context.X, budget, "preprocessed inputs")


@register("coreset", x_through_model=True)
def coreset(context: QueryContext, budget: int, rng: np.random.Generator) -> Selection:
    """K-Center on the last hidden layer's activations (the inputs for a model without hidden layers)."""
    rows = context.considered
    features = last_layer_inputs(
        context.model, context.X[rows] if rows.size != context.n_rows else context.X, needs="coreset"
    )
    return kcenter_over(context, features, budget, "last hidden layer activations")
