"""``dami_weighted``: k-means++ seeding over uncertainty-scaled local linear models.

Idea: BADGE (Ash et al. 2020) draws k-means++ seeds over gradient embeddings, whose norm
grows with the model's uncertainty, so its picks are both uncertain and diverse.  Here the
embedding of an unlabeled row is its DAMI representation (the local linear model of its
region, ``DamiRepresentation``) scaled by its uncertainty ``u(x) = 1 - margin(x)`` (margin =
top-1 minus top-2 probability): ``s(x) = u(x) r(x)``.  Confident rows shrink towards the
origin and cluster there; uncertain rows keep their spread over the linear regions.  As in
BADGE, the first pick is the row with the largest ``||s(x)||`` (ties: lowest row), every next
one is drawn with probability proportional to its squared distance to the nearest pick (D^2
sampling, Arthur & Vassilvitskii 2007) with ``rng``; picked rows get probability 0, and if every
remaining row is at distance 0 the rest are taken in row order.

``s(x)`` is never materialized: rows with the same activation pattern share ``r``, so with
``q_g = ||r_g||^2`` and ``G = <r_g, r_c>`` over the distinct representations ``g``,
``||s_i - s_c||^2 = u_i^2 q_g(i) + u_c^2 q_g(c) - 2 u_i u_c G[g(i), g(c)]``: one (groups, dim)
matrix, O(groups * dim + n) per pick.  When that matrix exceeds ``memory_budget`` bytes it is
recomputed chunk by chunk for every pick instead (bounded memory, slower).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._badge import kmeanspp_seeds
from ._base import register
from ._context import QueryContext
from ._dami import DEFAULT_MEMORY_BUDGET
from ._representations import DamiRepresentation
from ._uncertainty import margins, unlabeled_proba

__all__ = ["dami_weighted", "weighted_kmeanspp"]

_CHUNK_BYTES = 64 * 2**20


def weighted_kmeanspp(
    inner: Callable[[int], np.ndarray], q: np.ndarray, group: np.ndarray, u: np.ndarray, budget: int, rng: np.random.Generator
) -> np.ndarray:
    """Positions (into ``u``) of ``budget`` k-means++ seeds of ``s_i = u_i r_group(i)``.

    ``inner(g)`` returns ``<r_h, r_g>`` for every group ``h`` (float64 (n_groups,)); ``q`` the
    groups' squared norms; ``group`` (n,) each row's group; ``u`` (n,) its scale.
    """
    sq = u * u * q[group]

    def sq_dists_to(center: int) -> np.ndarray:
        return sq + sq[center] - 2.0 * u * u[center] * inner(int(group[center]))[group]

    return kmeanspp_seeds(sq, sq_dists_to, budget, rng)


@register("dami_weighted", x_through_model=True)
def dami_weighted(
    context: QueryContext, budget: int, rng: np.random.Generator, *, bias: bool = True, rows: str = "all",
    normalize: bool = False, memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> np.ndarray:
    """Uncertain rows spread over linear regions: k-means++ over ``(1 - margin) * W(x)`` (uses ``rng``)."""
    if isinstance(memory_budget, bool) or not isinstance(memory_budget, (int, np.integer)) or memory_budget <= 0:
        raise ValueError(f"memory_budget must be a positive number of bytes, got {memory_budget!r}")
    unlabeled = getattr(context, "candidates", None)
    if unlabeled is None:  # contexts without a candidates attribute: every unlabeled row
        unlabeled = context.unlabeled_indices
    u = 1.0 - margins(unlabeled_proba(context))
    rep = DamiRepresentation(context.model, context.X, bias=bias, rows=rows, normalize=normalize)
    _, first, group = np.unique(rep.groups(unlabeled), return_index=True, return_inverse=True)
    group = group.ravel()
    reps = unlabeled[first]
    if reps.size * rep.dim * 8 <= memory_budget:
        R = rep.points(reps)
        q = np.einsum("ij,ij->i", R, R)

        def inner(g: int) -> np.ndarray:
            return R @ R[g]
    else:
        step = max(1, _CHUNK_BYTES // (8 * rep.dim))
        q = np.concatenate([np.einsum("ij,ij->i", P, P) for P in
                            (rep.points(reps[s : s + step]) for s in range(0, reps.size, step))])

        def inner(g: int) -> np.ndarray:
            center = rep.points(reps[g : g + 1])[0]
            return np.concatenate([rep.points(reps[s : s + step]) @ center for s in range(0, reps.size, step)])

    return unlabeled[weighted_kmeanspp(inner, q, group, u, budget, rng)]
