"""The report's per-pick numbers from the picked and labeled rows only: probabilities and distances.

A pick's probability and its report-space distance (to the nearest labeled row or earlier pick,
in the DAMI representation of the fitted model) are computed from those rows' feature vectors
alone, each row in a batch of its own (``each_row_alone``): the numbers do not depend on the
budget, on the table's other rows, or on whether the rows came from memory or from a Dask
cluster, and they cost O(picks + labeled rows) instead of passes over the whole table.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._stable_rows import each_row_alone

__all__ = ["pick_probabilities", "report_space_distances"]


def pick_probabilities(model: Any, picked_X: np.ndarray) -> np.ndarray:
    """(k, classes) float64 ``predict_proba`` of the picked rows, each row computed alone."""
    return each_row_alone(lambda x: np.asarray(model.predict_proba(x), dtype=np.float64), picked_X)


def report_space_distances(network: Any, labeled_X: np.ndarray, picked_X: np.ndarray) -> np.ndarray:
    """Pick-time distances of the picks (in pick order) in the report space: the DAMI representation
    of ``network`` (``W(x)`` and ``b(x)`` of all classes), labeled rows and earlier picks as centers."""
    from .strategies import DamiRepresentation, pick_time_distances

    rows_X = np.concatenate([np.asarray(labeled_X), np.asarray(picked_X)], axis=0)
    rep = DamiRepresentation(network, rows_X, bias=True, alone=True, needs="select")
    points = rep.points(np.arange(rows_X.shape[0], dtype=np.int64))
    n_labeled = np.asarray(labeled_X).shape[0]
    return pick_time_distances(points[:n_labeled], points[n_labeled:])
