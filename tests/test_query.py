"""``dami_np.query``: the contract every strategy shares, input checks, labels, registry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dami_np
from dami_np import MLPClassifier, query
from dami_np.strategies import available, get, make_context, register


def table(n=60, seed=0):
    """A mixed numeric/categorical DataFrame with a learnable label."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    label = np.where(a + (color == "red") > 0.3, "yes", "no").astype(object)
    return pd.DataFrame({"a": a, "b": b, "color": color}), label


def partially_labeled(label, n_labeled, seed=0):
    rng = np.random.default_rng(seed)
    y = np.array(label, dtype=object)
    hidden = rng.permutation(len(y))[n_labeled:]
    y[hidden] = None
    return y


FAST = ["random", "kcenter_input", "margin", "entropy", "least_confidence", "coreset", "badge", "dami"]


# ---------------------------------------------------------------- the contract
@pytest.mark.parametrize("strategy", FAST)
def test_every_strategy_answers_budget_unique_unlabeled_rows_deterministically(strategy):
    X, label = table()
    y = partially_labeled(label, 15)
    a = query(X, y, 7, strategy=strategy, random_state=0)
    assert a.dtype == np.int64 and a.shape == (7,)
    assert len(set(a.tolist())) == 7
    assert all(y[i] is None for i in a)
    np.testing.assert_array_equal(a, query(X, y, 7, strategy=strategy, random_state=0))


def test_dataframe_with_strings_and_series_labels_with_pandas_na():
    X, label = table(seed=1)
    y = pd.Series(pd.array(partially_labeled(label, 20, seed=1), dtype="string"))
    assert y.isna().sum() == 40 and y.dtype == "string"
    got = query(X, y, 5, random_state=0)
    assert y.isna().to_numpy()[got].all()


@pytest.mark.parametrize(
    "missing", [np.nan, None, pd.NA], ids=["nan", "none", "pd.NA"]
)
def test_any_missing_marker_marks_unlabeled_rows(missing):
    X, label = table(seed=2)
    y = np.array([1 if v == "yes" else 0 for v in label], dtype=object)
    y[10:] = missing
    got = query(X, y, 4, strategy="margin", random_state=0)
    assert (got >= 10).all()


def test_float_labels_with_nan_and_int_series():
    X, label = table(seed=3)
    y = np.where(label == "yes", 1.0, 0.0)
    y[25:] = np.nan
    a = query(X, y, 3, strategy="entropy", random_state=0)
    b = query(X, pd.Series(pd.array(np.where(np.isnan(y), None, y), dtype="Int64")), 3, strategy="entropy", random_state=0)
    np.testing.assert_array_equal(a, b)  # same labels, same codes, same picks


def test_positions_ignore_the_pandas_index():
    X, label = table(seed=4)
    y = pd.Series(partially_labeled(label, 20, seed=4), index=np.arange(100, 160))
    X.index = np.arange(500, 560)
    got = query(X, y, 5, strategy="kcenter_input")
    assert got.max() < 60 and y.isna().to_numpy()[got].all()


def test_same_seed_same_picks_different_seed_may_differ():
    X, label = table(seed=5)
    y = partially_labeled(label, 20, seed=5)
    a = query(X, y, 8, strategy="margin", random_state=11)
    np.testing.assert_array_equal(a, query(X, y, 8, strategy="margin", random_state=11))


# ---------------------------------------------------------------- models and preprocessing
def test_fitted_model_is_used_as_is_and_x_must_match_its_features():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(50, 3))
    y = (X[:, 0] > 0).astype(float)
    model = MLPClassifier((8,), max_iter=20, random_state=0).fit(X[:20], y[:20])
    y[20:] = np.nan
    before = [c.copy() for c in model.coefs_]
    got = query(X, y, 5, strategy="margin", model=model)
    proba = model.predict_proba(X[20:])
    top = np.sort(proba, axis=1)
    np.testing.assert_array_equal(got, 20 + np.argsort(top[:, -1] - top[:, -2], kind="stable")[:5])
    assert all(np.array_equal(a, b) for a, b in zip(before, model.coefs_))
    with pytest.raises(ValueError, match="expects 3 features but X has 2 columns"):
        query(X[:, :2], y, 5, model=model)


def test_unfitted_model_is_copied_and_fit_on_the_labeled_rows():
    X, label = table(seed=7)
    y = partially_labeled(label, 20, seed=7)
    template = MLPClassifier((5,), max_iter=15, random_state=3)
    got = query(X, y, 4, strategy="margin", model=template)
    assert not hasattr(template, "classes_")  # the caller's object is untouched
    ctx = make_context(X, y, model=template)
    manual = MLPClassifier((5,), max_iter=15, random_state=3).fit(ctx.X[ctx.labeled], ctx.y[ctx.labeled])
    proba = manual.predict_proba(ctx.X[~ctx.labeled])
    top = np.sort(proba, axis=1)
    expected = np.flatnonzero(~ctx.labeled)[np.argsort(top[:, -1] - top[:, -2], kind="stable")[:4]]
    np.testing.assert_array_equal(got, expected)


def test_preprocessing_is_fit_on_all_rows_and_can_be_turned_off():
    X, label = table(seed=8)
    y = partially_labeled(label, 20, seed=8)
    ctx = make_context(X, y)
    assert ctx.X.dtype == np.float64 and ctx.X.shape == (60, 5)  # a, b + 3 one-hot colors
    np.testing.assert_allclose(ctx.X[:, :2].mean(axis=0), 0, atol=1e-12)
    with pytest.raises(ValueError, match="numeric"):
        query(X, y, 2, strategy="random", preprocess=False)
    numeric = X[["a", "b"]].to_numpy()
    ctx = make_context(numeric, y, preprocess=False)
    np.testing.assert_array_equal(ctx.X, numeric)


# ---------------------------------------------------------------- errors
@pytest.fixture()
def small():
    X = np.arange(20, dtype=float).reshape(10, 2)
    y = np.array([0, 1] + [np.nan] * 8)
    return X, y


@pytest.mark.parametrize(
    "budget, match",
    [
        (0, "budget must be a positive int, got 0"),
        (-3, "budget must be a positive int"),
        (2.0, "budget must be a positive int, got 2.0"),
        (True, "budget must be a positive int"),
        ("3", "budget must be a positive int"),
        (9, r"budget \(9\) exceeds the number of unlabeled rows \(8\)"),
    ],
)
def test_bad_budget(small, budget, match):
    X, y = small
    with pytest.raises(ValueError, match=match):
        query(X, y, budget, strategy="random")


def test_numpy_integer_budget_is_fine(small):
    X, y = small
    assert query(X, y, np.int64(8), strategy="random", random_state=0).size == 8


def test_length_mismatch(small):
    X, y = small
    with pytest.raises(ValueError, match="y has 9 entries but X has 10 rows"):
        query(X, y[:9], 2, strategy="random")


def test_no_unlabeled_rows(small):
    X, _ = small
    with pytest.raises(ValueError, match="no unlabeled rows"):
        query(X, np.arange(10) % 2, 1, strategy="random")


def test_unknown_strategy_lists_the_available_ones(small):
    X, y = small
    with pytest.raises(ValueError, match=r"unknown strategy 'nope'; available: .*dami.*margin"):
        query(X, y, 2, strategy="nope")


def test_unknown_option_is_named(small):
    X, y = small
    with pytest.raises(ValueError, match=r"unknown option 'bais' for strategy 'dami'; valid options: .*bias"):
        query(X, y, 2, strategy="dami", bais=False)
    with pytest.raises(ValueError, match="unknown option 'bias' for strategy 'margin'"):
        query(X, y, 2, strategy="margin", bias=False)


def test_bad_shapes(small):
    X, y = small
    with pytest.raises(ValueError, match="X must be 2-D"):
        query(X[:, 0], y, 2, strategy="random")
    with pytest.raises(ValueError, match="y must be 1-D"):
        query(X, np.zeros((10, 2)), 2, strategy="random")


# ---------------------------------------------------------------- registry and custom strategies
def test_registry_lists_the_built_in_strategies():
    for name in ("dami", "random", "least_confidence", "margin", "entropy", "coreset", "kcenter_input", "badge"):
        assert name in available()
        assert callable(get(name))
    assert dami_np.strategies.available() == available()


def test_a_user_strategy_can_be_registered_and_called_with_options(small):
    X, y = small

    @register("test_last_rows", needs_model=False, replace=True)
    def last_rows(context, budget, rng, *, offset=0):
        return context.unlabeled_indices[::-1][offset : offset + budget]

    assert query(X, y, 2, strategy="test_last_rows").tolist() == [9, 8]
    assert query(X, y, 2, strategy="test_last_rows", offset=1).tolist() == [8, 7]
    with pytest.raises(ValueError, match="unknown option 'offst'"):
        query(X, y, 2, strategy="test_last_rows", offst=1)
    with pytest.raises(ValueError, match="already registered"):
        register("test_last_rows")(last_rows)


def test_a_plain_callable_works_and_a_bad_answer_is_caught(small):
    X, y = small
    assert query(X, y, 1, strategy=lambda ctx, budget, rng: ctx.unlabeled_indices[:budget], preprocess=False).tolist() == [2]
    with pytest.raises(ValueError, match="returned labeled rows"):
        query(X, y, 1, strategy=lambda ctx, budget, rng: np.array([0]), preprocess=False)
    with pytest.raises(ValueError, match="duplicate"):
        query(X, y, 2, strategy=lambda ctx, budget, rng: np.array([3, 3]), preprocess=False)
    with pytest.raises(ValueError, match="expected 2 row positions"):
        query(X, y, 2, strategy=lambda ctx, budget, rng: np.array([3]), preprocess=False)


# ---------------------------------------------------------------- property: the contract on random masks
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    n=st.integers(3, 30),
    strategy=st.sampled_from(["random", "kcenter_input", "margin", "entropy", "least_confidence"]),
)
def test_contract_holds_for_any_mask_and_budget(data, n, strategy):
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if mask.all():
        mask[0] = False
    budget = data.draw(st.integers(1, int((~mask).sum())))
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, 2)).round(1)  # rounding makes duplicate rows and ties likely
    y = np.where(mask, rng.integers(0, 2, size=n), -1).astype(object)
    y[~mask] = None
    model = _FixedModel()
    got = query(X, y, budget, strategy=strategy, model=model, random_state=0)
    assert got.shape == (budget,) and len(set(got.tolist())) == budget
    assert not mask[got].any()


class _FixedModel:
    """A fitted fake binary classifier: logistic of the first column."""

    classes_ = np.array([0, 1])
    n_features_in_ = 2

    def predict_proba(self, X):
        p = 1 / (1 + np.exp(-np.asarray(X)[:, 0]))
        return np.column_stack([1 - p, p])
