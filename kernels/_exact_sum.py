"""Exact, order-free sums of float64 values, and one-pass column scans for selecting a median.

Every finite float64 is ``m * 2**(e - 1075)`` with an integer ``|m| < 2**53`` and its biased
exponent field ``1 <= e <= 2046`` (``e = 1`` for subnormals and zeros): a whole number of
``2**-1074``. The kernels add the values' mantissas into two int64 bins per exponent (the high
bits and the low 26, so no bin can overflow before ``2**36`` values); the exact sum is then the
Python integer ``sum((hi[e] * 2**26 + lo[e]) * 2**(e - 1))`` units of ``2**-UNIT_EXPONENT``.
Integer additions do not depend on order: any order, split into pieces or thread count gives
the same total, and the totals of two pieces add up to the total of their union.

The value summed for ``x`` is ``fl(x / divisor)``, or with ``square`` ``fl(fl(. - center)**2)``
(the float64 operations NumPy does element-wise). NaN values are skipped (missing values);
a value to sum that is not finite (an overflow) is a ``ValueError``.

Keys (:func:`float_keys`): int64 keys in the order of the floats (``-0.0`` just below ``0.0``);
:func:`scan_column` counts the keys' top 16 bits, so a median is found by selection among
the values of one or two top buckets instead of sorting the column.

The Numba kernels and their NumPy twins give the same bins, counts and keys.
"""

from __future__ import annotations

import math

import numpy as np

from . import _numba_policy as _policy
from ._numba_policy import kernel

__all__ = ["UNIT_EXPONENT", "TOP_BUCKETS", "exact_sum_units", "exact_sum_and_keys", "scan_column",
           "float_keys", "keys_to_floats"]

UNIT_EXPONENT = 1074  # sums are whole numbers of 2**-1074, the smallest subnormal
TOP_BUCKETS = 1 << 16  # scan_column's histogram: key >> 48, shifted to 0 .. 65535
_N_BINS = 2047
_LOW_BITS = 26
_SIGN_FREE = 0x7FFFFFFFFFFFFFFF
_TWIN_BLOCK = 1 << 24  # values per bincount: 2**24 * 2**27 < 2**53, float64 sums stay exact
_KERNEL_MIN = 1 << 14  # below this many values the NumPy twin is as fast as a kernel call


@kernel()
def _sum_kernel(values, divisor, center, square, hi, lo, top_lo, top_hi, keys):  # pragma: no cover - compiled
    bits = values.view(np.int64)
    scratch = np.empty(1, np.float64)
    scratch_bits = scratch.view(np.int64)
    found = 0
    infinite = 0
    for i in range(values.shape[0]):
        x = values[i]
        if x != x:  # NaN: a missing value
            continue
        b = bits[i]
        key = b ^ ((b >> 63) & _SIGN_FREE)
        top = key >> 48
        if top_lo <= top and top <= top_hi:
            if found < keys.shape[0]:
                keys[found] = key
            found += 1
        y = x / divisor
        if square:
            y = y - center
            y = y * y
        scratch[0] = y
        b = scratch_bits[0]
        e = (b >> 52) & 0x7FF
        if e == 0x7FF:  # an infinite or NaN result: no exact sum
            infinite += 1
            continue
        m = b & 0xFFFFFFFFFFFFF
        if e:
            m |= 0x10000000000000
        else:
            e = 1
        if b < 0:
            m = -m
        hi[e] += m >> _LOW_BITS
        lo[e] += m & ((1 << _LOW_BITS) - 1)
    return found, infinite


@kernel()
def _scan_kernel(values, hist):  # pragma: no cover - compiled
    bits = values.view(np.int64)
    count = 0
    low = np.inf
    high = -np.inf
    for i in range(values.shape[0]):
        x = values[i]
        if x != x:
            continue
        count += 1
        if x < low:
            low = x
        if x > high:
            high = x
        b = bits[i]
        key = b ^ ((b >> 63) & _SIGN_FREE)
        hist[(key >> 48) + 32768] += 1
    return count, low, high


def float_keys(values: np.ndarray) -> np.ndarray:
    """int64 keys in the order of the floats (``-0.0`` just below ``0.0``); ``values`` must not hold NaN."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
    return bits ^ ((bits >> 63) & np.int64(_SIGN_FREE))


def keys_to_floats(keys: np.ndarray) -> np.ndarray:
    """The floats of :func:`float_keys` (the map is its own inverse)."""
    keys = np.asarray(keys, dtype=np.int64)
    return (keys ^ ((keys >> 63) & np.int64(_SIGN_FREE))).view(np.float64)


def scan_column(values: np.ndarray) -> tuple[int, float, float, np.ndarray]:
    """``(count, min, max, top)`` of the non-NaN values of a 1-D float64 array: ``top[t]`` counts
    the values whose key's top 16 bits are ``t - 32768`` (``(0, inf, -inf, zeros)`` if none)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    if _policy.NUMBA_ENABLED and values.shape[0] >= _KERNEL_MIN:
        hist = np.zeros(TOP_BUCKETS, dtype=np.int64)
        count, low, high = _scan_kernel(values, hist)
        return int(count), float(low), float(high), hist
    present = values[~np.isnan(values)]
    hist = np.bincount((float_keys(present) >> 48) + 32768, minlength=TOP_BUCKETS).astype(np.int64)
    if present.size == 0:
        return 0, math.inf, -math.inf, hist
    return int(present.size), float(present.min()), float(present.max()), hist


def exact_sum_and_keys(values: np.ndarray, divisor: float, top_lo: int, top_hi: int,
                       count: int) -> tuple[int, np.ndarray]:
    """The exact sum of ``fl(x / divisor)`` over the non-NaN ``x`` (see the module docstring), and
    the keys (in row order) of the ``count`` values whose top 16 key bits lie in ``[top_lo, top_hi]``
    (signed: ``t - 32768`` for :func:`scan_column`'s bucket ``t``)."""
    return _sum(values, divisor, 0.0, False, top_lo, top_hi, count)


def exact_sum_units(values: np.ndarray, divisor: float = 1.0, center: float = 0.0, square: bool = False) -> int:
    """The exact sum of ``fl(x / divisor)`` (with ``square``: of ``fl(fl(. - center) ** 2)``) over the
    non-NaN values of a 1-D float64 array, as a whole number of ``2**-UNIT_EXPONENT``."""
    return _sum(values, divisor, center, square, 1, 0, 0)[0]


def _sum(values: np.ndarray, divisor: float, center: float, square: bool, top_lo: int, top_hi: int,
         count: int) -> tuple[int, np.ndarray]:
    values = np.ascontiguousarray(values, dtype=np.float64)
    hi = np.zeros(_N_BINS, dtype=np.int64)
    lo = np.zeros(_N_BINS, dtype=np.int64)
    keys = np.empty(count, dtype=np.int64)
    if _policy.NUMBA_ENABLED and values.shape[0] >= _KERNEL_MIN:
        found, infinite = _sum_kernel(values, float(divisor), float(center), bool(square), hi, lo, int(top_lo),
                                      int(top_hi), keys)
    else:
        found = infinite = 0
        for start in range(0, values.shape[0], _TWIN_BLOCK):
            x = values[start : start + _TWIN_BLOCK]
            x = x[~np.isnan(x)]
            block_keys = float_keys(x)
            block_keys = block_keys[((block_keys >> 48) >= top_lo) & ((block_keys >> 48) <= top_hi)]
            take = block_keys[: max(0, count - found)]
            keys[found : found + take.size] = take
            found += block_keys.size
            infinite += _add_bins(x, divisor, center, square, hi, lo)
    if infinite:
        raise ValueError(f"exact_sum_units: {infinite} value(s) to sum are not finite (overflow?)")
    if found != count:
        raise ValueError(f"exact_sum_and_keys: expected {count} keys in the top range, found {found}")
    total = 0
    for e in np.flatnonzero(hi | lo).tolist():
        total += ((int(hi[e]) << _LOW_BITS) + int(lo[e])) << (e - 1)
    return total, keys


def _add_bins(x: np.ndarray, divisor: float, center: float, square: bool, hi: np.ndarray, lo: np.ndarray) -> int:
    """The NumPy twin of the kernel's bins (``x``: no NaN, at most ``_TWIN_BLOCK`` values); returns
    how many values to sum are not finite (left out)."""
    with np.errstate(over="ignore", invalid="ignore"):
        y = x / divisor
        if square:
            y -= center
            np.multiply(y, y, out=y)
    finite = np.isfinite(y)
    infinite = int(y.size - np.count_nonzero(finite))
    if infinite:
        y = y[finite]
    bits = y.view(np.int64)
    exponent = (bits >> 52) & 0x7FF
    mant = bits & 0xFFFFFFFFFFFFF
    mant = np.where(exponent > 0, mant | 0x10000000000000, mant)
    mant = np.where(bits < 0, -mant, mant)
    exponent = np.maximum(exponent, 1)
    high = mant >> _LOW_BITS
    hi += np.bincount(exponent, weights=high.astype(np.float64), minlength=_N_BINS).astype(np.int64)
    lo += np.bincount(exponent, weights=(mant & ((1 << _LOW_BITS) - 1)).astype(np.float64),
                      minlength=_N_BINS).astype(np.int64)
    return infinite
