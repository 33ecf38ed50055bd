"""Hypothesis property tests: every method equals the naive reference, ties included."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dami_np import kernels as K

from test_kernels_reference import engines, kernel_paths, ref_kcenter, ref_pairwise  # noqa: F401

# With NUMBA_DISABLE_JIT=1 the kernel bodies run as Python: NumPy scalars then warn where the
# compiled code silently wraps (the row hash) or makes NaN on purpose (the finite scan).
pytestmark = pytest.mark.filterwarnings(
    "ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered in scalar:RuntimeWarning"
)

_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def _problems(draw):
    n = draw(st.integers(1, 40))
    d = draw(st.integers(1, 5))
    values = draw(st.integers(0, 3))  # small integer grid: many ties and duplicates
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    x = rng.integers(0, values + 1, size=(n, d)).astype(draw(st.sampled_from([np.float32, np.float64])))
    if draw(st.booleans()):
        x = x + rng.standard_normal((n, d)).astype(x.dtype) * 0.5
    centers = np.flatnonzero(rng.random(n) < draw(st.sampled_from([0.0, 0.1, 0.4])))
    k = draw(st.integers(0, n - len(centers)))
    as_mask = draw(st.booleans())
    if as_mask:
        mask = np.zeros(n, dtype=bool)
        mask[centers] = True
        return x, k, mask
    return x, k, centers


@_SETTINGS
@given(_problems())
def test_every_method_equals_reference(problem):
    x, k, centers = problem
    ref_p, ref_r = ref_kcenter(x, k, centers)
    for m, engine in engines(x.shape[1]):
        with engine:
            p, r = K.kcenter_greedy(x, k, centers, return_radii=True, method=m)
        np.testing.assert_array_equal(p, ref_p, err_msg=f"{m} {engine}")
        np.testing.assert_array_equal(r, ref_r, err_msg=f"{m} {engine}")


@_SETTINGS
@given(_problems())
def test_picks_are_distinct_non_centers_with_non_increasing_radii(problem):
    x, k, centers = problem
    p, r = K.kcenter_greedy(x, k, centers, return_radii=True)
    cm = np.zeros(len(x), dtype=bool)
    cm[centers] = True
    assert len(set(p.tolist())) == k and not cm[p].any()
    tail = r[1:] if not cm.any() else r  # the first pick without centers is measured to the mean
    assert np.all(np.diff(tail) <= 0)


@_SETTINGS
@given(_problems(), st.integers(0, 2**31 - 1))
def test_distances_properties(problem, seed):
    x = problem[0]
    others = x[np.random.default_rng(seed).permutation(len(x))[: max(1, len(x) // 2)]]
    full = K.pairwise_sq_distances(x, others)
    assert (full >= 0).all()
    np.testing.assert_array_equal(full, ref_pairwise(x, others).astype(x.dtype))
    d, j = K.nearest_sq_distances(x, others)
    np.testing.assert_array_equal(d, full.min(axis=1))
    np.testing.assert_array_equal(j, ref_pairwise(x, others).argmin(axis=1))
    self_d = K.pairwise_sq_distances(x, x)
    assert (np.diag(self_d) == 0).all()
