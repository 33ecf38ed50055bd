"""Greedy K-Center helpers on top of ``dami_np.kernels``: plain, over groups of equal rows, streamed.

Greedy K-Center (Gonzalez 1985; Sener & Savarese 2018) repeatedly picks the row farthest from
its nearest center; labeled rows are the initial centers.  Ties go to the lowest row index;
with no centers the first pick is the row farthest from the column mean (the kernel's rules).

``grouped_kcenter`` runs it once per group of rows known to share a representation (DAMI: one
activation pattern) and gives exactly the picks of the run over all rows: a group stands for
its lowest candidate row, groups are ordered by that row, and once every remaining row is at
distance 0 the plain run would take the remaining rows in index order, so we do the same.

Points come from ``points_of`` on one fixed grid of batches (``chunk_rows`` consecutive group
representatives per batch): the (groups, dim) matrix when it fits ``memory_budget`` bytes
(then ``kernels.kcenter_greedy``), otherwise :func:`streamed_kcenter`, which passes over the
batches a few times per round (not once per pick) and gives the same picks and radii, bit for
bit, because every distance is the kernels' exact formula on the same point bits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["kcenter", "kcenter_radii", "grouped_kcenter", "streamed_kcenter", "pick_time_distances"]

PointsFn = Callable[[np.ndarray], np.ndarray]
_CHUNK_BYTES = 16 * 2**20
_ACTIVE_MIN = 4096  # rows kept exact between two passes of the streamed run (at least) ...
_ACTIVE_PER_PICK = 16  # ... and per pick asked for (the screened kernel's sizes)
_SCREEN_FIRST = 256  # with more initial centers, a strided subset bounds every row in the first pass


def kcenter(points: np.ndarray, centers: np.ndarray, k: int) -> np.ndarray:
    """``k`` greedy K-Center picks over the rows of ``points``; ``centers`` is a bool mask."""
    return kcenter_radii(points, centers, k)[0]


def kcenter_radii(points: np.ndarray, centers: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Picks and Euclidean radii of ``kernels.kcenter_greedy`` (the kernel owns every tie rule)."""
    from .. import kernels

    picks, radii = kernels.kcenter_greedy(points, int(k), centers=centers, return_radii=True)
    return np.asarray(picks, dtype=np.int64), np.asarray(radii, dtype=np.float64)


def grouped_kcenter(
    group: np.ndarray,
    is_center: np.ndarray,
    k: int,
    points_of: PointsFn,
    dim: int,
    *,
    memory_budget: int,
    chunk_rows: int | None = None,
    dtype: object = np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact K-Center picks (positions into ``group``) when rows of a group share their point.

    ``group`` (m,) ids of the rows (any numbering), ``is_center`` (m,) the initial centers,
    ``points_of(rows)`` the (len(rows), dim) points (float32 or float64, ``dtype``) of the given
    row positions, computed in consecutive batches of ``chunk_rows`` from the start of ``rows``
    (default: batches of about 16 MiB).  The (groups, dim) matrix is built when it fits
    ``memory_budget`` bytes, else streamed (same picks and radii).  Returns the picks and their
    Euclidean radii, as ``kernels.kcenter_greedy`` defines them (first pick without centers:
    its distance to the mean; duplicates of centers: 0).
    """
    group = np.asarray(group, dtype=np.int64)
    is_center = np.asarray(is_center, dtype=bool)
    n_groups = int(group.max()) + 1 if group.size else 0
    m = group.size
    center_group = np.zeros(n_groups, dtype=bool)
    center_group[group[is_center]] = True
    candidate_rows = np.flatnonzero(~is_center)
    positions = np.arange(m, dtype=np.int64)

    # one representative row per group: for candidate groups their lowest row (so the groups,
    # taken in the order of those rows, break ties like the rows would), then center groups
    cand_first = np.full(n_groups, m, dtype=np.int64)
    np.minimum.at(cand_first, group[candidate_rows], candidate_rows)
    cand_rep = np.flatnonzero((cand_first[group] == positions) & ~center_group[group])  # ascending
    n_cand = cand_rep.size
    center_groups = np.flatnonzero(center_group)
    center_first = np.full(n_groups, m, dtype=np.int64)
    center_rows = np.flatnonzero(is_center)
    np.minimum.at(center_first, group[center_rows], center_rows)
    reps = np.concatenate([cand_rep, center_first[center_groups]])
    centers = np.zeros(reps.size, dtype=bool)
    centers[n_cand:] = True
    cand_groups = group[cand_rep]
    step = int(chunk_rows) if chunk_rows else _chunk_rows(dim)
    in_memory = reps.size * dim * np.dtype(dtype).itemsize <= memory_budget

    picks: list[int] = []
    radii_found: list[float] = []
    k_groups = min(int(k), n_cand)
    matrix = points_of(reps) if (k_groups and in_memory) else None
    blocks = _Blocks(points_of, reps, step, matrix)
    if k_groups and not center_groups.size:
        counts = np.bincount(group, minlength=n_groups)[cand_groups]
        first_pick, first_sq = _farthest_from_mean(blocks, counts, dim)
        picks.append(first_pick)
        radii_found.append(float(np.sqrt(first_sq)))
        centers[first_pick] = True
        k_groups -= 1
    if k_groups:
        if matrix is not None:
            found, radii = kcenter_radii(matrix, centers, k_groups)
        else:
            found, sq_radii = _streamed(blocks, centers, k_groups, dim)
            radii = np.sqrt(sq_radii)
        found = np.asarray(found, dtype=np.int64)
        radii = np.asarray(radii, dtype=np.float64)
        zero = np.flatnonzero(~(radii > 0))
        stop = zero[0] if zero.size else found.size
        picks.extend(found[:stop].tolist())
        radii_found.extend(radii[:stop].tolist())
    rows = reps[np.asarray(picks, dtype=np.int64)]
    filled = _fill_in_row_order(rows, candidate_rows, int(k))
    radii_out = np.zeros(filled.size, dtype=np.float64)
    radii_out[: min(len(radii_found), filled.size)] = radii_found[: filled.size]
    return filled, radii_out


class _Blocks:
    """The points of ``reps`` on the fixed grid of ``step`` consecutive rows: batch ``q`` is
    ``points_of(reps[q*step : (q+1)*step])`` (or that slice of the matrix, when it is built)."""

    def __init__(self, points_of: PointsFn, reps: np.ndarray, step: int, matrix: np.ndarray | None = None) -> None:
        self.points_of, self.reps, self.step, self.matrix = points_of, reps, max(1, int(step)), matrix
        self.n = int(reps.size)
        self.count = -(-self.n // self.step)
        self.rows_computed = 0  # rows passed to points_of (passes = rows_computed / n)

    def __call__(self, q: int) -> np.ndarray:
        lo, hi = q * self.step, min(self.n, (q + 1) * self.step)
        if self.matrix is not None:
            return self.matrix[lo:hi]
        self.rows_computed += hi - lo
        return np.ascontiguousarray(self.points_of(self.reps[lo:hi]))


def _farthest_from_mean(blocks: _Blocks, counts: np.ndarray, dim: int) -> tuple[int, float]:
    """Index (into the reps) of the point farthest from the count-weighted mean (ties lowest), and its squared distance."""
    total = np.zeros(dim)
    for q in range(blocks.count):
        lo = q * blocks.step
        pts = np.asarray(blocks(q), dtype=np.float64)
        total += counts[lo : lo + pts.shape[0]].astype(np.float64) @ pts
    mean = total / counts.sum()
    best, best_d = 0, -1.0
    for q in range(blocks.count):
        diff = np.asarray(blocks(q), dtype=np.float64) - mean
        d = np.einsum("ij,ij->i", diff, diff)
        j = int(np.argmax(d))
        if d[j] > best_d:
            best, best_d = q * blocks.step + j, float(d[j])
    return best, best_d


def _fill_in_row_order(rows: np.ndarray, candidate_rows: np.ndarray, k: int) -> np.ndarray:
    """Complete ``rows`` to ``k`` picks with the lowest unpicked candidate rows (all at distance 0)."""
    rows = np.asarray(rows, dtype=np.int64)
    if rows.size >= k:
        return rows[:k]
    rest = candidate_rows[~np.isin(candidate_rows, rows)][: k - rows.size]
    return np.concatenate([rows, rest]).astype(np.int64)


def streamed_kcenter(
    reps: np.ndarray,
    centers: np.ndarray,
    k: int,
    points_of: PointsFn,
    dim: int,
    *,
    memory_budget: int | None = None,
    chunk_rows: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy K-Center over the points of ``reps`` without their full matrix (at least one center).

    Points are computed on the fixed grid of ``chunk_rows`` consecutive rows (see
    :func:`grouped_kcenter`), a few passes per run (see :func:`_streamed`); ``memory_budget`` is
    accepted for compatibility (the active set's size follows the kernel's rule).  Returns the
    picks (indices into ``reps``) and their squared radii, stopping early at the first zero radius.
    """
    blocks = _Blocks(points_of, np.asarray(reps, dtype=np.int64), int(chunk_rows) if chunk_rows else _chunk_rows(dim))
    return _streamed(blocks, np.asarray(centers, dtype=bool), int(k), dim)


def _streamed(blocks: _Blocks, centers: np.ndarray, k: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Active-set greedy K-Center over streamed batches; exactly the kernel's picks and radii.

    Invariant: ``u[i]`` is an upper bound of row ``i``'s squared distance to its nearest center
    (min over a subset of the centers, each term the kernels' exact formula; ``-1`` for
    centers).  Min distances only decrease as centers are added, so a stale value stays an
    upper bound.  One pass over the batches (1) brings every outside row up to date with the
    picks made since the previous pass (the first pass: every row against the initial centers,
    or a strided subset of them when there are many), and (2) keeps the float64 points of the
    ``size`` rows with the largest bounds: the active set.  Active rows are then made exact
    (the remaining initial centers) and stay exact (every pick updates them).  The best active
    row (lowest row on ties, ``active`` is ascending) is the true farthest row when it beats
    every outside bound: strictly, or equal to the largest outside bound ``outside`` and below
    the lowest outside row holding it (an outside row can only tie it there, and would lose
    the tie).  Then it is picked; otherwise the active set doubles and one more pass runs.  If
    the bounds never help, the active set grows to every row, so the run always ends; with
    ``S`` initial active rows it makes at most ``2 + log2(n / S)`` passes.
    """
    from .. import kernels

    n = blocks.n
    center_idx = np.flatnonzero(centers)
    if center_idx.size == 0:
        raise ValueError("the streamed K-Center needs at least one center")
    step = blocks.step
    cpts = np.empty((center_idx.size, dim))
    for q in np.unique(center_idx // step):
        sel = center_idx[(center_idx // step) == q]
        cpts[np.searchsorted(center_idx, sel)] = blocks(int(q))[sel - q * step]
    n_first = center_idx.size if center_idx.size <= 2 * _SCREEN_FIRST else _SCREEN_FIRST
    first = np.zeros(center_idx.size, dtype=bool)
    first[np.linspace(0, center_idx.size - 1, n_first).round().astype(np.int64)] = True
    rest_pts = cpts[~first]

    u = np.full(n, np.inf)
    u[centers] = -1.0
    complete = np.zeros(n, dtype=bool)  # every initial center applied
    is_active = np.zeros(n, dtype=bool)
    size = min(n, max(_ACTIVE_MIN, _ACTIVE_PER_PICK * k, n // 64))
    picks: list[int] = []
    radii: list[float] = []
    new_pts: list[np.ndarray] = []  # picks since the last pass
    first_pass = True
    while len(picks) < k:
        active, act_pts = _pass(blocks, u, is_active, size, first_pass, cpts[first], new_pts, dim)
        if first_pass and rest_pts.shape[0] == 0:
            complete[:] = True
        first_pass, new_pts = False, []
        is_active[:] = False
        is_active[active] = True
        outside_mask = (u >= 0) & ~is_active
        if outside_mask.any():
            outside = float(u[outside_mask].max())
            outside_first = int(np.flatnonzero(outside_mask & (u == outside))[0])
        else:
            outside, outside_first = -np.inf, n
        stale = np.flatnonzero(~complete[active] & (u[active] >= 0))
        if stale.size:
            d = kernels.nearest_sq_distances(act_pts[stale], rest_pts)[0]
            rows = active[stale]
            u[rows] = np.minimum(u[rows], d)
        complete[active] = True
        while len(picks) < k:
            values = u[active]
            best = int(np.argmax(values)) if active.size else 0
            top = float(values[best]) if active.size else -np.inf
            if top <= 0.0 and outside <= 0.0:  # only duplicates of centers are left
                return np.asarray(picks, dtype=np.int64), np.asarray(radii)
            j = int(active[best]) if active.size else n
            if not (top > outside or (top == outside and j < outside_first)):
                break  # an outside row might be as far: a larger active set, one more pass
            picks.append(j)
            radii.append(top)
            u[j] = -1.0
            new_pts.append(act_pts[best].copy())
            if len(picks) < k:
                d = kernels.nearest_sq_distances(act_pts, act_pts[best : best + 1])[0]
                u[active] = np.minimum(u[active], d)  # centers and picks stay at -1
        size = min(n, 2 * size)
    return np.asarray(picks, dtype=np.int64), np.asarray(radii)


def _pass(
    blocks: _Blocks, u: np.ndarray, is_active: np.ndarray, size: int, first_pass: bool,
    first_centers: np.ndarray, new_pts: list[np.ndarray], dim: int,
) -> tuple[np.ndarray, np.ndarray]:
    """One pass over the batches: update the outside bounds, return the ``size`` rows with the
    largest bounds (ascending) and their float64 points."""
    from .. import kernels

    news = np.array(new_pts) if new_pts else None
    cap = size + blocks.step
    buf_rows = np.empty(cap, dtype=np.int64)
    buf_pts = np.empty((cap, dim))
    filled = 0
    thresh = -np.inf
    for q in range(blocks.count):
        lo = q * blocks.step
        pts = np.asarray(blocks(q), dtype=np.float64)
        rows = np.arange(lo, lo + pts.shape[0])
        if first_pass:
            live = np.flatnonzero(u[rows] >= 0)
            if live.size:
                u[rows[live]] = kernels.nearest_sq_distances(pts[live], first_centers)[0]
        elif news is not None:
            live = np.flatnonzero((u[rows] >= 0) & ~is_active[rows])
            if live.size:
                d = kernels.nearest_sq_distances(pts[live], news)[0]
                u[rows[live]] = np.minimum(u[rows[live]], d)
        keep = np.flatnonzero((u[rows] >= 0) & (u[rows] >= thresh))
        if filled + keep.size > cap:
            filled, thresh = _prune(u, buf_rows, buf_pts, filled, size)
            keep = keep[u[rows[keep]] >= thresh]
        buf_rows[filled : filled + keep.size] = rows[keep]
        buf_pts[filled : filled + keep.size] = pts[keep]
        filled += keep.size
    if filled > size:
        filled, _ = _prune(u, buf_rows, buf_pts, filled, size)
    order = np.argsort(buf_rows[:filled], kind="stable")
    return buf_rows[:filled][order], buf_pts[:filled][order]


def _prune(u: np.ndarray, rows: np.ndarray, pts: np.ndarray, filled: int, size: int) -> tuple[int, float]:
    """Keep (in place, at the front) the ``size`` buffered rows with the largest bounds; return
    the new fill and the smallest bound kept."""
    if filled <= size:
        return filled, (float(u[rows[:filled]].min()) if filled else -np.inf)
    bounds = u[rows[:filled]]
    top = np.argpartition(bounds, filled - size)[filled - size :]
    top.sort()
    rows[:size] = rows[top]
    pts[:size] = pts[top]
    return size, float(bounds[top].min())


def _chunk_rows(dim: int) -> int:
    return max(1, _CHUNK_BYTES // (8 * max(1, dim)))


def pick_time_distances(centers: np.ndarray, picked: np.ndarray) -> np.ndarray:
    """Euclidean distance of each pick to its nearest center when it was picked.

    The centers at pick ``j`` are the rows of ``centers`` plus ``picked[:j]``; with no centers the
    first pick has none and gets NaN.  Every pair is measured with the kernels' exact formula
    (``nearest_sq_distances``), split in halves (the second half against the first, then each half
    on its own), never a loop over picks; a pick's distance does not depend on how many picks
    follow it.  Distances are translation invariant, so the points are first centered on a
    vector that does not depend on the picks (the centers' mean, else the first pick), which
    keeps the kernels' rounding screen tight when all points share a large offset.
    """
    centers = np.asarray(centers, dtype=np.float64)
    picked = np.asarray(picked, dtype=np.float64)
    k = picked.shape[0]
    best = np.full(k, np.inf)
    if k == 0:
        return best
    origin = centers.mean(axis=0) if centers.shape[0] else picked[0].copy()
    picked = picked - origin
    if centers.shape[0]:
        from .. import kernels

        best = np.asarray(kernels.nearest_sq_distances(picked, centers - origin)[0], dtype=np.float64).copy()
    _within_prefix(picked, 0, k, best)
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(best), np.sqrt(best), np.nan)


_LEAF_PICKS = 2048


def _within_prefix(points: np.ndarray, lo: int, hi: int, best: np.ndarray) -> None:
    """``best[i] = min(best[i], min_{lo <= j < i} |p_i - p_j|^2)`` for ``lo <= i < hi``."""
    from .. import kernels

    if hi - lo <= 1:
        return
    if hi - lo <= _LEAF_PICKS:
        within = np.asarray(kernels.pairwise_sq_distances(points[lo:hi], points[lo:hi]), dtype=np.float64)
        within[np.triu_indices(hi - lo)] = np.inf  # only earlier picks count
        np.minimum(best[lo:hi], within.min(axis=1), out=best[lo:hi])
        return
    mid = (lo + hi) // 2
    _within_prefix(points, lo, mid, best)
    _within_prefix(points, mid, hi, best)
    earlier = np.asarray(kernels.nearest_sq_distances(points[mid:hi], points[lo:mid])[0], dtype=np.float64)
    np.minimum(best[mid:hi], earlier, out=best[mid:hi])
