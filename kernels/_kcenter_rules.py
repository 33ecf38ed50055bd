"""Rules of greedy K-Center shared by every method, so they cannot drift apart.

* No centers given: the first pick is the row farthest from the column mean (float64,
  ``numpy.mean`` over the C-contiguous data), ties to the lowest row; its reported radius
  is that distance to the mean. It then becomes the first center.
* Once every remaining row is at distance 0 from a center (only duplicates of centers
  are left), the remaining picks are the lowest-index rows that are neither centers nor
  already picked, with radius 0. This is exactly what "argmax, ties to the lowest row"
  gives, just without further passes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["first_center_vector", "fill_zero_distance"]


def first_center_vector(x: np.ndarray) -> np.ndarray:
    """Column mean in float64: the reference point of the first pick when there are no centers."""
    return np.ascontiguousarray(x.mean(axis=0, dtype=np.float64))


def fill_zero_distance(picks: np.ndarray, radii: np.ndarray, t: int, cmask: np.ndarray) -> None:
    """Complete ``picks[t:]`` with the lowest available rows (radius 0), in place."""
    free = ~cmask
    free[picks[:t]] = False
    rest = np.flatnonzero(free)[: picks.shape[0] - t]
    picks[t:] = rest
    radii[t:] = 0.0
