"""The candidates' probabilities over a big pool (issue 27): MLPClassifier's blocks spread over the
cores, gathered straight into the model's dtype, with the bits of the old one-block-at-a-time path;
margins, row maxima and the lowest keys faster with the same values."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from dami_np import MLPClassifier
from dami_np import _local_linear
from dami_np._mlp_math import row_max, softmax_inplace
from dami_np.strategies import make_context
from dami_np.strategies._uncertainty import _proba_of_rows, _smallest_first, lowest_first, margins, uncertainty_keys

BLOCK = 40  # rows per forward block in these tests (the default is tens of thousands)


def _old_proba(model: MLPClassifier, X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The path as it was: each block of candidate rows copied in X's dtype, cast to the model's,
    forward on one BLAS thread, softmax with ``max(axis=1)``, stored as float64."""
    dtype = model.coefs_[0].dtype
    out = np.empty((rows.size, len(model.classes_)))
    with threadpool_limits(limits=1, user_api="blas"):
        for a in range(0, rows.size, BLOCK):
            Z = np.ascontiguousarray(X[rows[a : a + BLOCK]], dtype=dtype)
            for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
                Z = Z @ W
                Z += b
                if i < len(model.coefs_) - 1:
                    np.maximum(Z, 0, out=Z)
            Z -= Z.max(axis=1, keepdims=True)
            np.exp(Z, out=Z)
            Z /= Z.sum(axis=1, keepdims=True)
            out[a : a + BLOCK] = Z
    return out


def _model(dtype: str, hidden: tuple[int, ...], seed: int = 0) -> tuple[MLPClassifier, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(600, 7)) * rng.uniform(0.5, 3, size=7)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5) + 2 * (X[:, 2] > 1)
    model = MLPClassifier(hidden_layer_sizes=hidden, dtype=dtype, max_iter=15, random_state=seed).fit(X[:200], y[:200])
    return model, X


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(MLPClassifier, "_forward_rows", lambda self: BLOCK)


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(_local_linear.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.uint8)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("hidden", [(16,), (12, 9)])
@pytest.mark.parametrize("x_dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pick", ["all", "scattered", "unsorted", "fewer than a block", "one"])
def test_candidate_proba_has_the_bits_of_the_old_path(small_blocks, two_cores, dtype, hidden, x_dtype, pick):
    model, X = _model(dtype, hidden)
    X = X.astype(x_dtype)
    rng = np.random.default_rng(1)
    rows = {"all": np.arange(600), "scattered": np.flatnonzero(rng.random(600) < 0.7),
            "unsorted": rng.permutation(600)[:333], "fewer than a block": np.array([5, 6, 7, 100, 599]),
            "one": np.array([17])}[pick]
    got = _proba_of_rows(model, X, rows)
    assert got.dtype == np.float64 and got.shape == (rows.size, len(model.classes_))
    np.testing.assert_array_equal(_bits(got), _bits(_old_proba(model, X, rows)))
    np.testing.assert_array_equal(_bits(got), _bits(model.predict_proba(X[rows]).astype(np.float64)))


@pytest.mark.parametrize("layout", ["fortran", "strided", "ints"])
def test_other_layouts_and_dtypes_give_the_same_bits(small_blocks, two_cores, layout):
    model, X = _model("float32", (16,))
    rows = np.flatnonzero(np.arange(600) % 5 != 0)
    given = {"fortran": np.asfortranarray(X), "strided": np.repeat(X, 2, axis=1)[:, ::2],
             "ints": np.round(X * 10).astype(np.int64)}[layout]
    np.testing.assert_array_equal(_bits(_proba_of_rows(model, given, rows)), _bits(_old_proba(model, given, rows)))


def test_candidate_proba_does_not_depend_on_the_thread_count(small_blocks, monkeypatch):
    model, X = _model("float32", (20, 10), seed=3)
    rows = np.flatnonzero(np.arange(600) % 7 != 3)
    answers = []
    for cores in ({0}, {0, 1}, {0, 1, 2, 3}):
        monkeypatch.setattr(_local_linear.os, "sched_getaffinity", lambda pid, c=cores: c, raising=False)
        for blas in (1, 2):
            with threadpool_limits(limits=blas, user_api="blas"):
                answers.append(_proba_of_rows(model, X, rows))
    for other in answers[1:]:
        np.testing.assert_array_equal(_bits(other), _bits(answers[0]))


def test_blocks_are_gathered_in_the_models_dtype_and_spread_over_two_threads(small_blocks, two_cores, monkeypatch):
    model, X = _model("float32", (16,))
    seen: list[tuple[np.dtype, bool, int]] = []
    original = MLPClassifier.predict_proba

    def recording(self, A):
        seen.append((A.dtype, A.flags.c_contiguous, threading.get_ident()))
        time.sleep(0.01)  # both workers get a block
        return original(self, A)

    monkeypatch.setattr(MLPClassifier, "predict_proba", recording)
    _proba_of_rows(model, X, np.arange(1, 600, 2))  # X float64: no float64 copy of a block reaches the model
    assert len(seen) == 8
    assert all(dt == np.float32 and contiguous for dt, contiguous, _ in seen)
    assert len({thread for _, _, thread in seen}) == 2


def test_a_model_that_is_not_ours_gets_the_rows_as_given():
    class Constant:
        classes_ = np.array([0, 1])
        calls: list[np.dtype] = []

        def predict_proba(self, A):
            self.calls.append(A.dtype)
            return np.tile([0.25, 0.75], (A.shape[0], 1))

    model = Constant()
    X = np.arange(40.0).reshape(20, 2)
    proba = _proba_of_rows(model, X, np.arange(3, 20))
    assert model.calls == [np.float64] and proba.shape == (17, 2)


@pytest.mark.parametrize("value, message", [(np.nan, "contains NaN"), (1e39, "overflows to infinity in float32")])
def test_a_bad_candidate_value_gets_the_message_of_the_old_path(small_blocks, two_cores, value, message):
    model, X = _model("float32", (16,))
    X[455, 3] = value
    rows = np.arange(200, 600)
    with pytest.raises(ValueError) as old:
        model.predict_proba(X[rows[240:280]])  # the block holding row 455, as the old path asked for it
    with pytest.raises(ValueError, match=message) as new:
        _proba_of_rows(model, X, rows)
    assert str(new.value) == str(old.value)


def test_logits_that_overflow_are_still_an_error(small_blocks, two_cores):
    model, X = _model("float32", (16,))
    X[300] = 3e38  # finite in float32, its logits are not
    with pytest.raises(ValueError, match="the logits of X row .* overflow float32"):
        _proba_of_rows(model, X, np.arange(200, 600))


def test_an_empty_candidate_set_is_the_same_error_as_before():
    model, X = _model("float32", (16,))
    with pytest.raises(ValueError, match="0 rows"):
        _proba_of_rows(model, X, np.arange(0))


def test_blocks_inside_blocks_keep_the_outer_blas_limit(two_cores, monkeypatch):
    """A block's own by_row_blocks (predict_proba inside a candidate block) runs under the outer
    call's one-thread limit: the limit is not set again (and undone) from the worker threads."""
    opened: list[int] = []
    original = _local_linear.one_blas_thread

    def counting():
        opened.append(threading.get_ident())
        return original()

    monkeypatch.setattr(_local_linear, "one_blas_thread", counting)
    W = np.random.default_rng(0).normal(size=(3, 4))
    X = np.random.default_rng(1).normal(size=(90, 3))

    def inner(A):
        return _local_linear.by_row_blocks(lambda B: B @ W, A, 7)

    got = _local_linear.by_row_blocks(inner, X, 30)
    assert opened == [threading.get_ident()]
    with threadpool_limits(limits=1, user_api="blas"):
        want = np.concatenate([X[a : a + 30][b : b + 7] @ W for a in range(0, 90, 30) for b in range(0, 30, 7)])
    np.testing.assert_array_equal(got, want)
    model, X = _model("float32", (16,))
    monkeypatch.setattr(MLPClassifier, "_forward_rows", lambda self: BLOCK)
    before = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    opened.clear()
    _proba_of_rows(model, X, np.arange(600))  # 15 blocks, each through predict_proba
    assert opened == [threading.get_ident()]
    assert [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"] == before


def test_row_blocks_write_into_out_and_return_it(two_cores):
    X = np.arange(50.0).reshape(25, 2)
    for rows in (4, 25, 100):
        out = np.full((25, 1), -1.0)
        got = _local_linear.by_row_blocks(lambda A: A[:, :1] * 2, X, rows, out=out)
        assert got is out
        np.testing.assert_array_equal(out[:, 0], X[:, 0] * 2)


def _probabilities(rng: np.random.Generator, n: int, classes: int, dtype) -> np.ndarray:
    P = rng.dirichlet(np.ones(classes), size=n).astype(dtype)
    P[::7, :2] = P[::7, :1]  # ties at the top
    P[::11] = P[::11, ::-1]
    P[5] = 1.0 / classes  # all equal
    P[9, :] = 0.0
    P[9, 0] = 1.0
    return P


@pytest.mark.parametrize("classes", [2, 3, 10, 64, 65])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_margins_are_the_partition_values(classes, dtype):
    P = _probabilities(np.random.default_rng(classes), 20_000, classes, dtype)
    top2 = np.partition(P, classes - 2, axis=1)[:, -2:]
    want = top2[:, 1] - top2[:, 0]
    got = margins(P)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(_bits(got), _bits(want))


def test_margins_with_nan_and_infinity_match_the_partition():
    P = _probabilities(np.random.default_rng(0), 100, 5, np.float64)
    P[3, 2] = np.nan
    P[4, :] = np.nan
    P[6, 1] = np.inf
    P[8, [0, 4]] = np.inf
    top2 = np.partition(P, 3, axis=1)[:, -2:]
    with np.errstate(invalid="ignore"):
        want = top2[:, 1] - top2[:, 0]
    with pytest.warns(RuntimeWarning, match="invalid value"):  # inf - inf, as before
        got = margins(P)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got[~np.isnan(want)], want[~np.isnan(want)])


def test_margins_of_a_strided_view():
    P = _probabilities(np.random.default_rng(2), 3000, 6, np.float64)
    view = np.asfortranarray(P)[::2]
    top2 = np.partition(view, 4, axis=1)[:, -2:]
    np.testing.assert_array_equal(margins(view), top2[:, 1] - top2[:, 0])


@pytest.mark.parametrize("columns", [1, 2, 10, 32, 33])
def test_row_max_and_softmax_keep_their_bits(columns):
    rng = np.random.default_rng(columns)
    Z = rng.normal(size=(500, columns)).astype(np.float32) * 30
    Z[3] = 0.0
    Z[4, 0] = -0.0
    Z[5, :] = -0.0
    np.testing.assert_array_equal(_bits(row_max(Z)), _bits(Z.max(axis=1)))
    Z[7, 0] = np.nan
    assert np.isnan(row_max(Z)[7]) and np.isnan(Z.max(axis=1)[7])
    Z[7, 0] = 1.0
    old = Z.copy()
    old -= old.max(axis=1, keepdims=True)
    np.exp(old, out=old)
    old /= old.sum(axis=1, keepdims=True)
    np.testing.assert_array_equal(_bits(softmax_inplace(Z)), _bits(old))


def test_least_confidence_keys_are_the_row_maxima():
    P = _probabilities(np.random.default_rng(4), 5000, 10, np.float64)
    np.testing.assert_array_equal(_bits(uncertainty_keys(P, "least_confidence")), _bits(P.max(axis=1)))


@pytest.mark.parametrize("kind", ["float ties", "float nan", "all equal", "ints", "negative zero"])
@pytest.mark.parametrize("count", [1, 5, 99, 250, 999, 1000, 2000])
def test_smallest_first_is_the_stable_argsort_head(kind, count):
    rng = np.random.default_rng(count)
    key = np.round(rng.normal(size=1000), 1)
    if kind == "float nan":
        key[rng.choice(1000, 990, replace=False)] = np.nan
    elif kind == "all equal":
        key[:] = 0.25
    elif kind == "ints":
        key = rng.integers(0, 20, size=1000)
    elif kind == "negative zero":
        key = np.where(rng.random(1000) < 0.5, -0.0, 0.0)
        key[::9] = 1.0
    np.testing.assert_array_equal(_smallest_first(key, count), np.argsort(key, kind="stable")[:count])


def test_lowest_first_names_the_candidate_rows():
    X = np.zeros((1000, 2))
    y = np.full(1000, np.nan)
    y[::10] = 1.0
    context = make_context(X, y)
    key = np.round(np.random.default_rng(0).normal(size=context.candidates.size), 1)
    rows, values = lowest_first(context, key, 30)
    order = np.argsort(key, kind="stable")[:30]
    np.testing.assert_array_equal(rows, context.candidates[order])
    np.testing.assert_array_equal(values, key[order])
