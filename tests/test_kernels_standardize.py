"""``standardize_columns`` (the preprocessor's transform) against a plain NumPy twin, bit for bit.

The twin below spells out the documented rule with whole-column NumPy operations: fill the
missing rows with the median, divide by the shift, subtract the mean, divide by the scale (three
float64 operations), then ``astype`` the output dtype; the indicator is the missing mask as 0/1.
Every case runs through the Numba kernel (however small) and through the library's NumPy path.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from dami_np.kernels import _numba_policy as P
from dami_np.kernels import _standardize, standardize_columns

from test_kernels_reference import JIT, needs_jit

# With NUMBA_DISABLE_JIT=1 the kernel body runs as Python: NumPy scalars then warn where the
# compiled code silently makes inf (an overflow is what the finite flag reports).
pytestmark = pytest.mark.filterwarnings(
    "ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered:RuntimeWarning"
)

SENTINEL = -7.25  # output columns that are not numeric must keep it


def _twin(n, columns, masks, at, numbers, indicator, width, dtype):
    out = np.full((n, width), SENTINEL, dtype=dtype)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for c, values in enumerate(columns):
            median, shift, mean, scale = numbers[c]
            filled = values if masks[c] is None else np.where(masks[c], median, values)
            out[:, at[c]] = ((filled / shift - mean) / scale).astype(dtype)
            if indicator[c]:
                out[:, at[c] + 1] = np.zeros(n) if masks[c] is None else masks[c].astype(np.float64)
    return out, bool(np.isfinite(out).all())


def _problem(seed, n, k):
    """``k`` columns of ``n`` rows (ties, duplicates, signed zeros, missing values), at spread-out
    output positions with gaps for other columns; some with indicators."""
    rng = np.random.default_rng(seed)
    columns, masks, at, numbers, indicator = [], [], [], [], []
    position = 0
    for c in range(k):
        kind = c % 4
        if kind == 0:
            values = rng.integers(-3, 4, size=n).astype(np.float64)  # ties
        elif kind == 1:
            values = rng.normal(size=n) * 10.0 ** rng.integers(-5, 5)
        elif kind == 2:
            values = np.where(rng.random(n) < 0.5, -0.0, 0.0)
        else:
            values = 1e9 + rng.normal(size=n)
        mask = rng.random(n) < 0.3 if c % 3 != 1 else None
        if mask is not None:
            values = np.where(mask, np.nan, values)
        position += int(rng.integers(0, 2))  # a gap: some other column's output
        columns.append(values)
        masks.append(mask)
        at.append(position)
        with_indicator = mask is not None or c % 5 == 0
        indicator.append(with_indicator)
        position += 2 if with_indicator else 1
        shift = 2.0 ** int(rng.integers(-3, 30))
        numbers.append([float(rng.normal()), shift, float(rng.normal()), float(rng.uniform(0.1, 3.0))])
    return columns, masks, at, np.array(numbers).reshape(k, 4), indicator, position + int(rng.integers(0, 2))


def _run(columns, masks, at, numbers, indicator, width, n, dtype):
    out = np.full((n, width), SENTINEL, dtype=dtype)
    finite = standardize_columns(out, columns, masks, at, numbers, indicator)
    return out, finite


@pytest.fixture(params=["kernel", "numpy"])
def path(request, monkeypatch):
    """Send every call through the Numba kernel (``kernel``) or the NumPy path (``numpy``)."""
    monkeypatch.setattr(_standardize, "_KERNEL_MIN", 0 if request.param == "kernel" else 1 << 62)
    if request.param == "kernel" and not P.NUMBA_ENABLED:
        pytest.skip("Numba is off")
    return request.param


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n,k", [(0, 3), (1, 1), (1, 9), (2, 4), (37, 3), (300, 17)])
def test_same_bits_as_the_plain_numpy_rule(path, dtype, n, k):
    columns, masks, at, numbers, indicator, width = _problem(n * 100 + k, n, k)
    got, finite = _run(columns, masks, at, numbers, indicator, width, n, dtype)
    want, want_finite = _twin(n, columns, masks, at, numbers, indicator, width, dtype)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))  # bits, signed zeros included
    assert finite and want_finite


@needs_jit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_bits_on_a_large_table_any_thread_count(dtype, monkeypatch):
    monkeypatch.setattr(_standardize, "_KERNEL_MIN", 0)
    columns, masks, at, numbers, indicator, width = _problem(5, 50_001, 11)
    want, _ = _twin(50_001, columns, masks, at, numbers, indicator, width, dtype)
    before = P.get_num_threads()
    try:
        for threads in sorted({1, before}):
            P.set_num_threads(threads)
            got, finite = _run(columns, masks, at, numbers, indicator, width, 50_001, dtype)
            np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))
            assert finite
    finally:
        P.set_num_threads(before)


def test_strided_read_only_and_writable_inputs_give_the_same_bits(path):
    columns, masks, at, numbers, indicator, width = _problem(3, 200, 4)
    want, _ = _run(columns, masks, at, numbers, indicator, width, 200, np.float64)
    frozen = [v.copy() for v in columns]
    for v in frozen:
        v.flags.writeable = False
    table = np.stack(columns, axis=1)  # columns of a C-order 2-D array: strided views
    for inputs in (frozen, [table[:, c] for c in range(len(columns))]):
        got, _ = _run(inputs, masks, at, numbers, indicator, width, 200, np.float64)
        np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_value_that_overflows_is_reported_not_finite(path, dtype):
    n = 40
    values = np.linspace(-1.0, 1.0, n)
    values[17] = 1.7e308 if dtype == np.float64 else 1e39  # 1e39 is finite in float64, not in float32
    numbers = np.array([[0.0, 1.0, 0.0, 0.5]])
    out = np.zeros((n, 1), dtype=dtype)
    with warnings.catch_warnings():
        if JIT or path == "numpy":
            warnings.simplefilter("error")  # no RuntimeWarning from the store: False is the report
        assert not standardize_columns(out, [values], [None], [0], numbers, [False])
    assert np.isinf(out[17, 0]) and np.isfinite(np.delete(out[:, 0], 17)).all()


def test_a_missing_row_takes_the_median_whatever_its_value(path):
    values = np.array([1.0, np.inf, 3.0, np.nan])  # a masked row is filled, never read
    mask = np.array([False, True, False, True])
    out = np.full((4, 3), SENTINEL)
    assert standardize_columns(out, [values], [mask], [1], np.array([[2.0, 2.0, 0.5, 0.25]]), [True])
    np.testing.assert_array_equal(out[:, 1], [0.0, 2.0, 4.0, 2.0])  # ((x / 2) - 0.5) / 0.25
    np.testing.assert_array_equal(out[:, 2], [0.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(out[:, 0], [SENTINEL] * 4)


@pytest.mark.skipif(not JIT, reason="compiled signatures exist only with the JIT")
def test_one_compiled_signature_per_output_dtype_for_any_columns(monkeypatch):
    """Tables of any width, read-only or writable, strided or not, share the kernel's signature."""
    monkeypatch.setattr(_standardize, "_KERNEL_MIN", 0)
    for k in (1, 3, 9, 20):
        columns, masks, at, numbers, indicator, width = _problem(k, 64, k)
        table = np.stack(columns, axis=1)
        for inputs in (columns, [table[:, c] for c in range(k)]):
            _run(inputs, masks, at, numbers, indicator, width, 64, np.float64)
    _run(columns, masks, at, numbers, indicator, width, 64, np.float32)
    assert len(_standardize._standardize_kernel.signatures) == 2


@pytest.mark.parametrize("shift", [2.0**-1074, 2.0**-1022, 3.0, 0.75, 2.0**1023, 1.0])
def test_any_shift_gives_the_division_bits(path, shift):
    """A power-of-two shift is applied as a multiplication by its reciprocal: the same bits as the
    division; a shift without an exact reciprocal (subnormal, not a power of two) is divided by."""
    rng = np.random.default_rng(int(shift * 0) + 4)
    values = rng.normal(size=300) * shift * 4
    values[:6] = [5e-324, -5e-324, 0.0, -0.0, 1e-310, 2.0**-1060]
    numbers = np.array([[0.0, shift, 0.125, 0.75]])
    got, _ = _run([values], [None], [0], numbers, [False], 1, 300, np.float64)
    want, _ = _twin(300, [values], [None], [0], numbers, [False], 1, np.float64)
    np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))


def test_a_column_of_another_length_is_refused_before_any_write():
    out = np.full((5, 2), SENTINEL)
    with pytest.raises(ValueError, match=r"columns of \[4, 5\] rows for an out of 5 rows"):
        standardize_columns(out, [np.ones(5), np.ones(4)], [None, None], [0, 1], np.ones((2, 4)), [False, False])
    assert (out == SENTINEL).all()
