"""local_linear, activation_patterns and region_ids against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dami_np import MLPClassifier
from dami_np import _local_linear as ll


def _fitted(hidden, n_classes, dtype="float64", d=5, n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (X[:, 0] * 2 + X[:, 1] ** 2 + 0.3 * rng.standard_normal(n) > 0.5).astype(int)
    if n_classes > 2:
        y = np.digitize(X[:, 0] + X[:, 2] * X[:, 3], np.quantile(X[:, 0], np.linspace(0, 1, n_classes + 1)[1:-1]))
    model = MLPClassifier(hidden, max_iter=15, dtype=dtype, random_state=seed).fit(X, y)
    assert len(model.classes_) == n_classes
    return model, X


def _naive_masks(model, x):
    """Per-row forward with explicit loops over layers: list of 0/1 vectors, one per hidden layer."""
    masks, a = [], x
    for W, b in zip(model.coefs_[:-1], model.intercepts_[:-1]):
        z = W.T @ a + b
        masks.append((z > 0).astype(float))
        a = np.maximum(z, 0)
    return masks


def _naive_local_linear(model, x):
    """W(x) = W_L D_{L-1} W_{L-1} ... D_1 W_1 and b(x) with D_l = np.diag(mask), one row at a time."""
    masks = _naive_masks(model, x)
    Ws = [W.T.astype(float) for W in model.coefs_]
    bs = [b.astype(float) for b in model.intercepts_]
    J = Ws[0]
    bias = bs[0]
    for D, W, b in zip(masks, Ws[1:], bs[1:]):
        J = W @ np.diag(D) @ J
        bias = W @ (np.diag(D) @ bias) + b
    return J, bias


HIDDEN = [(7,), (6, 5), (5, 4, 3)]


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("n_classes", [2, 4])
def test_reconstructs_logits_float64(hidden, n_classes):
    model, X = _fitted(hidden, n_classes)
    W, b = model.local_linear(X)
    assert W.shape == (len(X), n_classes, X.shape[1]) and b.shape == (len(X), n_classes)
    assert W.dtype == b.dtype == np.float64
    logits = model.logits(X)
    np.testing.assert_allclose(np.einsum("ncd,nd->nc", W, X) + b, logits, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("n_classes", [2, 4])
def test_reconstructs_logits_float32(hidden, n_classes):
    model, X = _fitted(hidden, n_classes, dtype="float32")
    W, b = model.local_linear(X)
    assert W.dtype == b.dtype == np.float32
    X32 = X.astype(np.float32)
    logits = model.logits(X32)
    recon = np.einsum("ncd,nd->nc", W.astype(np.float64), X32.astype(np.float64)) + b
    np.testing.assert_allclose(recon, logits, rtol=1e-4, atol=1e-4 * np.abs(logits).max())


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("n_classes", [2, 4])
def test_W_is_finite_difference_jacobian(hidden, n_classes):
    model, X = _fitted(hidden, n_classes, n=40)
    W, _ = model.local_linear(X)
    eps = 1e-6
    patterns = model.activation_patterns(X)
    checked = 0
    for j in range(X.shape[1]):
        step = np.zeros_like(X)
        step[:, j] = eps
        up, down = X + step, X - step
        same = np.all(model.activation_patterns(up) == patterns, axis=1) & np.all(
            model.activation_patterns(down) == patterns, axis=1
        )  # skip the (rare) rows whose FD step crosses a region boundary
        fd = (model.logits(up) - model.logits(down)) / (2 * eps)
        np.testing.assert_allclose(W[same, :, j], fd[same], rtol=1e-6, atol=1e-7)
        checked += same.sum()
    assert checked >= 0.9 * X.size


@pytest.mark.parametrize("hidden", HIDDEN)
def test_matches_naive_per_row_diag_products(hidden):
    model, X = _fitted(hidden, 3, n=30)
    W, b = model.local_linear(X)
    for i, x in enumerate(X):
        J, bias = _naive_local_linear(model, x)
        np.testing.assert_allclose(W[i], J, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b[i], bias, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("hidden", HIDDEN)
def test_chunking_gives_identical_result(hidden):
    model, X = _fitted(hidden, 3, n=50)
    W, b = model.local_linear(X)
    for chunk in (1, 3, 7, 49, 50, 1000):
        Wc, bc = model.local_linear(X, chunk_size=chunk)
        np.testing.assert_allclose(Wc, W, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(bc, b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("hidden", HIDDEN)
def test_budget_sized_chunks_and_broadcast_fallback(hidden):
    """A budget smaller than K forces the broadcast first step and many tiny chunks."""
    model, X = _fitted(hidden, 3, n=50)
    W, b = model.local_linear(X)
    Wf, bf = ll.local_linear(X, model.coefs_, model.intercepts_, budget_bytes=64)
    np.testing.assert_allclose(Wf, W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(bf, b, rtol=1e-12, atol=1e-14)


def test_chunk_rows_respects_budget():
    assert ll.chunk_rows(1000, budget_bytes=64 * 2**20) == 67108
    assert ll.chunk_rows(10**9, budget_bytes=100) == 1


def test_no_hidden_layer_is_global_linear_map():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 4))
    y = rng.integers(0, 3, 30)
    model = MLPClassifier((), max_iter=5, dtype="float64", random_state=0).fit(X, y)
    W, b = model.local_linear(X)
    np.testing.assert_array_equal(W, np.broadcast_to(model.coefs_[0].T, W.shape))
    np.testing.assert_allclose(np.einsum("ncd,nd->nc", W, X) + b, model.logits(X), rtol=1e-12)
    assert model.activation_patterns(X).shape == (30, 0)
    np.testing.assert_array_equal(model.region_ids(X), np.zeros(30, dtype=np.int64))


@pytest.mark.parametrize("hidden", [(5,), (6, 7), (3, 4, 2)])
def test_activation_patterns_match_independent_computation(hidden):
    model, X = _fitted(hidden, 2, n=60)
    packed = model.activation_patterns(X)
    total = sum(hidden)
    assert packed.dtype == np.uint8 and packed.shape == (60, (total + 7) // 8)
    for i, x in enumerate(X):
        bits = np.concatenate(_naive_masks(model, x)).astype(bool)
        np.testing.assert_array_equal(np.unpackbits(packed[i])[:total], bits)
        assert not np.unpackbits(packed[i])[total:].any()


def test_region_ids_first_appearance_and_shared_W():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((400, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    model = MLPClassifier((3,), max_iter=20, dtype="float64", random_state=0).fit(X, y)
    ids = model.region_ids(X)
    assert ids.dtype == np.int64 and ids.shape == (400,)
    # independent: dict over the boolean pattern tuples, in order of first appearance
    seen: dict[tuple, int] = {}
    expected = [seen.setdefault(tuple(np.concatenate(_naive_masks(model, x)) > 0), len(seen)) for x in X]
    np.testing.assert_array_equal(ids, expected)
    assert 2 <= ids.max() + 1 <= 2**3  # a 3-unit layer on 2-D input: few regions, several rows each
    W, b = model.local_linear(X)
    for r in np.unique(ids):
        rows = np.flatnonzero(ids == r)
        np.testing.assert_allclose(W[rows], np.broadcast_to(W[rows[0]], W[rows].shape), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(b[rows], np.broadcast_to(b[rows[0]], b[rows].shape), rtol=1e-12, atol=1e-14)
    # and different regions really differ
    firsts = [np.flatnonzero(ids == r)[0] for r in np.unique(ids)]
    assert len({W[i].tobytes() for i in firsts}) == len(firsts)


def test_region_ids_from_patterns_order():
    packed = np.array([[5, 1], [0, 0], [5, 1], [7, 0], [0, 0], [7, 1]], dtype=np.uint8)
    np.testing.assert_array_equal(ll.region_ids_from_patterns(packed), [0, 1, 0, 2, 1, 3])


@pytest.mark.parametrize("layer", [0, 1, -1, -2])
def test_hidden_activations(layer):
    model, X = _fitted((6, 4), 2, n=20)
    H = model.hidden_activations(X, layer=layer)
    target = layer % 2
    for i, x in enumerate(X):
        a = x
        for W, b in zip(model.coefs_[: target + 1], model.intercepts_[: target + 1]):
            a = np.maximum(W.T @ a + b, 0)
        np.testing.assert_allclose(H[i], a, rtol=1e-12, atol=1e-14)
    assert H.shape == (20, (6, 4)[target])
    np.testing.assert_array_equal(model.hidden_activations(X), model.hidden_activations(X, layer=1))
    with pytest.raises(ValueError, match="layer must be"):
        model.hidden_activations(X, layer=2)


def test_local_linear_rejects_bad_chunk_size():
    model, X = _fitted((4,), 2, n=20)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="chunk_size"):
            model.local_linear(X, chunk_size=bad)


@settings(max_examples=30, deadline=None)
@given(
    widths=st.lists(st.integers(1, 9), min_size=0, max_size=3),
    n_classes=st.integers(2, 5),
    d=st.integers(1, 6),
    n=st.integers(1, 25),
    chunk=st.integers(1, 30),
    seed=st.integers(0, 2**16),
)
def test_property_random_architectures(widths, n_classes, d, n, chunk, seed):
    """Random weights, shapes and chunk sizes: W x + b reproduces the plain forward pass."""
    rng = np.random.default_rng(seed)
    sizes = [d, *widths, n_classes]
    coefs = [rng.standard_normal((a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    intercepts = [rng.standard_normal(b) for b in sizes[1:]]
    X = rng.standard_normal((n, d))
    W, b = ll.local_linear(X, coefs, intercepts, chunk_size=chunk)
    logits = X
    for i, (Wl, bl) in enumerate(zip(coefs, intercepts)):
        logits = logits @ Wl + bl
        if i < len(coefs) - 1:
            logits = np.maximum(logits, 0)
    np.testing.assert_allclose(np.einsum("ncd,nd->nc", W, X) + b, logits, rtol=1e-9, atol=1e-9)
    for i in range(min(n, 3)):
        # naive product for row i via the patterns reported by activation_patterns
        bits = np.unpackbits(ll.activation_patterns(X[i : i + 1], coefs, intercepts)[0])[: sum(widths)]
        J = coefs[0].T
        off = 0
        for Wl, h in zip(coefs[1:], widths):
            J = Wl.T @ np.diag(bits[off : off + h].astype(float)) @ J
            off += h
        np.testing.assert_allclose(W[i], J, rtol=1e-9, atol=1e-9)
