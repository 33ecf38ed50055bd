"""Input checks and conversions shared by the public kernels.

Kernels see only C-contiguous float32/float64 2-D arrays: float32 and float64 are kept
(no copy when already C-contiguous, read-only is fine), other real floats become
float64 or float32 (float16), integers and booleans become float64; Fortran-ordered or
strided inputs get one C-contiguous copy (the kernels stream whole rows).
"""

from __future__ import annotations

import numpy as np

from . import _numba_policy as _policy
from ._numba_policy import kernel, prange

__all__ = ["as_points", "as_pair", "as_centers_mask"]

_FINITE_BLOCK = 256
_SCAN_WEIGHT = 4  # a scan element costs about what a distance term does (NumPy: isfinite, abs)


# Squared distances of rows whose entries exceed this could overflow float64.
MAX_ABS = 1e150


@kernel(parallel=True)
def _scan_numba(x):  # pragma: no cover - compiled
    n = x.shape[0]
    d = x.shape[1]
    nblk = (n + _FINITE_BLOCK - 1) // _FINITE_BLOCK
    n_bad = 0
    n_big = 0
    for b in prange(nblk):
        r1 = min(n, (b + 1) * _FINITE_BLOCK)
        bad = 0
        big = 0
        for i in range(b * _FINITE_BLOCK, r1):
            for j in range(d):
                v = x[i, j]
                t = v - v  # 0 for finite values, NaN for NaN/inf
                bad |= np.int64(t != t)
                big |= np.int64(abs(v) > MAX_ABS)
        n_bad += bad
        n_big += big
    return n_bad, n_big


def _scan(x: np.ndarray) -> tuple[bool, bool]:
    """(has NaN/inf, has |value| > MAX_ABS) without an n x D boolean temporary."""
    if _policy.use_kernels(x.size * _SCAN_WEIGHT):
        n_bad, n_big = _scan_numba(x)
        return n_bad > 0, n_big > 0
    step = max(1, (1 << 22) // max(1, x.shape[1]))
    bad = big = False
    for i in range(0, x.shape[0], step):
        block = x[i : i + step]
        bad = bad or not bool(np.isfinite(block).all())
        if not bad and x.dtype == np.float64:  # float32 cannot exceed MAX_ABS
            big = big or bool((np.abs(block) > MAX_ABS).any())
    return bad, big


def _float_dtype(a: np.ndarray, name: str) -> np.dtype:
    kind = a.dtype.kind
    if kind in "biu":
        return np.dtype(np.float64)
    if kind == "f":
        if a.dtype == np.float32 or a.dtype == np.float16:
            return np.dtype(np.float32)
        return np.dtype(np.float64)
    raise ValueError(f"{name} must hold real numbers (float or int), got dtype {a.dtype}")


def as_points(a: object, name: str = "points", dtype: np.dtype | None = None) -> np.ndarray:
    """Return ``a`` as a finite, C-contiguous float32/float64 2-D array (copy only if needed)."""
    arr = np.asarray(a)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows x features), got {arr.ndim}-D with shape {arr.shape}")
    target = _float_dtype(arr, name) if dtype is None else np.dtype(dtype)
    arr = np.ascontiguousarray(arr, dtype=target)
    if arr.size:
        bad, big = _scan(arr)
        if bad:
            raise ValueError(f"{name} contains NaN or infinite values")
        if big:
            raise ValueError(f"{name} contains values with magnitude above {MAX_ABS:g}; squared distances would overflow")
    return arr


def as_pair(a: object, b: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate two row sets for pairwise kernels; mixed or integer dtypes -> float64."""
    aa, bb = np.asarray(a), np.asarray(b)
    for arr, name in ((aa, "A"), (bb, "B")):
        if arr.ndim != 2:
            raise ValueError(f"{name} must be a 2-D array (rows x features), got {arr.ndim}-D with shape {arr.shape}")
    da, db = _float_dtype(aa, "A"), _float_dtype(bb, "B")
    common = da if (da == db and aa.dtype.kind == "f" and bb.dtype.kind == "f") else np.dtype(np.float64)
    if aa.shape[1] != bb.shape[1]:
        raise ValueError(f"A and B must have the same number of columns, got {aa.shape[1]} and {bb.shape[1]}")
    return as_points(aa, "A", common), as_points(bb, "B", common)


def as_centers_mask(centers: object, n: int) -> np.ndarray:
    """Boolean mask (n,) of rows that are already centers, from None, indices or a mask."""
    mask = np.zeros(n, dtype=bool)
    if centers is None:
        return mask
    c = np.asarray(centers)
    if c.size == 0:
        return mask
    if c.dtype == bool:
        if c.shape != (n,):
            raise ValueError(f"boolean centers mask must have shape ({n},), got {c.shape}")
        mask[:] = c
        return mask
    if c.ndim != 1:
        raise ValueError(f"centers must be a 1-D index array or boolean mask, got shape {c.shape}")
    if c.dtype.kind not in "iu":
        if c.dtype.kind == "f" and np.all(np.isfinite(c)) and np.all(c == np.round(c)):
            c = c.astype(np.int64)
        else:
            raise ValueError(f"centers must be integer row indices or a boolean mask, got dtype {c.dtype}")
    c = c.astype(np.int64, copy=False)
    if c.min() < 0 or c.max() >= n:
        raise ValueError(f"center indices must be in [0, {n}), got min {c.min()} and max {c.max()}")
    mask[c] = True
    return mask
