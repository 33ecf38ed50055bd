"""BADGE (Ash et al. 2020): k-means++ seeding over gradient embeddings.

The gradient embedding of an unlabeled row is the last-layer gradient of the cross-entropy
with its predicted label, ``g(x) = (p(x) - onehot(yhat(x))) (x) h(x)`` (outer product of a
C-vector ``u`` and the last hidden activations ``h``).  It is never materialized: for outer
products ``<g(x), g(y)> = (u_x . u_y)(h_x . h_y)``, so

    ||g(x) - g(y)||^2 = |u_x|^2 |h_x|^2 + |u_y|^2 |h_y|^2 - 2 (u_x . u_y)(h_x . h_y),

which costs O(n (C + h)) per new center instead of O(n C h).  As in the reference
implementation the first center is the row with the largest gradient norm and every next
one is drawn with probability proportional to its squared distance to the nearest center
(D^2 sampling) with the seeded ``rng``.  Only candidate rows take part.  Picks are unique:
chosen rows get probability 0; if every remaining row is at distance 0 the rest are taken in
row order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._base import register
from ._context import QueryContext
from ._representations import last_layer_inputs
from ._uncertainty import unlabeled_proba

__all__ = ["badge", "gradient_factors", "badge_select", "kmeanspp_seeds"]


def gradient_factors(context: QueryContext) -> tuple[np.ndarray, np.ndarray]:
    """(u, h) of the candidate rows: ``u = p - onehot(argmax p)`` (n, C), ``h`` (n, H), float64."""
    proba = unlabeled_proba(context)
    u = proba.copy()
    u[np.arange(u.shape[0]), np.argmax(proba, axis=1)] -= 1.0
    h = last_layer_inputs(context.model, context.X[context.candidates], needs="badge")
    return u, h


def kmeanspp_seeds(
    sq_norms: np.ndarray, sq_dists_to: Callable[[int], np.ndarray], budget: int, rng: np.random.Generator
) -> np.ndarray:
    """k-means++ seeding (D^2 sampling) as BADGE runs it, over points given by their squared norms
    and ``sq_dists_to(center)`` (squared distances of every point to point ``center``).

    The first seed is the largest norm; each next one is drawn with probability proportional to
    the squared distance to the nearest seed; when every remaining point is at distance 0 the
    rest are taken in order.  Shared by ``badge`` and ``dami_weighted``.
    """
    n = sq_norms.shape[0]
    first = int(np.argmax(sq_norms))
    picks = [first]
    chosen = np.zeros(n, dtype=bool)
    chosen[first] = True
    nearest = np.full(n, np.inf)
    center = first
    while len(picks) < budget:
        d = sq_dists_to(center)
        np.maximum(d, 0.0, out=d)
        np.minimum(nearest, d, out=nearest)
        nearest[chosen] = 0.0
        total = float(nearest.sum())
        if not total > 0:
            rest = np.flatnonzero(~chosen)[: budget - len(picks)]
            picks.extend(rest.tolist())
            break
        cumulative = np.cumsum(nearest)
        center = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
        center = min(center, n - 1)
        while nearest[center] <= 0:  # rounding at the top end: step back to a row with mass
            center -= 1
        picks.append(center)
        chosen[center] = True
    return np.asarray(picks, dtype=np.int64)


def badge_select(u: np.ndarray, h: np.ndarray, budget: int, rng: np.random.Generator) -> np.ndarray:
    """Positions (into the rows of ``u``/``h``) of ``budget`` k-means++ seeds of ``u (x) h``."""
    uu = np.einsum("ij,ij->i", u, u)
    hh = np.einsum("ij,ij->i", h, h)
    sq_norms = uu * hh
    return kmeanspp_seeds(
        sq_norms, lambda c: sq_norms + sq_norms[c] - 2.0 * (u @ u[c]) * (h @ h[c]), budget, rng
    )


@register("badge", x_through_model=True)
def badge(context: QueryContext, budget: int, rng: np.random.Generator) -> np.ndarray:
    """BADGE picks: diverse rows with large, different last-layer gradients (uses ``rng``)."""
    u, h = gradient_factors(context)
    return context.candidates[badge_select(u, h, budget, rng)]
