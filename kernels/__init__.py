"""Numba kernels (installed as ``dami_np.kernels``): distances and exact greedy K-Center.

Public API:

- :func:`pairwise_sq_distances` ``(A, B) -> (n, m)`` squared Euclidean distances.
- :func:`nearest_sq_distances` ``(points, others) -> (min_sq_dist, argmin)`` without the n x m matrix.
- :func:`kcenter_greedy` ``(points, k, centers=None, *, return_radii=False, method="auto")``;
  :data:`METHODS` = ``("auto", "numpy")`` (``"screened"`` is accepted as ``"auto"``).
- :func:`fill_zero_distance` ``(picks, radii, t, centers_mask)``: the radius-0 rule (once only
  rows at distance 0 are left, the lowest available rows), for K-Center runs outside the kernels.
- :func:`exact_sum_units` / :func:`exact_sum_and_keys` / :func:`scan_column`: exact, order-free
  sums of float64 values (whole numbers of ``2**-UNIT_EXPONENT``), and the scans a median is
  selected with (:func:`float_keys`: int64 keys in float order); :func:`scan_columns` /
  :func:`exact_sums_and_keys` / :func:`exact_square_sums`: the same for a table's columns, a
  group of :data:`GROUP` columns per parallel call (a whole column per thread).
- :func:`standardize_columns`: numeric columns standardized into their columns of a float64
  or float32 matrix (missing values filled, indicators), in parallel row blocks.
- :func:`set_num_threads` / :func:`get_num_threads`; :data:`NUMBA_ENABLED`.
- :func:`set_compile_notice`: one stderr line when kernels really compile.

Every distance that decides a result is computed with one formula (float64 differences,
fixed accumulation order; see ``_rowdist``), so both methods, the NumPy path and any thread
count give bit-identical results. Many centers at once go through a float32 BLAS screen
with a proven error bound (``_screen``): it only chooses which exact distances to compute.
In ``D <= 8`` dimensions, K-Center runs over k-d tree cells whose box bounds skip the rows
a new center cannot reach (``_kcenter_cells``), again without changing a bit.

Compilation is lazy: importing this package compiles nothing; a kernel compiles (or loads
from Numba's on-disk cache) the first time it is called, for the dtype it gets. Small
problems skip the kernels (the NumPy passes finish first, same bits). The cache is on by
default, ``DAMI_NP_CACHE=0`` turns it off, and a cache that cannot be read or written costs
one warning line (fix: ``NUMBA_CACHE_DIR``), never a failure. ``DAMI_NP_DISABLE_NUMBA=1``
selects the pure-NumPy path. Nothing here imports ``dami_np``.
"""

from ._distances import nearest_sq_distances, pairwise_sq_distances
from ._exact_sum import (
    GROUP,
    TOP_BUCKETS,
    UNIT_EXPONENT,
    exact_square_sums,
    exact_sum_and_keys,
    exact_sum_units,
    exact_sums_and_keys,
    float_keys,
    keys_to_floats,
    scan_column,
    scan_columns,
)
from ._kcenter import METHODS, kcenter_greedy
from ._kcenter_rules import fill_zero_distance
from ._standardize import standardize_columns
from ._numba_policy import (
    NUMBA_ENABLED,
    NumbaCacheWarning,
    get_num_threads,
    set_compile_notice,
    set_num_threads,
)

__all__ = [
    "pairwise_sq_distances",
    "nearest_sq_distances",
    "kcenter_greedy",
    "fill_zero_distance",
    "METHODS",
    "set_num_threads",
    "get_num_threads",
    "set_compile_notice",
    "NUMBA_ENABLED",
    "NumbaCacheWarning",
    "exact_sum_units",
    "exact_sum_and_keys",
    "scan_column",
    "float_keys",
    "keys_to_floats",
    "UNIT_EXPONENT",
    "TOP_BUCKETS",
    "standardize_columns",
    "scan_columns",
    "exact_sums_and_keys",
    "exact_square_sums",
    "GROUP",
]
