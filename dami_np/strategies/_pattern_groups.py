"""Which row stands for a group of rows that share a point (DAMI: one activation pattern).

Grouped K-Center runs over one representative per group and gives exactly the picks of the
run over all rows; the representatives and their order decide the tie-breaking and the fixed
grid of batches the points are computed on, so every path (in memory, streamed, Dask) must
take the same ones.  This module is that one rule; the Dask round applies it to the per-chunk
distinct patterns merged on the driver.  Once only distance 0 is left, the plain run would take
the remaining rows in index order: :func:`fill_in_row_order`, on every path too.
"""

from __future__ import annotations

import numpy as np

__all__ = ["group_representatives", "fill_in_row_order"]


def group_representatives(group: np.ndarray, is_center: np.ndarray) -> tuple[np.ndarray, int]:
    """Representative positions (into ``group``) and how many of them are candidates.

    ``group`` (m,) int ids of the rows (ids 0..G-1, any numbering), ``is_center`` (m,) the
    initial centers.  A candidate group (no center in it) is represented by its lowest row, and
    these come first, in ascending row order (so the groups break ties like their rows would);
    then each center group (a group holding a center) by its lowest center row, in group id
    order.  Returns ``(reps, n_candidate_groups)``: ``reps[:n]`` are the candidate groups'.
    """
    group = np.asarray(group, dtype=np.int64)
    is_center = np.asarray(is_center, dtype=bool)
    m = group.size
    n_groups = int(group.max()) + 1 if m else 0
    positions = np.arange(m, dtype=np.int64)
    center_group = np.zeros(n_groups, dtype=bool)
    center_group[group[is_center]] = True
    candidate_rows = np.flatnonzero(~is_center)
    cand_first = np.full(n_groups, m, dtype=np.int64)
    np.minimum.at(cand_first, group[candidate_rows], candidate_rows)
    cand_rep = np.flatnonzero((cand_first[group] == positions) & ~center_group[group])  # ascending
    center_first = np.full(n_groups, m, dtype=np.int64)
    center_rows = np.flatnonzero(is_center)
    np.minimum.at(center_first, group[center_rows], center_rows)
    reps = np.concatenate([cand_rep, center_first[np.flatnonzero(center_group)]])
    return reps.astype(np.int64, copy=False), int(cand_rep.size)


def fill_in_row_order(rows: np.ndarray, radii: object, k: int, is_center: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``k`` picks and radii: the first ``k`` of ``rows``/``radii`` (the picks at a positive
    distance), completed with the lowest rows neither a center (``is_center``, over all rows)
    nor picked, at radius 0 (``kernels.fill_zero_distance``: the kernels' rule)."""
    import dami_np.kernels as kernels

    rows = np.asarray(rows, dtype=np.int64)
    t = min(rows.size, int(k))
    filled = np.empty(int(k), dtype=np.int64)
    out = np.zeros(int(k), dtype=np.float64)
    filled[:t] = rows[:t]
    out[:t] = np.asarray(radii, dtype=np.float64)[:t]
    if t < k:
        kernels.fill_zero_distance(filled, out, t, is_center)
    return filled, out
