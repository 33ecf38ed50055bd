"""Random sampling: the baseline every strategy must beat."""

from __future__ import annotations

import numpy as np

from ._base import register
from ._context import QueryContext

__all__ = ["random"]


@register("random", needs_model=False)
def random(context: QueryContext, budget: int, rng: np.random.Generator) -> np.ndarray:
    """``budget`` candidate rows uniformly without replacement: ``rng.choice(candidates, budget, replace=False)``.

    Model-free, so it stays random at cold start too (a fair baseline); reproducible through
    ``random_state``.
    """
    return rng.choice(context.candidates, size=budget, replace=False).astype(np.int64)
