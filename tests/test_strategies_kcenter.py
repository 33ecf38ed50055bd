"""K-Center baselines (kcenter_input, coreset) and the cold-start rule, on hand-checkable points."""

from __future__ import annotations

import numpy as np
import pytest

from dami_np import query
from dami_np.strategies import available

# 1-D points on a line (second column constant): easy to follow by hand
LINE = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [6.0, 0.0], [10.0, 0.0], [10.5, 0.0], [3.0, 0.0]])


def HiddenModel():
    """A fitted MLP set by hand: one hidden unit, relu(x[1]), so its hidden layer is the second column."""
    from dami_np import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=(1,), max_iter=1, dtype="float64", random_state=0)
    model.fit(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0, 1]))
    model.coefs_ = [np.array([[0.0], [1.0]]), np.array([[1.0, -1.0]])]
    model.intercepts_ = [np.zeros(1), np.zeros(2)]
    return model


def test_kcenter_input_by_hand():
    y = np.array([0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan])  # row 0 (x=0) is labeled
    # farthest from x=0 is 10.5 (row 5); then from {0, 10.5}: x=6 (row 3, 4.5 away; x=3 is 3 away);
    # then from {0, 6, 10.5}: x=3 (row 6, 3 away; x=2 is 2 away, x=10 is 0.5 away)
    got = query(LINE, y, 3, strategy="kcenter_input", preprocess=False)
    np.testing.assert_array_equal(got, [5, 3, 6])


def test_kcenter_input_with_nothing_labeled_starts_farthest_from_the_mean():
    # mean x = 32.5 / 7 = 4.64: farthest is 10.5 (row 5), then 0 (row 0), then 6 (row 3, 4.5 from 10.5)
    got = query(LINE, [None] * 7, 3, strategy="kcenter_input", preprocess=False)
    np.testing.assert_array_equal(got, [5, 0, 3])


def test_coreset_uses_the_hidden_layer_not_the_inputs():
    X = np.array([[0.0, 0.0], [100.0, 0.1], [1.0, 5.0], [2.0, 3.0]])
    y = np.array([0, np.nan, np.nan, np.nan])
    got = query(X, y, 2, strategy="coreset", model=HiddenModel())
    # hidden values 0, 0.1, 5, 3: farthest from 0 is row 2, then row 3 (2 from 5, 3 from 0)
    np.testing.assert_array_equal(got, [2, 3])
    assert query(X, y, 1, strategy="kcenter_input", preprocess=False).tolist() == [1]


MODEL_BASED = [s for s in available() if s not in ("random", "kcenter_input")]


@pytest.mark.parametrize("strategy", MODEL_BASED)
def test_cold_start_zero_labels_is_kcenter_on_inputs(strategy):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = [None] * 30
    expected = query(X, y, 5, strategy="kcenter_input")
    got = query(X, y, 5, strategy=strategy, random_state=1)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, query(X, y, 5, strategy=strategy, random_state=2))


@pytest.mark.parametrize("strategy", MODEL_BASED)
def test_one_class_falls_back_to_kcenter_with_labeled_centers(strategy):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 3))
    y = np.array(["a"] * 4 + [None] * 26, dtype=object)
    got = query(X, y, 5, strategy=strategy, random_state=0)
    np.testing.assert_array_equal(got, query(X, y, 5, strategy="kcenter_input"))
    assert not set(got) & {0, 1, 2, 3}


def test_a_fitted_model_is_used_even_with_one_labeled_class():
    X = np.array([[0.0, 0.0], [100.0, 0.1], [1.0, 5.0], [2.0, 3.0]])
    y = np.array([0, np.nan, np.nan, np.nan])  # one class, but the model is fitted: coreset proper
    np.testing.assert_array_equal(query(X, y, 2, strategy="coreset", model=HiddenModel()), [2, 3])
