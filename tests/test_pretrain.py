"""Issue 29 candidates: SCARF-style pre-training, calibrated self-training, logit ensembles (``PoolLearner``)."""

from __future__ import annotations

import numpy as np
import pytest

from dami_np import MLPClassifier
from dami_np._ensemble import merge_members
from dami_np._mlp_math import ParamLayout, glorot_init
from dami_np._pool_learner import PoolLearner, _derived
from dami_np._pretrain import corrupt, denoising_loss_and_grad, pretrain_hidden_layer
from dami_np._self_training import fit_temperature, pick_pseudo_labels


def _blobs(n=240, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(classes, d))
    y = np.arange(n) % classes
    X = centers[y] + rng.normal(size=(n, d))
    return X, y


def _labeled(y, per_class=4):
    return np.concatenate([np.flatnonzero(y == c)[:per_class] for c in np.unique(y)])


# ---------------------------------------------------------------------- pre-training loss
def test_denoising_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(9, 5))
    Xc = corrupt(X, rng.normal(size=(30, 5)), 0.6, rng)
    layout = ParamLayout([5, 7, 5])
    flat = glorot_init(layout, rng, np.dtype(np.float64))
    grad = np.empty_like(flat)
    denoising_loss_and_grad(flat, layout, Xc, X, grad)
    numeric = np.empty_like(flat)
    eps = 1e-6
    for i in range(flat.size):
        up, down = flat.copy(), flat.copy()
        up[i] += eps
        down[i] -= eps
        g = np.empty_like(flat)
        numeric[i] = (denoising_loss_and_grad(up, layout, Xc, X, g) - denoising_loss_and_grad(down, layout, Xc, X, g)) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_corruption_keeps_each_value_on_its_column():
    rng = np.random.default_rng(2)
    pool = np.arange(40.0).reshape(8, 5)  # every value tells its column: value % 5
    out = corrupt(pool[:3], pool, 0.6, rng)
    assert np.array_equal(out % 5, np.tile(np.arange(5.0), (3, 1)))
    assert not np.array_equal(out, pool[:3])


def test_pretraining_lowers_the_loss_and_is_deterministic():
    X, _ = _blobs()
    W1, b1, losses = pretrain_hidden_layer(X, 16, seed=4, steps=200, batch_size=32)
    W2, b2, _ = pretrain_hidden_layer(X, 16, seed=4, steps=200, batch_size=32)
    W3, _, _ = pretrain_hidden_layer(X, 16, seed=5, steps=200, batch_size=32)
    assert np.mean(losses[-20:]) < 0.8 * np.mean(losses[:20])
    assert np.array_equal(W1, W2) and np.array_equal(b1, b2)
    assert not np.array_equal(W1, W3)


# ---------------------------------------------------------------------- self-training pieces
def test_temperature_fixes_overconfident_logits():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    logits = np.where(rng.random(400) < 0.75, y, 1 - y)[:, None] * np.array([[-1.0, 1.0]]) * 10  # 75% right, sure
    logits = logits + np.array([[5.0, -5.0]])
    assert fit_temperature(logits, y) > 3.0


def test_pseudo_labels_obey_threshold_and_class_caps():
    logits = np.array([[9.0, 0], [8.0, 0], [7.0, 0], [0, 9.0], [0.1, 0], [0, 0.1]])
    rows, cls = pick_pseudo_labels(logits, 1.0, np.array([1, 1]), threshold=0.9, ratio=2.0)
    assert rows.tolist() == [0, 1, 3] and cls.tolist() == [0, 0, 1]  # row 2 over class 0's cap; 4, 5 unsure
    rows, _ = pick_pseudo_labels(logits, 1.0, np.array([0, 3]), threshold=0.9, ratio=2.0)
    assert rows.tolist() == [3]  # no pseudo-labels for a class without labels


def test_self_training_never_pseudo_labels_a_labeled_row():
    X, y = _blobs()
    lab = _labeled(y)
    learner = PoolLearner("self_training", pool=X[lab], random_state=0).fit(X[lab], y[lab])
    assert learner.info_["pseudo_labels"] == 0
    learner = PoolLearner("self_training", pool=X, random_state=0).fit(X[lab], y[lab])
    assert 0 < learner.info_["pseudo_labels"] <= 2 * lab.size


# ---------------------------------------------------------------------- the learners
@pytest.mark.parametrize("kind", ["pretrain", "self_training", "ensemble"])
def test_learner_is_deterministic_and_explains_its_own_network_exactly(kind):
    X, y = _blobs()
    lab = _labeled(y)
    opts = {"pretrain_steps": 100} if kind == "pretrain" else {}
    a = PoolLearner(kind, pool=X, random_state=7, **opts).fit(X[lab], y[lab], classes=[0, 1, 2])
    b = PoolLearner(kind, pool=X, random_state=7, **opts).fit(X[lab], y[lab], classes=[0, 1, 2])
    c = PoolLearner(kind, pool=X, random_state=8, **opts).fit(X[lab], y[lab], classes=[0, 1, 2])
    assert isinstance(a.network_, MLPClassifier)
    assert all(np.array_equal(u, v) for u, v in zip(a.network_.coefs_, b.network_.coefs_))
    assert not np.array_equal(a.network_.coefs_[0], c.network_.coefs_[0])
    W, bias = a.local_linear(X)
    Xf = X.astype(np.float32)
    np.testing.assert_allclose(np.einsum("ncd,nd->nc", W, Xf) + bias, a.logits(X), rtol=1e-4, atol=1e-4)
    assert np.array_equal(a.predict(X), a.network_.predict(X))
    assert a.predict_proba(X).shape == (len(X), 3)


def test_ensemble_network_averages_the_members_logits():
    X, y = _blobs()
    lab = _labeled(y)
    members = [MLPClassifier(random_state=s).fit(X[lab], y[lab]) for s in (0, 1, 2)]
    merged = merge_members(members, {})
    mean = np.mean([m.logits(X) for m in members], axis=0)
    np.testing.assert_allclose(merged.logits(X), mean, rtol=1e-5, atol=1e-5)
    W, _ = merged.local_linear(X[:5])
    Wm = np.mean([m.local_linear(X[:5])[0] for m in members], axis=0)
    np.testing.assert_allclose(W, Wm, rtol=1e-5, atol=1e-6)


def test_ensemble_of_one_is_todays_model():
    X, y = _blobs()
    lab = _labeled(y)
    one = PoolLearner("ensemble", n_members=1, random_state=5).fit(X[lab], y[lab])
    today = MLPClassifier(random_state=5).fit(X[lab], y[lab])
    assert np.array_equal(one.network_.coefs_[0], today.coefs_[0])


def test_pretrain_from_a_given_encoder_equals_pretraining_from_the_pool():
    """The benchmark pre-trains once per pool and passes the encoder: it must be the same network."""
    X, y = _blobs()
    lab = _labeled(y)
    from_pool = PoolLearner("pretrain", pool=X, random_state=3, pretrain_steps=50).fit(X[lab], y[lab])
    W, b, _ = pretrain_hidden_layer(X, 100, seed=_derived(3, 5), steps=50)
    given = PoolLearner("pretrain", encoder=(W, b), random_state=3).fit(X[lab], y[lab])
    assert all(np.array_equal(u, v) for u, v in zip(from_pool.network_.coefs_, given.network_.coefs_))
    assert not given.network_.warm_start


def test_self_training_with_one_label_per_class():
    """Found on letter (26 classes, 20 labels): the second fold is empty; that must not fail."""
    X, y = _blobs(classes=6)
    lab = np.array([np.flatnonzero(y == c)[0] for c in range(6)])
    learner = PoolLearner("self_training", pool=X, random_state=1).fit(X[lab], y[lab], classes=np.arange(8))
    assert learner.predict_proba(X).shape == (len(X), 8)


def test_string_labels_survive_self_training():
    X, y = _blobs()
    names = np.array(["ant", "bee", "cat"])[y]
    lab = _labeled(y)
    learner = PoolLearner("self_training", pool=X, random_state=0).fit(X[lab], names[lab])
    assert set(learner.predict(X)) <= {"ant", "bee", "cat"}
    assert learner.classes_.tolist() == ["ant", "bee", "cat"]


@pytest.mark.parametrize("kwargs, match", [
    ({"kind": "magic"}, "kind must be one of"),
    ({"kind": "self_training"}, "needs pool="),
    ({"kind": "pretrain", "pool": np.zeros((5, 2))}, "pool has 2 columns but X has 6"),
    ({"kind": "ensemble", "random_state": -1}, "random_state must be an int >= 0"),
])
def test_bad_settings_are_one_clear_error(kwargs, match):
    X, y = _blobs()
    kind = kwargs.pop("kind")
    with pytest.raises(ValueError, match=match):
        PoolLearner(kind, **kwargs).fit(X[:12], y[:12])
