"""The ReLU-MLP view of scikit-learn MLPs and pipelines is exact; other models get one clear error."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from dami_np import MLPClassifier
from dami_np._model_adapter import check_relu_mlp, proba_model_check, relu_mlp_view, split_pipeline, view_transform

sklearn = pytest.importorskip("sklearn")

from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLP  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402


def _data(k: int, n: int = 120, d: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    X = rng.standard_normal((k, d))[y] * 2 + rng.standard_normal((n, d))
    return X, y


def _fit_sk(X, y, hidden, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SkMLP(hidden, activation="relu", max_iter=60, random_state=0, **kw).fit(X, y)


def _naive_forward(X, coefs, intercepts):
    """Independent twin: pre-activations of every layer, one row at a time."""
    pres = []
    for x in X:
        a, layers = x, []
        for i, (W, b) in enumerate(zip(coefs, intercepts)):
            z = a @ W + b
            layers.append(z)
            a = np.maximum(z, 0) if i < len(coefs) - 1 else z
        pres.append(layers)
    return pres


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("hidden", [(7,), (6, 5)])
def test_sklearn_relu_mlp_view_is_exact(k, hidden):
    X, y = _data(k)
    sk = _fit_sk(X, y, hidden)
    view = relu_mlp_view(sk, needs="dami")
    assert relu_mlp_view(view, needs="badge") is view  # idempotent
    assert view.n_features_in_ == 4 and list(view.classes_) == list(sk.classes_)
    assert np.dtype(view.dtype) == np.float64
    logits = view.logits(X)
    assert logits.shape == (len(X), k)
    # softmax of the logits is scikit-learn's predict_proba; argmax its predict
    z = logits - logits.max(axis=1, keepdims=True)
    soft = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(soft, sk.predict_proba(X), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(view.predict_proba(X), sk.predict_proba(X), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(view.predict(X), sk.predict(X))
    if k == 2:  # one logistic unit z = the sklearn network's output; the view's logits are [-z/2, z/2]
        z_sk = np.array([layers[-1][0] for layers in _naive_forward(X, sk.coefs_, sk.intercepts_)])
        np.testing.assert_allclose(logits, np.c_[-z_sk / 2, z_sk / 2], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(view.decision_function(X), z_sk, rtol=1e-12, atol=1e-12)
    # W(x) x + b(x) == logits
    W, b = view.local_linear(X)
    assert W.shape == (len(X), k, 4) and b.shape == (len(X), k)
    np.testing.assert_allclose(np.einsum("ncd,nd->nc", W, X) + b, logits, rtol=1e-12, atol=1e-12)
    # W(x) is the finite-difference Jacobian of the logits (rows whose region the step does not leave)
    eps = 1e-6
    regions = view.region_ids(X)
    for j in range(X.shape[1]):
        up, down = X.copy(), X.copy()
        up[:, j] += eps
        down[:, j] -= eps
        fd = (view.logits(up) - view.logits(down)) / (2 * eps)
        ids = view.region_ids(np.r_[X, up, down]).reshape(3, -1)
        keep = (ids[1] == ids[0]) & (ids[2] == ids[0])
        assert keep.mean() > 0.9
        np.testing.assert_allclose(fd[keep], W[keep, :, j], rtol=1e-6, atol=1e-7)
    # activation patterns and hidden activations from the public weights
    pres = _naive_forward(X, sk.coefs_, sk.intercepts_)
    bits = np.array([np.concatenate([layers[i] > 0 for i in range(len(hidden))]) for layers in pres])
    np.testing.assert_array_equal(view.activation_patterns(X), np.packbits(bits, axis=1))
    last = np.array([np.maximum(layers[len(hidden) - 1], 0) for layers in pres])
    np.testing.assert_allclose(view.hidden_activations(X), last, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(regions, view.region_ids(X))


def test_float32_sklearn_mlp_keeps_its_dtype():
    X, y = _data(3)
    sk = _fit_sk(X.astype(np.float32), y, (5,))
    view = relu_mlp_view(sk, needs="dami")
    assert view.dtype == np.float32 and view.local_linear(X)[0].dtype == np.float32
    np.testing.assert_allclose(view.predict_proba(X), sk.predict_proba(X.astype(np.float32)), rtol=1e-4, atol=1e-6)


def test_our_mlp_is_its_own_view():
    X, y = _data(3)
    ours = MLPClassifier((5,), max_iter=3, random_state=0).fit(X, y)
    assert relu_mlp_view(ours, needs="dami") is ours
    assert view_transform(ours, X) is X
    check_relu_mlp(MLPClassifier(), "dami")  # unfitted is fine for the kind check


def test_pipeline_view_applies_the_preprocessing():
    pd = pytest.importorskip("pandas")
    X, y = _data(3)
    df = pd.DataFrame(X * 100 + 5, columns=list("abcd"))
    df["colour"] = np.where(y == 1, "red", "blue")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = Pipeline([
            ("prep", ColumnTransformer([("num", StandardScaler(), list("abcd")), ("cat", OneHotEncoder(), ["colour"])])),
            ("mlp", SkMLP((6,), max_iter=60, random_state=0)),
        ]).fit(df, y)
    view = relu_mlp_view(pipe, needs="dami")
    Z = view.transform(df)
    np.testing.assert_allclose(Z, pipe[:-1].transform(df))
    assert Z.shape == (len(df), 6) and view.n_features_in_ == 6
    np.testing.assert_allclose(view.predict_proba(Z), pipe.predict_proba(df), rtol=1e-12, atol=1e-14)
    W, b = view.local_linear(Z)
    np.testing.assert_allclose(np.einsum("ncd,nd->nc", W, Z) + b, view.logits(Z), rtol=1e-12, atol=1e-12)
    assert view_transform(view, df).shape == Z.shape
    pre, final = split_pipeline(pipe)
    assert final is pipe.steps[-1][1] and len(pre.steps) == 1
    assert split_pipeline(final) == (None, final)
    # a pipeline ending in our MLP works the same way
    ours = make_pipeline(StandardScaler(), MLPClassifier((5,), max_iter=3, random_state=0)).fit(X, y)
    view = relu_mlp_view(ours, needs="badge")
    np.testing.assert_allclose(view.predict_proba(view.transform(X)), ours.predict_proba(X), rtol=1e-6)


@pytest.mark.parametrize(
    "model,got",
    [
        (LogisticRegression(), "got LogisticRegression$"),
        (SkMLP((4,), activation="tanh"), r"got MLPClassifier\(activation='tanh'\)$"),
        (make_pipeline(StandardScaler(), LogisticRegression()), "got a Pipeline ending in LogisticRegression$"),
        ("mlp", "got str$"),
        (None, "got NoneType$"),
    ],
)
def test_other_models_get_one_clear_error(model, got):
    expected = (r"^strategy 'dami' needs a ReLU MLP with coefs_ and intercepts_ \(dami_np.MLPClassifier or sklearn "
                r"MLPClassifier\(activation='relu'\)\); " + got)
    with pytest.raises(ValueError, match=expected):
        relu_mlp_view(model, needs="dami")
    with pytest.raises(ValueError, match=expected.replace("'dami'", "'coreset'")):
        check_relu_mlp(model, "coreset")


def test_multilabel_sklearn_mlp_is_refused():
    X, _ = _data(2)
    Y = np.c_[X[:, 0] > 0, X[:, 1] > 0].astype(int)
    sk = _fit_sk(X, Y, (4,))
    with pytest.raises(ValueError, match="multi-label"):
        relu_mlp_view(sk, needs="dami")


def test_unfitted_model_is_a_not_fitted_error():
    with pytest.raises(NotFittedError, match="strategy 'dami' needs a fitted model"):
        relu_mlp_view(SkMLP((4,)), needs="dami")
    with pytest.raises(NotFittedError):
        relu_mlp_view(make_pipeline(StandardScaler(), MLPClassifier()), needs="dami")


def test_proba_model_check():
    lr = LogisticRegression()
    assert proba_model_check(lr, "margin") is lr
    with pytest.raises(ValueError, match=r"strategy 'entropy' needs a classifier with predict_proba .*got object"):
        proba_model_check(object(), "entropy")
    from sklearn.svm import SVC

    with pytest.raises(ValueError, match="got SVC"):  # predict_proba only with probability=True
        proba_model_check(SVC(), "margin")
    assert proba_model_check(SVC(probability=True), "margin") is not None


def test_adapter_does_not_import_sklearn():
    code = "\n".join([
        "import sys, numpy as np, dami_np._model_adapter as a",
        "from dami_np import MLPClassifier",
        "m = MLPClassifier((3,), max_iter=1, random_state=0).fit(np.eye(4), [0, 1, 0, 1])",
        "assert a.relu_mlp_view(m, needs='dami') is m and a.proba_model_check(m, 'margin') is m",
        "try:\n    a.relu_mlp_view(object(), needs='dami')\nexcept ValueError:\n    pass",
        "assert 'sklearn' not in sys.modules, 'sklearn imported'",
        "print('ok')",
    ])
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
