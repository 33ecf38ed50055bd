"""Hand-written backward pass and Adam against independent references (float64)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dami_np._mlp_math import Adam, ParamLayout, Workspace, glorot_init


def _reference_loss(params: np.ndarray, layout: ParamLayout, X: np.ndarray, y: np.ndarray, alpha: float) -> float:
    """Independent loss: plain forward, log-sum-exp cross-entropy, alpha/(2m) * sum ||W||^2."""
    coefs, intercepts = layout.views(params)
    A = X
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        A = A @ W + b
        if i < len(coefs) - 1:
            A = np.where(A > 0, A, 0.0)
    zmax = A.max(axis=1, keepdims=True)
    logsumexp = np.log(np.exp(A - zmax).sum(axis=1)) + zmax[:, 0]
    ce = np.mean(logsumexp - A[np.arange(len(y)), y])
    m = X.shape[0]
    return float(ce + alpha / (2 * m) * sum(np.sum(W * W) for W in coefs))


def _problem(hidden: tuple[int, ...], n_classes: int, seed: int, m: int = 7, d: int = 4):
    rng = np.random.default_rng(seed)
    layout = ParamLayout([d, *hidden, n_classes])
    params = glorot_init(layout, rng, np.dtype(np.float64)) * 1.5
    X = rng.standard_normal((m, d))
    y = rng.integers(0, n_classes, m)
    y[:n_classes] = np.arange(n_classes)
    return layout, params, X, y.astype(np.intp)


CASES = [((), 3), ((5,), 2), ((5,), 3), ((4, 3), 3), ((3, 4, 2), 2), ((6, 5, 4), 4)]


@pytest.mark.parametrize("hidden,n_classes", CASES)
@pytest.mark.parametrize("alpha", [0.0, 0.7])
def test_gradient_matches_central_differences(hidden, n_classes, alpha):
    layout, params, X, y = _problem(hidden, n_classes, seed=len(hidden) * 10 + n_classes)
    ws = Workspace(layout, X.shape[0], np.dtype(np.float64))
    grad = np.empty_like(params)
    loss = ws.loss_and_grad(X, y, params.copy(), grad, alpha)

    assert loss == pytest.approx(_reference_loss(params, layout, X, y, alpha), rel=1e-12)

    eps = 1e-6
    fd = np.empty_like(params)
    for k in range(params.size):  # every coefficient and intercept of every layer
        p_plus, p_minus = params.copy(), params.copy()
        p_plus[k] += eps
        p_minus[k] -= eps
        fd[k] = (_reference_loss(p_plus, layout, X, y, alpha) - _reference_loss(p_minus, layout, X, y, alpha)) / (2 * eps)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)
    # every layer's coefs and intercepts really were exercised (non-trivial gradients)
    gcoefs, gints = layout.views(grad)
    assert all(np.abs(g).max() > 1e-6 for g in gcoefs + gints)


def test_l2_term_gradient_is_alpha_over_m_times_weights():
    layout, params, X, y = _problem((5, 4), 3, seed=3)
    ws = Workspace(layout, X.shape[0], np.dtype(np.float64))
    g0, g1 = np.empty_like(params), np.empty_like(params)
    l0 = ws.loss_and_grad(X, y, params, g0, 0.0)
    l1 = ws.loss_and_grad(X, y, params, g1, 0.5)
    coefs, _ = layout.views(params)
    m = X.shape[0]
    assert l1 - l0 == pytest.approx(0.25 / m * sum(np.sum(W**2) for W in coefs), rel=1e-10)
    expected = np.zeros_like(params)
    expected[: layout.n_coef] = 0.5 / m * params[: layout.n_coef]  # intercepts unpenalised
    np.testing.assert_allclose(g1 - g0, expected, rtol=1e-10, atol=1e-14)


def test_partial_batch_in_larger_workspace_gives_same_gradient():
    layout, params, X, y = _problem((6, 5), 3, seed=4, m=9)
    small = Workspace(layout, 5, np.dtype(np.float64))
    big = Workspace(layout, 64, np.dtype(np.float64))
    g_small, g_big = np.empty_like(params), np.empty_like(params)
    l_small = small.loss_and_grad(X[:5], y[:5], params, g_small, 0.1)
    big.loss_and_grad(X, y, params, g_big, 0.1)  # dirty the buffers with a different batch first
    l_big = big.loss_and_grad(X[:5], y[:5], params, g_big, 0.1)
    assert l_small == l_big
    np.testing.assert_array_equal(g_small, g_big)


def test_float32_gradient_close_to_float64():
    layout, params, X, y = _problem((8, 6), 4, seed=5, m=16)
    g64, g32 = np.empty_like(params), np.empty(params.size, dtype=np.float32)
    Workspace(layout, 16, np.dtype(np.float64)).loss_and_grad(X, y, params, g64, 0.2)
    Workspace(layout, 16, np.dtype(np.float32)).loss_and_grad(
        X.astype(np.float32), y, params.astype(np.float32), g32, 0.2
    )
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-5)


def test_adam_matches_textbook_update():
    rng = np.random.default_rng(0)
    p = rng.standard_normal(11)
    ref = p.copy()
    adam = Adam(p.size, np.dtype(np.float64), lr=0.01)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t in range(1, 6):
        g = rng.standard_normal(p.size)
        adam.step(p, g)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        lr_t = 0.01 * math.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        ref = ref - lr_t * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(p, ref, rtol=1e-12, atol=1e-15)
    assert adam.t == 5
