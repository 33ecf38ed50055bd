"""Uncertainty sampling and random sampling on hand-checkable cases (fake model: X rows are probabilities)."""

from __future__ import annotations

import numpy as np
import pytest

from dami_np import query


class ProbaModel:
    """Fitted fake classifier whose probabilities are the rows of X itself."""

    def __init__(self, n_classes: int) -> None:
        self.classes_ = np.arange(n_classes)
        self.n_features_in_ = n_classes
        self.coefs_ = [np.zeros((n_classes, n_classes))]

    def predict_proba(self, X):
        return np.asarray(X, dtype=np.float64)


P = np.array(
    [
        [0.90, 0.05, 0.05],  # 0 labeled
        [0.40, 0.35, 0.25],  # 1 margin 0.05, max 0.40
        [0.34, 0.33, 0.33],  # 2 max 0.34, margin 0.01, highest entropy
        [0.50, 0.50, 0.00],  # 3 margin 0.00, max 0.50, entropy ln 2
        [0.98, 0.01, 0.01],  # 4 confident
        [0.60, 0.30, 0.10],  # 5
        [0.50, 0.50, 0.00],  # 6 exact tie with row 3
    ]
)
Y = np.array([0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan])


@pytest.mark.parametrize(
    "strategy, expected",
    [
        ("margin", [3, 6, 2, 1, 5, 4]),  # ties (rows 3 and 6) -> lowest index first
        ("least_confidence", [2, 1, 3, 6, 5, 4]),
        ("entropy", [2, 1, 5, 3, 6, 4]),
    ],
)
def test_uncertainty_order_by_hand(strategy, expected):
    got = query(P, Y, 6, strategy=strategy, model=ProbaModel(3))
    np.testing.assert_array_equal(got, expected)


def test_margin_picks_the_row_closest_to_the_boundary_first():
    got = query(P, Y, 1, strategy="margin", model=ProbaModel(3))
    assert got.tolist() == [3]


def test_labeled_rows_are_never_picked_even_when_most_uncertain():
    y = np.array([np.nan, np.nan, 1, 0, np.nan, np.nan, np.nan])  # rows 2 and 3 labeled
    got = query(P, y, 3, strategy="margin", model=ProbaModel(3))
    np.testing.assert_array_equal(got, [6, 1, 5])


def test_random_is_rng_choice_of_the_unlabeled_rows():
    X = np.arange(40, dtype=float).reshape(20, 2)
    y = np.full(20, np.nan)
    y[[0, 5, 7]] = [0, 1, 0]
    got = query(X, y, 6, strategy="random", random_state=42)
    unlabeled = np.flatnonzero(np.isnan(y))
    np.testing.assert_array_equal(got, np.random.default_rng(42).choice(unlabeled, size=6, replace=False))
    np.testing.assert_array_equal(got, query(X, y, 6, strategy="random", random_state=42))
    assert not np.array_equal(got, query(X, y, 6, strategy="random", random_state=43))


def test_random_needs_no_model_and_stays_random_at_cold_start():
    X = np.arange(40, dtype=float).reshape(20, 2)
    got = query(X, [None] * 20, 5, strategy="random", random_state=0)
    np.testing.assert_array_equal(got, np.random.default_rng(0).choice(20, size=5, replace=False))
