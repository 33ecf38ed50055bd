"""The DAMI representation's factor is the same bits whatever the BLAS thread count."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from dami_np import MLPClassifier
from dami_np.strategies import DamiRepresentation


@pytest.mark.parametrize("hidden", [(100,), (40, 30)])
def test_factor_and_points_do_not_depend_on_the_blas_threads(hidden):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 50))
    model = MLPClassifier(hidden_layer_sizes=hidden, max_iter=15, random_state=0).fit(X[:300], rng.integers(0, 10, 300))
    points = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            rep = DamiRepresentation(model, X, method="auto" if len(hidden) == 1 else "factor")
            points.append(rep.points(np.arange(len(X))))
    assert np.array_equal(points[0], points[1])
