"""Numba hot loops of greedy K-Center: one fused "add a center" pass, and center-center distances.

The pass visits rows in blocks of ``BLOCK`` (blocks run in parallel, interleaved across
threads so pruned, uneven work stays balanced). For each non-center row it either skips
(triangle inequality) or computes the distance to the new center with the shared formula,
lowers the row's min distance (strict ``<``: the first center reaching a value keeps it)
and records the new nearest-center slot. In the same pass every block reports its largest
min distance and the lowest row reaching it, so the next pick is an ``argmax`` over
``n / BLOCK`` numbers: ties go to the lowest row whatever the thread count.

Pruning rule (exact): with ``a`` the row's nearest center, ``d(x, c) >= d(a, c) - d(x, a)``,
so ``d(a, c)^2 >= 4 d(x, a)^2`` means the new center ``c`` cannot be strictly closer. The
test is made on computed squared distances, inflated by a relative margin (``thr`` slightly
above 4, covering the float64 rounding of both computed values) plus a tiny absolute slack
(subnormals), so a skip never changes a result: pruned and plain passes give the same bits.
"""

from __future__ import annotations

import numpy as np

from ._numba_policy import inline, kernel, prange, types
from ._prefetch import prefetch_row
from ._rowdist import LANES, sq_dist

__all__ = ["BLOCK", "prune_threshold", "update_pass", "update_pass_serial", "center_sq_dists"]

BLOCK = 512
_SPREAD = 16
_SLACK = 1e-290


def prune_threshold(d: int) -> float:
    """``thr``: slightly above 4, covering the float64 rounding of both computed distances."""
    return 4.0 * (1.0 + 1e-8 + 16.0 * (d + LANES + 8) * 2.0**-53)


def _update_sigs() -> list:
    t = types()
    ro = lambda dt, nd=1: t.Array(dt, nd, "C", readonly=True)  # noqa: E731
    rw = lambda dt: t.Array(dt, 1, "C")  # noqa: E731
    return [
        t.int64(
            ro(dt, 2), ro(t.int64), ro(t.float64), t.int64, rw(t.float64), rw(t.int32), ro(t.float64),
            t.boolean, t.float64, rw(t.float64), rw(t.int64),
        )
        for dt in (t.float32, t.float64)
    ]


def _center_sigs() -> list:
    t = types()
    return [t.void(t.Array(t.float64, 2, "C", readonly=True), t.int64, t.Array(t.float64, 1, "C", readonly=True),
                   t.Array(t.float64, 1, "C"))]


@inline
def _update_block(x, rows, c, slot, mind, nearest, dcc, prune, thr, b, blk_best, blk_arg, acc, todo):  # pragma: no cover
    """Update the rows of block ``b``; record its best row; return distances computed.

    Three steps: choose the rows that need a distance (pruning test), compute those while
    prefetching the next one (they are scattered when pruning works), then find the
    block's largest min distance (first row on ties).
    """
    r0 = b * BLOCK
    r1 = min(rows.shape[0], r0 + BLOCK)
    nt = 0
    for r in range(r0, r1):
        md = mind[r]
        if md < 0.0:  # a center, or already picked
            continue
        if prune:
            a = nearest[r]
            if a >= 0 and md < np.inf and dcc[a] >= thr * md + _SLACK:
                continue
        todo[nt] = r
        nt += 1
    for t in range(nt):
        r = todo[t]
        if prune and t + 1 < nt:
            prefetch_row(x, rows[todo[t + 1]])
        d = sq_dist(x[rows[r]], c, acc)
        if d < mind[r]:
            mind[r] = d
            nearest[r] = slot
    best = -1.0
    barg = -1
    for r in range(r0, r1):
        if mind[r] > best:
            best = mind[r]
            barg = r
    blk_best[b] = best
    blk_arg[b] = barg
    return nt


@kernel(_update_sigs, parallel=True)
def update_pass(x, rows, c, slot, mind, nearest, dcc, prune, thr, blk_best, blk_arg):  # pragma: no cover
    """Add center vector ``c`` (slot ``slot``); return the number of distances computed."""
    nblk = blk_best.shape[0]
    per = (nblk + _SPREAD - 1) // _SPREAD
    computed = 0
    for q in prange(per * _SPREAD):
        # Static scheduling gives each thread a contiguous range of q; spreading q over
        # _SPREAD strips of the rows keeps uneven (pruned) work balanced across threads.
        b = (q % _SPREAD) * per + q // _SPREAD
        if b < nblk:
            acc = np.empty(LANES)
            todo = np.empty(BLOCK, dtype=np.int64)
            computed += _update_block(x, rows, c, slot, mind, nearest, dcc, prune, thr, b, blk_best, blk_arg, acc, todo)
    return computed


@kernel(_update_sigs, parallel=False)
def update_pass_serial(x, rows, c, slot, mind, nearest, dcc, prune, thr, blk_best, blk_arg):  # pragma: no cover
    """:func:`update_pass` on one thread, same results: for small passes (no thread wake-ups)."""
    acc = np.empty(LANES)
    todo = np.empty(BLOCK, dtype=np.int64)
    computed = 0
    for b in range(blk_best.shape[0]):
        computed += _update_block(x, rows, c, slot, mind, nearest, dcc, prune, thr, b, blk_best, blk_arg, acc, todo)
    return computed


@kernel(_center_sigs, parallel=False)
def center_sq_dists(centers, s, c, out):  # pragma: no cover
    """``out[i] = |centers[i] - c|^2`` for the first ``s`` center rows (float64).

    Serial on purpose: s x D is tiny next to a pass over the rows, and a parallel region
    costs more than it saves when other processes share the cores.
    """
    acc = np.empty(LANES)
    for i in range(s):
        out[i] = sq_dist(centers[i], c, acc)
