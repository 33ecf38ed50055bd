"""pytest-benchmark timings of ``dami_np.query`` strategies and DAMI's stages (not unit tests).

Run (pyproject's addopts has --benchmark-skip, so override addopts):

    python -m pytest bench/bench_query.py -o addopts="" --benchmark-enable -q

Data: 1,000 labeled + 100,000 pool rows, d=50, 10 classes, the default MLP fitted once (so
the timings are of the selection alone).  The stage-by-stage round with fit, and the
1,000,000-row pool, are in bench/dami_round.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from dami_np import MLPClassifier, kernels, query
from dami_np.strategies import DamiRepresentation, dami_select

D, C, N_LABELED, N_POOL, BUDGET = 50, 10, 1_000, 100_000, 100


@pytest.fixture(scope="module")
def problem() -> tuple[np.ndarray, np.ndarray, np.ndarray, MLPClassifier]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N_LABELED + N_POOL, D))
    y = (X[:, :C] + 0.5 * rng.standard_normal((len(X), C))).argmax(axis=1)
    labeled = np.zeros(len(X), dtype=bool)
    labeled[:N_LABELED] = True
    model = MLPClassifier(random_state=0).fit(X[labeled], y[labeled])
    y_masked = np.where(labeled, y, -1).astype(float)
    y_masked[~labeled] = np.nan
    return X, y_masked, labeled, model


@pytest.mark.parametrize("strategy", ["random", "margin", "entropy", "coreset", "kcenter_input", "badge", "dami"])
def test_query_100_picks_from_100k(benchmark, problem, strategy):
    X, y, labeled, model = problem
    picks = benchmark.pedantic(
        query, args=(X, y, BUDGET), kwargs={"strategy": strategy, "model": model, "random_state": 0},
        rounds=3, warmup_rounds=1,
    )
    assert picks.size == BUDGET and not labeled[picks].any()


def test_dami_representation_100k(benchmark, problem):
    X, _, _, model = problem

    def run() -> np.ndarray:
        rep = DamiRepresentation(model, X)
        return rep.points(np.arange(len(X)))

    points = benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    assert points.shape == (len(X), 101)


def test_kcenter_1000_centers_100_picks_100k(benchmark, problem):
    X, _, labeled, model = problem
    points = DamiRepresentation(model, X).points(np.arange(len(X)))
    picks, _ = benchmark.pedantic(kernels.kcenter_greedy, args=(points, BUDGET, labeled), kwargs={"return_radii": True}, rounds=3, warmup_rounds=1)
    assert picks.size == BUDGET


def test_dami_direct_local_linear_100k(benchmark, problem):
    X, _, labeled, model = problem
    picks = benchmark.pedantic(
        dami_select, args=(model, X, labeled, BUDGET), kwargs={"method": "direct"}, rounds=1, warmup_rounds=0
    )
    assert picks.size == BUDGET
