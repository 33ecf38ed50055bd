"""Exact greedy K-Center: the public entry point.

Two methods, same algorithm on the same distances (see :mod:`._rowdist`), identical picks
and radii, bit for bit:

* ``"auto"``: with Numba, nearest initial centers by a BLAS screen, then picks over an
  active set of rows whose bounds can still win (:mod:`._kcenter_screened`); for
  ``D <= 8``, k-d tree cells whose exact box bounds skip the rows a new center cannot
  reach (:mod:`._kcenter_cells`). Small problems (less work than a kernel's first call)
  and runs without Numba use the NumPy passes. ``"screened"`` is another name for it.
* ``"numpy"``: pure NumPy, one pass over the rows per center (:mod:`._kcenter_numpy`).

Extra memory is O(n) plus the center vectors in float64 ((|centers| + k) x D).
"""

from __future__ import annotations

import operator

import numpy as np

from . import _numba_policy as _policy
from ._kcenter_cells import MAX_DIM, kcenter_cells
from ._kcenter_numpy import kcenter_numpy
from ._kcenter_screened import kcenter_screened
from ._rowdist import LANES
from ._validate import as_centers_mask, as_points

__all__ = ["kcenter_greedy", "METHODS"]

METHODS = ("auto", "numpy")
_ALIASES = {"screened": "auto"}
_CELLS_MAX_DIM = MAX_DIM  # "auto" uses the k-d tree cells up to this D (they are exact up to 32)


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
    to the mean). ``method`` is ``"auto"`` (``"screened"`` is the same) or ``"numpy"``;
    both return identical results.
    """
    if not isinstance(method, str) or _ALIASES.get(method, method) not in METHODS:
        raise ValueError(f"method must be one of {METHODS} ('screened' = 'auto'), got {method!r}")
    method = _ALIASES.get(method, method)
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
    work = float(n_centers + kk) * n * max(x.shape[1], LANES)
    if kk == 0:
        picks, radii = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    elif method == "numpy" or not _policy.use_kernels(work):
        picks, radii = kcenter_numpy(x, kk, cmask)
    elif x.shape[1] <= min(_CELLS_MAX_DIM, LANES):
        picks, radii = kcenter_cells(x, kk, cmask)
    else:
        picks, radii = kcenter_screened(x, kk, cmask)
    return (picks, radii) if return_radii else picks
