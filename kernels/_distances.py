"""Squared Euclidean distances between row sets: full matrix, or nearest row only.

Both use the shared formula of :mod:`._rowdist` (differences, float64 lane accumulation),
not the ``|a|^2 + |b|^2 - 2ab`` expansion: results are never negative, exactly 0 for
identical rows, accurate for near-duplicates, and bit-identical to what K-Center uses.
Work is tiled (``_TILE_A`` rows of A against ``_TILE_B`` rows of B, which stay in cache)
and tiles of A run in parallel (``prange``). With many rows in ``others``,
:func:`nearest_sq_distances` first screens them with one BLAS product (:mod:`._screen`) and
computes the exact formula only for the candidates that can be nearest: same result.
"""

from __future__ import annotations

import numpy as np

from . import _numba_policy as _policy
from ._numba_policy import kernel, prange
from ._rowdist import LANES, sq_dist, sq_dists_numpy
from ._screen import SCREEN_MIN_CENTERS, screened_nearest
from ._validate import as_pair

__all__ = ["pairwise_sq_distances", "nearest_sq_distances"]

_TILE_A = 16
_TILE_B = 32


@kernel(parallel=True)
def _pairwise_numba(a, b64, out):  # pragma: no cover - compiled
    n = a.shape[0]
    m = b64.shape[0]
    nta = (n + _TILE_A - 1) // _TILE_A
    for ta in prange(nta):
        acc = np.empty(LANES)
        i1 = min(n, (ta + 1) * _TILE_A)
        for j0 in range(0, m, _TILE_B):
            j1 = min(m, j0 + _TILE_B)
            for i in range(ta * _TILE_A, i1):
                x = a[i]
                for j in range(j0, j1):
                    out[i, j] = sq_dist(x, b64[j], acc)


@kernel(parallel=True)
def _nearest_numba(a, b64, best_d, best_j):  # pragma: no cover - compiled
    n = a.shape[0]
    m = b64.shape[0]
    nta = (n + _TILE_A - 1) // _TILE_A
    for ta in prange(nta):
        acc = np.empty(LANES)
        i0 = ta * _TILE_A
        i1 = min(n, i0 + _TILE_A)
        for i in range(i0, i1):
            best_d[i] = np.inf
            best_j[i] = -1
        for j0 in range(0, m, _TILE_B):
            j1 = min(m, j0 + _TILE_B)
            for i in range(i0, i1):
                x = a[i]
                bd = best_d[i]
                bj = best_j[i]
                for j in range(j0, j1):
                    d = sq_dist(x, b64[j], acc)
                    if d < bd:  # strict: ties keep the lowest j
                        bd = d
                        bj = j
                best_d[i] = bd
                best_j[i] = bj


def pairwise_sq_distances(A: object, B: object) -> np.ndarray:
    """(n, m) squared Euclidean distances between rows of ``A`` (n, D) and ``B`` (m, D).

    The result has the input dtype (float32 or float64; mixed or integer inputs give
    float64), is computed in float64 from differences (see :mod:`._rowdist`) and then
    rounded once: never negative, exactly 0 for identical rows.
    """
    a, b = as_pair(A, B)
    out = np.empty((a.shape[0], b.shape[0]), dtype=a.dtype)
    if out.size == 0:
        return out
    b64 = np.ascontiguousarray(b, dtype=np.float64)
    if _policy.use_kernels(float(out.size) * max(a.shape[1], LANES)):
        _pairwise_numba(a, b64, out)
    else:
        for j in range(b.shape[0]):
            out[:, j] = sq_dists_numpy(a, b64[j])
    return out


def nearest_sq_distances(points: object, others: object) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``points``: squared distance to its nearest row of ``others`` and its index.

    Never builds the n x m matrix. Returns ``(min_sq_dist, argmin)``: ``min_sq_dist`` in the
    input dtype (as :func:`pairwise_sq_distances`, and equal to its row minimum), ``argmin``
    int64, chosen on the float64 values, ties to the lowest index of ``others``.
    """
    a, b = as_pair(points, others)
    n, m = a.shape[0], b.shape[0]
    if m == 0:
        raise ValueError("others must have at least one row")
    best_d = np.empty(n, dtype=np.float64)
    best_j = np.empty(n, dtype=np.int64)
    if n:
        b64 = np.ascontiguousarray(b, dtype=np.float64)
        use = _policy.use_kernels(float(n) * m * max(a.shape[1], LANES))
        if use and m >= SCREEN_MIN_CENTERS:  # same bits, BLAS-screened (see _screen)
            best_d, best_j = screened_nearest(a, b64)
        elif use:
            _nearest_numba(a, b64, best_d, best_j)
        else:
            best_d.fill(np.inf)
            best_j.fill(-1)
            for j in range(m):
                d = sq_dists_numpy(a, b64[j])
                better = d < best_d
                best_d[better] = d[better]
                best_j[better] = j
    return best_d.astype(a.dtype, copy=False), best_j
