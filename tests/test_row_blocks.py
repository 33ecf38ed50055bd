"""The forward pass and hidden activations: same bits on every BLAS thread count, and without threads."""

from __future__ import annotations

import concurrent.futures

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from dami_np import MLPClassifier
from dami_np import _local_linear


def _blocks_in_turn(compute, X, rows):
    """The reference: each block of ``rows`` rows computed alone on one BLAS thread, in order."""
    with threadpool_limits(limits=1, user_api="blas"):
        return np.concatenate([compute(X[a : a + rows]) for a in range(0, X.shape[0], rows)], axis=0)


@pytest.mark.parametrize("n, rows", [(1, 4), (7, 7), (1000, 96), (1000, 1000), (1001, 250)])
def test_row_blocks_equal_the_blocks_computed_in_turn(n, rows):
    rng = np.random.default_rng(n)
    X, W = rng.standard_normal((n, 30)), rng.standard_normal((30, 50))
    got = _local_linear.by_row_blocks(lambda A: A @ W, X, rows)
    np.testing.assert_array_equal(got, _blocks_in_turn(lambda A: A @ W, X, rows))


def test_row_blocks_without_threads_give_the_same_bits(monkeypatch):
    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((900, 20)), rng.standard_normal((20, 40))
    expected = _local_linear.by_row_blocks(lambda A: A @ W, X, 100)

    class NoThreads(concurrent.futures.ThreadPoolExecutor):
        def submit(self, *args, **kwargs):
            raise RuntimeError("can't start new thread")

    monkeypatch.setattr(_local_linear, "ThreadPoolExecutor", NoThreads)
    np.testing.assert_array_equal(_local_linear.by_row_blocks(lambda A: A @ W, X, 100), expected)


def test_other_runtime_errors_are_not_swallowed(monkeypatch):
    class Broken(concurrent.futures.ThreadPoolExecutor):
        def submit(self, *args, **kwargs):
            raise RuntimeError("something else")

    monkeypatch.setattr(_local_linear, "ThreadPoolExecutor", Broken)
    with pytest.raises(RuntimeError, match="something else"):
        _local_linear.by_row_blocks(lambda A: A, np.zeros((10, 2)), 3)


@pytest.mark.parametrize("threads", [1, 2])
def test_logits_and_activations_do_not_depend_on_the_blas_threads(threads):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((3000, 9))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    model = MLPClassifier(hidden_layer_sizes=(100, 64), max_iter=20, random_state=0).fit(X[:300], y[:300])
    with threadpool_limits(limits=1, user_api="blas"):
        ref_logits = model.logits(X)
        ref_hidden = model.hidden_activations(X)
    with threadpool_limits(limits=threads, user_api="blas"):
        np.testing.assert_array_equal(model.logits(X), ref_logits)
        np.testing.assert_array_equal(model.hidden_activations(X), ref_hidden)
