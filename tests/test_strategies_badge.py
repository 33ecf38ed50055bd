"""BADGE: factorized distances equal the materialized gradient embedding; hand-checkable first pick."""

from __future__ import annotations

import numpy as np

from dami_np import MLPClassifier, query
from dami_np.strategies import badge_select, gradient_factors, make_context


def naive_badge(g, budget, rng):
    """k-means++ seeding on the materialized embedding, D^2 sampling with the same draws."""
    n = len(g)
    first = int(np.argmax((g**2).sum(axis=1)))
    picks, nearest = [first], np.full(n, np.inf)
    while len(picks) < budget:
        nearest = np.minimum(nearest, ((g - g[picks[-1]]) ** 2).sum(axis=1))
        nearest[picks] = 0.0
        cumulative = np.cumsum(nearest)
        picks.append(int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")))
    return np.array(picks)


def fitted_problem(seed=0, n=120, d=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 1)
    yq = y.astype(float)
    yq[20:] = np.nan
    model = MLPClassifier((16,), dtype="float64", max_iter=40, random_state=seed).fit(X[:20], y[:20])
    return X, yq, model


def test_factorized_distances_match_the_materialized_embedding():
    X, yq, model = fitted_problem()
    u, h = gradient_factors(make_context(X, yq, model=model))
    g = (u[:, :, None] * h[:, None, :]).reshape(len(u), -1)
    assert g.shape[1] == u.shape[1] * 16
    expected = naive_badge(g, 15, np.random.default_rng(7))
    np.testing.assert_array_equal(badge_select(u, h, 15, np.random.default_rng(7)), expected)


def test_badge_query_picks_unlabeled_unique_and_reproducible():
    X, yq, model = fitted_problem(seed=1)
    a = query(X, yq, 25, strategy="badge", model=model, random_state=3)
    assert len(set(a)) == 25 and np.isnan(yq[a]).all()
    np.testing.assert_array_equal(a, query(X, yq, 25, strategy="badge", model=model, random_state=3))
    assert not np.array_equal(a, query(X, yq, 25, strategy="badge", model=model, random_state=4))


def test_first_pick_is_the_largest_gradient_norm_by_hand():
    # u = p - onehot(argmax p): rows 0 and 2 have |u| = sqrt(0.08), row 1 sqrt(0.02)
    u = np.array([[-0.2, 0.2], [-0.1, 0.1], [0.2, -0.2]])
    h = np.array([[1.0, 0.0], [9.0, 0.0], [0.0, 2.0]])  # norms 1, 9, 2 -> |g|^2 = 0.08, 1.62, 0.32
    picks = badge_select(u, h, 3, np.random.default_rng(0))
    assert picks[0] == 1 and sorted(picks) == [0, 1, 2]


def test_zero_distance_rows_are_taken_in_row_order_and_never_twice():
    u = np.tile([[-0.3, 0.3]], (5, 1))
    h = np.ones((5, 2))  # all gradient embeddings equal
    np.testing.assert_array_equal(badge_select(u, h, 4, np.random.default_rng(0)), [0, 1, 2, 3])
