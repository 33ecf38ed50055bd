"""Greedy K-Center kernels against the naive reference, for every method (with and without the JIT)."""

from __future__ import annotations

import numpy as np
import pytest

from dami_np import kernels as K
from dami_np.kernels import _kcenter_screened as KS

from test_kernels_reference import JIT, engine, engines, kernel_paths, needs_jit, ref_kcenter, ref_pairwise  # noqa: F401

# With NUMBA_DISABLE_JIT=1 the kernel bodies run as Python: NumPy scalars then warn where the
# compiled code silently wraps (the row hash) or makes NaN on purpose (the finite scan).
pytestmark = pytest.mark.filterwarnings(
    "ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered in scalar:RuntimeWarning"
)



def _gauss(n, d, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(dtype)


def _blobs(n, d, n_blobs, dtype, seed=1):
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal((n_blobs, d)) * 5.0
    return (mu[rng.integers(0, n_blobs, n)] + 0.2 * rng.standard_normal((n, d))).astype(dtype)


def _dupes(n, d, n_unique, dtype, seed=2):
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n_unique, d))
    return base[rng.integers(0, n_unique, n)].astype(dtype)


def _check_all_methods(x, k, centers):
    ref_p, ref_r = ref_kcenter(x, k, centers)
    for m, engine in engines(np.asarray(x).shape[1]):
        with engine:
            p, r = K.kcenter_greedy(x, k, centers, return_radii=True, method=m)
        assert p.dtype == np.int64 and r.dtype == np.float64
        np.testing.assert_array_equal(p, ref_p, err_msg=f"method={m} {engine}")
        np.testing.assert_array_equal(r, ref_r, err_msg=f"method={m} {engine}")
    return ref_p, ref_r


def _assert_valid(p, n, centers_mask, k):
    assert len(p) == k and len(set(p.tolist())) == k
    assert not centers_mask[p].any()
    assert ((0 <= p) & (p < n)).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [3, 40, 70])
def test_gaussian_with_centers(dtype, d):
    x = _gauss(300, d, dtype)
    centers = np.array([5, 17, 17, 250])  # repeated index is fine
    p, _ = _check_all_methods(x, 30, centers)
    mask = np.zeros(300, bool)
    mask[centers] = True
    _assert_valid(p, 300, mask, 30)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clustered_many_blobs(dtype):
    n = 600 if JIT else 200
    x = _blobs(n, 20, 40, dtype)
    _check_all_methods(x, 60, np.arange(0, n, 37))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_many_exact_duplicates_and_fill(dtype):
    x = _dupes(200, 6, 15, dtype)
    centers = np.arange(0, 200, 9)
    # k = n - |centers| forces picks among rows at distance 0 (duplicates of centers/picks)
    k = 200 - len(centers)
    p, r = _check_all_methods(x, k, centers)
    assert sorted(p.tolist()) == sorted(set(range(200)) - set(centers.tolist()))
    assert (r[15:] == 0).all()
    assert np.all(np.diff(r) <= 0)  # coverage radius never grows


def test_duplicates_without_centers():
    x = _dupes(150, 4, 10, np.float64)
    _check_all_methods(x, 40, None)


def test_all_equal_rows():
    x = np.ones((30, 5), dtype=np.float32)
    for m, engine in engines(5):
        with engine:
            p, r = K.kcenter_greedy(x, 7, [3, 4], return_radii=True, method=m)
            np.testing.assert_array_equal(p, [0, 1, 2, 5, 6, 7, 8])
            assert (r == 0).all()
            p, r = K.kcenter_greedy(x, 3, None, return_radii=True, method=m)
            np.testing.assert_array_equal(p, [0, 1, 2])
            assert (r == 0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_n_equals_one_and_k_zero(dtype):
    x = np.array([[1.0, 2.0]], dtype=dtype)
    for m, engine in engines(2):
        with engine:
            p, r = K.kcenter_greedy(x, 1, method=m, return_radii=True)
            np.testing.assert_array_equal(p, [0])
            np.testing.assert_array_equal(r, [0.0])
            p = K.kcenter_greedy(x, 0, [0], method=m)
            assert p.dtype == np.int64 and p.shape == (0,)
            p, r = K.kcenter_greedy(x, 0, return_radii=True, method=m)
            assert p.shape == (0,) and r.shape == (0,) and r.dtype == np.float64
            with pytest.raises(ValueError, match="k=1 exceeds.*1 rows - 1 centers = 0"):
                K.kcenter_greedy(x, 1, [0], method=m)


def test_k_equals_available_returns_every_other_row():
    x = _gauss(50, 3, np.float64)
    p, _ = _check_all_methods(x, 45, [0, 10, 20, 30, 40])
    assert sorted(p.tolist()) == sorted(set(range(50)) - {0, 10, 20, 30, 40})


def test_k_too_large_message_names_numbers():
    x = _gauss(10, 2, np.float64)
    with pytest.raises(ValueError, match=r"k=9 exceeds the rows available to pick: 10 rows - 2 centers = 8"):
        K.kcenter_greedy(x, 9, [1, 2])


def test_empty_centers_and_mask_forms_agree():
    x = _gauss(120, 5, np.float32)
    ref = K.kcenter_greedy(x, 10)
    for c in ([], np.array([], dtype=np.int64), np.zeros(120, dtype=bool), np.array([])):
        np.testing.assert_array_equal(K.kcenter_greedy(x, 10, c), ref)
    ref_p, ref_r = ref_kcenter(x, 10)
    np.testing.assert_array_equal(ref, ref_p)
    mask = np.zeros(120, dtype=bool)
    mask[[3, 50, 77]] = True
    for m, engine in engines(5):
        with engine:
            np.testing.assert_array_equal(
                K.kcenter_greedy(x, 12, mask, method=m), K.kcenter_greedy(x, 12, [77, 3, 50], method=m)
            )


def test_first_pick_is_farthest_from_mean_with_radius():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [9.0, 0.0], [2.0, 0.0]])
    p, r = K.kcenter_greedy(x, 2, return_radii=True)
    assert p[0] == 2
    np.testing.assert_allclose(r[0], 9.0 - x[:, 0].mean())
    assert p[1] == 0 and r[1] == 9.0


def test_read_only_fortran_and_int_inputs():
    x = _blobs(200, 12, 10, np.float64)
    ref = K.kcenter_greedy(x, 25, [1, 2, 3])
    ro = x.copy()
    ro.flags.writeable = False
    f = np.asfortranarray(x)
    centers = np.array([1, 2, 3])
    centers.flags.writeable = False
    for m, engine in engines(12):
        with engine:
            np.testing.assert_array_equal(K.kcenter_greedy(ro, 25, centers, method=m), ref)
            np.testing.assert_array_equal(K.kcenter_greedy(f, 25, centers, method=m), ref)
    xi = np.random.default_rng(3).integers(-20, 20, size=(100, 7))
    p = K.kcenter_greedy(xi, 15, [0])
    np.testing.assert_array_equal(p, K.kcenter_greedy(xi.astype(np.float64), 15, [0]))
    np.testing.assert_array_equal(p, ref_kcenter(xi, 15, [0])[0])


def test_float32_and_float64_same_picks_on_exact_data():
    xi = np.random.default_rng(4).integers(0, 8, size=(150, 9))
    p32 = K.kcenter_greedy(xi.astype(np.float32), 30, [5])
    p64 = K.kcenter_greedy(xi.astype(np.float64), 30, [5])
    np.testing.assert_array_equal(p32, p64)


@needs_jit
@pytest.mark.skipif(not K.NUMBA_ENABLED, reason="thread count only matters with Numba")
def test_same_picks_with_one_and_two_threads(monkeypatch):
    _force_parallel(monkeypatch, True)  # the parallel passes even on small data
    x = _blobs(3000, 16, 30, np.float32)
    dup = np.vstack([x, x[:500]])  # duplicates too
    before = K.get_num_threads()
    try:
        results = {}
        for t in (1, min(2, _max_threads())):
            K.set_num_threads(t)
            assert K.get_num_threads() == t
            results[t] = []
            for m, engine in engines(16):
                with engine:
                    results[t].append(K.kcenter_greedy(dup, 80, np.arange(0, 3500, 101), return_radii=True, method=m))
        for a, b in zip(*results.values()):
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a[1], b[1])
    finally:
        K.set_num_threads(before)


def _force_parallel(monkeypatch, parallel: bool) -> None:
    from dami_np.kernels import _dedupe, _screen, _validate  # noqa: F401

    for mod, names in ((KS, ("_PARALLEL_MIN", "_PASS_PARALLEL_MIN")), (_screen, ("_PARALLEL_MIN", "_SERIAL_ELEMS", "_PARALLEL_WORK_MIN")),
                       (_dedupe, ("_PARALLEL_MIN",))):
        for name in names:
            monkeypatch.setattr(mod, name, 0 if parallel else 1 << 62)


@pytest.mark.skipif(not K.NUMBA_ENABLED, reason="serial/parallel passes are Numba paths")
@pytest.mark.parametrize("parallel", [True, False])
def test_parallel_and_serial_passes_agree_with_reference(monkeypatch, parallel):
    _force_parallel(monkeypatch, parallel)
    scale = 1 if JIT else 4
    x = np.vstack([_blobs(1500 // scale, 10, 25, np.float64), _dupes(500 // scale, 10, 20, np.float64)])
    _check_all_methods(x, 40, np.arange(0, 2000 // scale, 97))


def _max_threads() -> int:
    import numba

    return int(numba.config.NUMBA_NUM_THREADS)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([1.0, 2.0]), "2-D"),
        (np.zeros((2, 2, 2)), "2-D"),
        (np.array([[1.0, np.nan]]), "NaN or infinite"),
        (np.array([[1.0], [np.inf]]), "NaN or infinite"),
        (np.array([[1e200, 0.0]]), "magnitude"),
        (np.array([[1 + 1j]]), "real numbers"),
    ],
)
def test_rejects_bad_points(bad, match):
    with pytest.raises(ValueError, match=match):
        K.kcenter_greedy(bad, 1)


def test_methods_screened_alias_and_removed_names():
    assert K.METHODS == ("auto", "numpy")
    x = _blobs(300, 6, 12, np.float32)
    np.testing.assert_array_equal(K.kcenter_greedy(x, 20, [4], method="screened"), K.kcenter_greedy(x, 20, [4]))
    for gone in ("plain", "pruned", "fast", "AUTO", None, 1):
        with pytest.raises(ValueError, match=r"method must be one of \('auto', 'numpy'\).*got"):
            K.kcenter_greedy(x, 1, method=gone)


def test_rejects_bad_arguments():
    x = _gauss(10, 2, np.float64)
    for k in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="k must be"):
            K.kcenter_greedy(x, k)
    with pytest.raises(ValueError, match=r"in \[0, 10\)"):
        K.kcenter_greedy(x, 1, [10])
    with pytest.raises(ValueError, match=r"in \[0, 10\)"):
        K.kcenter_greedy(x, 1, [-1])
    with pytest.raises(ValueError, match="shape"):
        K.kcenter_greedy(x, 1, np.zeros(9, dtype=bool))
    with pytest.raises(ValueError, match="integer row indices"):
        K.kcenter_greedy(x, 1, [0.5])
    assert K.kcenter_greedy(x, 1, np.int64(3) * np.ones(1, dtype=np.int64)).shape == (1,)
    assert K.kcenter_greedy(x, np.int64(2)).shape == (2,)


@needs_jit
@pytest.mark.skipif(not K.NUMBA_ENABLED, reason="the screened method is a Numba path")
def test_screened_method_screens_centers_and_keeps_a_small_active_set(monkeypatch):
    """Many initial centers go through one screen (no pass per center), each pick updates
    only an active set much smaller than the pool, and pruning skips most of it."""

    screens: list[int] = []
    updated: list[int] = []
    orig_screen = KS.screened_nearest

    def screen_spy(x, cpts, sq=None):
        screens.append(cpts.shape[0])
        return orig_screen(x, cpts, sq)

    computed: list[int] = []

    def update_spy(fn):
        def wrapped(x, rows, *rest):
            updated.append(rows.shape[0])
            computed.append(fn(x, rows, *rest))  # the kernel returns the distances it computed
            return computed[-1]
        return wrapped

    monkeypatch.setattr(KS, "screened_nearest", screen_spy)
    monkeypatch.setattr(KS, "_add_center_serial", update_spy(KS._add_center_serial))
    monkeypatch.setattr(KS, "_add_center_parallel", update_spy(KS._add_center_parallel))
    x = _blobs(60_000, 8, 50, np.float32)
    centers = np.arange(0, 60_000, 60)  # 1,000 initial centers
    with engine("screened"):  # 8 columns would go to the k-d tree cells
        p, r = K.kcenter_greedy(x, 50, centers, return_radii=True, method="auto")
    with engine("cells"):  # checked against the naive reference below; much faster than "numpy" here
        ref_p, ref_r = K.kcenter_greedy(x, 50, centers, return_radii=True, method="auto")
    np.testing.assert_array_equal(p, ref_p)
    np.testing.assert_array_equal(r, ref_r)
    assert screens[0] == KS._SCREEN_FIRST and sum(screens) >= 1000  # the rest applied to active rows only
    assert len(updated) == 49 and max(updated) <= 60_000 // 4
    assert sum(computed) < 0.5 * sum(updated)  # the triangle-inequality test really skips rows


@pytest.mark.skipif(not K.NUMBA_ENABLED, reason="grouping kernel is a Numba path")
def test_grouping_identical_rows_matches_numpy_unique():
    from dami_np.kernels._dedupe import group_identical_rows

    x = _dupes(500, 5, 40, np.float32)
    x[7] = -0.0 * x[7] + 0.0  # values unchanged, still a duplicate of itself
    g = group_identical_rows(x)
    _, first, inv = np.unique(x, axis=0, return_index=True, return_inverse=True)
    np.testing.assert_array_equal(g.rows, np.sort(first))
    np.testing.assert_array_equal(g.rows[g.group_of], first[inv.reshape(-1)])


@pytest.mark.skipif(not K.NUMBA_ENABLED, reason="grouping kernel is a Numba path")
def test_hash_collisions_never_merge_different_rows():
    from dami_np.kernels._dedupe import _assign_reps

    x = _dupes(60, 3, 7, np.float64)
    bits = x.view(np.uint64)
    hashes = np.zeros(60, dtype=np.uint64)  # every row collides
    order = np.arange(60, dtype=np.int64)
    rep = np.empty(60, dtype=np.int64)
    _assign_reps(order, hashes, bits, rep, np.empty(60, dtype=np.int64))
    _, first, inv = np.unique(x, axis=0, return_index=True, return_inverse=True)
    np.testing.assert_array_equal(rep, first[inv.reshape(-1)])


# ---------------------------------------------------------------- screened method: hard cases
_REFS: dict = {}


@pytest.mark.skipif(not K.NUMBA_ENABLED, reason="the screened method is a Numba path")
@pytest.mark.parametrize(
    "n, dim, n_centers, k, distinct",
    [
        (400, 3, 40, 30, None),  # one screening stage
        (3000, 12, 600, 150, None),  # strided first stage + active-set refreshes
        (800, 5, 100, 500, 60),  # many duplicates: zero-distance tail in row order
        (300, 40, 33, 267, None),  # every row picked
        (600, 6, 80, 40, "offset"),  # far from the origin: float32 screening alone would misrank
        (500, 7, 0, 60, None),  # no initial centers
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("small_active_sets", [False, True])
def test_screened_equals_reference_with_small_active_sets(n, dim, n_centers, k, distinct, dtype, small_active_sets, monkeypatch):
    if not JIT and n > 1000:
        n, n_centers, k = n // 6, n_centers // 6, k // 6  # kernel bodies as Python: smaller
    if small_active_sets:  # force many re-selections of the active set and a strided first screen
        monkeypatch.setattr(KS, "_ACTIVE_MIN", 4)
        monkeypatch.setattr(KS, "_ACTIVE_PER_PICK", 0)
        monkeypatch.setattr(KS, "_SCREEN_FIRST", 8)
    rng = np.random.default_rng(n + dim)
    points = rng.normal(size=(n, dim)) * rng.uniform(0.1, 10, size=dim)
    if distinct == "offset":
        points = 1e3 + points * 1e-3
    elif distinct:
        points = points[rng.integers(0, distinct, size=n)].round(1)
    points = points.astype(dtype)
    centers = rng.choice(n, n_centers, replace=False)
    key = (n, dim, n_centers, k, distinct, np.dtype(dtype).name)
    if key not in _REFS:  # the same data for both active-set sizes: one naive run
        _REFS[key] = ref_kcenter(points, k, centers)
    ref_p, ref_r = _REFS[key]
    for m, engine in engines(dim):
        with engine:
            picks, radii = K.kcenter_greedy(points, k, centers, return_radii=True, method=m)
        np.testing.assert_array_equal(picks, ref_p, err_msg=repr(engine))
        np.testing.assert_array_equal(radii, ref_r, err_msg=repr(engine))


@pytest.mark.parametrize(
    "scale",
    ["huge", "tiny", "mixed"],
)
def test_every_method_is_exact_at_extreme_magnitudes(scale):
    """The BLAS screen works in float32: rows are rescaled by a power of two and its error
    bound has an absolute term, so float32 overflow or underflow cannot change a pick."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((400, 9))
    if scale == "huge":
        x *= 1e120  # beyond float32 range
    elif scale == "tiny":
        x *= 1e-200  # below float32 range
    else:  # a cloud of tiny rows next to large ones: tiny ones underflow in float32
        x[:200] *= 1e-42
        x[200:] *= 1e3
    centers = np.arange(0, 400, 9)  # 45 centers: the screen is used
    _check_all_methods(x, 60, centers)
    d, j = K.nearest_sq_distances(x, x[centers])
    ref_d = ref_pairwise(x, x[centers])
    np.testing.assert_array_equal(d, ref_d.min(axis=1))
    np.testing.assert_array_equal(j, ref_d.argmin(axis=1))


# ---------------------------------------------------------------- k-d tree cells (D <= 8): hard cases
@pytest.mark.parametrize("dim", [1, 2, 3, 8])
@pytest.mark.parametrize("layout", ["grid ties", "gaussian", "one far cluster"])
@pytest.mark.parametrize("n_centers", [0, 1, 40])
def test_cells_equal_reference(dim, layout, n_centers):
    rng = np.random.default_rng(dim * 7 + n_centers)
    n = 1500 if JIT else 300
    if layout == "grid ties":  # integer grid: many equal distances and duplicate rows
        x = rng.integers(0, 5, size=(n, dim)).astype(np.float64)
    elif layout == "gaussian":
        x = rng.standard_normal((n, dim)).astype(np.float32)
    else:  # most rows in one tight blob, a few far away: deep, uneven tree
        x = 1e-3 * rng.standard_normal((n, dim))
        x[rng.choice(n, 20, replace=False)] += 50.0
    centers = rng.choice(n, n_centers, replace=False)
    k = min(n - n_centers, 120)
    ref_p, ref_r = ref_kcenter(x, k, centers)
    for m, engine in engines(dim):
        with engine:
            p, r = K.kcenter_greedy(x, k, centers, return_radii=True, method=m)
        np.testing.assert_array_equal(p, ref_p, err_msg=repr(engine))
        np.testing.assert_array_equal(r, ref_r, err_msg=repr(engine))


@pytest.mark.skipif(not K.NUMBA_ENABLED, reason="the k-d tree is a Numba path")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kd_tree_leaves_are_small_boxes_or_equal_rows(dtype):
    from dami_np.kernels import _kcenter_cells as CC

    rng = np.random.default_rng(3)
    x = np.vstack([rng.standard_normal((900, 3)), np.ones((200, 3))]).astype(dtype)  # 200 equal rows
    perm = np.arange(len(x), dtype=np.int64)
    starts = np.empty(len(x) + 1, dtype=np.int64)
    ncell = CC._kd_build(x, 16, perm, starts)
    assert sorted(perm.tolist()) == list(range(len(x)))  # a permutation
    bounds = np.append(starts[:ncell], len(x))  # leaves come in row order
    assert bounds[0] == 0 and (np.diff(bounds) > 0).all()
    for s, e in zip(bounds[:-1], bounds[1:]):
        rows = x[perm[s:e]]
        assert e - s <= 16 or (rows == rows[0]).all()
