"""Row results that do not depend on which other rows were asked for.

A BLAS product gives a row bits that depend on the rest of its batch (the kernel chosen for the
batch shape), so "the same row" can differ in the last digits between two calls.  Evaluating
every row inside its aligned block of ``block`` rows of the full table makes each row's result a
function of the table alone: a report's numbers do not change with the budget.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["stable_rows", "STABLE_BLOCK"]

STABLE_BLOCK = 4096


def stable_rows(
    of_range: Callable[[int, int], np.ndarray], n_rows: int, rows: np.ndarray, *, block: int = STABLE_BLOCK
) -> np.ndarray:
    """``of_range(start, stop)`` evaluated on the aligned blocks that hold ``rows``, gathered in ``rows`` order.

    ``of_range`` returns one result row per table row of ``start:stop``.  Costs up to ``block``
    rows per distinct block touched.
    """
    rows = np.asarray(rows, dtype=np.int64)
    blocks = rows // block
    out = None
    for b in np.unique(blocks):
        where = np.flatnonzero(blocks == b)
        start = int(b) * block
        full = np.asarray(of_range(start, min(n_rows, start + block)))
        if out is None:
            out = np.empty((rows.size,) + full.shape[1:], dtype=full.dtype)
        out[where] = full[rows[where] - start]
    if out is None:
        raise ValueError("stable_rows needs at least one row")
    return out
