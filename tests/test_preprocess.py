"""TabularPreprocessor: encoding rules on hand-checked frames, and every error case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dami_np import datasets
from dami_np._preprocess import ColumnWarning, TabularPreprocessor, UnusableColumnsError


def test_one_hot_and_scaling_on_a_hand_checked_frame():
    frame = pd.DataFrame({"num": [1.0, 2.0, 3.0, 6.0], "color": ["red", "blue", "red", "green"], "k": [7, 7, 7, 7]})
    pre = TabularPreprocessor()
    Z = pre.fit_transform(frame)
    # num: mean 3, population std sqrt(((-2)^2 + 1 + 0 + 9) / 4) = sqrt(3.5)
    expected_num = (np.array([1.0, 2.0, 3.0, 6.0]) - 3.0) / np.sqrt(3.5)
    expected = np.column_stack([
        expected_num,
        [0, 1, 0, 0],  # color=blue
        [0, 0, 0, 1],  # color=green
        [1, 0, 1, 0],  # color=red
        [0, 0, 0, 0],  # k: constant, only centered
    ])
    assert Z.dtype == np.float64 and Z.shape == (4, 5)
    np.testing.assert_allclose(Z, expected, rtol=0, atol=1e-12)
    assert pre.feature_names_out_ == ["num", "color=blue", "color=green", "color=red", "k"]
    assert pre.source_columns_ == ["num", "color", "color", "color", "k"]
    assert pre.columns_ == ["num", "color", "k"]
    assert pre.column_kinds_ == {"num": "numeric", "color": "categorical", "k": "numeric"}
    # the fitted statistics are reused: a new row is scaled with the training mean/std
    new = pre.transform(pd.DataFrame({"k": [9], "color": ["green"], "num": [3.0 + np.sqrt(3.5)]}))
    np.testing.assert_allclose(new, [[1.0, 0, 1, 0, 2.0]], atol=1e-12)


def test_numeric_missing_gets_median_and_indicator():
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0, 10.0], "b": [1.0, 2.0, 3.0, 4.0]})
    pre = TabularPreprocessor().fit(frame)
    assert pre.feature_names_out_ == ["a", "a=<missing>", "b"]
    Z = pre.transform(frame)
    filled = np.array([1.0, 3.0, 3.0, 10.0])  # median of 1, 3, 10 is 3
    np.testing.assert_allclose(Z[:, 0], (filled - filled.mean()) / filled.std(), atol=1e-12)
    np.testing.assert_array_equal(Z[:, 1], [0, 1, 0, 0])
    # a column without missing values at fit gets no indicator, and a missing value later is imputed
    later = pre.transform(pd.DataFrame({"a": [np.nan], "b": [np.nan]}))
    b = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(later, [[(3.0 - filled.mean()) / filled.std(), 1.0, (2.5 - b.mean()) / b.std()]])


def test_categorical_missing_is_its_own_level_and_unseen_is_all_zeros():
    frame = pd.DataFrame({"c": ["b", None, "a", "b", ""]})  # "" counts as missing
    pre = TabularPreprocessor().fit(frame)
    assert pre.feature_names_out_ == ["c=a", "c=b", "c=<missing>"]
    np.testing.assert_array_equal(pre.transform(frame), [[0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(pre.transform(pd.DataFrame({"c": ["zzz", "a"]})), [[0, 0, 0], [1, 0, 0]])
    # no missing level when nothing was missing at fit: a missing value later is all zeros
    pre2 = TabularPreprocessor().fit(pd.DataFrame({"c": ["x", "y"]}))
    np.testing.assert_array_equal(pre2.transform(pd.DataFrame({"c": [None]})), [[0, 0]])


def test_bool_category_and_numeric_strings():
    frame = pd.DataFrame({
        "flag": [True, False, True],
        "code": pd.Categorical([10, 2, 10]),  # category dtype stays categorical even if numbers
        "text_num": ["1.5", " 2.5", "3.5"],  # numeric strings become numbers
    })
    pre = TabularPreprocessor().fit(frame)
    assert pre.column_kinds_ == {"flag": "categorical", "code": "categorical", "text_num": "numeric"}
    assert pre.feature_names_out_ == ["flag=False", "flag=True", "code=10", "code=2", "text_num"]
    Z = pre.transform(frame)
    np.testing.assert_array_equal(Z[:, :4], [[0, 1, 1, 0], [1, 0, 0, 1], [0, 1, 1, 0]])
    np.testing.assert_allclose(Z[:, 4], np.array([-1.0, 0.0, 1.0]) / np.sqrt(2.0 / 3.0))


def test_ndarray_input_and_column_order():
    X = np.array([[1.0, 10.0], [3.0, 10.0]])
    pre = TabularPreprocessor().fit(X)
    assert pre.columns_ == ["x0", "x1"] and pre.feature_names_out_ == ["x0", "x1"]
    np.testing.assert_array_equal(pre.transform(X), [[-1.0, 0.0], [1.0, 0.0]])
    # a DataFrame is matched by column name, whatever its column order
    fitted = TabularPreprocessor().fit(pd.DataFrame({"a": [1.0, 3.0], "b": ["u", "v"]}))
    np.testing.assert_array_equal(fitted.transform(pd.DataFrame({"b": ["v"], "a": [3.0], "extra": [0]})), [[1.0, 0, 1]])


def test_deterministic_and_order_independent_levels():
    X, _ = datasets.load("crx")
    a = TabularPreprocessor().fit(X)
    b = TabularPreprocessor().fit(X.iloc[::-1])
    assert a.feature_names_out_ == b.feature_names_out_
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert np.isfinite(a.transform(X)).all()
    assert a.transform(X).shape == (653, len(a.feature_names_out_))
    assert len(a.feature_names_out_) > X.shape[1]  # one-hot expanded the 9 text columns


@pytest.mark.parametrize(
    ("frame", "pattern"),
    [
        (pd.DataFrame({"age": ["31", "45", "52", "abc", "19"]}, index=[5, 9, 17, 20, 33]),
         r"column 'age' has non-numeric value 'abc' at row 20"),
        (pd.DataFrame({"x": [1.0, np.inf, 2.0]}), r"column 'x' has infinite value inf at row 1"),
        (pd.DataFrame({"x": [1.0, 2.0], "empty": [np.nan, np.nan]}), r"column 'empty' is entirely empty"),
        (pd.DataFrame({"s": [None, " ", ""]}), r"column 's' is entirely empty"),
        (pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"]), r"duplicate column name\(s\) in X: \['a'\]"),
        (pd.DataFrame({"a": pd.Series([], dtype=float)}), r"zero rows"),
        (pd.DataFrame(index=range(3)), r"zero columns"),
        (pd.DataFrame({"z": np.array([1 + 1j, 2 + 0j])}), r"column 'z' has complex dtype"),
        (pd.DataFrame({"t": ["1", "2", "1e400"]}), r"column 't' has value '1e400' at row 2, beyond the float range"),
        (pd.DataFrame({"when": ["2020-01-01", "2020-02-01", "2020-03-01", "soon"]}),
         r"column 'when' has value 'soon' at row 3 that is not a date"),
    ],
)
def test_fit_errors_name_column_row_and_value(frame: pd.DataFrame, pattern: str):
    with pytest.raises(ValueError, match=pattern):
        TabularPreprocessor().fit(frame)


def test_too_many_categories_suggests_excluding_the_column():
    frame = pd.DataFrame({"id": [f"user{i}" for i in range(12)], "v": range(12)})
    with pytest.raises(ValueError, match=r"column 'id' has 12 distinct values.*max_categories=10.*exclude it"):
        TabularPreprocessor(max_categories=10).fit(frame)
    assert len(TabularPreprocessor(max_categories=12).fit(frame).feature_names_out_) == 13


def test_transform_errors():
    pre = TabularPreprocessor().fit(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": [0, 1]}))
    with pytest.raises(ValueError, match=r"missing column\(s\) seen at fit: \['b', 'c'\]"):
        pre.transform(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(ValueError, match=r"column 'a' has non-numeric value 'oops' at row 1"):
        pre.transform(pd.DataFrame({"a": ["3", "oops"], "b": ["x", "x"], "c": [0, 0]}))
    with pytest.raises(ValueError, match=r"column 'c' has infinite value -inf at row 0"):
        pre.transform(pd.DataFrame({"a": [1.0], "b": ["x"], "c": [-np.inf]}))
    with pytest.raises(ValueError, match=r"X has 2 columns, but the preprocessor was fitted on 3"):
        pre.transform(np.zeros((1, 2)))
    with pytest.raises(RuntimeError, match="not fitted"):
        TabularPreprocessor().transform(np.zeros((1, 2)))


def test_mostly_text_column_with_some_numbers_is_categorical():
    frame = pd.DataFrame({"c": ["a", "b", "3", "a"]})
    pre = TabularPreprocessor().fit(frame)
    assert pre.feature_names_out_ == ["c=3", "c=a", "c=b"]


def plain_standardized(values: np.ndarray) -> np.ndarray:
    """The textbook (x - mean) / std, population std, on values that do not overflow."""
    values = np.asarray(values, dtype=np.float64)
    return (values - values.mean()) / values.std()


@pytest.mark.filterwarnings("error")  # no RuntimeWarning (overflow, underflow) may escape
@pytest.mark.parametrize("power", [1020, -1000, -1070])
def test_extreme_but_finite_columns_standardize_like_ordinary_ones(power: int):
    rng = np.random.default_rng(power & 0xFFFF)
    u = rng.normal(size=50)
    if power == -1070:  # denormals: small integers times the smallest subnormal steps
        u = rng.integers(-8, 9, size=50).astype(np.float64)
        u[:2] = [-8.0, 8.0]
    scaled = u * 2.0**power
    assert np.isfinite(scaled).all() and np.ptp(scaled) > 0
    Z = TabularPreprocessor().fit_transform(pd.DataFrame({"big": scaled, "plain": u}))
    # a power of two only moves the exponent: the result equals standardizing u itself
    np.testing.assert_allclose(Z[:, 0], plain_standardized(u), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(Z[:, 0], Z[:, 1])


@pytest.mark.filterwarnings("error")
def test_columns_near_the_float_limit_and_tiny_columns_standardize():
    rng = np.random.default_rng(3)
    u = rng.normal(size=200)
    frame = pd.DataFrame({"huge": u / np.abs(u).max() * 1.7e308, "tiny": u * 1e-300, "u": u})
    Z = TabularPreprocessor().fit_transform(frame)
    assert np.isfinite(Z).all()
    for column in range(3):
        np.testing.assert_allclose(Z[:, column], plain_standardized(u), rtol=1e-9, atol=1e-9)
    # a column holding +-max float is finite input and gives finite features
    edge = pd.DataFrame({"e": [np.finfo(np.float64).max, -np.finfo(np.float64).max, 0.0, 1.0]})
    Ze = TabularPreprocessor().fit_transform(edge)
    assert np.isfinite(Ze).all()
    np.testing.assert_allclose(Ze[:, 0], [np.sqrt(2), -np.sqrt(2), 0.0, 0.0], atol=1e-12)


def test_ordinary_columns_give_the_same_bits_as_plain_standardization():
    rng = np.random.default_rng(11)
    values = rng.normal(loc=37.0, scale=12.5, size=301)
    Z = TabularPreprocessor().fit_transform(pd.DataFrame({"v": values}))
    ordered = np.sort(values)  # the preprocessor's statistics are computed on sorted values
    expected = (values - ordered.mean()) / ordered.std()
    np.testing.assert_array_equal(Z[:, 0], expected)


def test_all_unusable_columns_are_reported_at_once():
    frame = pd.DataFrame({
        "ok": np.arange(150.0),
        "user": [f"u{i}" for i in range(150)],
        "blank": [None] * 150,
        "age": ["31"] * 140 + ["n/a"] * 10,
        "inf": [1.0] * 149 + [np.inf],
    })
    with pytest.raises(UnusableColumnsError) as caught:
        TabularPreprocessor().fit(frame)
    error = caught.value
    assert isinstance(error, ValueError)
    assert [issue.column for issue in error.issues] == ["user", "blank", "age", "inf"]
    assert [issue.kind for issue in error.issues] == ["too_many_levels", "empty", "mixed", "infinite"]
    message = str(error)
    assert message.startswith("4 columns cannot be used: ")
    for fragment in ("'user' has 150 distinct values", "'blank' is entirely empty", "'n/a' at row 140",
                     "'inf' has infinite value inf at row 149"):
        assert fragment in message


def test_datetime_columns_become_days_since_1970():
    frame = pd.DataFrame({
        "stamp": pd.to_datetime(["2020-01-01", "2020-01-03", "2020-01-02 12:00"], format="ISO8601"),
        "iso_text": ["2020-01-01", "2020-01-03", "2020-01-02 12:00"],
        "tz_text": ["2020-01-01T01:00+01:00", "2020-01-03T00:00Z", "2020-01-02 12:00:00+00:00"],
        "slash": ["2020/01/01", "2020/01/03", "2020/01/02 12:00"],
        "dmy": ["01/01/2020", "03/01/2020", "25/01/2020"],  # 25 decides: day first
        "span": pd.to_timedelta(["1 day", "3 days", "36 hours"]),
    })
    pre = TabularPreprocessor()
    Z = pre.fit_transform(frame)
    assert all(pre.column_kinds_[c] == "datetime" for c in frame.columns)
    assert pre.feature_names_out_ == list(frame.columns)
    days = np.array([18262.0, 18264.0, 18263.5])  # 2020-01-01 is day 18262 since 1970-01-01
    for position in range(4):
        np.testing.assert_allclose(Z[:, position], plain_standardized(days), atol=1e-12)
    np.testing.assert_allclose(Z[:, 4], plain_standardized([18262.0, 18264.0, 18286.0]), atol=1e-12)
    np.testing.assert_allclose(Z[:, 5], plain_standardized([1.0, 3.0, 1.5]), atol=1e-12)
    # missing dates are imputed with the median day and flagged, like numbers
    gap = TabularPreprocessor().fit(pd.DataFrame({"d": ["2020-01-01", None, "2020-01-05"]}))
    assert gap.feature_names_out_ == ["d", "d=<missing>"]


def test_dates_of_undecidable_day_month_order_are_left_out_with_a_warning():
    frame = pd.DataFrame({"d": ["01/02/2020", "03/04/2020", "05/06/2020"], "v": [1.0, 2.0, 3.0]})
    with pytest.warns(ColumnWarning, match=r"column 'd' holds dates whose day/month order") as record:
        pre = TabularPreprocessor().fit(frame)
    assert record[0].message.column == "d"
    assert pre.column_kinds_["d"] == "excluded" and pre.feature_names_out_ == ["v"]
    assert pre.transform(frame).shape == (3, 1)


def test_text_that_only_looks_like_dates_stays_categorical():
    pre = TabularPreprocessor().fit(pd.DataFrame({"code": ["2020-13-45", "2020-14-01", "2020-13-45"]}))
    assert pre.column_kinds_ == {"code": "categorical"}
