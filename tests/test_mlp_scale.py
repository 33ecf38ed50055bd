"""MLPClassifier trains on extreme but finite inputs and stays exact in the user's units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dami_np import MLPClassifier


def _data(n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    y = (X[:, 0] * X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    return X, y


def _reference_scale(X: np.ndarray) -> np.ndarray:
    """Independent twin of the documented rule: power of two nearest to 1 / rms for far-out columns."""
    colmax = np.abs(X).max(axis=0)
    out = np.ones(X.shape[1])
    for j in range(X.shape[1]):
        if colmax[j] > 0 and not 2.0**-12 <= colmax[j] <= 2.0**12:
            rms = colmax[j] * np.sqrt(np.mean((X[:, j] / colmax[j]) ** 2))
            out[j] = 2.0 ** -round(float(np.log2(rms)))
    return out


@pytest.mark.parametrize("factor,dtype", [(1e30, "float32"), (1e-30, "float32"), (1e200, "float64"),
                                          (1e-300, "float64")])
def test_far_out_columns_train_like_the_internally_scaled_data(factor, dtype):
    X, y = _data()
    big = X * factor
    model = MLPClassifier((32,), max_iter=100, dtype=dtype, random_state=0).fit(big, y)
    s = _reference_scale(big)
    assert (s != 1).all()
    # the same network trained by hand on the scaled data, then folded: identical model
    ref = MLPClassifier((32,), max_iter=100, dtype=dtype, random_state=0).fit(big * s, y)
    np.testing.assert_array_equal(model.coefs_[0], ref.coefs_[0] * s.astype(dtype)[:, None])
    for a, b in zip(model.coefs_[1:] + model.intercepts_, ref.coefs_[1:] + ref.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(model.predict_proba(big), ref.predict_proba(big * s), rtol=1e-5, atol=1e-6)
    # not degenerate (without the scaling: 0.28-0.53 here, the majority class is 0.53): about as
    # accurate as on the standardized data, which needs no scaling
    plain = MLPClassifier((32,), max_iter=100, dtype=dtype, random_state=0).fit(X, y)
    assert model.score(big, y) > 0.8 and model.score(big, y) >= plain.score(X, y) - 0.05


def test_local_linear_is_exact_in_user_units():
    X, y = _data(200)
    big = X * np.array([1e30, 1.0, 1e-20, 3.0])  # mixed: two columns scaled, two as given
    model = MLPClassifier((8, 6), max_iter=30, dtype="float64", random_state=1).fit(big, y)
    W, b = model.local_linear(big)
    logits = model.logits(big)
    np.testing.assert_allclose(np.einsum("ncd,nd->nc", W, big) + b, logits, rtol=1e-10, atol=1e-10)
    # W is the Jacobian in user units: central differences with a step relative to each column's size
    rows = big[:20]
    step = 1e-6 * np.abs(big).max(axis=0)
    for j in range(big.shape[1]):
        up, down = rows.copy(), rows.copy()
        up[:, j] += step[j]
        down[:, j] -= step[j]
        fd = (model.logits(up) - model.logits(down)) / (2 * step[j])
        same_region = (model.region_ids(np.r_[up, down, rows]).reshape(3, -1) == model.region_ids(rows)).all(axis=0)
        np.testing.assert_allclose(fd[same_region], W[:20, :, j][same_region], rtol=1e-6,
                                   atol=1e-6 * np.abs(W[:, :, j]).max())
    # ordinary columns keep their weights' scale; the huge one got tiny weights
    assert np.abs(model.coefs_[0][0]).max() < 1e-25 and np.abs(model.coefs_[0][2]).max() > 1e15


def test_too_far_for_the_dtype_names_the_column():
    X, y = _data(50)
    df = pd.DataFrame(X, columns=["a", "b", "income", "d"])
    df["income"] *= 1e200
    with pytest.raises(ValueError, match=r"X column 2 \('income'\) has values of typical size .*float32.*"
                                         r"use dtype='float64'"):
        MLPClassifier((4,), max_iter=2).fit(df, y)
    MLPClassifier((4,), max_iter=2, dtype="float64").fit(df, y)  # fine in float64
    df["income"] = X[:, 2] * 1e307
    with pytest.raises(ValueError, match=r"column 2 \('income'\).*float64 MLP.*rescale that column"):
        MLPClassifier((4,), max_iter=2, dtype="float64").fit(df, y)
    with pytest.raises(ValueError, match=r"column 0.*rescale that column"):
        MLPClassifier((4,), max_iter=2, dtype="float64").fit(X * [1e-312, 1, 1, 1], y)  # denormals


def test_prediction_input_beyond_float32_is_named():
    X, y = _data(50)
    model = MLPClassifier((4,), max_iter=2, random_state=0).fit(X * 1e30, y)
    bad = X * 1e30
    bad[3, 1] = 1e39
    with pytest.raises(ValueError, match=r"value 1e\+39 at row 3, column 1, which overflows to infinity in float32"):
        model.predict(bad)


def test_warm_start_on_scaled_data_continues_in_user_units():
    X, y = _data()
    big = X * 1e25
    model = MLPClassifier((32,), max_iter=50, warm_start=True, random_state=0).fit(big, y)
    first = model.score(big, y)
    assert first > 0.75
    model.set_params(max_iter=1).fit(big, y)
    # one more epoch from the weights unfolded back to internal units (from the folded ones, ~1e-25,
    # the model would start from scratch and score about the majority class)
    assert model.n_iter_ == 51 and model.score(big, y) >= first - 0.02
    assert np.abs(model.coefs_[0]).max() < 1e-20  # still in user units


def test_interrupted_training_leaves_weights_in_user_units():
    X, y = _data(100)
    big = X * 1e30
    seen = {}

    class Interrupted(MLPClassifier):
        def _train(self, *args, **kwargs):
            super()._train(*args, **kwargs)
            seen["internal"] = self.coefs_[0].copy()
            raise KeyboardInterrupt

    model = Interrupted((8,), max_iter=3, random_state=0)
    with pytest.raises(KeyboardInterrupt):
        model.fit(big, y)
    s = _reference_scale(big).astype(np.float32)
    np.testing.assert_array_equal(model.coefs_[0], seen["internal"] * s[:, None])
    done = MLPClassifier((8,), max_iter=3, random_state=0).fit(big, y)
    np.testing.assert_array_equal(model.predict_proba(big), done.predict_proba(big))


def test_diverging_fit_is_one_clear_error_without_numpy_warnings():
    import warnings

    X, y = _data(100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning (overflow in matmul, ...) would fail the test
        with pytest.raises(FloatingPointError, match=r"training diverged \(loss=nan\) at epoch 1; lower "
                                                     "learning_rate_init"):
            MLPClassifier((8,), learning_rate_init=1e30, max_iter=5, random_state=0).fit(X, y)


def test_prediction_far_outside_the_training_range_is_an_error_not_nan():
    X, y = _data(100)
    model = MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y)
    far = X.copy()
    far[7] = [3e38, -3e38, 3e38, -3e38]  # finite in float32, but the logits overflow
    with pytest.raises(ValueError, match=r"the logits of X row 7 overflow float32 .*use dtype='float64'"):
        model.predict_proba(far)
    assert np.isfinite(model.predict_proba(X)).all()
