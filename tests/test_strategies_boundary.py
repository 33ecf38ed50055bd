"""boundary / dami_margin / dami_boundary (issue 8) against independent computations."""

from __future__ import annotations

import numpy as np
import pytest

import dami_np
from dami_np import MLPClassifier
from dami_np.strategies import boundary_distances, dami_select, margins


def _problem(seed: int = 0, n: int = 150, d: int = 4, classes: int = 3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (np.digitize(X[:, 0] + 0.5 * X[:, 1] * X[:, 2], [-0.5, 0.5])).astype(float)[:, None].ravel() % classes
    y_masked = y.astype(object)
    y_masked[40:] = None
    model = MLPClassifier(hidden_layer_sizes=(12, 8), max_iter=150, dtype="float64", random_state=seed)
    model.fit(X[:40], y[:40])
    return X, y_masked, model


def _naive_boundary(model: MLPClassifier, x: np.ndarray) -> float:
    """Jacobian by explicit diagonal masks, then the top-two hyperplane distance."""
    a, masks = x, []
    for W, b in zip(model.coefs_[:-1], model.intercepts_[:-1]):
        z = a @ W + b
        masks.append(np.diag((z > 0).astype(float)))
        a = np.maximum(z, 0)
    J = model.coefs_[0].T
    for mask, W in zip(masks[:-1], model.coefs_[1:-1]):
        J = W.T @ mask @ J
    J = model.coefs_[-1].T @ masks[-1] @ J
    logits = model.logits(x[None])[0]
    i, j = np.argsort(-logits, kind="stable")[:2]
    return (logits[i] - logits[j]) / np.linalg.norm(J[i] - J[j])


def test_boundary_distances_match_naive_jacobians():
    X, _, model = _problem()
    got = boundary_distances(model, X, chunk_rows=7)
    want = np.array([_naive_boundary(model, x) for x in X])
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert (got >= 0).all()


def test_stepping_the_boundary_distance_reaches_the_boundary_inside_the_region():
    X, _, model = _problem(seed=1)
    W, _ = model.local_linear(X)
    logits = model.logits(X)
    dist = boundary_distances(model, X)
    checked = 0
    for r in range(X.shape[0]):
        i, j = np.argsort(-logits[r], kind="stable")[:2]
        normal = W[r, i] - W[r, j]
        target = X[r] - dist[r] * normal / np.linalg.norm(normal)
        if not np.array_equal(model.activation_patterns(target[None]), model.activation_patterns(X[r : r + 1])):
            continue  # the hyperplane lies beyond this row's linear region
        moved = model.logits(target[None])[0]
        assert moved[i] == pytest.approx(moved[j], abs=1e-8)
        checked += 1
    assert checked >= 10


def test_boundary_picks_the_smallest_distances():
    X, y, model = _problem(seed=2)
    picks = dami_np.query(X, y, 6, strategy="boundary", model=model)
    unlabeled = np.arange(40, len(X))
    dist = boundary_distances(model, X[unlabeled])
    np.testing.assert_array_equal(picks, unlabeled[np.argsort(dist, kind="stable")[:6]])


def test_hybrids_pick_within_their_candidates_and_spread_with_dami():
    X, y, model = _problem(seed=3)
    unlabeled = np.arange(40, len(X))
    proba = model.predict_proba(X[unlabeled])
    pool = np.sort(unlabeled[np.argsort(margins(proba), kind="stable")[:15]])
    picks = dami_np.query(X, y, 5, strategy="dami_margin", model=model, candidate_multiple=3)
    assert set(picks) <= set(pool)
    labeled = np.zeros(len(X), bool)
    labeled[:40] = True
    np.testing.assert_array_equal(picks, dami_select(model, X, labeled, 5, candidates=pool).positions)

    dist = boundary_distances(model, X[unlabeled])
    pool_b = np.sort(unlabeled[np.argsort(dist, kind="stable")[:10]])
    picks_b = dami_np.query(X, y, 5, strategy="dami_boundary", model=model, candidate_multiple=2)
    np.testing.assert_array_equal(picks_b, dami_select(model, X, labeled, 5, candidates=pool_b).positions)


def test_hybrid_limits_are_the_filter_and_plain_dami():
    X, y, model = _problem(seed=4)
    only_margin = dami_np.query(X, y, 5, strategy="dami_margin", model=model, candidate_multiple=1)
    assert sorted(only_margin) == sorted(dami_np.query(X, y, 5, strategy="margin", model=model))
    everything = dami_np.query(X, y, 5, strategy="dami_margin", model=model, candidate_multiple=1000)
    np.testing.assert_array_equal(everything, dami_np.query(X, y, 5, strategy="dami", model=model))


@pytest.mark.parametrize("bad", [0, 0.5, -2, "5", True])
def test_bad_candidate_multiple_is_a_clear_error(bad):
    X, y, model = _problem()
    with pytest.raises(ValueError, match="candidate_multiple must be a finite number >= 1"):
        dami_np.query(X, y, 3, strategy="dami_margin", model=model, candidate_multiple=bad)


def test_flat_region_has_infinite_distance():
    X, y, model = _problem()
    dead = MLPClassifier(hidden_layer_sizes=(3,), max_iter=1, dtype="float64", random_state=0).fit(X[:40], np.asarray(y[:40], float))
    dead.coefs_[0][:] = 0.0
    dead.intercepts_[0][:] = -1.0  # every ReLU off: logits are the output bias everywhere
    dead.intercepts_[1][:] = np.arange(dead.intercepts_[1].size, dtype=float)
    assert np.isinf(boundary_distances(dead, X[:5])).all()
