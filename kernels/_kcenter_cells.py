"""Greedy K-Center for low-dimensional points (``D <= 8``): k-d tree cells with exact bounds.

In few dimensions a new center only changes the rows near it, but a flat pass still visits
every row. Here the rows are ordered along a k-d tree (median splits of the widest side,
leaves of at most ``_LEAF`` rows, :func:`_kd_build`), and every leaf *cell* keeps its
bounding box and the largest min distance of its candidate rows (and the lowest row
reaching it). A new center ``c`` skips a whole cell when the squared distance from ``c`` to
the cell's box is already ``>=`` the cell's largest min distance; the next pick is the best
cell's row (ties: the lowest row index). Everything runs in one compiled loop.

Why a skip is exact (not just likely): for ``D <= 32`` the shared formula of
:mod:`._rowdist` is the plain sequential sum of ``fl(x_j - c_j)^2`` in float64. Rounding is
monotonic, so for any row of the box, ``|fl(x_j - c_j)| >= fl(gap_j)`` (``gap_j`` = the box's
distance to ``c_j`` in dimension ``j``, computed as ``lo_j - c_j`` or ``c_j - hi_j``), and the
sums taken in the same order keep that inequality: the computed distance of every row of
the cell is at least the computed box bound, so no row's min distance could have dropped
(updates need a strictly smaller value). Picks and radii are therefore bit-identical to
the other methods.

Extra memory: a reordered copy of the points, O(n) integers and floats, and two
(cells, D) float64 boxes.
"""

from __future__ import annotations

import math

import numpy as np

from ._numba_policy import kernel
from ._rowdist import sq_dists_numpy
from ._kcenter_rules import fill_zero_distance, first_center_vector

__all__ = ["MAX_DIM", "kcenter_cells"]

MAX_DIM = 8  # fastest up to here (bench/kcenter_speed.py --low-dim); exact for any D <= 32
_LEAF = 32
_STACK = 256


@kernel()
def _kd_build(x, leaf, perm, starts):  # pragma: no cover - compiled
    """Reorder ``perm`` into k-d tree leaf order; write each leaf's first position to
    ``starts``; return the number of leaves. Median split of the widest side (three-way
    quickselect with pseudo-random pivots, so neither many equal values nor ordered input
    makes it quadratic); all-equal rows stay one leaf. Only speed depends on the tree."""
    n = x.shape[0]
    d = x.shape[1]
    lo = np.empty(d)
    hi = np.empty(d)
    st_s = np.empty(_STACK, dtype=np.int64)
    st_e = np.empty(_STACK, dtype=np.int64)
    st_s[0] = 0
    st_e[0] = n
    top = 1
    ncell = 0
    seed = 12345
    while top > 0:
        top -= 1
        s = st_s[top]
        e = st_e[top]
        axis = -1
        width = 0.0
        if e - s > leaf:
            for j in range(d):
                lo[j] = np.inf
                hi[j] = -np.inf
            for p in range(s, e):
                r = perm[p]
                for j in range(d):
                    v = np.float64(x[r, j])
                    if v < lo[j]:
                        lo[j] = v
                    if v > hi[j]:
                        hi[j] = v
            for j in range(d):
                if hi[j] - lo[j] > width:
                    width = hi[j] - lo[j]
                    axis = j
        if axis < 0:
            starts[ncell] = s
            ncell += 1
            continue
        m = s + (e - s) // 2
        lo_i = s
        hi_i = e
        while hi_i - lo_i > 1:
            span = hi_i - lo_i
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF  # pseudo-random pivots: no bad inputs
            a = np.float64(x[perm[lo_i + seed % span], axis])
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            b = np.float64(x[perm[lo_i + seed % span], axis])
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            c = np.float64(x[perm[lo_i + seed % span], axis])
            pivot = max(min(a, b), min(max(a, b), c))  # median of three
            lt = lo_i
            i = lo_i
            gt = hi_i
            while i < gt:
                v = np.float64(x[perm[i], axis])
                if v < pivot:
                    tmp = perm[lt]
                    perm[lt] = perm[i]
                    perm[i] = tmp
                    lt += 1
                    i += 1
                elif v > pivot:
                    gt -= 1
                    tmp = perm[gt]
                    perm[gt] = perm[i]
                    perm[i] = tmp
                else:
                    i += 1
            if m < lt:
                hi_i = lt
            elif m >= gt:
                lo_i = gt
            else:
                break
        st_s[top] = m
        st_e[top] = e
        st_s[top + 1] = s
        st_e[top + 1] = m
        top += 2
    return ncell


@kernel()
def _boxes(xs, starts, lo, hi):  # pragma: no cover - compiled
    """Bounding box (float64) of every cell ``starts[q] .. starts[q + 1] - 1`` of ``xs``."""
    d = xs.shape[1]
    for q in range(starts.shape[0] - 1):
        for j in range(d):
            lo[q, j] = np.inf
            hi[q, j] = -np.inf
        for p in range(starts[q], starts[q + 1]):
            for j in range(d):
                v = np.float64(xs[p, j])
                if v < lo[q, j]:
                    lo[q, j] = v
                if v > hi[q, j]:
                    hi[q, j] = v


@kernel()
def _greedy_cells(xs, orig, starts, lo, hi, mind, cmax, carg, centers, k, picks, radii):  # pragma: no cover
    """Apply the initial ``centers`` (positions in ``xs``), then make up to ``k`` picks (original
    row numbers into ``picks``, Euclidean radii into ``radii``). Returns the number of picks
    made; it stops early when only rows at distance 0 from a center are left."""
    d = xs.shape[1]
    ncell = starts.shape[0] - 1
    c = np.empty(d)
    t = 0
    nc = centers.shape[0]
    step = 0
    while True:
        if step < nc:
            pos = centers[step]
        else:
            if t == k:
                break
            best = -1.0
            bq = -1
            for q in range(ncell):
                cm = cmax[q]
                if cm > best or (cm == best and cm >= 0.0 and carg[q] < carg[bq]):
                    best = cm
                    bq = q
            if best <= 0.0:  # nothing left but duplicates of centers
                break
            row = carg[bq]
            pos = -1
            for p in range(starts[bq], starts[bq + 1]):
                if orig[p] == row:
                    pos = p
                    break
            picks[t] = row
            radii[t] = math.sqrt(best)
            t += 1
            mind[pos] = -1.0
            if t == k:
                break
        step += 1
        mind[pos] = -1.0
        for j in range(d):
            c[j] = np.float64(xs[pos, j])
        for q in range(ncell):
            cm = cmax[q]
            if cm <= 0.0:  # no candidate, or all at distance 0: nothing can drop
                continue
            bound = 0.0
            for j in range(d):
                g = 0.0
                if c[j] < lo[q, j]:
                    g = lo[q, j] - c[j]
                elif c[j] > hi[q, j]:
                    g = c[j] - hi[q, j]
                bound += g * g
            if bound >= cm:
                continue
            bbest = -1.0
            barg = -1
            for p in range(starts[q], starts[q + 1]):
                md = mind[p]
                if md < 0.0:
                    continue
                s = 0.0  # sq_dist of _rowdist for D <= 32 (the sequential sum the bound mirrors),
                for j in range(d):  # written out: a row view per distance costs more than the sum here
                    tj = xs[p, j] - c[j]
                    s += tj * tj
                if s < md:
                    md = s
                    mind[p] = s
                if md > bbest or (md == bbest and orig[p] < barg):
                    bbest = md
                    barg = orig[p]
            cmax[q] = bbest
            carg[q] = barg
    return t


def kcenter_cells(x: np.ndarray, k: int, cmask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Picks and radii, identical to the other methods; ``x`` C-contiguous float32/float64 with
    ``1 <= D <= MAX_DIM``, ``k >= 1``."""
    n = x.shape[0]
    perm = np.arange(n, dtype=np.int64)
    starts = np.empty(n + 1, dtype=np.int64)
    ncell = int(_kd_build(x, _LEAF, perm, starts))
    starts = np.ascontiguousarray(starts[: ncell + 1])
    starts[ncell] = n
    xs = np.ascontiguousarray(x[perm])
    lo = np.empty((ncell, x.shape[1]))
    hi = np.empty((ncell, x.shape[1]))
    _boxes(xs, starts, lo, hi)
    where = np.empty(n, dtype=np.int64)
    where[perm] = np.arange(n, dtype=np.int64)
    mind = np.full(n, np.inf)
    picks = np.empty(k, dtype=np.int64)
    radii = np.empty(k)
    t0 = 0
    center_rows = np.flatnonzero(cmask)
    if center_rows.size == 0:  # first pick: farthest from the mean (see _kcenter_rules)
        d = sq_dists_numpy(x, first_center_vector(x))
        r = int(np.argmax(d))
        picks[0], radii[0] = r, math.sqrt(float(d[r]))
        t0 = 1
        center_rows = np.array([r], dtype=np.int64)
    mind[where[center_rows]] = -1.0
    first = starts[:-1]
    cmax = np.where(np.maximum.reduceat(mind, first) < 0.0, -1.0, np.inf)  # -1: only centers in the cell
    carg = np.minimum.reduceat(perm, first)  # recomputed when the first center is applied
    if t0 < k:
        made = int(_greedy_cells(xs, perm, starts, lo, hi, mind, cmax, carg, where[center_rows], k - t0,
                                 picks[t0:], radii[t0:]))
    else:
        made = 0
    if t0 + made < k:
        fill_zero_distance(picks, radii, t0 + made, cmask)
    return picks, radii
