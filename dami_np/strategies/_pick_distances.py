"""Distance of each pick to its nearest center when it was picked, for any selection.

The report's ``distance`` column: every pair measured with the kernels' exact formula, never
a loop over picks, and a pick's distance does not depend on how many picks follow it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pick_time_distances"]


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
        import dami_np.kernels as kernels

        best = np.asarray(kernels.nearest_sq_distances(picked, centers - origin)[0], dtype=np.float64).copy()
    _within_prefix(picked, 0, k, best)
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(best), np.sqrt(best), np.nan)


_LEAF_PICKS = 2048


def _within_prefix(points: np.ndarray, lo: int, hi: int, best: np.ndarray) -> None:
    """``best[i] = min(best[i], min_{lo <= j < i} |p_i - p_j|^2)`` for ``lo <= i < hi``."""
    import dami_np.kernels as kernels

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
