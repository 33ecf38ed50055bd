"""The one rule for which row stands for a group of equal points (``group_representatives``).

Grouped K-Center (in memory, streamed) and the Dask DAMI round take their representatives from
it; their picks equal the plain run's only if the representatives are these exactly.
"""

from __future__ import annotations

import numpy as np

from dami_np.strategies import fill_in_row_order, group_ids, group_representatives, grouped_kcenter, kcenter


def test_candidate_groups_by_lowest_row_then_center_groups_by_id():
    group = np.array([2, 0, 2, 1, 0, 3, 1, 3, 2])
    center = np.array([0, 0, 1, 0, 0, 0, 0, 1, 1], dtype=bool)
    reps, n_cand = group_representatives(group, center)
    # candidate groups 0 (rows 1, 4) and 1 (rows 3, 6): their lowest rows, ascending;
    # center groups 2 (centers at 2, 8) and 3 (center at 7), in id order: their lowest center rows
    assert n_cand == 2
    np.testing.assert_array_equal(reps, [1, 3, 2, 7])


def test_a_center_group_is_never_a_candidate_group_and_empty_input():
    reps, n_cand = group_representatives(np.array([0, 0, 0]), np.array([False, True, False]))
    assert n_cand == 0 and reps.tolist() == [1]
    reps, n_cand = group_representatives(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool))
    assert n_cand == 0 and reps.size == 0 and reps.dtype == np.int64


def test_grouped_kcenter_takes_these_representatives():
    """Grouped K-Center over pattern groups equals the plain run over all rows (the rule is what makes it so)."""
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 9, 400)
    points = rng.standard_normal((9, 4))[codes]
    centers = np.zeros(400, dtype=bool)
    centers[rng.choice(400, 12, replace=False)] = True
    group = group_ids(codes.astype(np.uint8)[:, None])
    got = grouped_kcenter(group, centers, 30, lambda rows: points[rows], 4, memory_budget=1 << 20)[0]
    np.testing.assert_array_equal(got, kcenter(points, centers, 30))


def test_the_radius_zero_tail_takes_the_lowest_rows_neither_center_nor_picked():
    is_center = np.array([True, False, False, True, False, False, False])
    rows, radii = fill_in_row_order(np.array([5, 2]), [2.5, 1.0], 5, is_center)
    np.testing.assert_array_equal(rows, [5, 2, 1, 4, 6])
    np.testing.assert_array_equal(radii, [2.5, 1.0, 0.0, 0.0, 0.0])
    rows, radii = fill_in_row_order(np.array([5, 2, 4]), np.array([3.0, 2.0, 1.0]), 2, is_center)
    np.testing.assert_array_equal(rows, [5, 2])
    np.testing.assert_array_equal(radii, [3.0, 2.0])
