"""Exact, order-free, mergeable statistics of a float64 column (what standardizing needs).

A numeric column's fit (see ``_preprocess``) needs, over its ``n`` rows where the ``m``
missing ones are filled with the median:

* ``count`` (present values), ``min``, ``max`` and so the power-of-two ``shift`` at or below
  ``max |x|``;
* the median: the middle present value in the total order of floats (``-0.0 < 0.0``), or
  for an even count ``np.mean`` of the two middle values, each divided by ``shift``, times
  ``shift`` (as ``np.median`` of ``x / shift`` gives);
* ``mean = fl(fl(S) / n)`` where ``S`` is the exact (real-number) sum of the float64 values
  ``fl(x / shift)`` over the present ``x`` plus ``m`` times ``fill = fl(median / shift)``, and
  ``fl(S)`` is ``S`` rounded once (correctly rounded, ties to even): NumPy's ``sum / n`` with an
  exact sum in place of its pairwise one;
* ``var = fl(fl(Q) / n)``, ``Q`` the exact sum of the float64 squares ``fl(fl(fl(x / shift) -
  mean) ** 2)`` (and ``m`` times the fill's square); ``std = fl(sqrt(var))``.

Exact sums are held as Python integers in units of ``2**-1074`` (every float64 is a whole
number of them): they merge by ``+``, so no statistic depends on row order or on how rows are
split into pieces (Dask partitions). The median is found by selection on an order-preserving
integer key of the float bits, never by sorting the column: count the keys per bucket of a
key range (first the keys' top 16 bits, in the same pass as count/min/max), keep the bucket(s)
holding the middle rank(s), and partition only the keys left (:class:`KeyRange`). A whole
column does it in two passes; Dask pieces send their bucket counts, then the few keys left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .kernels import (
    UNIT_EXPONENT,
    exact_square_sums,
    exact_sums_and_keys,
    float_keys,
    keys_to_floats,
    scan_column,
    scan_columns,
)

__all__ = [
    "Extremes", "KeyRange", "NumericStats", "numeric_stats", "numeric_stats_many", "column_mean", "column_stats", "constant_stats",
    "power_of_two_shift", "middle_ranks", "scan",
    "median_of_middles", "select_middles", "units_of", "round_ratio", "key_histogram", "merged_histogram",
    "keys_between", "GATHER_KEYS",
]

GATHER_KEYS = 1 << 14  # Dask: the pieces send their keys once at most this many are left in the range
_KEY_MIN, _KEY_MAX = -(1 << 63), (1 << 63) - 1
_TOP_BITS = 48  # scan_column counts keys by their top 16 bits: buckets of 2**48 keys from _KEY_MIN
_REFINE_BUCKETS = 12  # later rounds split the range left into at most 2**12 buckets


@dataclass(frozen=True)
class Extremes:
    """Present count, min and max of a column or of a piece of it; ``merge`` joins two pieces."""

    count: int
    minimum: float
    maximum: float

    def merge(self, other: Extremes) -> Extremes:
        return Extremes(self.count + other.count, min(self.minimum, other.minimum), max(self.maximum, other.maximum))


@dataclass(frozen=True)
class NumericStats:
    """A numeric column's fitted numbers (see the module docstring; a constant column has
    ``shift = 1``, ``mean = median`` and ``scale = 1``: it is only centered)."""

    median: float
    shift: float
    mean: float
    scale: float


@dataclass(frozen=True)
class KeyRange:
    """The keys ``lo .. hi`` (inclusive) hold the middle rank(s); ``below`` keys are smaller,
    ``inside`` keys lie in the range."""

    lo: int
    hi: int
    below: int
    inside: int

    @classmethod
    def of_top(cls, top: np.ndarray, ranks: tuple[int, ...]) -> KeyRange:
        """The range of the top-16-bit bucket(s) holding ``ranks`` (``top``: :func:`scan`'s counts)."""
        return cls(_KEY_MIN, _KEY_MAX, 0, -1)._narrow(top, ranks, _TOP_BITS)

    @property
    def bucket_bits(self) -> int:
        """Bucket width (a power of two) that splits the range into at most ``2**12`` buckets."""
        return max(0, (self.hi - self.lo).bit_length() - _REFINE_BUCKETS)

    @property
    def top_range(self) -> tuple[int, int]:
        """The range in top-16-bit buckets (signed, as :func:`exact_sum_and_keys` takes them)."""
        return self.lo >> _TOP_BITS, self.hi >> _TOP_BITS

    def narrow(self, counts: np.ndarray, ranks: tuple[int, ...]) -> KeyRange:
        """The sub-range of the bucket(s) holding ``ranks``, from the keys' counts per bucket
        of :attr:`bucket_bits` (``counts[b]``: keys in ``lo + b * 2**bits ..``; :func:`key_histogram`)."""
        return self._narrow(counts, ranks, self.bucket_bits)

    def _narrow(self, counts: np.ndarray, ranks: tuple[int, ...], bits: int) -> KeyRange:
        ends = self.below + np.cumsum(counts)
        first, last = (int(np.searchsorted(ends, rank, side="right")) for rank in (ranks[0], ranks[-1]))
        below = self.below + int(counts[:first].sum())
        inside = int(counts[first : last + 1].sum())
        return KeyRange(self.lo + (first << bits), min(self.hi, self.lo + ((last + 1) << bits) - 1), below, inside)

    @property
    def settled(self) -> bool:
        """Few enough keys left to gather (or all the same key)."""
        return 0 <= self.inside <= GATHER_KEYS or self.lo == self.hi


def power_of_two_shift(extremes: Extremes) -> float:
    """The power of two at or below ``max |x|``; 1 when that is 0 (or there are no values)."""
    largest = max(abs(extremes.minimum), abs(extremes.maximum)) if extremes.count else 0.0
    if not math.isfinite(largest) or largest == 0.0:
        return 1.0
    _, exponent = math.frexp(largest)
    return math.ldexp(1.0, exponent - 1)


def middle_ranks(count: int) -> tuple[int, ...]:
    """0-based ranks of the middle present value(s): one for an odd count, two for an even one."""
    middle = count // 2
    return (middle,) if count % 2 else (middle - 1, middle)


def select_middles(keys: np.ndarray, key_range: KeyRange, ranks: tuple[int, ...]) -> np.ndarray:
    """The values of ``ranks`` among all keys, from the keys inside ``key_range`` (any order)."""
    if key_range.lo == key_range.hi:
        return keys_to_floats(np.full(len(ranks), key_range.lo, dtype=np.int64))
    if keys.size != key_range.inside:
        raise ValueError(f"select_middles: got {keys.size} keys, the range holds {key_range.inside}")
    at = [rank - key_range.below for rank in ranks]
    keys = np.partition(keys, at)
    return keys_to_floats(keys[at])


def median_of_middles(middles: np.ndarray, shift: float) -> float:
    """The median from the middle value(s) (raw ``x``, in rank order): ``np.median`` of ``x / shift``,
    times ``shift``."""
    scaled = np.asarray(middles, dtype=np.float64) / shift
    return float(scaled[0] if scaled.size == 1 else np.mean(scaled)) * shift


def units_of(x: float) -> int:
    """One finite float64 as a whole number of ``2**-UNIT_EXPONENT``."""
    numerator, denominator = float(x).as_integer_ratio()  # denominator: a power of two
    return numerator * ((1 << UNIT_EXPONENT) // denominator)


def round_ratio(units: int, n: int) -> float:
    """``fl(fl(units * 2**-UNIT_EXPONENT) / n)``: the exact sum rounded once to float64 (Python's
    integer division is correctly rounded), then divided by the count as NumPy's mean does."""
    return units / (1 << UNIT_EXPONENT) / n


def key_histogram(values: np.ndarray, key_range: KeyRange) -> tuple[np.ndarray, np.ndarray]:
    """Counts of the non-NaN values' keys per bucket of ``key_range``, sparse: ``(buckets, counts)``."""
    keys = keys_between(values, key_range)
    offset = (keys.view(np.uint64) - np.uint64(key_range.lo % (1 << 64))) >> np.uint64(key_range.bucket_bits)
    counts = np.bincount(offset.astype(np.intp))
    buckets = np.flatnonzero(counts)
    return buckets, counts[buckets]


def merged_histogram(pieces: list[tuple[np.ndarray, np.ndarray]], key_range: KeyRange) -> np.ndarray:
    """The dense counts per bucket of ``key_range`` from the pieces' sparse ones."""
    counts = np.zeros(((key_range.hi - key_range.lo) >> key_range.bucket_bits) + 1, dtype=np.int64)
    for buckets, piece in pieces:
        counts[buckets] += piece
    return counts


def keys_between(values: np.ndarray, key_range: KeyRange) -> np.ndarray:
    """The keys of the non-NaN values inside ``key_range``."""
    keys = float_keys(values[~np.isnan(values)])
    return keys[(keys >= key_range.lo) & (keys <= key_range.hi)]


def scan(values: np.ndarray) -> tuple[Extremes, np.ndarray]:
    """Count/min/max of the non-NaN values and their keys' counts per top-16-bit bucket
    (:meth:`KeyRange.of_top` takes them)."""
    count, low, high, top = scan_column(values)
    return Extremes(count, low, high), top


def numeric_stats(values: np.ndarray) -> NumericStats:
    """The fitted numbers of one whole column (NaN = missing; at least one present value)."""
    return numeric_stats_many([values])[0]


def numeric_stats_many(columns: list[np.ndarray]) -> list[NumericStats]:
    """:func:`numeric_stats` of each column (the same numbers), a table's columns in three passes over
    groups of columns (``kernels.scan_columns``: a whole column per thread)."""
    scans = scan_columns(columns)
    extremes = [Extremes(count, low, high) for count, low, high, _ in scans]
    shifts = [power_of_two_shift(column) for column in extremes]
    ranks = [middle_ranks(column.count) for column in extremes]
    key_ranges = [KeyRange.of_top(top, rank) for (_, _, _, top), rank in zip(scans, ranks)]
    del scans
    sums = exact_sums_and_keys(columns, shifts, [key_range.top_range for key_range in key_ranges],
                               [key_range.inside for key_range in key_ranges])
    medians = [median_of_middles(select_middles(keys, key_range, rank), shift)
               for (_, keys), key_range, rank, shift in zip(sums, key_ranges, ranks, shifts)]
    means = [column_mean(values.size, column, shift, median, total)
             for values, column, shift, median, (total, _) in zip(columns, extremes, shifts, medians, sums)]
    del sums
    varying = [c for c, mean in enumerate(means) if mean is not None]
    squares = dict(zip(varying, exact_square_sums([columns[c] for c in varying], [shifts[c] for c in varying],
                                                  [means[c] for c in varying])))
    return [constant_stats(medians[c]) if means[c] is None else
            column_stats(columns[c].size, extremes[c], shifts[c], medians[c], means[c], squares[c])  # type: ignore[arg-type]
            for c in range(len(columns))]


def _fill(shift: float, median: float) -> float:
    return median / shift


def column_mean(n: int, extremes: Extremes, shift: float, median: float, present_units: int) -> float | None:
    """The mean of the ``n`` values divided by ``shift`` (``present_units``: the exact sum of
    ``fl(x / shift)`` over the present ones; the ``n - count`` missing ones are ``fl(median / shift)``),
    or None for a constant column."""
    missing = n - extremes.count
    fill = _fill(shift, median)
    low, high = extremes.minimum / shift, extremes.maximum / shift
    if missing:
        low, high = min(low, fill), max(high, fill)
    if not high - low > 0:
        return None
    return round_ratio(present_units + missing * units_of(fill), n)


def constant_stats(median: float) -> NumericStats:
    """A constant column is only centered, in its own units."""
    return NumericStats(median, 1.0, median, 1.0)


def column_stats(n: int, extremes: Extremes, shift: float, median: float, mean: float,
                 present_square_units: int) -> NumericStats:
    """The fitted numbers, from the exact sum of the present values' squares about ``mean``
    (``exact_sum_units(values, shift, mean, square=True)``) and the missing ones' fill."""
    gap = _fill(shift, median) - mean
    squares = present_square_units + (n - extremes.count) * units_of(gap * gap)
    scale = math.sqrt(round_ratio(squares, n))
    if not (math.isfinite(scale) and scale > 0):
        scale = 1.0
    return NumericStats(median, shift, mean, scale)
