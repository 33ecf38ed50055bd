"""Exact nearest-center distances for many centers at once: a BLAS screen, then the exact formula.

Why: finding each row's nearest of ``m`` centers with the exact formula costs ``m`` passes
over the rows; one float32 GEMM (``|p|^2 + |c|^2 - 2 p.c``) does the same work at BLAS speed
but rounds. Here the GEMM only *screens*: its error is bounded (below), so the centers whose
screened value could still be the smallest are known, and only those (almost always one per
row) get the shared exact formula of :mod:`._rowdist`. The result is therefore bit-identical
to a loop over all centers, ties included (lowest center index).

Error bound, in scaled units (rows multiplied by a power of two ``s`` so that no row norm
exceeds 2^30 or is needlessly tiny; exact in float64): the float32 rounding of the inputs and
of a ``D``-term dot product (any summation order, FMA or not) moves the screened value by at
most ``tol * (|p|^2 + |c|^2) + abs_tol`` with ``tol = 2 (D + 8) 2^-23`` (about 4x the
worst case) and ``abs_tol`` covering float32 underflow of tiny entries.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from threadpoolctl import ThreadpoolController

from ._numba_policy import inline, kernel, prange
from ._rowdist import LANES, sq_dist

__all__ = ["SCREEN_MIN_CENTERS", "screened_nearest", "row_sq_norms"]

SCREEN_MIN_CENTERS = 32  # below this many centers, plain exact passes are as fast
_GEMM_BYTES = 32 * 2**20  # float32 dot-product block kept in memory at a time
_PARALLEL_MIN = 1 << 14  # centers x D below which the refine runs on one thread
_PARALLEL_WORK_MIN = 1 << 27  # rows x centers x D below which too (a first run would compile more than it saves)
_ROWS_PER_TASK = 64
_NORM_MAX = 2.0**30
_SERIAL_ELEMS = 1 << 20  # smaller one-off loops run on one thread (no wake-ups)
_SERIAL_GEMM_MACS = 1 << 24  # smaller screens run BLAS on one thread


@inline
def _sq_norm(x, i):  # pragma: no cover - compiled
    s = 0.0
    for j in range(x.shape[1]):
        v = np.float64(x[i, j])
        s += v * v
    return s


@kernel(parallel=True)
def _sq_norms_parallel(x, out):  # pragma: no cover - compiled
    for i in prange(x.shape[0]):
        out[i] = _sq_norm(x, i)


@kernel()
def _sq_norms_serial(x, out):  # pragma: no cover - compiled
    for i in range(x.shape[0]):
        out[i] = _sq_norm(x, i)


def row_sq_norms(x: np.ndarray, out: np.ndarray) -> None:
    """``out[i] = sum_j x[i, j]^2`` in float64 (a screening input, not a distance)."""
    (_sq_norms_parallel if x.size >= _SERIAL_ELEMS else _sq_norms_serial)(x, out)


@inline
def _refine_row(x, cpts, dots, sq, csq, s2, tol, abs_tol, start, mind, nearest, i, acc):  # pragma: no cover
    """Exact nearest center of row ``start + i`` among those its screen cannot exclude."""
    r = start + i
    s_r = sq[r]
    upper = np.inf
    for j in range(cpts.shape[0]):
        both = (s_r + csq[j]) * s2
        hi = both - 2.0 * np.float64(dots[i, j]) + tol * both + abs_tol
        if hi < upper:
            upper = hi
    best = np.inf
    arg = -1
    for j in range(cpts.shape[0]):
        both = (s_r + csq[j]) * s2
        if both - 2.0 * np.float64(dots[i, j]) - tol * both - abs_tol <= upper:
            d = sq_dist(x[r], cpts[j], acc)
            if d < best:  # strict: ties keep the lowest center
                best = d
                arg = j
    mind[i] = best
    nearest[i] = arg


@kernel(parallel=True)
def _refine_parallel(x, cpts, dots, sq, csq, s2, tol, abs_tol, start, mind, nearest):  # pragma: no cover
    m = dots.shape[0]
    for q in prange((m + _ROWS_PER_TASK - 1) // _ROWS_PER_TASK):
        acc = np.empty(LANES)
        for i in range(q * _ROWS_PER_TASK, min(m, (q + 1) * _ROWS_PER_TASK)):
            _refine_row(x, cpts, dots, sq, csq, s2, tol, abs_tol, start, mind, nearest, i, acc)


@kernel()
def _refine_serial(x, cpts, dots, sq, csq, s2, tol, abs_tol, start, mind, nearest):  # pragma: no cover
    acc = np.empty(LANES)
    for i in range(dots.shape[0]):
        _refine_row(x, cpts, dots, sq, csq, s2, tol, abs_tol, start, mind, nearest, i, acc)


_controller: ThreadpoolController | None = None


def _one_blas_thread() -> contextlib.AbstractContextManager:
    """Cap BLAS at one thread (threadpoolctl; the controller is built once, at first use)."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


def _scale(max_sq_norm: float) -> float:
    """Power of two bringing the largest row norm near 1 (1.0 when it is already moderate)."""
    norm = math.sqrt(max_sq_norm)
    if norm == 0.0 or 2.0**-30 <= norm <= _NORM_MAX:
        return 1.0
    return 2.0 ** -round(math.log2(norm))


def screened_nearest(x: np.ndarray, cpts: np.ndarray, sq: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact min squared distance of every row of ``x`` to the rows of ``cpts``, and the lowest argmin.

    ``x`` (n, D) C-contiguous float32/float64, ``cpts`` (m >= 1, D) float64; ``sq`` optional
    precomputed :func:`row_sq_norms` of ``x``. Bit-identical to the exact formula over all
    centers. Extra memory: a float32 (rows, m) block of at most 32 MiB plus one row block.
    """
    n, dim = x.shape
    cpts = np.ascontiguousarray(cpts, dtype=np.float64)
    m = cpts.shape[0]
    if sq is None:
        sq = np.empty(n)
        row_sq_norms(x, sq)
    csq = np.empty(m)
    row_sq_norms(cpts, csq)
    top = max(float(sq.max()) if n else 0.0, float(csq.max()))
    s = _scale(top)
    s2 = s * s
    tol = 2.0 * (dim + 8) * 2.0**-23
    abs_tol = 2.0 * (dim + 8) * 2.0**-100
    c32 = (cpts * s).astype(np.float32)
    mind = np.empty(n)
    nearest = np.empty(n, dtype=np.int64)
    step = max(1, _GEMM_BYTES // (4 * m))
    big = m * dim >= _PARALLEL_MIN and n * m * dim >= _PARALLEL_WORK_MIN
    refine = _refine_parallel if big else _refine_serial
    small = n * m * dim < _SERIAL_GEMM_MACS  # BLAS thread hand-offs cost more than they save
    with _one_blas_thread() if small else contextlib.nullcontext():
        for start in range(0, n, step):
            stop = min(n, start + step)
            block = x[start:stop]
            b32 = np.asarray(block, dtype=np.float32) if s == 1.0 else (block * s).astype(np.float32)
            dots = b32 @ c32.T
            refine(x, cpts, dots, sq, csq, s2, tol, abs_tol, start, mind[start:stop], nearest[start:stop])
    return mind, nearest
