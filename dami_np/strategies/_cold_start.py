"""The rule model-based strategies fall back to when no model can be fit.

When nothing is labeled, or the labels come from one class only, and no fitted model is given,
``query`` answers for any strategy registered with ``needs_model=True`` with K-Center on the
preprocessed inputs, labeled rows as centers (the ``kcenter_input`` strategy): the picks spread
over the input space, deterministically; with nothing labeled the first pick is the row
farthest from the column mean.  Model-free strategies (``random``, ``kcenter_input``) answer
as usual.  A fitted model passed by the caller is always used, whatever the labels.
"""

from __future__ import annotations

import numpy as np

from ._context import QueryContext
from ._kcenter_based import kcenter_input

__all__ = ["cold_start"]


def cold_start(context: QueryContext, budget: int, rng: np.random.Generator) -> np.ndarray:
    """K-Center on the preprocessed inputs with the labeled rows as centers (model-free)."""
    return kcenter_input(context, budget, rng)


cold_start.needs_model = False  # type: ignore[attr-defined]
cold_start.strategy_name = "cold_start"  # type: ignore[attr-defined]
