"""The one K-Center driver over a block source gives the kernel's picks and radii, bit for bit.

The source here is the simplest one (every block an in-memory slice, states kept in a list),
written only against the protocol of ``dami_np.strategies.kcenter_over_blocks``: the streamed
batches (``tests/test_strategies_deep.py``) and the Dask partitions (``tests/test_dask_round.py``)
are the other two.
"""

from __future__ import annotations

import numpy as np
import pytest

from dami_np import kernels
from dami_np.strategies import block_bounds, block_top, kcenter_over_blocks


class SliceBlocks:
    """Blocks = row ranges of one matrix; counts the requests."""

    def __init__(self, points: np.ndarray, cuts: list[int], centers: np.ndarray) -> None:
        self.points, self.cuts, self.centers = points, cuts, centers
        self.sizes = np.diff(np.asarray(cuts, dtype=np.int64))
        self.requests = 0

    def global_rows(self, block: int, local: np.ndarray) -> np.ndarray:
        return self.cuts[block] + np.asarray(local, dtype=np.int64)

    def start(self, first: np.ndarray, rest: np.ndarray) -> None:
        self.sequence = [first, rest]
        self.states = [block_bounds(self.points[a:b], np.flatnonzero(self.centers[a:b]), first)
                       for a, b in zip(self.cuts[:-1], self.cuts[1:])]

    def request(self, ask, m, new_centers, picked):
        self.requests += 1
        if new_centers is not None:
            self.sequence.append(new_centers)
        answers = []
        for i in ask:
            a, b = self.cuts[i], self.cuts[i + 1]
            answer, self.states[i] = block_top(self.points[a:b], self.states[i], list(self.sequence),
                                               np.asarray(picked[i], dtype=np.int64), int(m[i]))
            answers.append(answer)
        return answers


def _problem(seed: int, n_centers: int, n: int = 2000, d: int = 3):
    rng = np.random.default_rng(seed)
    points = rng.integers(0, 5, size=(n, d)).astype(np.float64)  # a grid: exact ties and duplicates
    if n >= 700:
        points[600:700] = points[:100]
    centers = np.zeros(n, dtype=bool)
    centers[rng.choice(n, n_centers, replace=False)] = True
    return points, centers


@pytest.mark.parametrize("seed,n_centers,k,first_m", [(0, 3, 40, 2), (1, 3, 200, None), (2, 600, 60, 1), (3, 1, 1, 1)])
def test_driver_over_uneven_blocks_equals_the_kernel(seed, n_centers, k, first_m):
    """Uneven and empty blocks, tiny first answers (many requests), many initial centers (a
    strided subset bounds the rows first), k past the distinct points (the radius-0 fill)."""
    points, centers = _problem(seed, n_centers)
    want, want_r = kernels.kcenter_greedy(points, k, centers=centers, return_radii=True)
    source = SliceBlocks(points, [0, 1, 500, 500, 1300, 2000], centers)
    got, sq = kcenter_over_blocks(source, points[centers], k, first_m=first_m)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.sqrt(sq), want_r)
    if first_m == 2:
        assert source.requests > 2  # the bounds were really used


def test_stop_at_zero_stops_before_the_first_zero_radius():
    points, centers = _problem(4, 3)
    k = 300  # past the 125 grid points
    want, want_r = kernels.kcenter_greedy(points, k, centers=centers, return_radii=True)
    positive = int((want_r > 0).sum())
    got, sq = kcenter_over_blocks(SliceBlocks(points, [0, 900, 2000], centers), points[centers], k, stop_at_zero=True)
    np.testing.assert_array_equal(got, want[:positive])
    assert (sq > 0).all()


def test_a_budget_past_the_rows_and_no_center_are_clear_errors():
    points, centers = _problem(5, 3, n=50)
    with pytest.raises(RuntimeError, match="ran out of rows"):
        kcenter_over_blocks(SliceBlocks(points, [0, 20, 50], centers), points[centers], 48)
    with pytest.raises(ValueError, match="at least one initial center"):
        kcenter_over_blocks(SliceBlocks(points, [0, 50], np.zeros(50, bool)), points[:0], 3)
