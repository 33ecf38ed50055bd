"""pytest-benchmark timings of MLPClassifier training and local_linear (not unit tests).

Run (pyproject's addopts has --benchmark-skip, so override addopts):

    python -m pytest bench/bench_mlp.py -o addopts="" --benchmark-enable -q

The plain-script variant with a PyTorch CPU comparison is bench/mlp_speed.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from dami_np import MLPClassifier

D, C = 50, 10


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, D)).astype(np.float32)
    y = (X[:, :C] + 0.5 * rng.standard_normal((n, C))).argmax(axis=1)
    return X, y


@pytest.fixture(scope="module")
def train_data() -> tuple[np.ndarray, np.ndarray]:
    return _data(10_000, 0)


@pytest.fixture(scope="module")
def explain_data() -> np.ndarray:
    return _data(100_000, 1)[0]


def test_train_50_128_128_10_batch128_20_epochs_10k(benchmark, train_data):
    X, y = train_data

    def run() -> MLPClassifier:
        return MLPClassifier((128, 128), batch_size=128, max_iter=20, tol=0.0, random_state=0).fit(X, y)

    model = benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    assert model.n_iter_ == 20


@pytest.mark.parametrize("hidden", [(128,), (128, 128)], ids=["1_hidden", "2_hidden"])
def test_local_linear_100k_x_50_10_classes(benchmark, train_data, explain_data, hidden):
    X, y = train_data
    model = MLPClassifier(hidden, max_iter=1, random_state=0).fit(X, y)
    W, b = benchmark.pedantic(model.local_linear, args=(explain_data,), rounds=5, warmup_rounds=1)
    assert W.shape == (100_000, C, D) and b.shape == (100_000, C)
