"""The preprocessor's numbers, bit for bit: the median, exactly rounded sums for the mean and std,
the matrix written block by block, and the first bad value named as column by column.

The reference mean/std are ``fl(fsum / n)`` and ``sqrt(fl(fsum(squares) / n))`` (exact sums rounded
once), not NumPy's pairwise sums of the sorted column: the exact rule does not depend on row order or
on how rows are split, so the Dask path (reductions over partitions) gives the same bits as one machine."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dami_np._preprocess import TabularPreprocessor


def _reference_column(values: np.ndarray) -> np.ndarray:
    """The documented rule, written plainly: fill with the median, divide by the power of two, standardize."""
    missing = np.isnan(values)
    present = values[~missing]
    _, exponent = np.frexp(np.max(np.abs(present)))
    shift = float(np.ldexp(1.0, int(exponent) - 1)) if np.max(np.abs(present)) > 0 else 1.0
    median = float(np.median(present / shift)) * shift
    filled = np.where(missing, median, values) / shift
    if np.ptp(filled) > 0:
        mean = math.fsum(filled) / filled.size
        scale = math.sqrt(math.fsum((filled - mean) ** 2) / filled.size)
    else:
        shift, mean, scale = 1.0, median, 1.0
    return (np.where(missing, median, values) / shift - mean) / scale


@pytest.mark.parametrize("n", [1, 2, 7, 8, 20_001])
def test_numbers_match_the_plain_rule_bit_for_bit(n):
    rng = np.random.default_rng(n)
    columns = {
        "gauss": rng.normal(size=n),
        "holes_odd": np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n) * 1e3),
        "holes_even": np.where(np.arange(n) % 4 == 1, np.nan, rng.integers(-5, 5, size=n).astype(float)),
        "huge": rng.normal(size=n) * 1e300,
        "tiny": rng.normal(size=n) * 1e-310,
        "constant": np.full(n, 3.25),
    }
    if n > 1:
        columns["holes_odd"][0] = 1.5  # at least one present value
        columns["holes_even"][0] = 2.0
    frame = pd.DataFrame(columns)
    out = TabularPreprocessor().fit_transform(frame)
    assert out.dtype == np.float64 and out.flags.c_contiguous
    pre = TabularPreprocessor().fit(frame)
    at = 0
    for name, values in columns.items():
        want = _reference_column(values)
        assert np.array_equal(out[:, at].view(np.uint64), want.view(np.uint64)), name
        at += 1
        if f"{name}=<missing>" in pre.feature_names_out_:
            assert np.array_equal(out[:, at], np.isnan(values).astype(float))
            at += 1
    assert at == out.shape[1]


def test_missing_at_transform_only_is_filled_with_the_median_and_text_columns_sit_between():
    fit = pd.DataFrame({"a": [1.0, 2.0, 3.0, 10.0], "c": ["x", "y", "x", "y"], "b": [5.0, 6.0, 7.0, 8.0]})
    pre = TabularPreprocessor().fit(fit)
    new = pd.DataFrame({"a": [np.nan, 2.0], "c": ["y", "z"], "b": [6.0, np.nan]})
    out = pre.transform(new)
    assert pre.feature_names_out_ == ["a", "c=x", "c=y", "b"]
    full = pre.transform(pd.DataFrame({"a": [2.5, 2.0], "c": ["y", "z"], "b": [6.0, 6.5]}))  # the medians
    np.testing.assert_array_equal(out, full)
    np.testing.assert_array_equal(out[:, 1:3], [[0.0, 1.0], [0.0, 0.0]])


def test_the_first_bad_column_is_named_as_column_by_column():
    pre = TabularPreprocessor().fit(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0]}))
    overflow_then_text = pd.DataFrame({"a": [1.7e308, 1.0, 2.0], "b": ["1", "oops", "3"]})
    with pytest.raises(ValueError, match="column 'a' has value 1.7e\\+308 at row 0, too far outside"):
        pre.transform(overflow_then_text)
    text_then_overflow = pd.DataFrame({"a": ["1", "oops", "3"], "b": [1e308, 1.0, 2.0]})
    with pytest.raises(ValueError, match="column 'a' has non-numeric value 'oops' at row 1"):
        pre.transform(text_then_overflow)
    late_overflow = pd.DataFrame({"a": np.r_[np.ones(9000), -1.7e308], "b": np.r_[np.full(9000, 2.0), 1e308]})
    with pytest.raises(ValueError, match="column 'a' has value -1.7e\\+308 at row 9000"):
        pre.transform(late_overflow)  # found in the second block of rows: still the first column's message
