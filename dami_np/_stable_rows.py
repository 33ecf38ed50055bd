"""Row results that do not depend on which other rows were asked for.

A BLAS product gives a row bits that depend on the rest of its batch (the kernel chosen for the
batch shape), so "the same row" can differ in the last digits between two calls.
``each_row_alone`` evaluates every row in a batch of its own: its result is a function of the
row's values alone (the report's numbers, on one machine or gathered from a Dask cluster, and
``dami predict``), at a cost proportional to the rows asked for.  ``STABLE_BLOCK`` is the row
count callers use to bound memory when they go through a whole table.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["each_row_alone", "STABLE_BLOCK"]

STABLE_BLOCK = 4096


def each_row_alone(of_rows: Callable[[np.ndarray], np.ndarray], X: np.ndarray) -> np.ndarray:
    """``of_rows`` applied to every row of ``X`` as a contiguous batch of one row, results stacked.

    A row's result then depends on its own values only (not on its neighbours, the budget or the
    table it was gathered from).  ``of_rows`` returns one result row per input row.
    """
    X = np.asarray(X)
    if X.shape[0] == 0:
        raise ValueError("each_row_alone needs at least one row")
    out = None
    for i in range(X.shape[0]):
        one = np.asarray(of_rows(np.ascontiguousarray(X[i : i + 1])))
        if out is None:
            out = np.empty((X.shape[0],) + one.shape[1:], dtype=one.dtype)
        out[i] = one[0]
    assert out is not None
    return out
