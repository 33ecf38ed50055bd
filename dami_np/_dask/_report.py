"""The report of a Dask round: ``dami_np.select``'s columns, with the same numbers as on one machine.

The picked rows are gathered to the driver once; the report is then ``_round_report.rows_report``
on them and the labeled rows (already on the driver), as on one machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..strategies import Selection
from ._partitions import Table

__all__ = ["report"]


def report(table: Table, context: Any, selection: Selection, name: str) -> pd.DataFrame:
    from .._round_report import rows_report
    from ._gather import gather_rows

    positions = np.asarray(selection.positions, dtype=np.int64)
    model = context.model if context.has_model else None
    picked_X = None
    if model is not None:  # the picked rows' features, gathered once (the labeled rows are on the driver)
        order = np.argsort(positions, kind="stable")
        ranges_p = [(int(a), int(b)) for a, b in zip(table.starts[:-1], table.starts[1:])]
        rows_sorted = gather_rows(table.client, ranges_p, table.parts, positions[order])
        picked_X = np.empty_like(rows_sorted)
        picked_X[order] = rows_sorted
        picked_X = np.ascontiguousarray(picked_X)
    return rows_report(context, selection, name, table.labeled_X, picked_X)
