"""Exact greedy K-Center: public entry point and the Numba driver of the plain and pruned passes.

All methods run the same algorithm on the same distances (see :mod:`._rowdist`) and
return identical picks and radii:

* ``"plain"``: per new center, one pass updating every row's min distance.
* ``"pruned"``: identical rows are grouped first (:mod:`._dedupe`; one representative per
  group, the lowest index), initial centers are visited farthest-first, and each pass skips
  rows that the triangle inequality proves unaffected (:mod:`._kcenter_kernels`).
* ``"screened"`` (what ``"auto"`` runs with Numba): nearest initial centers by a BLAS
  screen, then picks over an active set of rows whose bounds can still win
  (:mod:`._kcenter_screened`). Fastest on every case we measured (``bench/kcenter_speed.py``).
* ``"numpy"``: pure NumPy plain passes (also what every method uses without Numba).

Extra memory is O(n) plus the center vectors in float64 ((|centers| + k) x D).
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ._dedupe import Groups, group_identical_rows
from ._kcenter_kernels import (
    BLOCK,
    center_sq_dists,
    prune_threshold,
    update_pass,
    update_pass_serial,
)
from ._kcenter_numpy import kcenter_numpy
from ._kcenter_screened import kcenter_screened
from ._numba_policy import NUMBA_ENABLED
from ._selection import fill_zero_distance, first_center_vector
from ._validate import as_centers_mask, as_points

__all__ = ["kcenter_greedy", "METHODS"]

METHODS = ("auto", "screened", "pruned", "plain", "numpy")

_SPREAD_MAX_CENTERS = 2048  # farthest-first ordering of initial centers is O(S^2 D)
_SERIAL_ELEMS = 1 << 20  # passes over fewer row elements than this run on one thread


class _State:
    """Per-representative-row state of one run (all O(n))."""

    def __init__(self, x: np.ndarray, groups: Groups, gcenter: np.ndarray, n_slots: int, method: str) -> None:
        m = groups.n_groups
        self.x, self.rows = x, groups.rows
        self.mind = np.full(m, np.inf)
        self.mind[gcenter] = -1.0
        self.nearest = np.full(m, -1, dtype=np.int32)
        nblk = (m + BLOCK - 1) // BLOCK
        self.blk_best = np.full(nblk, -1.0)
        self.blk_arg = np.full(nblk, -1, dtype=np.int64)
        self.centers = np.empty((n_slots, x.shape[1]), dtype=np.float64)
        self.dcc = np.empty(n_slots, dtype=np.float64)
        self.n_slots = 0
        self.thr = prune_threshold(x.shape[1])
        self.prune = method == "pruned"
        # Waking threads costs more than a small pass saves (much more on busy cores).
        self.update = update_pass_serial if m * x.shape[1] < _SERIAL_ELEMS else update_pass

    def add_center(self, vec: np.ndarray) -> None:
        """Make ``vec`` (float64) the next center and update every row against it."""
        s = self.n_slots
        self.centers[s] = vec
        prune = s > 0 and self.prune
        if prune:
            center_sq_dists(self.centers, s, self.centers[s], self.dcc)
        self.update(
            self.x, self.rows, self.centers[s], s, self.mind, self.nearest, self.dcc, prune, self.thr,
            self.blk_best, self.blk_arg,
        )
        self.n_slots = s + 1

    def distances_to(self, vec: np.ndarray) -> None:
        """Set every non-center row's min distance to its distance to ``vec`` (no center made)."""
        self.mind[self.mind >= 0.0] = np.inf
        self.update(self.x, self.rows, vec, -1, self.mind, self.nearest, self.dcc, False, self.thr,
                    self.blk_best, self.blk_arg)

    def argmax(self) -> tuple[int, float]:
        """Representative row with the largest min distance (lowest on ties) and that distance."""
        b = int(np.argmax(self.blk_best))
        return int(self.blk_arg[b]), float(self.blk_best[b])

    def mark(self, r: int) -> None:
        self.mind[r] = -1.0


def _spread_order(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Order center rows farthest-first so early centers cover the data (better pruning)."""
    s = rows.shape[0]
    if s <= 2 or s > _SPREAD_MAX_CENTERS or 32 * s > x.shape[0]:  # O(S^2 D), serial: keep it << S passes
        return rows
    vecs = np.ascontiguousarray(x[rows], dtype=np.float64)
    order = np.empty(s, dtype=np.int64)
    mind = np.full(s, np.inf)
    d = np.empty(s, dtype=np.float64)
    cur = 0
    for t in range(s):
        order[t] = cur
        mind[cur] = -1.0
        center_sq_dists(vecs, s, vecs[cur], d)
        np.minimum(mind, d, out=mind, where=mind >= 0.0)
        cur = int(np.argmax(mind))
    return rows[order]


def _kcenter_numba(x: np.ndarray, k: int, cmask: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    n = x.shape[0]
    if method == "pruned":
        groups = group_identical_rows(x)
    else:
        ident = np.arange(n, dtype=np.int64)
        groups = Groups(ident, ident)
    gcenter = np.zeros(groups.n_groups, dtype=bool)
    gcenter[groups.group_of[cmask]] = True
    center_rows = groups.rows[gcenter]
    if method != "plain":
        center_rows = _spread_order(x, center_rows)
    st = _State(x, groups, gcenter, center_rows.shape[0] + k, method)
    picks = np.empty(k, dtype=np.int64)
    radii = np.empty(k, dtype=np.float64)
    t = 0
    if center_rows.shape[0] == 0:
        st.distances_to(first_center_vector(x))
        r, best = st.argmax()
        picks[0], radii[0] = groups.rows[r], math.sqrt(best)
        st.mind[:] = np.inf
        st.mark(r)
        t = 1
        if k > 1:
            st.add_center(x[groups.rows[r]].astype(np.float64))
    else:
        for row in center_rows:
            st.add_center(x[row].astype(np.float64))
    while t < k:
        r, best = st.argmax()
        if best <= 0.0:  # nothing left but duplicates of centers
            fill_zero_distance(picks, radii, t, cmask)
            break
        picks[t], radii[t] = groups.rows[r], math.sqrt(best)
        st.mark(r)
        t += 1
        if t < k:
            st.add_center(x[groups.rows[r]].astype(np.float64))
    return picks, radii


def _check_k(k: object) -> int:
    if isinstance(k, bool):
        raise ValueError(f"k must be a non-negative integer, got {k!r}")
    try:
        kk = operator.index(k)
    except TypeError:
        raise ValueError(f"k must be a non-negative integer, got {k!r}") from None
    if kk < 0:
        raise ValueError(f"k must be a non-negative integer, got {kk}")
    return kk


def kcenter_greedy(
    points: object,
    k: int,
    centers: object = None,
    *,
    return_radii: bool = False,
    method: str = "auto",
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Greedy K-Center: pick ``k`` rows of ``points``, each the row farthest from its nearest center.

    ``centers`` (None, row indices or a boolean mask) are the rows already chosen (e.g. the
    labeled ones); they are never returned, nor is any row twice. Ties go to the lowest row
    index, independent of the thread count. Without centers the first pick is the row
    farthest from the column mean. When only rows at distance 0 from the centers remain
    (duplicates), the rest of the picks are the lowest available rows. Returns the int64
    picks in pick order and, with ``return_radii``, the float64 Euclidean distance of each
    pick to its nearest center when it was picked (first pick without centers: its distance
    to the mean). ``method`` is one of ``"auto"``, ``"screened"``, ``"pruned"``, ``"plain"``,
    ``"numpy"``; all return identical results.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    x = as_points(points)
    kk = _check_k(k)
    n = x.shape[0]
    cmask = as_centers_mask(centers, n)
    n_centers = int(cmask.sum())
    available = n - n_centers
    if kk > available:
        raise ValueError(
            f"k={kk} exceeds the rows available to pick: {n} rows - {n_centers} centers = {available}"
        )
    if kk == 0:
        picks, radii = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    elif method == "numpy" or not NUMBA_ENABLED:
        picks, radii = kcenter_numpy(x, kk, cmask)
    elif method in ("auto", "screened"):
        picks, radii = kcenter_screened(x, kk, cmask)
    else:
        picks, radii = _kcenter_numba(x, kk, cmask, method)
    return (picks, radii) if return_radii else picks
