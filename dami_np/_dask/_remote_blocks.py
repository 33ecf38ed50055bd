"""Dask partitions as a K-Center block source: the points and their bounds stay on the workers.

The active-set algorithm, its protocol and its proof are ``strategies._kcenter_blocks``
(one driver for streamed batches and Dask); here a block is a future of its points and a
future of its state, a request is one round trip (every asked block answers in parallel with
its top rows and its bound), and the picks since the previous request travel as one batch,
broadcast once per worker.

Lost workers: every block state is a Dask future computed from its inputs by pure functions,
and the minimum of exact distances does not depend on the order or grouping in which the
centers are applied: when a request fails because the cluster lost data, the source rebuilds
every block's state from its points, the initial centers and all picks so far (same bits) and
asks again, once; if that fails too (e.g. the points themselves cannot be recomputed), the
round fails with ``DaskRoundError``: never different picks.
"""

from __future__ import annotations

import math
import operator
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..strategies import block_bounds, block_top, kcenter_over_blocks
from ._gather import DaskRoundError, gather_round

__all__ = ["Block", "KCenterStats", "RemoteBlocks", "distributed_kcenter"]


@dataclass
class KCenterStats:
    """What one distributed K-Center run cost: round trips (gathers), bytes back to the driver."""

    round_trips: int = 0
    bytes_to_driver: int = 0
    bytes_to_workers: int = 0
    requests: list[int] = field(default_factory=list)
    recoveries: int = 0
    request_seconds: list[float] = field(default_factory=list)
    driver_seconds: float = 0.0


@dataclass
class Block:
    """The points of one block: ``rows`` (the global row of each local position: an int64 array,
    or ``(start, stop)`` for all rows of a range), ``points`` (a future of the (m, D) points)
    and ``centers`` (local positions of the initial centers in it)."""

    rows: Any
    points: Any
    centers: np.ndarray

    def size(self) -> int:
        return int(self.rows[1] - self.rows[0]) if isinstance(self.rows, tuple) else int(self.rows.size)

    def global_rows(self, local: np.ndarray) -> np.ndarray:
        if isinstance(self.rows, tuple):
            return self.rows[0] + np.asarray(local, dtype=np.int64)
        return self.rows[np.asarray(local, dtype=np.int64)]


class RemoteBlocks:
    """A ``BlockSource`` whose blocks are Dask futures; every request is one round trip."""

    def __init__(self, client: Any, blocks: list[Block], stats: KCenterStats) -> None:
        self.client, self.blocks, self.stats = client, blocks, stats
        self.sizes = np.array([b.size() for b in blocks], dtype=np.int64)
        self.n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        self.sequence: list[Any] = []  # futures of the centers sequence: first, rest, then one per batch of picks
        self.states: list[Any] = []

    def global_rows(self, block: int, local: np.ndarray) -> np.ndarray:
        return self.blocks[block].global_rows(local)

    def start(self, first: np.ndarray, rest: np.ndarray) -> None:
        self.sequence = list(self.client.scatter([first, rest], broadcast=True, hash=False))
        self.stats.bytes_to_workers += (first.nbytes + rest.nbytes) * self.n_workers
        self._bound_every_block()

    def _bound_every_block(self) -> None:
        first = self.sequence[0]
        self.states = [self.client.submit(block_bounds, b.points, np.asarray(b.centers, dtype=np.int64), first,
                                          pure=False) for b in self.blocks]

    def request(self, ask: np.ndarray, m: np.ndarray, new_centers: np.ndarray | None,
                picked: list[list[int]]) -> list[Any]:
        if new_centers is not None:
            [f] = self.client.scatter([new_centers], broadcast=True, hash=False)
            self.sequence.append(f)
            self.stats.bytes_to_workers += new_centers.nbytes * self.n_workers
        try:
            return _request(self, ask, m, picked)
        except DaskRoundError:  # a lost block state: rebuild every one from the centers (same bits), once
            self._bound_every_block()
            self.stats.recoveries += 1
            return _request(self, ask, m, picked)


def _request(source: RemoteBlocks, ask: np.ndarray, m: np.ndarray, picked: list[list[int]]) -> list[Any]:
    """One round trip: the asked blocks answer with their top rows (their states move on)."""
    client, stats = source.client, source.stats
    tops = []
    for i in ask:
        inside = np.asarray(picked[i], dtype=np.int64)
        both = client.submit(block_top, source.blocks[i].points, source.states[i], list(source.sequence), inside,
                             int(m[i]), pure=False)
        source.states[i] = client.submit(operator.getitem, both, 1, pure=False)
        tops.append(client.submit(operator.getitem, both, 0, pure=False))
    clock = time.perf_counter()
    answers = gather_round(client, tops)
    stats.request_seconds.append(round(time.perf_counter() - clock, 3))
    stats.round_trips += 1
    stats.requests.append(int(len(ask)))
    for local, values, pts, _, _ in answers:
        stats.bytes_to_driver += local.nbytes + values.nbytes + pts.nbytes + 16
    return answers


def distributed_kcenter(
    client: Any,
    blocks: list[Block],
    centers: np.ndarray,
    budget: int,
    *,
    first_m: int | None = None,
    stop_at_zero: bool = False,
    stats: KCenterStats | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``budget`` greedy K-Center picks (global rows) and radii over the points of ``blocks``.

    ``centers``: the points of the initial centers (the rows ``blocks[i].centers`` point at);
    at least one (the first pick without centers is not distributed).  With ``stop_at_zero``
    the run stops before the first pick at distance 0 (fewer picks), as ``grouped_kcenter`` does.
    """
    if centers.shape[0] == 0:
        raise ValueError("distributed K-Center needs at least one labeled row (initial center)")
    source = RemoteBlocks(client, blocks, stats if stats is not None else KCenterStats())
    picks, sq_radii = kcenter_over_blocks(source, centers, budget, first_m=first_m, stop_at_zero=stop_at_zero)
    return picks, np.asarray([math.sqrt(v) for v in sq_radii], dtype=np.float64)
