"""``select``/``query`` on other people's models: scikit-learn ReLU MLPs, Pipelines, any
classifier with ``predict_proba`` for the uncertainty strategies, a clear error otherwise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dami_np

sklearn = pytest.importorskip("sklearn")
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLP  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402


def _problem(n=150, n_labeled=40, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    X[n_labeled + 3] = X[n_labeled + 1]  # a duplicate in the pool
    y_true = np.digitize(X[:, 0] + 0.5 * X[:, 1], np.linspace(-1, 1, classes - 1))
    y = y_true.astype(float)
    y[n_labeled:] = np.nan
    return X, y, y_true


def _sk_mlp(X, y_true, n_labeled, hidden=(8,)):
    return SkMLP(hidden_layer_sizes=hidden, max_iter=300, random_state=0).fit(X[:n_labeled], y_true[:n_labeled])


def _explicit_representation(model, X):
    """[W(x).ravel(), b(x)] from the public weights by the chain rule, row by row (float64)."""
    reps = []
    for x in X:
        J = np.eye(X.shape[1])  # d(h)/dx
        h = x.astype(np.float64)
        for W, b in zip(model.coefs_[:-1], model.intercepts_[:-1]):
            z = h @ W + b
            on = (z > 0).astype(np.float64)
            J = J @ (W * on[None, :])
            h = np.maximum(z, 0)
        W_out, b_out = model.coefs_[-1], model.intercepts_[-1]
        Wx = (J @ W_out).T  # (C, d)
        logits = h @ W_out + b_out
        if Wx.shape[0] == 1:  # binary: two logit columns [-z/2, z/2]
            Wx = np.vstack([-Wx / 2, Wx / 2])
            logits = np.array([-logits[0] / 2, logits[0] / 2])
        bx = logits - Wx @ x
        reps.append(np.concatenate([Wx.ravel(), bx]))
    return np.array(reps)


def _assert_greedy(points, labeled_rows, picks, rtol=1e-7):
    """Each pick is a farthest remaining row from the centers so far (up to rounding ties)."""
    centers = list(labeled_rows)
    for p in picks:
        d = np.full(len(points), np.inf)
        for c in centers:
            d = np.minimum(d, ((points - points[c]) ** 2).sum(axis=1))
        d[centers] = -1
        assert d[p] >= d.max() * (1 - rtol), (p, d[p], d.max())
        centers.append(int(p))


def _naive_kcenter(points, labeled_rows, k):
    centers = list(labeled_rows)
    d = np.full(len(points), np.inf)
    for c in centers:
        d = np.minimum(d, ((points - points[c]) ** 2).sum(axis=1))
    d[centers] = -1
    picks, radii = [], []
    for _ in range(k):
        j = int(np.argmax(d))
        picks.append(j)
        radii.append(np.sqrt(d[j]))
        d = np.minimum(d, ((points - points[j]) ** 2).sum(axis=1))
        d[picks + centers] = -1
    return np.array(picks), np.array(radii)


@pytest.mark.parametrize("classes, hidden", [(3, (8,)), (2, (6, 5))])
def test_dami_on_a_fitted_sklearn_mlp_equals_an_explicit_computation(classes, hidden):
    X, y, y_true = _problem(classes=classes, seed=classes)
    model = _sk_mlp(X, y_true, 40, hidden)
    report = dami_np.select(X, y, 8, strategy="dami", model=model)
    points = _explicit_representation(model, X)
    _, radii = _naive_kcenter(points, np.arange(40), 8)
    got = report["row"].to_numpy()
    np.testing.assert_allclose(report["distance"].to_numpy(), radii, rtol=1e-6)
    _assert_greedy(points, np.arange(40), got)
    assert set(report["predicted"]) <= set(model.classes_)


def test_an_unfitted_sklearn_mlp_is_copied_and_fit():
    X, y, _ = _problem()
    template = SkMLP(hidden_layer_sizes=(8,), max_iter=200, random_state=0)
    picks = dami_np.query(X, y, 5, strategy="dami", model=template, preprocess=False)
    assert not hasattr(template, "coefs_")
    fitted = SkMLP(hidden_layer_sizes=(8,), max_iter=200, random_state=0).fit(X[:40], np.nan_to_num(y[:40]).astype(int))
    np.testing.assert_array_equal(picks, dami_np.query(X, y, 5, strategy="dami", model=fitted))


def test_a_pipeline_model_preprocesses_the_raw_table_itself():
    X, y, y_true = _problem(n=120)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["city"] = np.where(X[:, 2] > 0, "north", "south")
    labels = pd.Series(np.where(np.isnan(y), None, y_true.astype(str)), dtype=object)
    pipe = Pipeline([
        ("prep", ColumnTransformer([("num", StandardScaler(), ["a", "b", "c", "d"]),
                                    ("cat", OneHotEncoder(), ["city"])])),
        ("mlp", SkMLP(hidden_layer_sizes=(8,), max_iter=300, random_state=0)),
    ])
    for strategy in ("dami", "badge", "margin", "coreset"):
        report = dami_np.select(frame, labels, 4, strategy=strategy, model=pipe, random_state=0)
        assert len(set(report["row"])) == 4 and labels.iloc[report["row"]].isna().all()
        assert set(report["predicted"]) <= set(labels.dropna())
    fitted = pipe.fit(frame.iloc[:40], labels.iloc[:40])
    report = dami_np.select(frame, labels, 4, strategy="dami", model=fitted)
    Z = fitted[:-1].transform(frame)
    _assert_greedy(_explicit_representation(fitted[-1], Z), np.arange(40), report["row"].to_numpy())
    assert report["explanation"].str.contains("city").any() or report["explanation"].str.len().gt(0).all()


def test_uncertainty_strategies_take_any_classifier_with_predict_proba():
    X, y, y_true = _problem()
    model = LogisticRegression().fit(X[:40], y_true[:40])
    report = dami_np.select(X, y, 5, strategy="margin", model=model)
    proba = model.predict_proba(X[report["row"]])
    top2 = np.sort(proba, axis=1)[:, -2:]
    np.testing.assert_allclose(report["score"], top2[:, 1] - top2[:, 0])
    assert report["distance"].isna().all() and (report["explanation"] == "").all()


@pytest.mark.parametrize("strategy", ["dami", "badge", "coreset", "boundary", "dami_margin"])
def test_strategies_that_need_a_relu_mlp_say_so(strategy):
    X, y, y_true = _problem()
    model = LogisticRegression().fit(X[:40], y_true[:40])
    with pytest.raises(ValueError, match=f"strategy '{strategy}' needs a ReLU MLP"):
        dami_np.query(X, y, 3, strategy=strategy, model=model)
    tanh = SkMLP(hidden_layer_sizes=(4,), activation="tanh", max_iter=50).fit(X[:40], y_true[:40])
    with pytest.raises(ValueError, match="needs a ReLU MLP"):
        dami_np.query(X, y, 3, strategy=strategy, model=tanh)
