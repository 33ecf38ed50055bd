"""pytest-benchmark cases for dami_np.kernels (small shapes; see kcenter_speed.py for the big table).

    python -m pytest bench/bench_kernels.py -o addopts="" --benchmark-only -q

pyproject's addopts carry ``--benchmark-skip`` (which wins over ``--benchmark-enable``), so
clear them with ``-o addopts=""``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _kcenter_baselines as KB  # noqa: E402
from kcenter_speed import make_data  # noqa: E402

from dami_np import kernels as K  # noqa: E402

N, D, CENTERS, PICKS = 30_000, 640, 30, 100


@pytest.fixture(scope="module", params=["gaussian", "clustered"])
def data(request):
    x = make_data(request.param, N, D, 0.25)
    centers = np.random.default_rng(1).choice(N, CENTERS, replace=False)
    K.kcenter_greedy(x[:5000], 30, np.arange(30))  # compiles (or loads) the kernels used below
    return request.param, x, centers


@pytest.mark.parametrize("method", ["auto", "numpy"])
def test_kcenter_dami(benchmark, data, method):
    kind, x, centers = data
    benchmark.group = f"kcenter {kind} {N}x{D} {PICKS} picks"
    picks = benchmark.pedantic(K.kcenter_greedy, args=(x, PICKS, centers), kwargs={"method": method}, rounds=3)
    assert len(picks) == PICKS


@pytest.mark.parametrize("name", ["kcenter_numpy_gemv", "kcenter_numba_prange", "kcenter_google_style"])
def test_kcenter_baseline(benchmark, data, name):
    kind, x, centers = data
    benchmark.group = f"kcenter {kind} {N}x{D} {PICKS} picks"
    fn = getattr(KB, name)
    fn(x[:500], 3, [0])
    picks = benchmark.pedantic(fn, args=(x, PICKS, centers), rounds=1 if "google" in name else 3)
    assert len(picks) == PICKS


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pairwise(benchmark, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2000, 64)).astype(dtype)
    b = rng.standard_normal((1000, 64)).astype(dtype)
    benchmark.group = "pairwise 2000x1000x64"
    out = benchmark(K.pairwise_sq_distances, a, b)
    assert out.shape == (2000, 1000)


def test_nearest(benchmark):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((20_000, 64)).astype(np.float32)
    b = rng.standard_normal((200, 64)).astype(np.float32)
    benchmark.group = "nearest 20000x200x64"
    d, j = benchmark(K.nearest_sq_distances, a, b)
    assert d.shape == (20_000,)
