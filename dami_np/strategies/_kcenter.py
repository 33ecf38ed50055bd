"""Greedy K-Center helpers on top of ``dami_np.kernels``: plain, over groups of equal rows, streamed.

Greedy K-Center (Gonzalez 1985; Sener & Savarese 2018) repeatedly picks the row farthest from
its nearest center; labeled rows are the initial centers.  Ties go to the lowest row index;
with no centers the first pick is the row farthest from the column mean (the kernel's rules).

``grouped_kcenter`` runs it once per group of rows known to share a representation (DAMI: one
activation pattern) and gives exactly the picks of the run over all rows: a group stands for
its lowest candidate row, groups are ordered by that row, and once every remaining row is at
distance 0 the plain run would take the remaining rows in index order, so we do the same.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["kcenter", "kcenter_radii", "grouped_kcenter", "streamed_kcenter", "pick_time_distances"]

PointsFn = Callable[[np.ndarray], np.ndarray]
_CHUNK_BYTES = 64 * 2**20


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
) -> tuple[np.ndarray, np.ndarray]:
    """Exact K-Center picks (positions into ``group``) when rows of a group share their point.

    ``group`` (m,) ids of the rows (any numbering), ``is_center`` (m,) the initial centers,
    ``points_of(rows)`` the (len(rows), dim) float64 points of the given row positions.  The
    (groups, dim) matrix is built when it fits ``memory_budget`` bytes, else streamed.
    Returns the picks and their Euclidean radii, as ``kernels.kcenter_greedy`` defines them
    (first pick without centers: its distance to the mean; duplicates of centers: 0).
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

    picks: list[int] = []
    radii_found: list[float] = []
    k_groups = min(int(k), n_cand)
    if k_groups and not center_groups.size:
        counts = np.bincount(group, minlength=n_groups)[cand_groups]
        first_pick, first_sq = _farthest_from_mean(reps, counts, points_of, dim)
        picks.append(first_pick)
        radii_found.append(float(np.sqrt(first_sq)))
        centers[first_pick] = True
        k_groups -= 1
    if k_groups:
        if reps.size * dim * 8 <= memory_budget:
            found, radii = kcenter_radii(points_of(reps), centers, k_groups)
        else:
            found, sq_radii = streamed_kcenter(reps, centers, k_groups, points_of, dim, memory_budget=memory_budget)
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


def _farthest_from_mean(reps: np.ndarray, counts: np.ndarray, points_of: PointsFn, dim: int) -> tuple[int, float]:
    """Index (into ``reps``) of the point farthest from the count-weighted mean (ties lowest), and its squared distance."""
    step = _chunk_rows(dim)
    total = np.zeros(dim)
    for start in range(0, reps.size, step):
        total += counts[start : start + step] @ points_of(reps[start : start + step])
    mean = total / counts.sum()
    best, best_d = 0, -1.0
    for start in range(0, reps.size, step):
        diff = points_of(reps[start : start + step]) - mean
        d = np.einsum("ij,ij->i", diff, diff)
        j = int(np.argmax(d))
        if d[j] > best_d:
            best, best_d = start + j, float(d[j])
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
    memory_budget: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy K-Center without the full matrix: points are recomputed chunk by chunk.

    Chunks that fit ``memory_budget`` are kept; the rest are recomputed at every pick, so the
    cost grows to ``k`` passes of ``points_of`` over what does not fit.  Returns the picks
    (indices into ``reps``) and their squared radii, stopping early at the first zero radius.
    """
    from .. import kernels

    n = reps.size
    step = _chunk_rows(dim)
    starts = list(range(0, n, step))
    cache: dict[int, np.ndarray] = {}
    cached_bytes = 0

    def chunk(start: int) -> np.ndarray:
        nonlocal cached_bytes
        if start in cache:
            return cache[start]
        block = points_of(reps[start : start + step])
        if cached_bytes + block.nbytes <= memory_budget:
            cache[start] = block
            cached_bytes += block.nbytes
        return block

    def point(j: int) -> np.ndarray:
        start = (j // step) * step  # from its chunk, so it is bit-identical to the row used there
        return chunk(start)[j - start : j - start + 1]

    nearest = np.full(n, np.inf)
    center_idx = np.flatnonzero(centers)
    if center_idx.size:
        center_points = np.concatenate(
            [chunk(s)[centers[s : s + step]] for s in starts if centers[s : s + step].any()]
        )
        for c0 in range(0, center_points.shape[0], step):
            block = center_points[c0 : c0 + step]
            for start in starts:
                d, _ = kernels.nearest_sq_distances(chunk(start), block)
                np.minimum(nearest[start : start + step], d, out=nearest[start : start + step])
    nearest[centers] = -np.inf

    picks, radii = [], []
    for _ in range(k):
        j = int(np.argmax(nearest))
        radius = float(nearest[j])
        if not radius > 0:
            break
        picks.append(j)
        radii.append(radius)
        nearest[j] = -np.inf
        new = point(j)
        for start in starts:
            d, _ = kernels.nearest_sq_distances(chunk(start), new)
            np.minimum(nearest[start : start + step], d, out=nearest[start : start + step])
    return np.asarray(picks, dtype=np.int64), np.asarray(radii)


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
