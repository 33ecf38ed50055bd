"""dami_weighted: a materialized NumPy twin, hand-checkable first pick, the query contract."""

from __future__ import annotations

import numpy as np
import pytest

from dami_np import MLPClassifier, query
from dami_np.strategies import make_context
from dami_np.strategies._dami_weighted import dami_weighted, weighted_kmeanspp


def naive_weighted(S, budget, rng):
    """k-means++ seeding of the materialized rows of S (first: largest norm), D^2 sampling."""
    n = len(S)
    picks = [int(np.argmax((S**2).sum(axis=1)))]
    nearest = np.full(n, np.inf)
    while len(picks) < budget:
        nearest = np.minimum(nearest, ((S - S[picks[-1]]) ** 2).sum(axis=1))
        nearest[picks] = 0.0
        c = np.cumsum(nearest)
        picks.append(int(np.searchsorted(c, rng.random() * c[-1], side="right")))
    return np.array(picks)


def fitted_problem(seed=0, n=150, d=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 1)
    yq = y.astype(float)
    yq[25:] = np.nan
    model = MLPClassifier((12,), dtype="float64", max_iter=60, random_state=seed).fit(X[:25], y[:25])
    return X, yq, model


def twin_picks(X, yq, model, budget, rng):
    unlabeled = np.flatnonzero(np.isnan(yq))
    W, b = model.local_linear(X[unlabeled])
    R = np.concatenate([np.asarray(W).reshape(len(unlabeled), -1), np.asarray(b)], axis=1)
    p = np.sort(model.predict_proba(X[unlabeled]), axis=1)
    u = 1.0 - (p[:, -1] - p[:, -2])
    return unlabeled[naive_weighted(u[:, None] * R, budget, rng)]


def positions(result):
    return np.asarray(getattr(result, "positions", result))


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_the_materialized_twin(seed):
    X, yq, model = fitted_problem(seed)
    got = positions(dami_weighted(make_context(X, yq, model=model, preprocess=False), 15, np.random.default_rng(7)))
    np.testing.assert_array_equal(got, twin_picks(X, yq, model, 15, np.random.default_rng(7)))


def test_streamed_representations_give_the_same_picks():
    X, yq, model = fitted_problem(2)
    ctx = lambda: make_context(X, yq, model=model, preprocess=False)  # noqa: E731
    full = positions(dami_weighted(ctx(), 12, np.random.default_rng(1)))
    streamed = positions(dami_weighted(ctx(), 12, np.random.default_rng(1), memory_budget=64))
    np.testing.assert_array_equal(streamed, full)


def test_first_pick_is_the_largest_scaled_norm_by_hand():
    # groups: r_0 = (3, 0), r_1 = (0, 1); rows 0,1 in group 0 with u = 0.1, 0.2; row 2 in group 1 with u = 0.9
    R = np.array([[3.0, 0.0], [0.0, 1.0]])
    q = (R**2).sum(axis=1)
    group = np.array([0, 0, 1])
    u = np.array([0.1, 0.2, 0.9])  # scaled norms 0.3, 0.6, 0.9 -> row 2 first
    picks = weighted_kmeanspp(lambda g: R @ R[g], q, group, u, 3, np.random.default_rng(0))
    assert picks[0] == 2 and sorted(picks.tolist()) == [0, 1, 2]


def test_zero_distance_rows_are_taken_in_row_order_and_never_twice():
    R = np.array([[1.0, 1.0]])
    picks = weighted_kmeanspp(lambda g: R @ R[g], np.array([2.0]), np.zeros(5, dtype=int), np.full(5, 0.5), 4,
                              np.random.default_rng(0))
    np.testing.assert_array_equal(picks, [0, 1, 2, 3])


def test_certain_rows_are_rarely_picked():
    # a confident row (u ~ 0) sits near the origin of the scaled space: D^2 gives it little mass
    X, yq, model = fitted_problem(3)
    unlabeled = np.flatnonzero(np.isnan(yq))
    p = np.sort(model.predict_proba(X[unlabeled]), axis=1)
    u = 1.0 - (p[:, -1] - p[:, -2])
    picks = query(X, yq, 20, strategy="dami_weighted", model=model, random_state=0)
    picked_u = u[np.searchsorted(unlabeled, picks)]
    assert picked_u.mean() > u.mean()


def test_query_picks_unique_unlabeled_and_reproducible():
    X, yq, model = fitted_problem(4)
    a = query(X, yq, 25, strategy="dami_weighted", model=model, random_state=3)
    assert len(set(a.tolist())) == 25 and np.isnan(yq[a]).all()
    np.testing.assert_array_equal(a, query(X, yq, 25, strategy="dami_weighted", model=model, random_state=3))
    assert not np.array_equal(a, query(X, yq, 25, strategy="dami_weighted", model=model, random_state=4))


def test_bad_memory_budget_is_rejected():
    X, yq, model = fitted_problem()
    with pytest.raises(ValueError, match="memory_budget"):
        query(X, yq, 3, strategy="dami_weighted", model=model, memory_budget=0)
