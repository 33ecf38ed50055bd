"""Greedy K-Center that touches only the rows that can matter (``method="auto"``).

A plain method pays one exact pass over all ``n`` rows per center: with 1,000 labeled rows
as initial centers that is 1,000 passes before the first pick. Here:

1. Initial centers: every row's nearest center comes from the GEMM screen of
   :mod:`._screen` (exact result, BLAS speed). With many centers, a strided subset of them
   (``_SCREEN_FIRST``) screens every row; the others are applied only to rows that become
   active (step 2), which is still exact because a row's value is only ever used as an
   upper bound until it is brought fully up to date.
2. Picks over an *active set*: min distances only decrease as centers are added, so a row's
   last computed value is an upper bound. The ``M`` rows with the largest bounds are kept
   exact (updated with every new center, pruned by the triangle inequality, below); while the best of them is strictly above every bound outside,
   it is the true farthest row (ties: ``active`` is sorted, so the lowest row wins). When it
   is not, the active set is chosen again, twice as large, and its stale rows are brought
   up to date. A pick costs O(M D) instead of O(n D); if the bounds never help, the active
   set grows to all rows and the work is about that of plain passes.

Pruning rule (exact): with ``a`` the row's nearest center, ``d(x, c) >= d(a, c) - d(x, a)``,
so ``d(a, c)^2 >= 4 d(x, a)^2`` means the new center ``c`` cannot be strictly closer. The
test is made on computed squared distances with ``thr`` slightly above 4 (covering the
float64 rounding of both values) plus a tiny absolute slack (subnormals), so a skip never
changes a result.

Every distance that decides anything is the shared formula of :mod:`._rowdist`, so picks
and radii are bit-identical to the other methods (the tests check it). Extra memory is O(n)
plus the float64 center vectors ((|centers| + k) x D) and the screen's blocks.
"""

from __future__ import annotations

import math

import numpy as np

from ._dedupe import group_identical_rows
from ._numba_policy import inline, kernel, prange
from ._rowdist import LANES, sq_dist
from ._screen import row_sq_norms, screened_nearest
from ._kcenter_rules import fill_zero_distance, first_center_vector

__all__ = ["kcenter_screened"]

_BLOCK = 512
_SLACK = 1e-290
_PARALLEL_MIN = 1 << 20  # row elements below which a one-off parallel region costs more than it saves
_PASS_PARALLEL_MIN = 1 << 21  # a pass repeats per pick: thread wake-ups must pay off
_ACTIVE_MIN = 4096  # rows kept exact between two choices of the active set (at least)
_ACTIVE_PER_PICK = 16
_SCREEN_FIRST = 256  # initial centers applied to every row; the rest only to active rows


def prune_threshold(d: int) -> float:
    """``thr`` of the pruning test: slightly above 4, covering the float64 rounding of both
    computed squared distances (see :func:`_update_block`)."""
    return 4.0 * (1.0 + 1e-8 + 16.0 * (d + LANES + 8) * 2.0**-53)


@kernel()
def center_sq_dists(centers, s, c, out):  # pragma: no cover - compiled
    """``out[i] = |centers[i] - c|^2`` for the first ``s`` center rows (float64); serial:
    s x D is tiny next to a pass over the rows."""
    acc = np.empty(LANES)
    for i in range(s):
        out[i] = sq_dist(centers[i], c, acc)


@inline
def _update_block(x, rows, c, dcc, slot, mind, nearest, thr, q):  # pragma: no cover - compiled
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


@inline
def _refresh_block(x, rows, cvec, n_slots, mind, nearest, upto, q):  # pragma: no cover - compiled
    acc = np.empty(LANES)
    for t in range(q * _BLOCK, min(rows.shape[0], (q + 1) * _BLOCK)):
        r = rows[t]
        md = mind[r]
        for s in range(upto[r], n_slots):
            d = sq_dist(x[r], cvec[s], acc)
            if d < md:
                md = d
                nearest[r] = s
        mind[r] = md
        upto[r] = n_slots


@kernel(parallel=True)
def _add_center_parallel(x, rows, c, dcc, slot, mind, nearest, thr):  # pragma: no cover - compiled
    """Lower ``mind`` of ``rows`` with center ``c`` (slot ``slot``); ``mind < 0`` marks centers."""
    computed = 0
    for q in prange((rows.shape[0] + _BLOCK - 1) // _BLOCK):
        computed += _update_block(x, rows, c, dcc, slot, mind, nearest, thr, q)
    return computed


@kernel()
def _add_center_serial(x, rows, c, dcc, slot, mind, nearest, thr):  # pragma: no cover - compiled
    computed = 0
    for q in range((rows.shape[0] + _BLOCK - 1) // _BLOCK):
        computed += _update_block(x, rows, c, dcc, slot, mind, nearest, thr, q)
    return computed


@kernel(parallel=True)
def _refresh_parallel(x, rows, cvec, n_slots, mind, nearest, upto):  # pragma: no cover - compiled
    """Bring ``rows`` up to date with center slots ``upto[r] .. n_slots - 1``."""
    for q in prange((rows.shape[0] + _BLOCK - 1) // _BLOCK):
        _refresh_block(x, rows, cvec, n_slots, mind, nearest, upto, q)


@kernel()
def _refresh_serial(x, rows, cvec, n_slots, mind, nearest, upto):  # pragma: no cover - compiled
    for q in range((rows.shape[0] + _BLOCK - 1) // _BLOCK):
        _refresh_block(x, rows, cvec, n_slots, mind, nearest, upto, q)


class _Run:
    """State of one run: per-row bounds (O(n)) and the center slots (float64 vectors)."""

    def __init__(self, x: np.ndarray, center_rows: np.ndarray, k: int) -> None:
        n, dim = x.shape
        self.x = x
        n_init = center_rows.size
        # A strided subset of the centers screens every row first; the rest are applied
        # only to rows that become active.
        n_first = n_init if n_init <= 2 * _SCREEN_FIRST else _SCREEN_FIRST
        first = np.zeros(n_init, dtype=bool)
        first[np.linspace(0, n_init - 1, n_first).round().astype(np.int64)] = True
        order = np.concatenate([center_rows[first], center_rows[~first]])
        self.cvec = np.empty((n_init + k, dim), dtype=np.float64)
        self.cvec[:n_init] = x[order]
        self.n_init = self.n_slots = n_init
        self.sq = np.empty(n)
        row_sq_norms(x, self.sq)
        self.mind, self.nearest = screened_nearest(x, self.cvec[:n_first], self.sq)
        self.mind[center_rows] = -1.0
        self.upto = np.full(n, n_first, dtype=np.int64)  # slots already applied to each row
        self.dcc = np.empty(n_init + k)
        self.thr = prune_threshold(dim)

    def bring_up_to_date(self, rows: np.ndarray) -> None:
        """Apply every slot not yet applied to ``rows``: the rest of the initial centers by
        screen, then the picks one by one."""
        x, upto = self.x, self.upto
        screened = rows[upto[rows] < self.n_init]
        if screened.size:
            start = int(upto[screened].min())  # all screened rows stopped at the same slot
            sub, arg = screened_nearest(x[screened], self.cvec[start : self.n_init], self.sq[screened])
            better = sub < self.mind[screened]
            self.mind[screened[better]] = sub[better]
            self.nearest[screened[better]] = arg[better] + start
            upto[screened] = self.n_init
        stale = rows[upto[rows] < self.n_slots]
        if stale.size:
            refresh = _refresh_parallel if stale.size * x.shape[1] >= _PARALLEL_MIN else _refresh_serial
            refresh(x, stale, self.cvec, self.n_slots, self.mind, self.nearest, upto)

    def add_center(self, j: int, active: np.ndarray) -> None:
        """Make row ``j`` the next center and update the (up-to-date) ``active`` rows."""
        s = self.n_slots
        self.cvec[s] = self.x[j]
        center_sq_dists(self.cvec, s, self.cvec[s], self.dcc)
        big = active.size * self.x.shape[1] >= _PASS_PARALLEL_MIN
        (_add_center_parallel if big else _add_center_serial)(
            self.x, active, self.cvec[s], self.dcc, s, self.mind, self.nearest, self.thr
        )
        self.n_slots = s + 1
        self.upto[active] = self.n_slots


def _active_set(mind: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """The ``size`` candidate rows with the largest bounds (ascending rows) and the largest bound left out."""
    candidates = np.flatnonzero(mind >= 0.0)
    if candidates.size <= size:
        return candidates, -np.inf
    bounds = mind[candidates]
    cut = candidates.size - size
    order = np.argpartition(bounds, cut - 1)
    outside = float(bounds[order[cut - 1]])
    return np.sort(candidates[order[cut:]]), outside


def _farthest_from(x: np.ndarray, mean: np.ndarray) -> tuple[int, float]:
    """First pick without centers (see :mod:`._kcenter_rules`): row and squared distance to the mean."""
    d, _ = screened_nearest(x, mean[None, :])
    r = int(np.argmax(d))
    return r, float(d[r])


def _greedy(x: np.ndarray, k: int, cmask: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``k`` picks over distinct rows ``x``, stopping early when only distance 0 is left."""
    n = x.shape[0]
    picks = np.empty(k, dtype=np.int64)
    radii = np.empty(k)
    t = 0
    center_rows = np.flatnonzero(cmask)
    if center_rows.size == 0:
        r, best = _farthest_from(x, mean)
        picks[0], radii[0] = r, math.sqrt(best)
        t = 1
        if k == 1:
            return picks, radii
        center_rows = np.array([r], dtype=np.int64)
    run = _Run(x, center_rows, k - t)
    size = max(_ACTIVE_MIN, _ACTIVE_PER_PICK * k, n // 64)
    while t < k:
        active, outside = _active_set(run.mind, size)
        run.bring_up_to_date(active)
        while t < k:
            values = run.mind[active]
            best = int(np.argmax(values)) if active.size else 0  # active is sorted: ties go to the lowest row
            top = float(values[best]) if active.size else 0.0
            if top <= 0.0 and outside <= 0.0:  # only duplicates of centers are left
                return picks[:t], radii[:t]
            if not top > outside:
                break  # a row outside might be as far: choose a larger active set
            j = int(active[best])
            picks[t], radii[t] = j, math.sqrt(top)
            run.mind[j] = -1.0
            t += 1
            if t < k:
                run.add_center(j, active)
        size *= 2
    return picks, radii


def kcenter_screened(x: np.ndarray, k: int, cmask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Picks and radii, identical to the other methods; ``x`` C-contiguous float32/float64, ``k >= 1``.

    Identical rows are grouped first (:mod:`._dedupe`, about one pass) and the run sees one
    row per group, the lowest, so ties still go to the lowest row.
    """
    mean = first_center_vector(x)
    groups = group_identical_rows(x)
    gmask = np.zeros(groups.n_groups, dtype=bool)
    gmask[groups.group_of[cmask]] = True
    xs = x if groups.n_groups == x.shape[0] else x[groups.rows]
    k_groups = min(k, groups.n_groups - int(gmask.sum()))
    picks = np.empty(k, dtype=np.int64)
    radii = np.empty(k)
    found, found_radii = _greedy(xs, k_groups, gmask, mean) if k_groups else (picks[:0], radii[:0])
    t = found.size
    picks[:t], radii[:t] = groups.rows[found], found_radii
    if t < k:
        fill_zero_distance(picks, radii, t, cmask)
    return picks, radii
