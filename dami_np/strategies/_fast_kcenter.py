"""Exact greedy K-Center when many rows are initial centers (the labeled set of a query round).

``kernels.kcenter_greedy`` finds every row's nearest initial center with one exact pass per
center; with 1,000 labeled rows that is 1,000 passes and dominates a round.  Here:

1. Screen with BLAS: ``|p|^2 + |c|^2 - 2 p.c`` for a chunk of rows against all centers (one
   GEMM), with a rigorous bound on its rounding error; only centers that can be the nearest
   within that bound (almost always one per row) get the exact distance.
2. Greedy picks over an *active set*: min distances only ever decrease, so a row's last
   computed value is an upper bound.  Only the ``M`` rows with the largest bounds are kept
   exact (brought up to date with every new center, pruned by the triangle inequality as in
   the kernel); while the best of them is strictly above every bound outside, it is the
   true farthest row.  When it is not, the active set is chosen again (twice as large) and
   its stale rows are brought up to date.  Each pick costs O(M D) instead of O(n D).

Every distance that decides anything is computed with the kernels' shared formula
(``kernels._rowdist.sq_dist``), and ties go to the lowest row, so the picks and radii are
bit-identical to ``kernels.kcenter_greedy`` (the tests check it).
"""

from __future__ import annotations

import numpy as np

from ..kernels._numba_policy import NUMBA_ENABLED, inline, kernel, prange, types
from ..kernels._rowdist import LANES, sq_dist

__all__ = ["kcenter_with_centers", "screened_nearest"]

_BLOCK = 512
_GEMM_BYTES = 32 * 2**20
_SLACK = 1e-290
_PARALLEL_MIN = 1 << 20  # elements below which a parallel region costs more than it saves
_PASS_PARALLEL_MIN = 1 << 23  # a pass is repeated per pick: thread wake-ups must pay off
_ACTIVE_MIN = 4096  # rows kept exact between two choices of the active set (at least)
_ACTIVE_PER_PICK = 16
_SCREEN_FIRST = 256  # initial centers applied to every row; the rest only to active rows


def _prune_factor(dim: int) -> float:
    """Slightly above 4: covers the float64 rounding of both computed distances (as the kernel)."""
    return 4.0 * (1.0 + 1e-8 + 16.0 * (dim + LANES + 8) * 2.0**-53)


def _pair_sigs() -> list:
    t = types()
    ro2 = t.Array(t.float64, 2, "C", readonly=True)
    ro1 = t.Array(t.int64, 1, "C", readonly=True)
    return [t.void(ro2, ro2, ro1, ro1, t.Array(t.float64, 1, "C"))]


def _update_sigs() -> list:
    t = types()
    return [
        t.int64(
            t.Array(t.float64, 2, "C", readonly=True), t.Array(t.int64, 1, "C", readonly=True),
            t.Array(t.float64, 1, "C", readonly=True), t.Array(t.float64, 1, "C", readonly=True), t.int64,
            t.Array(t.float64, 1, "C"), t.Array(t.int64, 1, "C"), t.float64,
        )
    ]


def _refresh_sigs() -> list:
    t = types()
    return [
        t.void(
            t.Array(t.float64, 2, "C", readonly=True), t.Array(t.int64, 1, "C", readonly=True),
            t.Array(t.int64, 1, "C", readonly=True), t.int64, t.Array(t.float64, 1, "C"),
            t.Array(t.int64, 1, "C"), t.Array(t.int64, 1, "C"),
        )
    ]


def _pair_body(a, b, ia, ib, out, q):  # pragma: no cover - compiled
    acc = np.empty(LANES)
    for t in range(q * _BLOCK, min(ia.shape[0], (q + 1) * _BLOCK)):
        out[t] = sq_dist(a[ia[t]], b[ib[t]], acc)


def _update_body(x, rows, c, dcc, slot, mind, nearest, thr, q):  # pragma: no cover - compiled
    acc = np.empty(LANES)
    comp = 0
    for t in range(q * _BLOCK, min(rows.shape[0], (q + 1) * _BLOCK)):
        r = rows[t]
        md = mind[r]
        if md < 0.0:
            continue
        if md < np.inf and dcc[nearest[r]] >= thr * md + _SLACK:
            continue  # d(x, c) >= d(a, c) - d(x, a) >= d(x, a): c cannot be closer
        d = sq_dist(x[r], c, acc)
        comp += 1
        if d < md:
            mind[r] = d
            nearest[r] = slot
    return comp


def _refresh_body(x, rows, slots, n_slots, mind, nearest, upto, q):  # pragma: no cover - compiled
    acc = np.empty(LANES)
    for t in range(q * _BLOCK, min(rows.shape[0], (q + 1) * _BLOCK)):
        r = rows[t]
        md = mind[r]
        for s in range(upto[r], n_slots):
            d = sq_dist(x[r], x[slots[s]], acc)
            if d < md:
                md = d
                nearest[r] = s
        mind[r] = md
        upto[r] = n_slots


_pair_block = inline(_pair_body)
_update_block = inline(_update_body)
_refresh_block = inline(_refresh_body)


@kernel(_pair_sigs, parallel=True)
def _pair_parallel(a, b, ia, ib, out):  # pragma: no cover - compiled
    """``out[t] = |a[ia[t]] - b[ib[t]]|^2`` with the shared formula."""
    for q in prange((ia.shape[0] + _BLOCK - 1) // _BLOCK):
        _pair_block(a, b, ia, ib, out, q)


@kernel(_pair_sigs)
def _pair_serial(a, b, ia, ib, out):  # pragma: no cover - compiled
    for q in range((ia.shape[0] + _BLOCK - 1) // _BLOCK):
        _pair_block(a, b, ia, ib, out, q)


@kernel(_update_sigs, parallel=True)
def _add_center_parallel(x, rows, c, dcc, slot, mind, nearest, thr):  # pragma: no cover - compiled
    """Lower ``mind`` of ``rows`` with center ``c`` (slot ``slot``); ``mind < 0`` marks centers."""
    computed = 0
    for q in prange((rows.shape[0] + _BLOCK - 1) // _BLOCK):
        computed += _update_block(x, rows, c, dcc, slot, mind, nearest, thr, q)
    return computed


@kernel(_update_sigs)
def _add_center_serial(x, rows, c, dcc, slot, mind, nearest, thr):  # pragma: no cover - compiled
    computed = 0
    for q in range((rows.shape[0] + _BLOCK - 1) // _BLOCK):
        computed += _update_block(x, rows, c, dcc, slot, mind, nearest, thr, q)
    return computed


@kernel(_refresh_sigs, parallel=True)
def _refresh_parallel(x, rows, slots, n_slots, mind, nearest, upto):  # pragma: no cover - compiled
    """Bring ``rows`` up to date with center slots ``upto[r] .. n_slots - 1``."""
    for q in prange((rows.shape[0] + _BLOCK - 1) // _BLOCK):
        _refresh_block(x, rows, slots, n_slots, mind, nearest, upto, q)


@kernel(_refresh_sigs)
def _refresh_serial(x, rows, slots, n_slots, mind, nearest, upto):  # pragma: no cover - compiled
    for q in range((rows.shape[0] + _BLOCK - 1) // _BLOCK):
        _refresh_block(x, rows, slots, n_slots, mind, nearest, upto, q)


def _pair_sq_dists(a: np.ndarray, b: np.ndarray, ia: np.ndarray, ib: np.ndarray, out: np.ndarray) -> None:
    (_pair_parallel if ia.size * a.shape[1] >= _PARALLEL_MIN else _pair_serial)(a, b, ia, ib, out)


def _refine_sigs() -> list:
    t = types()
    ro2 = t.Array(t.float64, 2, "C", readonly=True)
    ro1 = t.Array(t.float64, 1, "C", readonly=True)
    return [
        t.void(ro2, ro2, t.Array(t.float32, 2, "C", readonly=True), ro1, ro1, t.float64, t.int64,
               t.Array(t.float64, 1, "C"), t.Array(t.int64, 1, "C"))
    ]


def _refine_row(x, cpts, dots, sq, csq, tol, start, mind, nearest, i, acc):  # pragma: no cover - compiled
    r = start + i
    s_r = sq[r]
    upper = np.inf
    for j in range(cpts.shape[0]):
        both = s_r + csq[j]
        hi = both - 2.0 * np.float64(dots[i, j]) + tol * both
        if hi < upper:
            upper = hi
    best = np.inf
    arg = -1
    for j in range(cpts.shape[0]):
        both = s_r + csq[j]
        if both - 2.0 * np.float64(dots[i, j]) - tol * both <= upper:
            d = sq_dist(x[r], cpts[j], acc)
            if d < best:  # strict: ties keep the lowest center
                best = d
                arg = j
    mind[r] = best
    nearest[r] = arg


_refine_one = inline(_refine_row)


@kernel(_refine_sigs, parallel=True)
def _refine_parallel(x, cpts, dots, sq, csq, tol, start, mind, nearest):  # pragma: no cover - compiled
    m = dots.shape[0]
    for q in prange((m + 63) // 64):
        acc = np.empty(LANES)
        for i in range(q * 64, min(m, (q + 1) * 64)):
            _refine_one(x, cpts, dots, sq, csq, tol, start, mind, nearest, i, acc)


@kernel(_refine_sigs)
def _refine_serial(x, cpts, dots, sq, csq, tol, start, mind, nearest):  # pragma: no cover - compiled
    acc = np.empty(LANES)
    for i in range(dots.shape[0]):
        _refine_one(x, cpts, dots, sq, csq, tol, start, mind, nearest, i, acc)


def kcenter_with_centers(points: np.ndarray, centers: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Greedy K-Center picks and Euclidean radii, identical to ``kernels.kcenter_greedy``.

    ``points`` (n, D) float64, ``centers`` (n,) bool with at least one center, ``k`` at most
    the number of non-center rows.
    """
    if not NUMBA_ENABLED:
        raise RuntimeError("kcenter_with_centers needs Numba; use kernels.kcenter_greedy")
    x = np.ascontiguousarray(points, dtype=np.float64)
    n, dim = x.shape
    center_rows = np.flatnonzero(centers)
    n_init = center_rows.size
    # Slots: a strided subset of the centers screens every row first (upper bounds); the
    # other centers are applied only to rows that become active.
    n_first = n_init if n_init <= 2 * _SCREEN_FIRST else _SCREEN_FIRST
    first = np.zeros(n_init, dtype=bool)
    first[np.linspace(0, n_init - 1, n_first).round().astype(np.int64)] = True
    slots = np.empty(n_init + k, dtype=np.int64)  # row of each center slot
    slots[:n_first], slots[n_first:n_init] = center_rows[first], center_rows[~first]
    mind, nearest = screened_nearest(x, x[slots[:n_first]])
    mind[center_rows] = -1.0
    upto = np.full(n, n_first, dtype=np.int64)  # slots already applied to each row
    n_slots = n_init

    thr = _prune_factor(dim)
    dcc = np.empty(slots.size)
    picks = np.empty(k, dtype=np.int64)
    radii = np.empty(k)
    size = max(_ACTIVE_MIN, _ACTIVE_PER_PICK * k, n // 64)
    t = 0
    while t < k:
        active, outside = _active_set(mind, size)
        _bring_up_to_date(x, active, slots, n_init, n_slots, mind, nearest, upto)
        add_center = _add_center_parallel if active.size * dim >= _PASS_PARALLEL_MIN else _add_center_serial
        while t < k:
            values = mind[active]
            best = int(np.argmax(values))  # active is sorted: ties go to the lowest row
            if not values[best] > outside:
                break  # a row outside might be as far: choose a larger active set
            j = int(active[best])
            picks[t], radii[t] = j, np.sqrt(max(values[best], 0.0))
            mind[j] = -1.0
            slots[n_slots] = j
            _pair_sq_dists(x, x[j : j + 1], slots[:n_slots], np.zeros(n_slots, dtype=np.int64), dcc[:n_slots])
            add_center(x, active, x[j], dcc, n_slots, mind, nearest, thr)
            n_slots += 1
            upto[active] = n_slots
            t += 1
        size *= 2
    return picks, radii


def _bring_up_to_date(
    x: np.ndarray, rows: np.ndarray, slots: np.ndarray, n_init: int, n_slots: int,
    mind: np.ndarray, nearest: np.ndarray, upto: np.ndarray,
) -> None:
    """Apply every center slot not yet applied to ``rows``: the rest of the initial centers by
    GEMM screen, then the picks one by one."""
    screened = rows[upto[rows] < n_init]
    if screened.size:
        start = int(upto[screened].min())  # all screened rows stopped at the same slot
        sub, arg = screened_nearest(x[screened], x[slots[start:n_init]])
        better = sub < mind[screened]
        mind[screened[better]] = sub[better]
        nearest[screened[better]] = arg[better] + start
        upto[screened] = n_init
    stale = rows[upto[rows] < n_slots]
    if stale.size:
        refresh = _refresh_parallel if stale.size * x.shape[1] >= _PARALLEL_MIN else _refresh_serial
        refresh(x, stale, slots, n_slots, mind, nearest, upto)


def _active_set(mind: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """The ``size`` candidate rows with the largest bounds (ascending rows) and the largest bound left out."""
    candidates = np.flatnonzero(mind >= 0.0)
    if candidates.size <= size:
        return candidates, -np.inf
    bounds = mind[candidates]
    order = np.argpartition(bounds, candidates.size - size - 1)
    outside = float(bounds[order[candidates.size - size - 1]])
    return np.sort(candidates[order[candidates.size - size :]]), outside


def screened_nearest(x: np.ndarray, cpts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact min squared distance of every row of ``x`` to the rows of ``cpts``, and an argmin.

    The float32 GEMM screen is off from the exact value by at most ``tol (|p|^2 + |c|^2)``
    (float32 rounding of the inputs and of a ``dim``-term dot product, with room to spare),
    so the centers whose screened value minus that bound does not exceed the smallest
    screened value plus it contain the exact nearest one; only those get the exact formula.
    """
    n, dim = x.shape
    cpts = np.ascontiguousarray(cpts, dtype=np.float64)
    c32 = cpts.astype(np.float32)
    sq = np.einsum("ij,ij->i", x, x)
    csq = np.einsum("ij,ij->i", cpts, cpts)
    tol = 2.0 * (dim + 8) * 2.0**-23
    mind = np.empty(n)
    nearest = np.empty(n, dtype=np.int64)
    step = max(1, _GEMM_BYTES // (4 * max(1, cpts.shape[0])))
    refine = _refine_parallel if cpts.shape[0] * dim >= _PARALLEL_MIN // 64 else _refine_serial
    for start in range(0, n, step):
        stop = min(n, start + step)
        dots = x[start:stop].astype(np.float32) @ c32.T
        refine(x, cpts, dots, sq, csq, tol, start, mind, nearest)
    return mind, nearest
