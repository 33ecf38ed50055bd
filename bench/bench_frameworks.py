"""pytest-benchmark side of the framework comparison, on one small pool (20k x 50, 10 classes).

    pytest bench/bench_frameworks.py --benchmark-only            # all stages, grouped
    pytest bench/bench_frameworks.py --benchmark-only -k kcenter

The project's addopts contain ``--benchmark-skip``; ``--benchmark-only`` overrides it
(``--benchmark-enable`` does not: it only undoes ``--benchmark-disable``). torch cases
skip (importorskip) when torch is absent; K-Center baselines skip without
``bench/_kcenter_baselines.py``. Each case also asserts agreement with dami-np (W(x) to float32
tolerance, identical K-Center picks). ``compare_frameworks.py`` is the full, per-process report.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _numpy_reference_round as npref  # noqa: E402
from compare_frameworks import REPR_RTOL, Config, _dami_mlp, _fit_quiet, make_data  # noqa: E402

CFG = Config(n=20_000, d=50, c=10, labeled=500, budget=50, epochs=1, round_epochs=5)
THREADS = 2
ROUNDS = 3


@pytest.fixture(scope="module", autouse=True)
def _threads() -> None:
    import dami_np.kernels as kernels

    if hasattr(kernels, "set_num_threads"):
        kernels.set_num_threads(THREADS)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return make_data(CFG)


@pytest.fixture(scope="module")
def fitted(data: tuple) -> Any:
    X, y, labeled = data
    return _fit_quiet(_dami_mlp(CFG, CFG.round_epochs), X[labeled], y[labeled], CFG.c)


@pytest.fixture(scope="module")
def reference_W(data: tuple, fitted: Any) -> np.ndarray:
    return fitted.local_linear(data[0])[0]


@pytest.fixture(scope="module")
def reference_picks(reference_W: np.ndarray, data: tuple) -> np.ndarray:
    from dami_np.kernels import kcenter_greedy

    return np.asarray(kcenter_greedy(reference_W.reshape(CFG.n, -1), CFG.budget, centers=data[2]))


def _torch() -> Any:
    pytest.importorskip("torch")
    import _torch_dami as T

    T.set_threads(THREADS)
    return T


def _baselines() -> Any:
    return pytest.importorskip("_kcenter_baselines")


def _assert_same_W(W: np.ndarray, ref: np.ndarray) -> None:
    assert W.shape == ref.shape
    assert np.max(np.abs(W - ref)) <= REPR_RTOL * np.max(np.abs(ref))


# ------------------------------------------------------------------ MLP training (1 epoch over the pool)


@pytest.mark.benchmark(group="train-epoch")
def test_train_dami_np(benchmark: Any, data: tuple) -> None:
    X, y, _ = data
    clf = benchmark.pedantic(lambda: _fit_quiet(_dami_mlp(CFG, 1), X, y, CFG.c), rounds=ROUNDS, warmup_rounds=1)
    assert clf.n_iter_ == 1


@pytest.mark.benchmark(group="train-epoch")
def test_train_torch(benchmark: Any, data: tuple) -> None:
    T = _torch()
    X, y, _ = data

    def run() -> float:
        return T.train_epochs(T.build_mlp(CFG.d, CFG.hidden, CFG.c, seed=0), X, y, epochs=1, batch_size=CFG.batch_size)

    assert np.isfinite(benchmark.pedantic(run, rounds=ROUNDS, warmup_rounds=1))


# ------------------------------------------------------------------ W(x) for the pool


@pytest.mark.benchmark(group="repr")
def test_repr_dami_np(benchmark: Any, data: tuple, fitted: Any, reference_W: np.ndarray) -> None:
    W = benchmark.pedantic(lambda: fitted.local_linear(data[0])[0], rounds=ROUNDS, warmup_rounds=1)
    _assert_same_W(W, reference_W)


@pytest.mark.benchmark(group="repr")
def test_repr_numpy_einsum(benchmark: Any, data: tuple, fitted: Any, reference_W: np.ndarray) -> None:
    run = lambda: npref.local_linear_einsum(fitted.coefs_, fitted.intercepts_, data[0])  # noqa: E731
    _assert_same_W(benchmark.pedantic(run, rounds=ROUNDS, warmup_rounds=1), reference_W)


@pytest.mark.benchmark(group="repr")
@pytest.mark.parametrize("method", ["closed", "jacrev"])
def test_repr_torch(benchmark: Any, method: str, data: tuple, fitted: Any, reference_W: np.ndarray) -> None:
    T = _torch()
    model = T.build_mlp(CFG.d, CFG.hidden, CFG.c)
    T.load_weights(model, fitted.coefs_, fitted.intercepts_)
    fn = T.local_linear_closed if method == "closed" else T.local_linear_jacrev
    _assert_same_W(benchmark.pedantic(lambda: fn(model, data[0]), rounds=ROUNDS, warmup_rounds=1), reference_W)


# ------------------------------------------------------------------ K-Center on the same W(x)


@pytest.mark.benchmark(group="kcenter")
def test_kcenter_dami_np(benchmark: Any, data: tuple, reference_W: np.ndarray, reference_picks: np.ndarray) -> None:
    from dami_np.kernels import kcenter_greedy

    points = reference_W.reshape(CFG.n, -1)
    picks = benchmark.pedantic(lambda: kcenter_greedy(points, CFG.budget, centers=data[2]), rounds=ROUNDS,
                               warmup_rounds=1)
    np.testing.assert_array_equal(picks, reference_picks)


@pytest.mark.benchmark(group="kcenter")
@pytest.mark.parametrize("name", ["kcenter_torch_cdist", "kcenter_numpy_gemv", "kcenter_google_style"])
def test_kcenter_baseline(benchmark: Any, name: str, data: tuple, reference_W: np.ndarray,
                          reference_picks: np.ndarray) -> None:
    if "torch" in name:
        _torch()
    fn = getattr(_baselines(), name)
    points = reference_W.reshape(CFG.n, -1)
    picks = benchmark.pedantic(lambda: fn(points, CFG.budget, data[2]), rounds=ROUNDS, warmup_rounds=1)
    np.testing.assert_array_equal(np.asarray(picks), reference_picks)


# ------------------------------------------------------------------ whole round


@pytest.mark.benchmark(group="round")
@pytest.mark.parametrize("impl", ["dami-np", "dami-np-direct", "numpy-google", "torch-closed", "torch-jacrev"])
def test_round(benchmark: Any, impl: str, data: tuple) -> None:
    X, y, labeled = data
    XL, yL = X[labeled], y[labeled]
    if impl.startswith("torch"):
        T = _torch()
        rep = T.local_linear_closed if impl == "torch-closed" else T.local_linear_jacrev
        KB = _baselines()

        def run() -> np.ndarray:
            model = T.build_mlp(CFG.d, CFG.hidden, CFG.c, seed=0)
            T.train_epochs(model, XL, yL, epochs=CFG.round_epochs, batch_size=CFG.batch_size)
            return KB.kcenter_torch_cdist(rep(model, X).reshape(CFG.n, -1), CFG.budget, labeled)
    elif impl == "numpy-google":
        KB = _baselines()

        def run() -> np.ndarray:
            clf = _fit_quiet(_dami_mlp(CFG, CFG.round_epochs), XL, yL, CFG.c)
            W = npref.local_linear_einsum(clf.coefs_, clf.intercepts_, X)
            return KB.kcenter_google_style(W.reshape(CFG.n, -1), CFG.budget, labeled)
    elif impl == "dami-np-direct":
        from dami_np.kernels import kcenter_greedy

        def run() -> np.ndarray:
            clf = _fit_quiet(_dami_mlp(CFG, CFG.round_epochs), XL, yL, CFG.c)
            return kcenter_greedy(clf.local_linear(X)[0].reshape(CFG.n, -1), CFG.budget, centers=labeled)
    else:  # the library's public path
        import dami_np

        y_masked = np.full(CFG.n, np.nan)
        y_masked[labeled] = y[labeled]

        def run() -> np.ndarray:
            clf = _fit_quiet(_dami_mlp(CFG, CFG.round_epochs), XL, yL, CFG.c)
            return dami_np.query(X, y_masked, CFG.budget, strategy="dami", model=clf, preprocess=False, bias=False)

    picks = np.asarray(benchmark.pedantic(run, rounds=ROUNDS, warmup_rounds=1))
    assert picks.shape == (CFG.budget,) and len(set(picks.tolist()) & set(labeled.tolist())) == 0
