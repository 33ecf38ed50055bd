"""DAMI picks on a scikit-learn ReLU MLP equal an independent computation.

Independent twin: explicit per-row Jacobians of the logits from scikit-learn's public weights
(binary: the one logistic unit z as logits [-z/2, z/2]) and a naive greedy K-Center
(labeled rows as centers, farthest row next, ties to the lowest row).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLP  # noqa: E402

from dami_np._model_adapter import relu_mlp_view  # noqa: E402
from dami_np.strategies._dami import dami_select  # noqa: E402


def _data(k: int, n: int = 150, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    X = rng.standard_normal((k, 3))[y] * 2 + rng.standard_normal((n, 3))
    return X, y


def _fit(X, y, hidden):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SkMLP(hidden, activation="relu", max_iter=80, random_state=0).fit(X, y)


def _explicit_local_models(sk, X) -> np.ndarray:
    """Row i: [W(x_i).ravel(), b(x_i)]: compose the affine maps of the layers, masking by x_i's ReLU pattern."""
    out = []
    for x in X:
        M, v = np.eye(X.shape[1]), np.zeros(X.shape[1])  # the layer input is x @ M + v
        for i, (A, c) in enumerate(zip(sk.coefs_, sk.intercepts_)):
            M, v = M @ A, v @ A + c
            if i < len(sk.coefs_) - 1:
                on = (x @ M + v > 0).astype(float)
                M, v = M * on, v * on
        Wx, bx = M.T, v  # (outputs, d), (outputs,)
        if Wx.shape[0] == 1:  # binary: one logistic unit z, logits [-z/2, z/2]
            Wx, bx = np.r_[-Wx / 2, Wx / 2], np.r_[-bx / 2, bx / 2]
        out.append(np.r_[Wx.ravel(), bx])
    return np.array(out)


def _assert_naive_kcenter(points: np.ndarray, labeled: np.ndarray, picks) -> None:
    """``picks`` are naive greedy K-Center's: each the farthest remaining row from the centers so far
    (labeled rows first), ties to the lowest row; distances equal to rounding (relative 1e-9) count as ties."""
    centers = list(np.flatnonzero(labeled))
    taken = labeled.copy()
    for step, pick in enumerate(picks):
        d = np.array([min(float(np.sum((points[i] - points[c]) ** 2)) for c in centers) for i in range(len(points))])
        d[taken] = -1.0
        best = d.max()
        tied = np.flatnonzero(d >= best * (1 - 1e-9))
        assert pick in tied, (step, pick, tied, d[pick], best)
        if tied.size == 1 or np.ptp(d[tied]) == 0:  # a clean win or an exact tie: the lowest row
            assert pick == tied[0], (step, pick, tied)
        centers.append(pick)
        taken[pick] = True


@pytest.mark.parametrize("k,hidden", [(2, (6,)), (3, (6,)), (2, (5, 4)), (3, (5, 4))])
def test_dami_on_a_sklearn_relu_mlp_equals_explicit_jacobians_and_naive_kcenter(k, hidden):
    X, y = _data(k)
    labeled = np.zeros(len(X), dtype=bool)
    labeled[:30] = True
    sk = _fit(X[labeled], y[labeled], hidden)
    view = relu_mlp_view(sk, needs="dami")
    reps = _explicit_local_models(sk, X)
    W, b = view.local_linear(X)
    np.testing.assert_allclose(np.c_[W.reshape(len(X), -1), b], reps, rtol=1e-10, atol=1e-12)
    got = np.asarray(dami_select(view, X, labeled, 8).positions)
    assert got.shape == (8,)
    _assert_naive_kcenter(reps, labeled, got)


def test_select_with_a_sklearn_mlp_model_gives_the_same_picks():
    import dami_np

    X, y = _data(3)
    labels = y.astype(float)
    labels[30:] = np.nan
    sk = _fit(X[:30], y[:30], (6,))
    labeled = ~np.isnan(labels)
    rows = np.asarray(dami_np.select(X, labels, 8, strategy="dami", model=sk, random_state=0)["row"])
    assert rows.shape == (8,)
    _assert_naive_kcenter(_explicit_local_models(sk, X), labeled, rows)
