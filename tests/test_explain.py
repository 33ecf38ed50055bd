"""Explanations name the strongest features of a row's local linear model."""

import numpy as np
import pytest

from dami_np._explain import eligible_features, top_features


def test_top_features_orders_by_absolute_weight_and_keeps_ties_in_feature_order():
    weights = np.array([[0.1, -2.0, 1.5, 2.0], [1.0, 1.0, 1.0, 0.0]])
    names = ["a", "b", "c", "d"]
    assert top_features(weights, names, top=3) == ["b -2, d +2, c +1.5", "a +1, b +1, c +1"]


def test_categorical_levels_only_speak_for_rows_that_have_them():
    names = ["age", "color=red", "color=blue", "income=<missing>"]
    sources = ["age", "color", "color", "income"]
    features = np.array([[0.3, 1.0, 0.0, 0.0], [-1.2, 0.0, 1.0, 1.0]])
    eligible = eligible_features(features, names, sources)
    assert eligible.tolist() == [[True, True, False, False], [True, False, True, True]]
    weights = np.array([[0.5, -0.2, 9.0, 7.0], [0.5, -9.0, 0.1, -3.0]])
    assert top_features(weights, names, eligible=eligible, top=2) == [
        "age +0.5, color=red -0.2",
        "income=<missing> -3, age +0.5",
    ]


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        top_features(np.zeros((1, 3)), ["a", "b"])
