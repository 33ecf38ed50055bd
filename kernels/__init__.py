"""Numba kernels (installed as ``dami_np.kernels``): distances and exact greedy K-Center.

Public API:

- :func:`pairwise_sq_distances` ``(A, B) -> (n, m)`` squared Euclidean distances.
- :func:`nearest_sq_distances` ``(points, others) -> (min_sq_dist, argmin)`` without the n x m matrix.
- :func:`kcenter_greedy` ``(points, k, centers=None, *, return_radii=False, method="auto")``.
- :func:`set_num_threads` / :func:`get_num_threads`; :data:`NUMBA_ENABLED`.

Every distance that decides a result is computed with one formula (float64 differences,
fixed accumulation order; see ``_rowdist``), so all methods, the NumPy fallback and any
thread count give bit-identical results. Many centers at once go through a float32 BLAS
screen with a proven error bound (``_screen``): it only chooses which exact distances to
compute, so results stay the same bits. Kernels compile (or load from Numba's cache) at first import;
``DAMI_NP_DISABLE_NUMBA=1`` selects the pure-NumPy path.
"""

from ._distances import nearest_sq_distances, pairwise_sq_distances
from ._kcenter import METHODS, kcenter_greedy
from ._numba_policy import NUMBA_ENABLED, NumbaCacheWarning, get_num_threads, set_num_threads

__all__ = [
    "pairwise_sq_distances",
    "nearest_sq_distances",
    "kcenter_greedy",
    "METHODS",
    "set_num_threads",
    "get_num_threads",
    "NUMBA_ENABLED",
    "NumbaCacheWarning",
]
