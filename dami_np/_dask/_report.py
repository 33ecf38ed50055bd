"""The report of a Dask round: ``dami_np.select``'s columns, with the same numbers as on one machine.

Everything ``dami_np._select._report`` computes per pick is computed on the same batches here:
probabilities on the aligned blocks of ``STABLE_BLOCK`` rows of the whole table that hold the
picks (``_stable_rows``), report-space distances from DAMI points of those aligned blocks (with
the activation patterns of the local path's pattern chunks), explanations from the picked rows
in pick order.  Only the rows of the blocks that hold picks or labeled rows are computed.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from .._stable_rows import STABLE_BLOCK
from ..strategies._selection import Selection
from ._gather import gather_round
from ._partitions import Table

__all__ = ["report"]


def _aligned(rows: np.ndarray, n: int) -> list[tuple[int, int]]:
    return [(int(b) * STABLE_BLOCK, min(n, (int(b) + 1) * STABLE_BLOCK)) for b in np.unique(rows // STABLE_BLOCK)]


def _proba_rows(x: np.ndarray, model: Any, local: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict_proba(x), dtype=np.float64)[local]


def _report_points(pieces: list[tuple[np.ndarray, np.ndarray, int, int]], rep: Any, local: np.ndarray) -> np.ndarray:
    rep = copy.copy(rep)
    rep.X = np.concatenate([x[lo:hi] for x, _, lo, hi in pieces], axis=0)
    rep.patterns = np.concatenate([p[lo:hi] for _, p, lo, hi in pieces], axis=0)
    return rep.points(np.arange(rep.X.shape[0], dtype=np.int64))[local]


def _in_order(table: Table, ranges: list[tuple[int, int]], futures_for: Any, rows: np.ndarray) -> np.ndarray:
    """Per-row results of ``rows`` (any order), computed per range by ``futures_for(range, local rows)``."""
    order = np.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    asks = []
    for a, b in ranges:
        lo, hi = np.searchsorted(sorted_rows, [a, b])
        asks.append(futures_for((a, b), sorted_rows[lo:hi] - a))
    parts = gather_round(table.client, asks)
    out = np.concatenate(parts, axis=0)
    result = np.empty_like(out)
    result[order] = out
    return result


def report(table: Table, context: Any, selection: Selection, name: str) -> pd.DataFrame:
    from .._round_report import COLD_START_NOTE as _COLD_START_NOTE, REPORT_SPACE
    from .._round_report import explanations as _explanations, model_labels as _labels, relu_network as _network
    from ..strategies import pick_time_distances
    from ..strategies._representations import DamiRepresentation
    from ._round import _broadcast, _pattern_chunks, _gather_rows, RoundInfo

    client = table.client
    positions = np.asarray(selection.positions, dtype=np.int64)
    k = positions.size
    frame = pd.DataFrame({"row": positions, "pick": np.arange(1, k + 1, dtype=np.int64)})
    space, distances = selection.space, selection.distances
    model = context.model if context.has_model else None
    network = None if model is None else _network(model)
    shared = None if model is None else _broadcast(client, model)
    if distances is None and network is not None:
        rep = DamiRepresentation(network, table.labeled_X, bias=True)
        rep.X = rep.patterns = None
        rep_shared = _broadcast(client, rep)
        grid, chunks, xs, pats = _pattern_chunks(table, model, shared)
        wanted = np.concatenate([table.labeled_rows, positions])

        def points_for(rng: tuple[int, int], local: np.ndarray) -> Any:
            a, b = rng
            pieces = []
            for c in range(a // grid, (b - 1) // grid + 1):
                lo, hi = max(a, chunks[c][0]), min(b, chunks[c][1])
                pieces.append((xs[c], pats[c], lo - chunks[c][0], hi - chunks[c][0]))
            return client.submit(_report_points, pieces, rep_shared, local, pure=False)

        points = _in_order(table, _aligned(wanted, table.n), points_for, wanted)
        L = table.labeled_rows.size
        distances, space = pick_time_distances(points[:L], points[L:]), REPORT_SPACE
    frame["distance"] = np.full(k, np.nan) if distances is None else distances
    if model is None:
        frame["predicted"] = pd.Series([None] * k, dtype=object)
        frame["probability"] = np.nan
        frame["explanation"] = _COLD_START_NOTE
    else:
        ranges = _aligned(positions, table.n)
        xs = table.regrid(ranges)
        by_range = dict(zip(ranges, xs))
        proba = _in_order(table, ranges, lambda rng, local: client.submit(_proba_rows, by_range[rng], shared, local,
                                                                           pure=False), positions)
        best = np.argmax(proba, axis=1)
        frame["predicted"] = _labels(context, model)[best]
        frame["probability"] = proba[np.arange(k), best]
        if network is not None:
            order = np.argsort(positions, kind="stable")
            ranges_p = [(int(a), int(b)) for a, b in zip(table.starts[:-1], table.starts[1:])]
            rows_sorted = _gather_rows(table, ranges_p, table.parts, positions[order], RoundInfo())
            rows = np.empty_like(rows_sorted)
            rows[order] = rows_sorted
            frame["explanation"] = _explanations(context, network, np.ascontiguousarray(rows), best)
        else:
            frame["explanation"] = ""
    frame["score"] = np.full(k, np.nan) if selection.scores is None else selection.scores
    frame.attrs.update(strategy=name, distance_space=space, score_name=selection.score_name,
                       cold_start=model is None)
    return frame
