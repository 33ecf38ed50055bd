"""``dami_kmedoids``: K-medoids over the local linear models (the first DAMI paper version).

Idea (Liu et al., DAMI, first version): represent every unlabeled row by its local linear
model (``DamiRepresentation``), cluster them into K = budget clusters with K-medoids and label
the medoids: rows *representative* of the linear regions, where K-Center (``dami``) seeks the
outlying ones.

Algorithm (exact and deterministic given ``rng``):

1. rows with the same activation pattern have the same representation, so the unlabeled rows
   are collapsed to their distinct representations with weights = row counts (the K-medoids
   cost ``sum_rows min_medoid ||r - m||`` is then exactly ``sum_groups count * dist``);
2. k-medoids++ seeding (Arthur & Vassilvitskii 2007, as in Park & Jun 2009): the first
   medoid drawn with probability proportional to the counts, each next with probability
   proportional to ``count * D(x)^2`` (distance to the nearest medoid so far);
3. alternating updates (Park & Jun 2009, "Voronoi iteration"): assign every point to its
   nearest medoid, then move each medoid to the member with the smallest weighted sum of
   Euclidean distances to its cluster; repeat until no medoid moves (at most ``max_iter``).

Bounded memory: no n x n matrix.  Assignments are computed in chunks against the K medoids;
the medoid update of a cluster with m members evaluates candidates against all members in
chunks (``m_c x m`` distances at a time).  A cluster with more than ``max_candidates`` members
evaluates ``max_candidates`` of them (drawn with ``rng``, the current medoid always included)
as candidate medoids, each still scored exactly on every member.  Ties go to the lowest
position.  A group's row is its lowest row position.  If there are fewer distinct
representations than ``budget``, the remaining picks are the lowest unlabeled rows not picked.
Picks are returned in seeding order.
"""

from __future__ import annotations

import numpy as np

from ._base import register
from ._context import QueryContext
from ._representations import DamiRepresentation

__all__ = ["dami_kmedoids", "kmedoids"]

_CHUNK_ELEMENTS = 1 << 22  # distances (float64) computed at a time: 32 MiB


def _sq_dist(A: np.ndarray, B: np.ndarray, a2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    d = a2[:, None] + b2[None, :] - 2.0 * (A @ B.T)
    return np.maximum(d, 0.0, out=d)


def _nearest(P: np.ndarray, p2: np.ndarray, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of the nearest row of ``M``, its Euclidean distance) for every row of ``P``, chunked."""
    n, k = P.shape[0], M.shape[0]
    m2 = np.einsum("ij,ij->i", M, M)
    which = np.empty(n, dtype=np.int64)
    dist = np.empty(n)
    step = max(1, _CHUNK_ELEMENTS // max(k, 1))
    for s in range(0, n, step):
        d = _sq_dist(P[s : s + step], M, p2[s : s + step], m2)
        j = np.argmin(d, axis=1)
        which[s : s + step] = j
        dist[s : s + step] = np.sqrt(d[np.arange(d.shape[0]), j])
    return which, dist


def _seed(P: np.ndarray, p2: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator) -> list[int]:
    """k-medoids++: first ~ w, next ~ w * D^2; distinct points only (D = 0 rows get no mass)."""
    n = P.shape[0]
    cumulative = np.cumsum(w)
    first = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    medoids = [min(first, n - 1)]
    nearest = np.full(n, np.inf)
    while len(medoids) < k:
        c = medoids[-1]
        d = _sq_dist(P, P[c : c + 1], p2, p2[c : c + 1])[:, 0]
        np.minimum(nearest, d, out=nearest)
        nearest[medoids] = 0.0
        mass = w * nearest
        total = float(mass.sum())
        if not total > 0:
            break  # every point is a medoid or coincides with one
        cumulative = np.cumsum(mass)
        nxt = min(int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")), n - 1)
        while mass[nxt] <= 0:  # rounding at the top end: step back to a point with mass
            nxt -= 1
        medoids.append(nxt)
    return medoids


def _best_member(
    P: np.ndarray, p2: np.ndarray, w: np.ndarray, members: np.ndarray, candidates: np.ndarray, current: int
) -> int:
    """The candidate (a point index, sorted ``candidates`` include ``current``) with the smallest
    weighted distance sum to ``members``; ``current`` unless another is strictly better, then
    the lowest such index."""
    cost = np.zeros(candidates.size)
    step = max(1, _CHUNK_ELEMENTS // max(members.size, 1))
    Pm, pm2, wm = P[members], p2[members], w[members]
    for s in range(0, candidates.size, step):
        c = candidates[s : s + step]
        cost[s : s + step] = np.sqrt(_sq_dist(P[c], Pm, p2[c], pm2)) @ wm
    j = int(np.argmin(cost))  # first minimum = lowest index (candidates are sorted)
    current_cost = cost[np.searchsorted(candidates, current)]
    return int(candidates[j]) if cost[j] < current_cost else current


def kmedoids(
    P: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator, *, max_iter: int = 50,
    max_candidates: int = 2000,
) -> np.ndarray:
    """Indices (into the rows of ``P``) of at most ``k`` distinct weighted K-medoids, in seeding order.

    ``P`` (n, dim) points, ``w`` (n,) positive weights; see the module docstring for the method.
    """
    P = np.asarray(P, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    p2 = np.einsum("ij,ij->i", P, P)
    medoids = _seed(P, p2, w, k, rng)
    for _ in range(max_iter):
        which, _ = _nearest(P, p2, P[medoids])
        moved = False
        for j, m in enumerate(medoids):
            members = np.flatnonzero(which == j)
            if members.size <= 1:
                continue
            candidates = np.union1d(members, [m])  # m is its own member unless two points coincide
            if members.size > max_candidates:
                others = members[members != m]
                candidates = np.sort(np.append(rng.choice(others, size=max_candidates - 1, replace=False), m))
            best = _best_member(P, p2, w, members, candidates, m)
            if best != m and best not in medoids:  # (a clash only if two points coincide)
                medoids[j], moved = best, True
        if not moved:
            break
    return np.asarray(medoids, dtype=np.int64)


@register("dami_kmedoids", x_through_model=True)
def dami_kmedoids(
    context: QueryContext, budget: int, rng: np.random.Generator, *, bias: bool = True, rows: str = "all",
    normalize: bool = False, max_iter: int = 50, max_candidates: int = 2000,
) -> np.ndarray:
    """The medoids of K = budget clusters of the unlabeled rows' local linear models (uses ``rng``)."""
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise ValueError(f"max_iter must be an int >= 0, got {max_iter!r}")
    if isinstance(max_candidates, bool) or not isinstance(max_candidates, (int, np.integer)) or max_candidates < 1:
        raise ValueError(f"max_candidates must be an int >= 1, got {max_candidates!r}")
    unlabeled = getattr(context, "candidates", None)
    if unlabeled is None:  # contexts without a candidates attribute: every unlabeled row
        unlabeled = context.unlabeled_indices
    rep = DamiRepresentation(context.model, context.X, bias=bias, rows=rows, normalize=normalize)
    groups = rep.groups(unlabeled)
    _, first, counts = np.unique(groups, return_index=True, return_counts=True)
    order = np.argsort(first, kind="stable")  # groups in row order: ties go to the lowest row
    first, counts = first[order], counts[order]
    P = rep.points(unlabeled[first])
    picks = unlabeled[first[kmedoids(P, counts, budget, rng, max_iter=int(max_iter),
                                     max_candidates=int(max_candidates))]]
    if picks.size < budget:  # fewer distinct representations than the budget
        rest = np.setdiff1d(unlabeled, picks, assume_unique=True)[: budget - picks.size]
        picks = np.concatenate([picks, rest])
    return picks.astype(np.int64)
