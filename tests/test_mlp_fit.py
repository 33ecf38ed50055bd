"""Training behaviour of MLPClassifier: learning, reference accuracy, determinism, warm start, params, labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dami_np import MLPClassifier
from dami_np._mlp import _stratified_split
from dami_np._mlp_math import ParamLayout, glorot_init

DATA = Path(__file__).resolve().parents[1] / "dami_np" / "datasets" / "data"


def _moons(n: int, seed: int, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half-moons (not linearly separable)."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    y = rng.integers(0, 2, n)
    X = np.where(y[:, None] == 0, np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return X + noise * rng.standard_normal((n, 2)), y


def _blobs(n: int = 200, d: int = 5, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    centers = rng.standard_normal((k, d)) * 3
    return centers[y] + rng.standard_normal((n, d)), y


def test_learns_half_moons():
    X, y = _moons(1000, seed=0)
    Xte, yte = _moons(1000, seed=1)
    linear = MLPClassifier((), max_iter=200, random_state=0).fit(X, y).score(Xte, yte)
    model = MLPClassifier((64, 64), max_iter=300, learning_rate_init=3e-3, random_state=0).fit(X, y)
    acc = model.score(Xte, yte)
    assert acc >= 0.95, acc
    assert linear < 0.92  # the problem really needs the hidden layers


def test_learns_xor():
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (1200, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    model = MLPClassifier((32,), max_iter=300, learning_rate_init=5e-3, random_state=0).fit(X[:800], y[:800])
    assert model.score(X[800:], y[800:]) >= 0.95


# --- real data vs scikit-learn --------------------------------------------------------------
# Reference: mean test accuracy of sklearn.neural_network.MLPClassifier (scikit-learn 1.9.1) over
# random_state 0, 1, 2 with hidden_layer_sizes=(100,), alpha=1e-4, batch_size=64,
# learning_rate_init=1e-3, max_iter=200, tol=1e-4, n_iter_no_change=10, on the split and
# standardization below.  Produced by (scikit-learn installed temporarily, not a dependency):
#     pip install scikit-learn && python bench/reference_sklearn_mlp.py
# which printed
#     segment  sklearn mean=0.9644 [0.9625, 0.9683, 0.9625]   dami_np mean=0.9673
#     wdbc     sklearn mean=0.9591 [0.9591, 0.9649, 0.9532]   dami_np mean=0.9532
#     vehicle  sklearn mean=0.8150 [0.815, 0.815, 0.815]      dami_np mean=0.8176
SKLEARN_REFERENCE = {"segment": 0.9644, "wdbc": 0.9591, "vehicle": 0.8150}


def _split(y: np.ndarray, test_fraction: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Same stratified split as bench/reference_sklearn_mlp.py::_split."""
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        test.append(idx[: int(round(test_fraction * idx.size))])
    test_idx = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(y.size), test_idx), test_idx


@pytest.mark.parametrize("name", sorted(SKLEARN_REFERENCE))
def test_real_data_matches_sklearn_reference(name):
    df = pd.read_csv(DATA / f"{name}.csv.gz")
    X = df.drop(columns="class").to_numpy(dtype=np.float64)
    y = df["class"].astype(str).to_numpy()
    tr, te = _split(y)
    mean, std = X[tr].mean(axis=0), X[tr].std(axis=0)
    std[std == 0] = 1.0
    X = (X - mean) / std
    accs = [
        MLPClassifier((100,), alpha=1e-4, batch_size=64, learning_rate_init=1e-3, max_iter=200, tol=1e-4,
                      n_iter_no_change=10, random_state=seed).fit(X[tr], y[tr]).score(X[te], y[te])
        for seed in (0, 1, 2)
    ]
    assert abs(np.mean(accs) - SKLEARN_REFERENCE[name]) <= 0.02, (np.mean(accs), accs)


# --- determinism -------------------------------------------------------------------------------
@pytest.mark.parametrize("early_stopping", [False, True])
def test_same_seed_same_weights_bit_for_bit(early_stopping):
    X, y = _blobs()
    kw = dict(max_iter=15, early_stopping=early_stopping, random_state=42)
    a = MLPClassifier((16, 8), **kw).fit(X, y)
    b = MLPClassifier((16, 8), **kw).fit(X, y)
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert wa.tobytes() == wb.tobytes()
    assert a.loss_curve_ == b.loss_curve_


def test_different_seeds_differ():
    X, y = _blobs()
    a = MLPClassifier((16,), max_iter=5, random_state=0).fit(X, y)
    b = MLPClassifier((16,), max_iter=5, random_state=1).fit(X, y)
    assert not np.array_equal(a.coefs_[0], b.coefs_[0])


def test_generator_random_state_is_consumed():
    X, y = _blobs()
    rng = np.random.default_rng(0)
    model = MLPClassifier((8,), max_iter=3, random_state=rng)
    w1 = model.fit(X, y).coefs_[0].copy()
    w2 = model.fit(X, y).coefs_[0].copy()
    assert not np.array_equal(w1, w2)


# --- stopping, early stopping, warm start -------------------------------------------------------
def test_runs_all_epochs_with_tol_zero_and_stops_early_with_tol():
    X, y = _blobs()
    full = MLPClassifier((8,), max_iter=40, tol=0.0, n_iter_no_change=1000, random_state=0).fit(X, y)
    assert full.n_iter_ == 40 and len(full.loss_curve_) == 40
    assert full.loss_ == full.loss_curve_[-1] and full.best_loss_ == min(full.loss_curve_)
    assert full.validation_scores_ is None and full.best_validation_score_ is None
    lazy = MLPClassifier((8,), max_iter=500, tol=10.0, n_iter_no_change=2, random_state=0).fit(X, y)
    # epoch 1 sets the best loss; epochs 2..4 fail to improve it by 10; stop once the count exceeds 2
    assert lazy.n_iter_ == 4


def test_loss_decreases():
    X, y = _moons(400, seed=2)
    model = MLPClassifier((32,), max_iter=50, tol=0.0, random_state=0).fit(X, y)
    assert model.loss_curve_[-1] < 0.5 * model.loss_curve_[0]


def test_early_stopping_restores_best_weights():
    X, y = _moons(300, seed=4, noise=0.3)
    seed, frac = 7, 0.2
    model = MLPClassifier((64,), max_iter=60, early_stopping=True, validation_fraction=frac, n_iter_no_change=5,
                          learning_rate_init=1e-2, random_state=seed).fit(X, y)
    scores = model.validation_scores_
    assert len(scores) == model.n_iter_ == len(model.loss_curve_)
    assert model.best_validation_score_ == max(scores)
    # rebuild the internal split (same rng stream: init first, then split) and check the kept weights
    rng = np.random.default_rng(seed)
    glorot_init(ParamLayout([2, 64, 2]), rng, np.dtype(np.float32))
    _, val = _stratified_split(y.astype(np.intp), frac, rng)
    assert model.score(X[val], y[val]) == pytest.approx(model.best_validation_score_)


def test_stratified_split_keeps_class_proportions():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    train, val = _stratified_split(y, 0.2, np.random.default_rng(0))
    assert len(val) == 20 and len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == 100
    np.testing.assert_array_equal(np.bincount(y[val]), [10, 6, 4])
    # a singleton class stays in the training part
    y = np.array([0] * 9 + [1])
    train, val = _stratified_split(y, 0.2, np.random.default_rng(0))
    assert 9 in train and len(val) == 2


def test_warm_start_continues():
    X, y = _moons(400, seed=5)
    model = MLPClassifier((32,), max_iter=10, tol=0.0, warm_start=True, random_state=0).fit(X, y)
    first = list(model.loss_curve_)
    w_before = model.coefs_[0].copy()
    model.fit(X, y)
    assert model.n_iter_ == 20 and model.loss_curve_[:10] == first
    assert model.loss_curve_[10] < first[0] and model.loss_curve_[-1] < first[-1]
    assert not np.array_equal(model.coefs_[0], w_before)
    cold = MLPClassifier((32,), max_iter=10, tol=0.0, random_state=0).fit(X, y)
    cold.fit(X, y)  # without warm_start a refit starts over
    assert cold.n_iter_ == 10 and cold.loss_curve_ == first


def test_warm_start_split_run_equals_one_long_run():
    """Without shuffling, 10 + 10 warm-started epochs == 20 epochs (weights and Adam state carry over)."""
    X, y = _moons(300, seed=8)
    kw = dict(tol=0.0, shuffle=False, dtype="float64", random_state=0)
    split = MLPClassifier((16,), max_iter=10, warm_start=True, **kw).fit(X, y).fit(X, y)
    whole = MLPClassifier((16,), max_iter=20, **kw).fit(X, y)
    assert split.loss_curve_ == whole.loss_curve_
    for a, b in zip(split.coefs_ + split.intercepts_, whole.coefs_ + whole.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_warm_start_reinitialises_when_shapes_change():
    X, y = _blobs()
    model = MLPClassifier((8,), max_iter=3, warm_start=True, random_state=0).fit(X, y)
    model.set_params(hidden_layer_sizes=(5,))
    with pytest.warns(UserWarning, match="re-initialising"):
        model.fit(X, y)
    assert model.coefs_[0].shape == (5, 5) and model.n_iter_ == 3


# --- params ---------------------------------------------------------------------------------------
def test_get_set_params_round_trip():
    model = MLPClassifier((10, 5), alpha=0.01, dtype="float64", random_state=3)
    params = model.get_params()
    assert params["hidden_layer_sizes"] == (10, 5) and params["alpha"] == 0.01 and params["random_state"] == 3
    assert set(params) == {"hidden_layer_sizes", "alpha", "batch_size", "learning_rate_init", "max_iter", "shuffle",
                           "early_stopping", "validation_fraction", "n_iter_no_change", "tol", "dtype",
                           "warm_start", "random_state"}
    clone = MLPClassifier(**params)
    assert clone.get_params() == params
    assert clone.set_params(max_iter=7, tol=0.5) is clone
    assert clone.get_params() == {**params, "max_iter": 7, "tol": 0.5}
    assert "max_iter=7" in repr(clone) and "batch_size" not in repr(clone)


def test_dtype_float64_and_float32():
    X, y = _blobs()
    m64 = MLPClassifier((8,), max_iter=3, dtype="float64", random_state=0).fit(X, y)
    m32 = MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    assert all(w.dtype == np.float64 for w in m64.coefs_ + m64.intercepts_)
    assert all(w.dtype == np.float32 for w in m32.coefs_ + m32.intercepts_)
    assert m32.logits(X).dtype == np.float32 and m32.predict_proba(X).dtype == np.float32
    assert m32.decision_function(X).dtype == np.float32
    np.testing.assert_allclose(m64.coefs_[0], m32.coefs_[0], rtol=1e-3, atol=1e-4)


# --- labels ----------------------------------------------------------------------------------------
def test_string_labels_and_probabilities():
    X, y = _blobs(k=3)
    labels = np.array(["cat", "dog", "emu"])[y]
    model = MLPClassifier((16,), max_iter=50, random_state=0).fit(X, labels)
    np.testing.assert_array_equal(model.classes_, ["cat", "dog", "emu"])
    pred = model.predict(X)
    assert set(pred) <= {"cat", "dog", "emu"} and np.mean(pred == labels) > 0.9
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)], pred)
    assert model.score(X, labels) == pytest.approx(np.mean(pred == labels))


def test_binary_has_two_logits_and_a_1d_decision_function():
    X, y = _moons(100, seed=6)
    model = MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y)
    logits = model.logits(X)
    assert logits.shape == (100, 2)
    assert model.local_linear(X)[0].shape == (100, 2, 2)
    # scikit-learn's binary convention: the score of classes_[1]; sigmoid of it is predict_proba[:, 1]
    score = model.decision_function(X)
    assert score.shape == (100,)
    np.testing.assert_array_equal(score, logits[:, 1] - logits[:, 0])
    p1 = 1.0 / (1.0 + np.exp(-score.astype(np.float64)))
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], p1, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(model.predict(X), model.classes_[(score > 0).astype(int)])


def test_multiclass_decision_function_is_the_logits():
    X, y = _blobs(k=3)
    model = MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.decision_function(X), model.logits(X))
    log_p = model.predict_log_proba(X).astype(np.float64)
    np.testing.assert_allclose(np.exp(log_p), model.predict_proba(X), rtol=1e-5, atol=1e-7)


def test_classes_with_absent_label():
    X, y = _blobs(k=2)
    model = MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y, classes=[0, 1, 2])
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    assert model.coefs_[-1].shape == (8, 3) and model.predict_proba(X).shape == (len(X), 3)
    assert model.local_linear(X[:4])[0].shape == (4, 3, 5)
    # a single present class is fine when classes= names the full set
    model.fit(X[y == 0], y[y == 0], classes=[0, 1, 2])
    assert model.predict_proba(X).shape == (len(X), 3)


def test_batch_size_larger_than_data_and_column_labels():
    X, y = _blobs(n=30)
    with pytest.warns(UserWarning, match="A column-vector y was passed"):
        model = MLPClassifier((8,), batch_size=1000, max_iter=3, random_state=0).fit(X, y.reshape(-1, 1))
    assert model.n_iter_ == 3 and model.predict(X).shape == (30,)


def test_accepts_dataframe():
    X, y = _blobs()
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    a = MLPClassifier((8,), max_iter=3, random_state=0).fit(df, pd.Series(y))
    b = MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])


# --- BLAS threads -----------------------------------------------------------------------------------
def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def test_blas_thread_limit_is_scoped_and_restored():
    before = _blas_threads()
    if not before:
        pytest.skip("no BLAS library found by threadpoolctl in this process")
    seen = []

    class Spy(MLPClassifier):
        def _train(self, *args, **kwargs):
            seen.append(_blas_threads())
            return super()._train(*args, **kwargs)

    X, y = _blobs()
    Spy((8,), max_iter=2, random_state=0).fit(X, y)  # small GEMMs: single-threaded while training
    assert seen[-1] == [1] * len(before)
    assert _blas_threads() == before

    class Boom(MLPClassifier):
        def _train(self, *args, **kwargs):
            seen.append(_blas_threads())
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        Boom((8,), max_iter=2, random_state=0).fit(X, y)
    assert seen[-1] == [1] * len(before) and _blas_threads() == before  # restored after an error too
