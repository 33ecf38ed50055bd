"""dami_kmedoids: a full-matrix NumPy twin, a brute-force optimum, and the query contract."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dami_np import MLPClassifier, query
from dami_np.strategies import _kmedoids, make_context
from dami_np.strategies._kmedoids import dami_kmedoids, kmedoids


def naive_kmedoids(P, w, k, rng, max_iter=50):
    """Weighted k-medoids++ + alternating updates on the materialized n x n distance matrix."""
    D = np.sqrt(((P[:, None, :] - P[None, :, :]) ** 2).sum(axis=2))
    n = len(P)
    c = np.cumsum(w)
    medoids = [min(int(np.searchsorted(c, rng.random() * c[-1], side="right")), n - 1)]
    while len(medoids) < k:
        near = (D[:, medoids] ** 2).min(axis=1)
        mass = w * near
        if mass.sum() <= 0:
            break
        c = np.cumsum(mass)
        j = min(int(np.searchsorted(c, rng.random() * c[-1], side="right")), n - 1)
        while mass[j] <= 0:
            j -= 1
        medoids.append(j)
    for _ in range(max_iter):
        which = np.argmin(D[:, medoids], axis=1)
        moved = False
        for j, m in enumerate(medoids):
            members = np.flatnonzero(which == j)
            if members.size <= 1:
                continue
            cost = D[np.ix_(members, members)] @ w[members]
            best = members[np.argmin(cost)]
            if cost.min() < D[m, members] @ w[members] and best not in medoids:
                medoids[j], moved = int(best), True
        if not moved:
            break
    return np.array(medoids)


def cost(P, w, medoids):
    D = np.sqrt(((P[:, None, :] - P[None, medoids, :]) ** 2).sum(axis=2))
    return float(D.min(axis=1) @ w)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_full_matrix_twin(seed):
    rng = np.random.default_rng(seed)
    P = rng.normal(size=(150, 5))
    w = rng.integers(1, 4, size=150).astype(float)
    got = kmedoids(P, w, 7, np.random.default_rng(seed + 10))
    np.testing.assert_array_equal(got, naive_kmedoids(P, w, 7, np.random.default_rng(seed + 10)))


def test_chunked_distances_give_the_same_medoids(monkeypatch):
    rng = np.random.default_rng(3)
    P, w = rng.normal(size=(200, 4)), np.ones(200)
    expected = kmedoids(P, w, 6, np.random.default_rng(5))
    monkeypatch.setattr(_kmedoids, "_CHUNK_ELEMENTS", 7)
    np.testing.assert_array_equal(kmedoids(P, w, 6, np.random.default_rng(5)), expected)


def test_reaches_the_brute_force_optimum_on_separated_clusters():
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    P = np.concatenate([c + rng.normal(scale=0.5, size=(5, 2)) for c in centers])
    w = np.ones(len(P))
    best = min(itertools.combinations(range(len(P)), 3), key=lambda m: cost(P, w, list(m)))
    for s in range(5):
        got = kmedoids(P, w, 3, np.random.default_rng(s))
        assert sorted(got.tolist()) == sorted(best)


def test_weights_pull_the_medoid():
    P = np.array([[0.0], [1.0], [2.0], [3.0]])
    for s in range(4):  # 1 and 2 both cost 4 (a tie keeps the current medoid); 0 and 3 cost 6
        assert kmedoids(P, np.ones(4), 1, np.random.default_rng(s))[0] in (1, 2)
        assert kmedoids(P, np.array([1.0, 1.0, 1.0, 10.0]), 1, np.random.default_rng(s))[0] == 3


def test_candidate_sampling_never_increases_the_cost():
    rng = np.random.default_rng(4)
    P, w = rng.normal(size=(300, 3)), np.ones(300)
    exact = kmedoids(P, w, 2, np.random.default_rng(1))
    sampled = kmedoids(P, w, 2, np.random.default_rng(1), max_candidates=10)
    seeds_only = kmedoids(P, w, 2, np.random.default_rng(1), max_iter=0)
    assert cost(P, w, sampled) <= cost(P, w, seeds_only) + 1e-9
    assert cost(P, w, exact) <= cost(P, w, seeds_only) + 1e-9
    assert len(set(sampled.tolist())) == 2


def fitted_problem(seed=0, n=140, d=4, hidden=(12,)):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 1)
    yq = y.astype(float)
    yq[25:] = np.nan
    model = MLPClassifier(hidden, dtype="float64", max_iter=60, random_state=seed).fit(X[:25], y[:25])
    return X, yq, model


def test_strategy_equals_the_twin_on_independently_computed_representations():
    X, yq, model = fitted_problem(seed=1)
    picks = dami_kmedoids(make_context(X, yq, model=model, preprocess=False), 9, np.random.default_rng(2))
    picks = np.asarray(getattr(picks, "positions", picks))
    unlabeled = np.flatnonzero(np.isnan(yq))
    W, b = model.local_linear(X[unlabeled])
    R = np.concatenate([np.asarray(W).reshape(len(unlabeled), -1), np.asarray(b)], axis=1)
    _, first, inverse = np.unique(R, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)  # groups by first row
    counts = np.bincount(inverse.ravel())[order]
    expected = unlabeled[first[order][naive_kmedoids(R[first[order]], counts.astype(float), 9, np.random.default_rng(2))]]
    np.testing.assert_array_equal(picks, expected)


def test_query_picks_unique_unlabeled_and_reproducible():
    X, yq, model = fitted_problem(seed=2)
    a = query(X, yq, 20, strategy="dami_kmedoids", model=model, random_state=3)
    assert len(set(a.tolist())) == 20 and np.isnan(yq[a]).all()
    np.testing.assert_array_equal(a, query(X, yq, 20, strategy="dami_kmedoids", model=model, random_state=3))
    assert not np.array_equal(np.sort(a), np.sort(query(X, yq, 20, strategy="dami_kmedoids", model=model, random_state=4)))


def test_fewer_regions_than_the_budget_fill_in_row_order():
    X, yq, model = fitted_problem(seed=0, hidden=(1,))  # one ReLU: at most two regions
    a = query(X, yq, 6, strategy="dami_kmedoids", model=model, random_state=0)
    unlabeled = np.flatnonzero(np.isnan(yq))
    assert len(set(a.tolist())) == 6 and np.isnan(yq[a]).all()
    regions = np.unique(model.activation_patterns(X[unlabeled]), axis=0).shape[0]
    assert regions <= 2
    rest = [p for p in a[regions:]]
    assert rest == sorted(rest) and set(rest) <= set(unlabeled[: 6 + regions].tolist())


def test_bad_options_are_rejected():
    X, yq, model = fitted_problem()
    with pytest.raises(ValueError, match="max_candidates"):
        query(X, yq, 3, strategy="dami_kmedoids", model=model, max_candidates=0)
