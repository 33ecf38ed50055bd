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

One column is scanned or summed by a serial kernel; :func:`scan_columns`, :func:`exact_sums_and_keys`
and :func:`exact_square_sums` take a table's columns :data:`GROUP` at a time through one parallel
kernel call, a whole column per thread (one short parallel region per column made a fit slower on
a busy machine than one thread). Integers add in any order, so neither grouping nor threads change
a result. Inputs reach the kernels as read-only contiguous float64 views (:func:`kernel_input`):
one compiled signature per kernel to load from the cache, whatever array the caller has.

The Numba kernels and their NumPy twins give the same bins, counts and keys.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from . import _numba_policy as _policy
from ._numba_policy import inline, kernel, prange

__all__ = ["UNIT_EXPONENT", "TOP_BUCKETS", "GROUP", "exact_sum_units", "exact_sum_and_keys", "scan_column",
           "scan_columns", "exact_sums_and_keys", "exact_square_sums", "float_keys", "keys_to_floats"]

UNIT_EXPONENT = 1074  # sums are whole numbers of 2**-1074, the smallest subnormal
TOP_BUCKETS = 1 << 16  # scan_column's histogram: key >> 48, shifted to 0 .. 65535
_N_BINS = 2047
_LOW_BITS = 26
_SIGN_FREE = 0x7FFFFFFFFFFFFFFF
_TWIN_BLOCK = 1 << 24  # values per bincount: 2**24 * 2**27 < 2**53, float64 sums stay exact
_KERNEL_MIN = 1 << 14  # below this many values the NumPy twin is as fast as a kernel call
_BLOCK = 1 << 12  # values per block of the sum kernel (its keys' loop, then its sums' loop)
GROUP = 8  # columns per parallel kernel call (a tuple of this many arrays: one compiled signature)


@inline
def _piece(p, pieces, n):  # pragma: no cover - compiled
    return p * n // pieces, (p + 1) * n // pieces


@kernel()  # called by the kernels below (inlined into a parallel loop, its loops ran 2x slower)
def _sum_range(values, start, stop, divisor, reciprocal, center, square, top_lo, top_hi, bins, keys):  # pragma: no cover
    """Add ``values[start:stop]``'s summands into ``bins`` (_N_BINS x 2), write the keys in the top range
    into ``keys`` (as many as fit); returns (keys found, summands not finite)."""
    capacity = keys.shape[0]
    got = 0
    bad = 0
    for block in range(start, stop, _BLOCK):
        end = min(stop, block + _BLOCK)
        if top_lo <= top_hi:  # the keys first, in a loop of their own (the sums' loop runs faster alone)
            for i in range(block, end):
                x = values[i]
                if x != x:  # NaN: a missing value
                    continue
                b = np.float64(x).view(np.int64)
                key = b ^ ((b >> 63) & _SIGN_FREE)
                top = key >> 48
                if top_lo <= top and top <= top_hi:
                    if got < capacity:
                        keys[got] = key
                    got += 1
        for i in range(block, end):
            x = values[i]
            if x != x:
                continue
            y = x * reciprocal if reciprocal != 0.0 else x / divisor  # the same bits (exact_reciprocal)
            if square:
                y = y - center
                y = y * y
            b = np.float64(y).view(np.int64)
            e = (b >> 52) & 0x7FF
            if e == 0x7FF:  # an infinite or NaN result: no exact sum
                bad += 1
                continue
            m = b & 0xFFFFFFFFFFFFF
            if e:
                m |= 0x10000000000000
            else:
                e = 1
            if b < 0:
                m = -m
            bins[e, 0] += m >> _LOW_BITS
            bins[e, 1] += m & ((1 << _LOW_BITS) - 1)
    return got, bad


@kernel()
def _scan_range(values, start, stop, hist):  # pragma: no cover - compiled
    """Count ``values[start:stop]``'s keys per top-16-bit bucket into ``hist``; returns (count, min, max)."""
    count = 0
    low = np.inf
    high = -np.inf
    for i in range(start, stop):
        x = values[i]
        if x != x:
            continue
        count += 1
        if x < low:
            low = x
        if x > high:
            high = x
        b = np.float64(x).view(np.int64)
        key = b ^ ((b >> 63) & _SIGN_FREE)
        hist[(key >> 48) + 32768] += 1
    return count, low, high


@kernel()
def _sum_kernel(values, divisor, reciprocal, center, square, top_lo, top_hi, bins, found, infinite, keys):  # pragma: no cover
    pieces = bins.shape[0]
    for p in range(pieces):
        start, stop = _piece(p, pieces, values.shape[0])
        found[p], infinite[p] = _sum_range(values, start, stop, divisor, reciprocal, center, square, top_lo, top_hi,
                                           bins[p], keys[p])


@kernel()
def _scan_kernel(values, hist, counts, lows, highs):  # pragma: no cover - compiled
    pieces = hist.shape[0]
    for p in range(pieces):
        start, stop = _piece(p, pieces, values.shape[0])
        counts[p], lows[p], highs[p] = _scan_range(values, start, stop, hist[p])


@kernel(parallel=True)
def _sum_columns(columns, count, numbers, square, tops, bins, found, infinite, keys):  # pragma: no cover
    for c in prange(count):  # a whole column per iteration: one parallel region for the group
        values = columns[c]
        found[c], infinite[c] = _sum_range(values, 0, values.shape[0], numbers[c, 0], numbers[c, 1], numbers[c, 2],
                                           square, tops[c, 0], tops[c, 1], bins[c], keys[c])


@kernel(parallel=True)
def _scan_columns(columns, count, hist, counts, lows, highs):  # pragma: no cover - compiled
    for c in prange(count):
        values = columns[c]
        counts[c], lows[c], highs[c] = _scan_range(values, 0, values.shape[0], hist[c])


def kernel_input(values: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """``values`` as a read-only C-contiguous view of ``dtype`` (a copy only if strided or of another
    dtype): every caller's array then has the one type a kernel is compiled (and cached) for."""
    values = np.ascontiguousarray(values, dtype=dtype)
    if values.flags.writeable:
        values = values.view()
        values.flags.writeable = False
    return values


def exact_reciprocal(divisor: float) -> float:
    """``1 / divisor`` when ``x * (1 / divisor)`` is ``x / divisor`` for every ``x`` (a power of two
    with an exact reciprocal: both are the exact ``x * 2**-j`` rounded once), else 0.0 (divide)."""
    divisor = float(divisor)
    reciprocal = 1.0 / divisor if divisor else 0.0
    return reciprocal if math.frexp(divisor)[0] == 0.5 and reciprocal * divisor == 1.0 else 0.0


def _pieces(n: int) -> int:
    """How many row ranges a kernel call splits ``n`` values into: one (the kernels are serial: a short
    parallel region per column costs more than it saves on a busy machine); the results are integers
    added in any order, so they never depend on it (tests split columns into several)."""
    return 1


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
        pieces = _pieces(values.shape[0])
        hist = np.zeros((pieces, TOP_BUCKETS), dtype=np.int64)
        counts = np.zeros(pieces, dtype=np.int64)
        lows, highs = np.empty(pieces), np.empty(pieces)
        _scan_kernel(kernel_input(values), hist, counts, lows, highs)
        low, high = lows[0], highs[0]
        for p in range(1, pieces):  # the first of equal extremes, as one pass in row order keeps (-0.0, 0.0)
            low = lows[p] if lows[p] < low else low
            high = highs[p] if highs[p] > high else high
        return int(counts.sum()), float(low), float(high), hist[0] if pieces == 1 else hist.sum(axis=0)
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
    if _policy.NUMBA_ENABLED and values.shape[0] >= _KERNEL_MIN:
        hi, lo, found, infinite, keys = _sum_pieces(values, divisor, center, square, top_lo, top_hi, count)
    else:
        hi = np.zeros(_N_BINS, dtype=np.int64)
        lo = np.zeros(_N_BINS, dtype=np.int64)
        keys = np.empty(count, dtype=np.int64)
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
    return _total(hi, lo, found, infinite, count), keys


def _total(hi: np.ndarray, lo: np.ndarray, found: int, infinite: int, count: int) -> int:
    """The exact sum from the bins (after the checks every sum passes)."""
    if infinite:
        raise ValueError(f"exact_sum_units: {infinite} value(s) to sum are not finite (overflow?)")
    if found != count:
        raise ValueError(f"exact_sum_and_keys: expected {count} keys in the top range, found {found}")
    total = 0
    for e in np.flatnonzero(hi | lo).tolist():
        total += ((int(hi[e]) << _LOW_BITS) + int(lo[e])) << (e - 1)
    return total


def _sum_pieces(values: np.ndarray, divisor: float, center: float, square: bool, top_lo: int, top_hi: int,
                count: int) -> tuple[np.ndarray, np.ndarray, int, int, np.ndarray]:
    """The kernel's bins summed over pieces ``(hi, lo)``, the keys found, the values not
    finite, and the first ``count`` keys in row order (each piece fills its own row of the buffer)."""
    pieces = _pieces(values.shape[0])
    bins = np.zeros((pieces, _N_BINS, 2), dtype=np.int64)
    found = np.zeros(pieces, dtype=np.int64)
    infinite = np.zeros(pieces, dtype=np.int64)
    buffer = np.empty((pieces, count), dtype=np.int64)  # untouched pages cost nothing
    _sum_kernel(kernel_input(values), float(divisor), exact_reciprocal(divisor), float(center), bool(square),
                int(top_lo), int(top_hi),
                bins, found, infinite, buffer)
    summed = bins.sum(axis=0)
    keys = buffer[0] if pieces == 1 else np.concatenate([buffer[p, : found[p]] for p in range(pieces)])[:count]
    return summed[:, 0], summed[:, 1], int(found.sum()), int(infinite.sum()), keys


def scan_columns(columns: Sequence[np.ndarray]) -> list[tuple[int, float, float, np.ndarray]]:
    """:func:`scan_column` of each column; several long columns go :data:`GROUP` at a time through one
    parallel kernel call (a whole column per thread: the same integers, one parallel region per group)."""
    if not _in_groups(columns):
        return [scan_column(values) for values in columns]
    results = []
    for first in range(0, len(columns), GROUP):
        group = [kernel_input(values) for values in columns[first : first + GROUP]]
        k = len(group)
        hist = np.zeros((k, TOP_BUCKETS), dtype=np.int64)
        counts = np.zeros(k, dtype=np.int64)
        lows, highs = np.empty(k), np.empty(k)
        _scan_columns(padded(group, group[0]), k, hist, counts, lows, highs)
        results += [(int(counts[c]), float(lows[c]), float(highs[c]), hist[c]) for c in range(k)]
    return results


def exact_sums_and_keys(columns: Sequence[np.ndarray], divisors: Sequence[float], top_ranges: Sequence[tuple[int, int]],
                        counts: Sequence[int]) -> list[tuple[int, np.ndarray]]:
    """:func:`exact_sum_and_keys` of each column (``divisors[c]``, ``top_ranges[c]``, ``counts[c]``), in groups
    as :func:`scan_columns`."""
    return _sums_of_columns(columns, divisors, [0.0] * len(columns), False, top_ranges, counts)


def exact_square_sums(columns: Sequence[np.ndarray], divisors: Sequence[float], centers: Sequence[float]) -> list[int]:
    """``exact_sum_units(columns[c], divisors[c], centers[c], square=True)`` of each column, in groups."""
    sums = _sums_of_columns(columns, divisors, centers, True, [(1, 0)] * len(columns), [0] * len(columns))
    return [total for total, _ in sums]


def padded(arrays: list[np.ndarray], filler: np.ndarray) -> tuple[np.ndarray, ...]:
    """``arrays`` as a tuple of :data:`GROUP` (``filler`` after them): one kernel signature for any group."""
    return tuple(arrays + [filler] * (GROUP - len(arrays)))


def _in_groups(columns: Sequence[np.ndarray]) -> bool:
    return _policy.NUMBA_ENABLED and len(columns) > 1 and min(len(values) for values in columns) >= _KERNEL_MIN


def _sums_of_columns(columns: Sequence[np.ndarray], divisors: Sequence[float], centers: Sequence[float], square: bool,
                     top_ranges: Sequence[tuple[int, int]], counts: Sequence[int]) -> list[tuple[int, np.ndarray]]:
    if not _in_groups(columns):
        return [_sum(values, divisor, center, square, top_lo, top_hi, count) for values, divisor, center,
                (top_lo, top_hi), count in zip(columns, divisors, centers, top_ranges, counts)]
    results = []
    for first in range(0, len(columns), GROUP):
        group = [kernel_input(values) for values in columns[first : first + GROUP]]
        k = len(group)
        part = slice(first, first + k)
        numbers = np.array([[float(divisor), exact_reciprocal(divisor), float(center)]
                            for divisor, center in zip(divisors[part], centers[part])], dtype=np.float64)
        bins = np.zeros((k, _N_BINS, 2), dtype=np.int64)
        found = np.zeros(k, dtype=np.int64)
        infinite = np.zeros(k, dtype=np.int64)
        keys = np.empty((k, max(counts[part])), dtype=np.int64)  # a row per column; untouched pages cost nothing
        _sum_columns(padded(group, group[0]), k, numbers, bool(square),
                     np.array(top_ranges[part], dtype=np.int64).reshape(k, 2), bins, found, infinite, keys)
        for c in range(k):
            count = int(counts[first + c])
            total = _total(bins[c, :, 0], bins[c, :, 1], int(found[c]), int(infinite[c]), count)
            results.append((total, keys[c, :count]))
    return results


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
