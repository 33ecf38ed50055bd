"""Distance kernels against NumPy references: values, exact zeros, dtypes, errors."""

from __future__ import annotations

import numpy as np
import pytest

from dami_np import kernels as K
from dami_np.kernels._rowdist import sq_dists_numpy

from test_kernels_reference import kernel_paths, ref_pairwise  # noqa: F401

# With NUMBA_DISABLE_JIT=1 the kernel bodies run as Python: NumPy scalars then warn where the
# compiled code silently wraps (the row hash) or makes NaN on purpose (the finite scan).
pytestmark = pytest.mark.filterwarnings(
    "ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered in scalar:RuntimeWarning"
)


def _pair(dtype, n=37, m=23, d=45, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(dtype), rng.standard_normal((m, d)).astype(dtype)


@pytest.mark.parametrize("d", [1, 31, 32, 33, 100])
def test_pairwise_float64_is_the_documented_formula(d):
    a, b = _pair(np.float64, d=d)
    out = K.pairwise_sq_distances(a, b)
    assert out.dtype == np.float64 and out.shape == (37, 23)
    np.testing.assert_array_equal(out, ref_pairwise(a, b))
    np.testing.assert_allclose(out, ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1), rtol=1e-12)


def test_pairwise_float32_rounds_the_float64_value_once():
    a, b = _pair(np.float32)
    out = K.pairwise_sq_distances(a, b)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, ref_pairwise(a, b).astype(np.float32))


def test_numpy_mirror_is_bit_identical():
    a, b = _pair(np.float32, d=77)
    out = K.pairwise_sq_distances(a, b)
    for j in range(b.shape[0]):
        np.testing.assert_array_equal(out[:, j], sq_dists_numpy(a, b[j].astype(np.float64)).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_identical_rows_exactly_zero_and_never_negative(dtype):
    rng = np.random.default_rng(1)
    base = (1e4 + rng.standard_normal((20, 64))).astype(dtype)  # large offset: |a|^2+|b|^2-2ab cancels badly
    near = base.copy()
    near[:, 0] = np.nextafter(near[:, 0], np.inf, dtype=dtype)
    a = np.vstack([base, near])
    out = K.pairwise_sq_distances(a, a)
    assert (out >= 0).all()
    assert (np.diag(out) == 0).all()
    np.testing.assert_array_equal(out, out.T)  # (x - c)^2 == (c - x)^2 bit for bit
    idx = np.arange(20)
    assert (out[idx, idx + 20] > 0).all()  # one-ulp neighbours are not collapsed to 0
    gemm = (a * a).sum(1)[:, None] + (a * a).sum(1)[None, :] - 2.0 * a @ a.T
    assert (gemm < 0).any() or (np.diag(gemm) != 0).any()  # the naive formula would fail here


def test_dtype_rules_and_input_forms():
    a64, b64 = _pair(np.float64, n=5, m=4, d=3)
    assert K.pairwise_sq_distances(a64.astype(np.float32), b64).dtype == np.float64
    ai = np.arange(12).reshape(4, 3)
    out = K.pairwise_sq_distances(ai, ai)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, ((ai[:, None] - ai[None]) ** 2).sum(-1))
    ro = a64.copy()
    ro.flags.writeable = False
    np.testing.assert_array_equal(K.pairwise_sq_distances(ro, np.asfortranarray(b64)), K.pairwise_sq_distances(a64, b64))
    assert K.pairwise_sq_distances(np.zeros((0, 3)), b64).shape == (0, 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nearest_matches_pairwise_min_and_argmin(dtype):
    a, b = _pair(dtype, n=300, m=70, d=20)
    full = K.pairwise_sq_distances(a, b)
    d, j = K.nearest_sq_distances(a, b)
    assert d.dtype == dtype and j.dtype == np.int64
    np.testing.assert_array_equal(d, full.min(axis=1))
    np.testing.assert_array_equal(j, ref_pairwise(a, b).argmin(axis=1))


@pytest.mark.parametrize("padding", [0, 40])  # 40 far rows first: the BLAS-screened path (>= 32 others)
def test_nearest_ties_go_to_lowest_index(padding):
    pts = np.array([[0.0, 0.0], [5.0, 5.0]])
    far = np.full((padding, 2), 100.0)
    others = np.vstack([far, [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [5.0, 5.0], [5.0, 5.0]]])
    d, j = K.nearest_sq_distances(pts, others)
    np.testing.assert_array_equal(d, [1.0, 0.0])
    np.testing.assert_array_equal(j, [padding, padding + 3])


def test_distance_errors():
    a, b = _pair(np.float64, n=3, m=3, d=2)
    with pytest.raises(ValueError, match="same number of columns"):
        K.pairwise_sq_distances(a, b[:, :1])
    with pytest.raises(ValueError, match="2-D"):
        K.pairwise_sq_distances(a[0], b)
    with pytest.raises(ValueError, match="NaN"):
        K.nearest_sq_distances(a, np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="at least one row"):
        K.nearest_sq_distances(a, np.zeros((0, 2)))
