"""The report of a Dask round: ``dami_np.select``'s columns, with the same numbers as on one machine.

The picked rows are gathered to the driver once; probabilities and report-space distances come
from ``dami_np._report_numbers`` on those rows and the labeled rows (each row computed alone, as
on one machine), explanations from the picked rows in pick order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..strategies._selection import Selection
from ._partitions import Table

__all__ = ["report"]


def report(table: Table, context: Any, selection: Selection, name: str) -> pd.DataFrame:
    from .._round_report import COLD_START_NOTE as _COLD_START_NOTE, REPORT_SPACE
    from .._round_report import explanations as _explanations, model_labels as _labels, relu_network as _network
    from .._report_numbers import pick_probabilities, report_space_distances
    from ._round import _gather_rows, RoundInfo

    positions = np.asarray(selection.positions, dtype=np.int64)
    k = positions.size
    frame = pd.DataFrame({"row": positions, "pick": np.arange(1, k + 1, dtype=np.int64)})
    space, distances = selection.space, selection.distances
    model = context.model if context.has_model else None
    network = None if model is None else _network(model)
    picked_X = None
    if model is not None:  # the picked rows' features, gathered once (the labeled rows are on the driver)
        order = np.argsort(positions, kind="stable")
        ranges_p = [(int(a), int(b)) for a, b in zip(table.starts[:-1], table.starts[1:])]
        rows_sorted = _gather_rows(table, ranges_p, table.parts, positions[order], RoundInfo())
        picked_X = np.empty_like(rows_sorted)
        picked_X[order] = rows_sorted
        picked_X = np.ascontiguousarray(picked_X)
    if distances is None and network is not None:
        distances, space = report_space_distances(network, table.labeled_X, picked_X), REPORT_SPACE
    frame["distance"] = np.full(k, np.nan) if distances is None else distances
    if model is None:
        frame["predicted"] = pd.Series([None] * k, dtype=object)
        frame["probability"] = np.nan
        frame["explanation"] = _COLD_START_NOTE
    else:
        proba = pick_probabilities(model, picked_X)
        best = np.argmax(proba, axis=1)
        frame["predicted"] = _labels(context, model)[best]
        frame["probability"] = proba[np.arange(k), best]
        frame["explanation"] = _explanations(context, network, picked_X, best) if network is not None else ""
    frame["score"] = np.full(k, np.nan) if selection.scores is None else selection.scores
    frame.attrs.update(strategy=name, distance_space=space, score_name=selection.score_name,
                       cold_start=model is None)
    return frame
