"""Exact, order-free column statistics (``dami_np._column_stats``, kernels ``_exact_sum``): checked
against ``fractions.Fraction`` and ``np.median``; any order or split of the pieces gives the same bits;
the Numba kernels, their NumPy twins and ``NUMBA_DISABLE_JIT=1`` agree; the preprocessor uses them."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from dami_np import _column_stats as cs
from dami_np._preprocess import TabularPreprocessor
from dami_np.kernels import UNIT_EXPONENT, exact_sum_and_keys, exact_sum_units, float_keys, keys_to_floats, scan_column
from dami_np.kernels import _exact_sum

UNIT = Fraction(1, 1 << UNIT_EXPONENT)


def _column(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Columns with ties, duplicates, huge/tiny magnitudes, signed zeros, subnormals and missing values."""
    if kind == "gauss":
        x = rng.normal(size=n)
    elif kind == "wild":  # magnitudes over the whole float range
        x = rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, size=n)
    elif kind == "ties":
        x = rng.integers(-3, 4, size=n).astype(float)
    elif kind == "subnormal":
        x = rng.integers(-9, 10, size=n) * 5e-324
    elif kind == "zeros":
        x = np.where(rng.random(n) < 0.5, -0.0, 0.0)
    elif kind == "huge":
        x = rng.uniform(-1, 1, size=n) * 1.7e308
    else:  # "offset": a large mean, a small spread (cancellation)
        x = 1e9 + rng.normal(size=n)
    if n > 2:
        x[rng.random(n) < 0.2] = np.nan
        x[0] = 1.0 if kind != "subnormal" else 5e-324
    return x


KINDS = ["gauss", "wild", "ties", "subnormal", "zeros", "huge", "offset"]


def _fraction_sum(values) -> Fraction:
    return sum((Fraction(v) for v in np.asarray(values, dtype=np.float64).tolist()), Fraction(0))


def _reference(values: np.ndarray) -> tuple[float, float, float, float]:
    """The documented rule, written with Fractions: np.median's middle, exactly rounded sums."""
    missing = np.isnan(values)
    present = values[~missing]
    largest = float(np.max(np.abs(present)))
    shift = math.ldexp(1.0, math.frexp(largest)[1] - 1) if largest > 0 else 1.0
    ordered = keys_to_floats(np.sort(float_keys(present)))  # -0.0 before 0.0
    if present.size % 2 == 0:  # np.median's mean of the two middles, from the key order
        middle = present.size // 2
        median = float(np.mean(ordered[middle - 1 : middle + 1] / shift)) * shift
    else:
        median = float(ordered[present.size // 2] / shift) * shift
    filled = np.where(missing, median, values) / shift
    if not np.ptp(filled) > 0:
        return median, 1.0, median, 1.0
    n = filled.size
    mean = float(_fraction_sum(filled)) / n
    squares = (filled - mean) ** 2
    scale = math.sqrt(float(_fraction_sum(squares)) / n)
    return median, shift, mean, scale if math.isfinite(scale) and scale > 0 else 1.0


def _bits(stats) -> list[str]:
    return [float(v).hex() for v in (stats.median, stats.shift, stats.mean, stats.scale)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [1, 2, 3, 8, 301, 20_001])
def test_statistics_match_the_exact_reference_bit_for_bit(kind, n):
    rng = np.random.default_rng(n * 31 + KINDS.index(kind))
    values = _column(kind, n, rng)
    got = cs.numeric_stats(values)
    assert _bits(got) == [float(v).hex() for v in _reference(values)]


@pytest.mark.parametrize("kind", KINDS)
def test_exact_sums_are_exact_and_the_kernel_and_its_twin_agree(kind, monkeypatch):
    rng = np.random.default_rng(7)
    values = _column(kind, 20_000, rng)  # above the kernel threshold
    present = values[~np.isnan(values)]
    divisor = 2.0**-3 if kind not in ("huge", "wild") else 2.0**1000
    want = _fraction_sum(present / divisor)
    kernel = exact_sum_units(values, divisor)
    squares = exact_sum_units(values, divisor, 0.25, square=True)
    assert Fraction(kernel) * UNIT == want
    assert Fraction(squares) * UNIT == _fraction_sum((present / divisor - 0.25) ** 2)
    count, low, high, top = scan_column(values)
    extremes = cs.Extremes(count, low, high)
    key_range = cs.KeyRange.of_top(top, cs.middle_ranks(count))
    _, keys = exact_sum_and_keys(values, divisor, *key_range.top_range, key_range.inside)
    monkeypatch.setattr(_exact_sum, "_KERNEL_MIN", 1 << 40)  # the NumPy twin
    assert exact_sum_units(values, divisor) == kernel
    assert exact_sum_units(values, divisor, 0.25, square=True) == squares
    twin_count, twin_low, twin_high, twin_top = scan_column(values)
    assert cs.Extremes(twin_count, twin_low, twin_high) == extremes and np.array_equal(twin_top, top)
    _, twin_keys = exact_sum_and_keys(values, divisor, *key_range.top_range, key_range.inside)
    assert np.array_equal(twin_keys, keys)  # the same keys, in row order


def test_any_order_or_split_of_the_pieces_gives_the_same_sum_and_statistics():
    rng = np.random.default_rng(3)
    values = _column("wild", 5000, rng)
    whole = exact_sum_units(values, 2.0**40)
    stats = _bits(cs.numeric_stats(values))
    for trial in range(5):
        shuffled = values[rng.permutation(values.size)]
        cuts = np.sort(rng.integers(0, values.size, size=trial + 1))
        pieces = np.split(shuffled, cuts)  # uneven, some may be empty
        assert sum(exact_sum_units(p, 2.0**40) for p in pieces) == whole
        assert _bits(cs.numeric_stats(shuffled)) == stats


def test_a_sum_that_cancels_is_exact_where_a_float_sum_is_not():
    values = np.array([1e308, 1.0, -1e308, 2.0**-1074, 3.0])
    assert Fraction(exact_sum_units(values)) * UNIT == Fraction(4) + Fraction(2.0**-1074)
    assert exact_sum_units(values) / (1 << UNIT_EXPONENT) == 4.0 == math.fsum(values)
    assert exact_sum_units(np.array([np.nan, -0.0])) == 0


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # kernel bodies as Python (no JIT)
@pytest.mark.parametrize("size", [10, 20_000])  # the NumPy twin, the kernel
def test_an_overflowing_value_to_sum_is_an_error_not_a_wrong_sum(size):
    values = np.ones(size)
    values[3] = 1e300
    with pytest.raises(ValueError, match="not finite"):
        exact_sum_units(values, 1.0, 0.0, square=True)
    values[3] = -1e300
    values[5] = 1e300
    with pytest.raises(ValueError, match="2 value"):
        exact_sum_units(values, 1e-10)


def test_keys_follow_the_order_of_the_floats():
    values = np.array([-np.inf, -1e308, -1.0, -5e-324, -0.0, 0.0, 5e-324, 1.0, 1e308, np.inf])
    keys = float_keys(values)
    assert np.all(np.diff(keys) > 0)
    assert np.array_equal(keys_to_floats(keys).view(np.int64), values.view(np.int64))
    count, low, high, top = scan_column(np.r_[values[1:-1], np.nan])
    assert (count, low, high, int(top.sum())) == (8, -1e308, 1e308, 8)


def test_the_median_of_signed_zeros_follows_the_key_order():
    # three -0.0 and two 0.0: the middle one is -0.0 (np.median's sign of zero depends on its sort)
    stats = cs.numeric_stats(np.array([0.0, -0.0, 0.0, -0.0, -0.0]))
    assert math.copysign(1.0, stats.median) == -1.0
    stats = cs.numeric_stats(np.array([0.0, -0.0, 0.0, -0.0, 0.0]))
    assert math.copysign(1.0, stats.median) == 1.0


def _selected_in_pieces(pieces: list[np.ndarray]) -> tuple[float, int]:
    """The Dask rounds, without Dask: per-piece key counts, then only the keys left; (median, rounds)."""
    extremes = cs.Extremes(0, math.inf, -math.inf)
    top = np.zeros(1 << 16, dtype=np.int64)
    for piece in pieces:
        piece_extremes, piece_top = cs.scan(piece)
        extremes, top = extremes.merge(piece_extremes), top + piece_top
    ranks = cs.middle_ranks(extremes.count)
    key_range = cs.KeyRange.of_top(top, ranks)
    rounds = 1
    while not key_range.settled:
        key_range = key_range.narrow(cs.merged_histogram([cs.key_histogram(p, key_range) for p in pieces], key_range),
                                     ranks)
        rounds += 1
    keys = np.concatenate([cs.keys_between(p, key_range) for p in pieces])
    if key_range.lo == key_range.hi:
        keys = keys[:0]
    return cs.median_of_middles(cs.select_middles(keys, key_range, ranks), cs.power_of_two_shift(extremes)), rounds


@pytest.mark.parametrize("kind", KINDS)
def test_selection_over_pieces_in_many_rounds_finds_the_same_median(kind, monkeypatch):
    monkeypatch.setattr(cs, "GATHER_KEYS", 3)  # force narrowing down to a few keys
    rng = np.random.default_rng(11)
    values = _column(kind, 4001, rng)
    pieces = np.split(values, [0, 17, 1500, 1500, 3999])
    median, rounds = _selected_in_pieces(pieces)
    assert float(median).hex() == float(cs.numeric_stats(values).median).hex()
    if kind in ("ties", "zeros", "offset", "gauss"):  # crowded top buckets: narrowed at least once more
        assert rounds >= 2


def test_exact_sum_and_keys_returns_the_keys_of_the_middle_buckets():
    values = np.array([3.0, np.nan, -1.0, 3.5, 2.0, 3.25])
    extremes, top = cs.scan(values)
    key_range = cs.KeyRange.of_top(top, cs.middle_ranks(extremes.count))
    total, keys = exact_sum_and_keys(values, 4.0, *key_range.top_range, key_range.inside)
    assert Fraction(total) * UNIT == Fraction(1075, 400)  # (3 - 1 + 3.5 + 2 + 3.25) / 4
    assert keys_to_floats(keys).tolist() == [3.0]  # the middle value's bucket holds only it


_SNIPPET = """
import json, numpy as np
from dami_np import _column_stats as cs
rng = np.random.default_rng(5)
x = rng.normal(size=20000) * 10.0 ** rng.integers(-200, 200, size=20000)
x[rng.random(20000) < 0.1] = np.nan
s = cs.numeric_stats(x)
print(json.dumps([float(v).hex() for v in (s.median, s.shift, s.mean, s.scale)]))
"""


@pytest.mark.parametrize("env", [{"NUMBA_DISABLE_JIT": "1"}, {"DAMI_NP_DISABLE_NUMBA": "1"}, {}])
def test_same_bits_with_and_without_the_jit(env):
    rng = np.random.default_rng(5)
    x = rng.normal(size=20000) * 10.0 ** rng.integers(-200, 200, size=20000)
    x[rng.random(20000) < 0.1] = np.nan
    here = _bits(cs.numeric_stats(x))
    run = subprocess.run([sys.executable, "-c", _SNIPPET], env={**os.environ, **env}, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == here


def _spec_bits(spec: dict) -> list[str]:
    return [float(spec[k]).hex() for k in ("median", "shift", "mean", "scale")]


@pytest.mark.parametrize("n", [7, 20_001])
def test_the_preprocessor_fits_the_exact_mean_and_std(n):
    """Fails on the old fit (NumPy's pairwise mean/std of the sorted column differ in the last bits)."""
    rng = np.random.default_rng(n)
    frame = pd.DataFrame({"gauss": rng.normal(size=n), "offset": 1e9 + rng.normal(size=n),
                          "holes": np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n) * 1e3),
                          "wild": _column("wild", n, rng)})
    frame.loc[0, "holes"] = 1.5
    pre = TabularPreprocessor().fit(frame)
    for spec in pre._specs:
        assert _spec_bits(spec) == [v.hex() for v in _reference(frame[spec["name"]].to_numpy())], spec["name"]
    shuffled = TabularPreprocessor().fit(frame.sample(frac=1.0, random_state=1))
    assert [_spec_bits(s) for s in shuffled._specs] == [_spec_bits(s) for s in pre._specs]


def _kernel_results(values: np.ndarray, divisor: float) -> tuple:
    count, low, high, top = scan_column(values)
    key_range = cs.KeyRange.of_top(top, cs.middle_ranks(count))
    total, keys = exact_sum_and_keys(values, divisor, *key_range.top_range, key_range.inside)
    squares = exact_sum_units(values, divisor, 0.375, square=True)
    return count, float(low).hex(), float(high).hex(), top.tolist(), total, keys.tolist(), squares


@pytest.mark.parametrize("kind", KINDS)
def test_kernel_pieces_give_the_sums_keys_and_extremes_of_one_pass(kind, monkeypatch):
    """The kernels split a column into pieces (one per thread); any number of pieces gives the
    single pass's integers, the keys in row order, and its first min/max (signed zeros)."""
    rng = np.random.default_rng(13)
    values = _column(kind, 30_011, rng)
    values[100:30_000:7] = -0.0  # equal extremes of both signs in several pieces
    values[105:30_000:11] = 0.0
    divisor = 2.0**-3 if kind not in ("huge", "wild") else 2.0**1000
    monkeypatch.setattr(_exact_sum, "_pieces", lambda n: 1)
    one = _kernel_results(values, divisor)
    for pieces in (2, 7):
        monkeypatch.setattr(_exact_sum, "_pieces", lambda n, pieces=pieces: pieces)
        assert _kernel_results(values, divisor) == one
    monkeypatch.setattr(_exact_sum, "_KERNEL_MIN", 1 << 40)  # the NumPy twin
    twin = _kernel_results(values, divisor)
    assert twin[0] == one[0] and twin[3:] == one[3:]


@pytest.mark.skipif(not _exact_sum._policy.JIT_ENABLED, reason="compiled signatures exist only with the JIT")
def test_one_compiled_signature_per_kernel_whatever_the_input_array():
    """Read-only (a frame's column), writable, strided or int inputs all reach one compiled kernel each:
    a fresh process loads one overload per kernel from the cache, not one per kind of array."""
    rng = np.random.default_rng(2)
    table = rng.normal(size=(40_000, 2))
    frozen = table[:, 0].copy()
    frozen.flags.writeable = False
    for values in (frozen, table[:, 1], table[:, 0].copy(), np.arange(40_000)):
        cs.numeric_stats(values)
    assert len(_exact_sum._scan_kernel.signatures) == 1
    assert len(_exact_sum._sum_kernel.signatures) == 1


@pytest.mark.parametrize("divisor", [2.0**-1074, 2.0**-1022, 3.0, 0.1, 2.0**1023, 1.0])
def test_any_divisor_gives_the_exact_sum_of_the_divided_values(divisor):
    """Power-of-two divisors are applied as multiplications by the exact reciprocal (the same bits);
    others (and a subnormal one, whose reciprocal overflows) are divided by."""
    rng = np.random.default_rng(9)
    values = rng.normal(size=20_000) * 10.0 ** rng.integers(-320, 300, size=20_000)
    values[:4] = [5e-324, -5e-324, 2.0**-1060, -0.0]
    with np.errstate(over="ignore"):
        values[~(np.abs(values / divisor) < 1e300)] = divisor  # nothing overflows
    present = values[~np.isnan(values)]
    assert Fraction(exact_sum_units(values, divisor)) * UNIT == _fraction_sum(present / divisor)


@pytest.mark.parametrize("n", [5, 20_001])  # the per-column path, the column groups
def test_statistics_of_many_columns_are_each_columns_own(n, monkeypatch):
    """A table's columns in groups (a whole column per thread) give each column's numbers, for more
    columns than a group holds, constant ones and any thread count."""
    rng = np.random.default_rng(n)
    columns = [_column(KINDS[c % len(KINDS)], n, rng) for c in range(_exact_sum.GROUP + 3)]
    columns[4] = np.full(n, 2.5)  # constant: only centered
    columns[9][: n // 2] = np.nan
    want = [_bits(cs.numeric_stats(values)) for values in columns]
    before = _exact_sum._policy.get_num_threads()
    try:
        for threads in sorted({1, before}):
            _exact_sum._policy.set_num_threads(threads)
            assert [_bits(stats) for stats in cs.numeric_stats_many(columns)] == want
    finally:
        _exact_sum._policy.set_num_threads(before)
    assert want[4] == _bits(cs.constant_stats(2.5))
    assert [_bits(stats) for stats in cs.numeric_stats_many(columns[:1])] == want[:1]


def test_a_wide_fit_in_column_groups_gives_each_columns_own_numbers():
    """The fit gathers numeric columns in groups (between categorical ones, across group edges):
    each spec has the column's own numbers, in column order; a bad column is still reported."""
    rng = np.random.default_rng(21)
    n = 20_001
    frame = pd.DataFrame({f"x{c}": _column(KINDS[c % len(KINDS)], n, rng) for c in range(_exact_sum.GROUP + 5)})
    frame.insert(3, "kind", rng.choice(["a", "b"], n))
    frame.insert(12, "when", pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"))
    pre = TabularPreprocessor().fit(frame)
    for spec in pre._specs:
        if spec["kind"] == "categorical":
            assert spec["levels"] == ["a", "b"]
            continue
        values = frame[spec["name"]]
        floats = ((values - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).to_numpy() if spec["kind"] == "datetime" \
            else values.to_numpy()
        assert _spec_bits(spec) == _bits(cs.numeric_stats(floats)), spec["name"]
        assert "values" not in spec
    frame["empty"] = np.nan
    with pytest.raises(ValueError, match="'empty' is entirely empty"):
        TabularPreprocessor().fit(frame)
