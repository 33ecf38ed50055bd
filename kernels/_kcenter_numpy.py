"""Pure-NumPy greedy K-Center (used when Numba is off, and as ``method="numpy"``).

Plain incremental update (one pass over the rows per new center), with the shared distance
formula mirrored in NumPy, so its picks and radii are bit-identical to the Numba methods.
"""

from __future__ import annotations

import numpy as np

from ._rowdist import sq_dists_numpy
from ._kcenter_rules import fill_zero_distance, first_center_vector

__all__ = ["kcenter_numpy"]


def kcenter_numpy(x: np.ndarray, k: int, cmask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``k`` rows of ``x`` (C-contiguous float) given the center mask; returns (picks, radii)."""
    n = x.shape[0]
    picks = np.empty(k, dtype=np.int64)
    radii = np.empty(k, dtype=np.float64)
    mind = np.full(n, np.inf)
    mind[cmask] = -1.0
    t = 0
    if not cmask.any():
        d = sq_dists_numpy(x, first_center_vector(x))
        r = int(np.argmax(d))
        picks[0], radii[0] = r, np.sqrt(d[r])
        mind[r] = -1.0
        t = 1
        if k > 1:
            np.minimum(mind, sq_dists_numpy(x, x[r]), out=mind)
    else:
        for c in np.flatnonzero(cmask):
            np.minimum(mind, sq_dists_numpy(x, x[c]), out=mind)
    while t < k:
        r = int(np.argmax(mind))  # first maximum: ties go to the lowest row
        best = mind[r]
        if best <= 0.0:
            fill_zero_distance(picks, radii, t, cmask)
            break
        picks[t], radii[t] = r, np.sqrt(best)
        mind[r] = -1.0
        t += 1
        if t < k:
            np.minimum(mind, sq_dists_numpy(x, x[r]), out=mind)
    return picks, radii
