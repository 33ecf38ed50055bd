"""DAMI on deeper MLPs: float32 points, the W_1 Gram factor and the active-set streamed K-Center.

Every new path is checked against the direct computation (explicit per-row Jacobians in float64
+ a naive K-Center): on exact data (integer weights, so every distance is an exact integer and
ties abound) the picks must be identical; on real float32 models each pick must be a farthest
row within a tight tolerance and the reported radii must match.  The streamed run must give the
in-memory picks and radii bit for bit, passing over the pool a few times per round.
"""

from __future__ import annotations

import numpy as np
import pytest

from dami_np import MLPClassifier
from dami_np.strategies import DamiRepresentation, dami_select, grouped_kcenter, streamed_kcenter
from dami_np.strategies import _dami as dami_module
from dami_np.strategies import _kcenter_grouped as kcenter_module
from test_strategies_dami import assert_greedy_kcenter, naive_kcenter, naive_representation

TINY = 64  # bytes: forces the streamed K-Center


def small_active_set(monkeypatch, rows=8, per_pick=1):
    """Make the streamed run's active set small so that it must grow (several passes)."""
    monkeypatch.setattr(kcenter_module, "_ACTIVE_MIN", rows)
    monkeypatch.setattr(kcenter_module, "_ACTIVE_PER_PICK", per_pick)


def problem(seed, hidden, *, n=500, d=6, n_classes=3, n_labeled=20, dtype="float32", duplicates=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if duplicates:
        X[n // 2 : n // 2 + n // 10] = X[: n // 10]  # duplicate rows: same region, same point
    y = rng.integers(0, n_classes, size=n)
    labeled = np.zeros(n, bool)
    labeled[rng.choice(n, n_labeled, replace=False)] = True
    y[labeled] = np.arange(n_labeled) % n_classes  # every class labeled
    model = MLPClassifier(hidden, dtype=dtype, max_iter=40, random_state=seed).fit(X[labeled], y[labeled])
    return X, labeled, model


def integer_model(seed, hidden, *, n=400, d=4, n_classes=3, n_labeled=10, dtype="float32"):
    """A fitted MLP whose weights and inputs are small integers: every W(x), b(x) and distance is
    an exact integer in float32 and float64, so exact ties are everywhere."""
    rng = np.random.default_rng(seed)
    X = rng.integers(-2, 3, size=(n, d)).astype(np.float64)  # many duplicate rows too
    y = np.arange(n) % n_classes
    labeled = np.zeros(n, bool)
    labeled[rng.choice(n, n_labeled, replace=False)] = True
    y[labeled] = np.arange(n_labeled) % n_classes
    model = MLPClassifier(hidden, dtype=dtype, max_iter=2, random_state=seed).fit(X[labeled], y[labeled])
    for W in model.coefs_:
        W[...] = rng.integers(-2, 3, size=W.shape)
    for b in model.intercepts_:
        b[...] = rng.integers(-1, 2, size=b.shape)
    return X, labeled, model


def naive_radii(points, labeled, picks):
    """Distance of each pick to its nearest labeled row or earlier pick (mean when none), float64."""
    points = np.asarray(points, np.float64)
    centers = list(np.flatnonzero(labeled))
    out = []
    for j in picks:
        if centers:
            out.append(np.sqrt(((points[centers] - points[j]) ** 2).sum(axis=1).min()))
        else:
            out.append(np.sqrt(((points[j] - points.mean(axis=0)) ** 2).sum()))
        centers.append(j)
    return np.array(out)


SHAPES = [((7, 5), 3), ((6, 5, 4), 3), ((7, 5), 2), ((6, 4, 5), 2)]  # 2 and 3 hidden layers, multi-class and binary
VARIANTS = [dict(bias=True, rows="all"), dict(bias=False, rows="all"), dict(bias=True, rows="predicted")]


def shape_id(shape):
    return f"hidden{'x'.join(map(str, shape[0]))}-C{shape[1]}"


def variant_id(variant):
    return "-".join(f"{k}={v}" for k, v in variant.items())


# ---------------------------------------------------------------- representations
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("variant", VARIANTS + [dict(bias=True, rows="all", normalize=True)], ids=variant_id)
def test_points_equal_the_explicit_jacobians(shape, variant, dtype):
    hidden, n_classes = shape
    X, labeled, model = problem(1, hidden, n=120, n_classes=n_classes, dtype=dtype)
    rep = DamiRepresentation(model, X, method="direct", **variant)
    assert rep.dtype == np.dtype(dtype)
    P = rep.points(np.arange(len(X)), dtype=rep.dtype)
    assert P.dtype == np.dtype(dtype)
    ref = naive_representation(model, X, **variant)
    scale = np.abs(ref).max()
    tol = 1e-12 if dtype == "float64" else 2e-6
    np.testing.assert_allclose(P, ref, atol=tol * scale, rtol=0)
    np.testing.assert_allclose(rep.points(np.arange(len(X))), P.astype(np.float64), rtol=0, atol=0)  # float64 = cast


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("variant", VARIANTS + [dict(bias=False, rows="predicted", normalize=True)], ids=variant_id)
def test_gram_factor_keeps_every_distance_and_norm(shape, variant):
    hidden, n_classes = shape
    X, labeled, model = problem(2, hidden, n=100, d=9, n_classes=n_classes, dtype="float64")
    rep = DamiRepresentation(model, X, **variant)  # auto: H_1 < d, so the factor
    assert rep.method == "factor"
    per_class = n_classes if variant["rows"] == "all" else 1
    assert rep.dim == per_class * (hidden[0] + variant["bias"]) < rep.direct_dim
    E = rep.points(np.arange(len(X)))
    ref = naive_representation(model, X, **variant)
    sq = lambda A: ((A[:, None, :] - A[None, :, :]) ** 2).sum(-1)  # noqa: E731
    np.testing.assert_allclose(sq(E), sq(ref), rtol=1e-9, atol=1e-11 * sq(ref).max())
    np.testing.assert_allclose((E**2).sum(1), (ref**2).sum(1), rtol=1e-9, atol=1e-12)


def test_auto_keeps_w_itself_when_the_first_layer_is_not_narrower():
    X, labeled, model = problem(3, (8, 5), n=60, d=6)
    rep = DamiRepresentation(model, X)
    assert rep.method == "direct" and rep.dim == rep.direct_dim == 3 * 7 and rep.dtype == np.float32
    one = DamiRepresentation(problem(3, (5,), n=60, d=6)[2], X)
    assert one.method == "embedding" and one.dtype == np.float64  # one hidden layer: the H-dim embedding stays
    with pytest.raises(ValueError, match="at least one hidden layer"):
        DamiRepresentation(MLPClassifier((), max_iter=3).fit(X[labeled], np.arange(labeled.sum()) % 3), X, method="factor")


def test_a_model_without_hidden_layers_has_one_point():
    X, labeled, _ = problem(4, (3,), n=50, d=4)
    model = MLPClassifier((), max_iter=5, random_state=0).fit(X[labeled], np.arange(labeled.sum()) % 3)
    rep = DamiRepresentation(model, X)
    P = rep.points(np.arange(len(X)))
    np.testing.assert_allclose(P, naive_representation(model, X, bias=True, rows="all"), atol=1e-6)
    assert (P == P[0]).all()


# ---------------------------------------------------------------- picks: exact data
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("variant", VARIANTS[:2], ids=variant_id)
def test_exact_ties_give_the_naive_picks_in_memory_and_streamed(shape, variant, dtype, monkeypatch):
    hidden, n_classes = shape
    X, labeled, model = integer_model(5, hidden, n_classes=n_classes, dtype=dtype)
    points = naive_representation(model, X, **variant)
    assert len(np.unique(points, axis=0)) < len(np.unique(X, axis=0))  # regions share points: ties
    budget = 60  # more than the distinct points: the zero-distance tail too
    expected = naive_kcenter(points, labeled, budget)
    small_active_set(monkeypatch)
    for memory_budget in (None, TINY):
        got = dami_select(model, X, labeled, budget, method="direct", memory_budget=memory_budget, **variant)
        np.testing.assert_array_equal(got.positions, expected)
        np.testing.assert_allclose(got.distances, naive_radii(points, labeled, expected), rtol=1e-12, atol=0)


def test_exact_ties_without_labeled_rows(monkeypatch):
    X, labeled, model = integer_model(6, (6, 5), n_classes=3)
    none = np.zeros(len(X), bool)
    points = naive_representation(model, X, bias=True, rows="all")
    small_active_set(monkeypatch)
    in_memory = dami_select(model, X, none, 40, method="direct")
    streamed = dami_select(model, X, none, 40, method="direct", memory_budget=TINY)
    np.testing.assert_array_equal(streamed.positions, in_memory.positions)
    np.testing.assert_array_equal(streamed.distances, in_memory.distances)
    np.testing.assert_array_equal(in_memory.positions, naive_kcenter(points, none, 40))


# ---------------------------------------------------------------- picks: trained float32 models
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("variant", VARIANTS + [dict(bias=True, rows="all", normalize=True)], ids=variant_id)
def test_float32_picks_are_greedy_on_the_direct_computation(shape, variant, monkeypatch):
    hidden, n_classes = shape
    X, labeled, model = problem(7, hidden, n=600, d=6, n_classes=n_classes)
    points = naive_representation(model, X, **variant)
    budget = 50
    in_memory = dami_select(model, X, labeled, budget, **variant)
    assert_greedy_kcenter(points, labeled, in_memory.positions, rtol=1e-5)
    radii = naive_radii(points, labeled, in_memory.positions)
    np.testing.assert_allclose(in_memory.distances, radii, rtol=1e-4, atol=1e-6 * radii.max())
    small_active_set(monkeypatch)
    streamed = dami_select(model, X, labeled, budget, memory_budget=TINY, **variant)
    np.testing.assert_array_equal(streamed.positions, in_memory.positions)  # bit for bit
    np.testing.assert_array_equal(streamed.distances, in_memory.distances)


@pytest.mark.parametrize("shape", SHAPES[:2], ids=shape_id)
def test_factor_picks_are_greedy_on_the_direct_computation(shape, monkeypatch):
    hidden, n_classes = shape
    X, labeled, model = problem(8, hidden, n=600, d=11, n_classes=n_classes)
    points = naive_representation(model, X, bias=True, rows="all")
    factor = dami_select(model, X, labeled, 40)  # auto: the factor (H_1 < d)
    direct = dami_select(model, X, labeled, 40, method="direct")
    for got in (factor, direct):
        assert_greedy_kcenter(points, labeled, got.positions, rtol=1e-5)
        radii = naive_radii(points, labeled, got.positions)
        np.testing.assert_allclose(got.distances, radii, rtol=1e-4, atol=1e-6 * radii.max())
    small_active_set(monkeypatch)
    streamed = dami_select(model, X, labeled, 40, memory_budget=TINY)
    np.testing.assert_array_equal(streamed.positions, factor.positions)
    np.testing.assert_array_equal(streamed.distances, factor.distances)


def test_float32_model_materializes_float32_points(monkeypatch):
    X, labeled, model = problem(9, (6, 5), n=300)
    seen = []
    real = kcenter_module.kcenter_radii

    def spy(points, centers, k):
        seen.append(points.dtype)
        return real(points, centers, k)

    monkeypatch.setattr(kcenter_module, "kcenter_radii", spy)
    dami_select(model, X, labeled, 10)
    assert seen == [np.dtype(np.float32)]


def test_candidates_with_the_streamed_run(monkeypatch):
    X, labeled, model = problem(10, (6, 5, 4), n=500)
    cand = np.flatnonzero(~labeled)[::2]
    small_active_set(monkeypatch)
    a = dami_select(model, X, labeled, 30, candidates=cand)
    b = dami_select(model, X, labeled, 30, candidates=cand, memory_budget=TINY)
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.distances, b.distances)
    assert set(a.positions) <= set(cand)


# ---------------------------------------------------------------- the streamed run itself
def test_streamed_passes_over_the_pool_a_few_times_per_round(monkeypatch):
    X, labeled, model = problem(11, (8, 6), n=3000, d=5, n_labeled=40)
    computed = []
    real = DamiRepresentation.points

    def spy(self, rows, dtype=np.float64):
        computed.append(len(rows))
        return real(self, rows, dtype)

    monkeypatch.setattr(DamiRepresentation, "points", spy)
    small_active_set(monkeypatch, rows=16, per_pick=1)
    budget = 60
    streamed = dami_select(model, X, labeled, budget, memory_budget=TINY)
    n_groups = np.unique(real_groups(model, X)).size  # one point per activation pattern
    assert n_groups > 20 * 16
    passes = sum(computed) / n_groups
    assert 2.0 <= passes <= 2 + np.log2(n_groups / 16) + 1, passes  # it grew; the bound of _streamed (+ centers)
    assert passes < budget / 10  # not once per pick
    computed.clear()
    in_memory = dami_select(model, X, labeled, budget)
    assert sum(computed) == n_groups  # materialized once
    np.testing.assert_array_equal(streamed.positions, in_memory.positions)


def real_groups(model, X):
    return DamiRepresentation(model, X).groups()


@pytest.mark.parametrize("seed", range(4))
def test_streamed_kcenter_equals_naive_on_tied_grid_points(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    points = rng.integers(0, 4, size=(700, 3)).astype(np.float64)  # a 4^3 grid: duplicates and ties
    centers = np.zeros(700, bool)
    centers[rng.choice(700, 5, replace=False)] = True
    small_active_set(monkeypatch, rows=4, per_pick=1)
    for k in (1, 7, 40):
        n_positive = naive_radii(points, centers, naive_kcenter(points, centers, k)) > 0
        expected = naive_kcenter(points, centers, k)[n_positive]
        for chunk in (1, 64, 1000):
            got, sq = streamed_kcenter(np.arange(700), centers, k, lambda r: points[r], 3, chunk_rows=chunk)
            np.testing.assert_array_equal(got, expected)
            np.testing.assert_array_equal(np.sqrt(sq), naive_radii(points, centers, expected))
        group = np.unique(points, axis=0, return_inverse=True)[1].ravel()
        grouped = grouped_kcenter(group, centers, k, lambda r: points[r], 3, memory_budget=TINY, chunk_rows=50)
        np.testing.assert_array_equal(grouped[0], naive_kcenter(points, centers, k))


def test_streamed_kcenter_needs_a_center():
    with pytest.raises(ValueError, match="at least one center"):
        streamed_kcenter(np.arange(5), np.zeros(5, bool), 2, lambda r: np.ones((len(r), 2)), 2)


# ---------------------------------------------------------------- the default memory budget
def test_default_memory_budget_is_a_fraction_of_available_memory(monkeypatch, tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    800 kB\n")
    monkeypatch.setattr(dami_module, "_MEMINFO", str(meminfo))
    assert dami_module.default_memory_budget() == int(800 * 1024 * dami_module.MEMORY_FRACTION)
    monkeypatch.setattr(dami_module, "_MEMINFO", str(tmp_path / "missing"))
    assert dami_module.default_memory_budget() == dami_module.DEFAULT_MEMORY_BUDGET


def test_the_default_budget_decides_in_memory_or_streamed(monkeypatch, tmp_path):
    X, labeled, model = problem(12, (6, 5), n=300)
    called = []
    real = kcenter_module._streamed
    monkeypatch.setattr(kcenter_module, "_streamed", lambda *a: called.append(1) or real(*a))
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemAvailable:    1 kB\n")  # 512 bytes: too small for 300 x 21 float32
    monkeypatch.setattr(dami_module, "_MEMINFO", str(meminfo))
    streamed = dami_select(model, X, labeled, 10)
    assert called
    called.clear()
    in_memory = dami_select(model, X, labeled, 10, memory_budget=1 << 30)
    assert not called
    np.testing.assert_array_equal(streamed.positions, in_memory.positions)
    for bad in (0, -5, 1.5, True, "1GB"):
        with pytest.raises(ValueError, match="memory_budget must be a positive number of bytes"):
            dami_select(model, X, labeled, 10, memory_budget=bad)
