"""Exact greedy K-Center over points that stay on the workers, with few round trips.

The pool is split into blocks (ranges of global rows); block ``b`` keeps, on its worker, its
points ``P_b`` and every row's exact squared distance to its nearest center, ``dist_b``
(``-inf`` for centers: labeled rows and picks).  The driver never sees a whole block.

Protocol
--------
1. The labeled rows' points (the initial centers) are broadcast; each block computes ``dist_b``.
2. A *top request* to block ``b`` sends the centers it has not applied yet (points of the picks
   since its last request) and the picks inside it; the block applies them (``dist_b`` only
   decreases) and answers with its ``M_b`` rows of smallest key ``(-dist, row)`` (largest
   distance, ties to the lowest global row) with their points and distances, plus the key
   ``(beta_b, rho_b)`` of the first row it left out (``(-inf, inf)`` when it sent them all).
3. The driver keeps those candidates and updates their distances exactly with every new center.
   It picks the candidate of smallest key ``(-v, r)`` as long as that key is below every
   block's bound key ``(-beta_b, rho_b)``; otherwise it sends a top request (one batch, in
   parallel) to exactly the blocks whose bound is not beaten, with ``M_b`` doubled, and goes on.

Invariant: for every block ``b`` and every eligible row ``x`` of ``b`` (not a center, not
picked), either the driver holds ``x`` with its exact current distance, or the key of ``x``
(with its current distance) is at least ``(-beta_b, rho_b)`` from ``b``'s last answer.
Proof: right after the answer, every row left out has key >= the bound (the answer is the
``M_b`` smallest keys, the bound is the next one).  Afterwards the driver applies every new
center to its candidates with the same formula as the workers, so their values stay exact;
a row left out only gets farther from the bound: its distance can only decrease as centers
are added, which increases ``-dist`` and so its key.  Exactness of each pick: the chosen
candidate's key is below every bound, so by the invariant it is below the key of every
eligible row the driver does not hold, and it is the smallest among those it holds: it is the
row of largest distance to its nearest center, ties to the lowest global row, which is what
the single-machine greedy (``dami_np.kernels.kcenter_greedy``: argmax, ties to the lowest
row; when only distance 0 is left, the lowest rows) picks at that step.  Distances are
``dami_np.kernels.nearest_sq_distances`` on both sides (one exact formula, no BLAS), so the
values (and radii ``sqrt``) are bit-identical to the local kernel's.  Termination: a block
whose bound blocks a pick is asked again with twice the rows; after at most ``log2`` of its
size requests it sends all its eligible rows and its bound is ``(-inf, inf)``.

Lost workers: every block state is a Dask future computed from its inputs by pure functions,
and the minimum of exact distances does not depend on the order or grouping in which the
centers are applied: when a request fails because the cluster lost data, the driver rebuilds
every block's distances from its points, the initial centers and all picks so far (same
bits) and asks again, once; if that fails too (e.g. the points themselves cannot be
recomputed), the round fails with ``DaskRoundError``: never different picks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Block", "DaskRoundError", "KCenterStats", "distributed_kcenter", "gather_round"]


class DaskRoundError(RuntimeError):
    """The cluster lost data the round needs and could not recompute it: run the round again."""


@dataclass
class KCenterStats:
    """What one distributed K-Center run cost: round trips (gathers), bytes back to the driver."""

    round_trips: int = 0
    bytes_to_driver: int = 0
    bytes_to_workers: int = 0
    requests: list[int] = field(default_factory=list)
    recoveries: int = 0


# ---------------------------------------------------------------------- worker side
def _f64(points: np.ndarray) -> np.ndarray:
    """Points in float64 (exact for float32): the kernels' formula takes rows in float64, and
    ``nearest_sq_distances`` returns its input dtype, so float32 input would round the distances."""
    return np.ascontiguousarray(points, dtype=np.float64)


def _init_state(points: np.ndarray, labeled_local: np.ndarray, centers: np.ndarray) -> np.ndarray:
    from .. import kernels

    dist = np.full(points.shape[0], np.inf)
    if points.shape[0] and centers.shape[0]:
        dist = np.asarray(kernels.nearest_sq_distances(_f64(points), centers)[0], dtype=np.float64).copy()
    dist[labeled_local] = -np.inf
    return dist


def _apply(points: np.ndarray, dist: np.ndarray, centers: np.ndarray, picked_local: np.ndarray) -> np.ndarray:
    from .. import kernels

    dist = dist.copy()
    dist[picked_local] = -np.inf
    if points.shape[0] and centers.shape[0]:
        np.minimum(dist, np.asarray(kernels.nearest_sq_distances(_f64(points), centers)[0], dtype=np.float64), out=dist)
    return dist


def _top(points: np.ndarray, dist: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """The ``m`` eligible rows of smallest key ``(-dist, position)`` and the key of the next one.

    Positions are local; the driver maps them to global rows (ascending with the position for
    every eligible row of a block, so the tie rule is the same)."""
    eligible = np.flatnonzero(dist >= 0)
    values = dist[eligible]
    if eligible.size <= m:
        order = np.lexsort((eligible, -values))
        beta, rho = -np.inf, np.inf
    else:
        cut = np.partition(values, eligible.size - (m + 1))[eligible.size - (m + 1)]  # (m+1)-th largest value
        above = np.flatnonzero(values > cut)
        ties = np.flatnonzero(values == cut)[: m + 1 - above.size]  # lowest rows first (eligible is ascending)
        chosen = np.concatenate([above, ties])
        order = chosen[np.lexsort((eligible[chosen], -values[chosen]))]
        last = order[m]
        beta, rho = float(values[last]), float(eligible[last])
        order = order[:m]
    local = eligible[order]
    return local.astype(np.int64), values[order].copy(), _f64(points[local]), beta, rho


# ---------------------------------------------------------------------- driver side
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
    from .. import kernels

    stats = stats if stats is not None else KCenterStats()
    if centers.shape[0] == 0:
        raise ValueError("distributed K-Center needs at least one labeled row (initial center)")
    centers = _f64(centers)
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    [shared] = client.scatter([centers], broadcast=True, hash=False)
    stats.bytes_to_workers += centers.nbytes * n_workers
    n_blocks = len(blocks)
    sizes = np.array([b.size() for b in blocks], dtype=np.int64)
    m0 = first_m if first_m is not None else 2 * math.ceil(budget / max(1, n_blocks)) + 8
    points = [b.points for b in blocks]
    dist = [client.submit(_init_state, b.points, np.asarray(b.centers, dtype=np.int64), shared, pure=False)
            for b in blocks]
    m = np.minimum(np.full(n_blocks, m0, dtype=np.int64), sizes)
    applied = np.zeros(n_blocks, dtype=np.int64)
    beta = np.full(n_blocks, np.inf)  # bound keys (-beta, rho): nothing known yet, every block blocks
    rho = np.full(n_blocks, -np.inf)
    dim = centers.shape[1]
    held_rows = np.empty(0, dtype=np.int64)  # candidates the driver holds, with exact current distances
    held_local = np.empty(0, dtype=np.int64)
    held_vals = np.empty(0)
    held_pts = np.empty((0, dim), dtype=centers.dtype)
    held_blk = np.empty(0, dtype=np.int64)

    picks: list[int] = []
    radii: list[float] = []
    pick_points: list[np.ndarray] = []
    picked_local: list[list[int]] = [[] for _ in blocks]
    ask = np.arange(n_blocks)
    while len(picks) < budget:
        try:
            answers = _request(client, ask, points, dist, m, applied, picked_local, pick_points, stats)
        except DaskRoundError:  # a lost distance state: rebuild every one from the centers (same bits), once
            dist[:] = [client.submit(_init_state, b.points, np.asarray(b.centers, dtype=np.int64), shared, pure=False)
                       for b in blocks]
            applied[:] = 0
            stats.recoveries += 1
            answers = _request(client, ask, points, dist, m, applied, picked_local, pick_points, stats)
        keep = ~np.isin(held_blk, ask)
        held_rows = np.concatenate([held_rows[keep]] + [blocks[i].global_rows(a[0]) for i, a in zip(ask, answers)])
        held_local = np.concatenate([held_local[keep]] + [a[0] for a in answers])
        held_vals = np.concatenate([held_vals[keep]] + [a[1] for a in answers])
        held_pts = np.concatenate([held_pts[keep]] + [a[2].reshape(-1, dim) for a in answers], axis=0)
        held_blk = np.concatenate([held_blk[keep]] + [np.full(a[0].size, i, dtype=np.int64) for i, a in zip(ask, answers)])
        for i, a in zip(ask, answers):
            beta[i] = a[3]
            rho[i] = np.inf if not np.isfinite(a[4]) else float(blocks[i].global_rows(np.array([int(a[4])]))[0])
        while len(picks) < budget:
            if held_rows.size:
                top = held_vals.max()
                tied = np.flatnonzero(held_vals == top)
                j = int(tied[np.argmin(held_rows[tied])])
                v, r = float(top), int(held_rows[j])
            else:
                v, r = -np.inf, np.inf
            if stop_at_zero and not v > 0 and not (beta > 0).any():
                return np.asarray(picks, dtype=np.int64), np.asarray(radii, dtype=np.float64)
            blocking = np.flatnonzero(~((v > beta) | ((v == beta) & (r < rho))))
            if blocking.size or not v >= 0:
                if not blocking.size:
                    raise RuntimeError("distributed K-Center ran out of rows")  # budget > eligible rows
                ask = blocking
                m[ask] = np.minimum(2 * m[ask], sizes[ask])
                break
            point = held_pts[j : j + 1].copy()
            picks.append(r)
            radii.append(math.sqrt(v))
            pick_points.append(point)
            picked_local[int(held_blk[j])].append(int(held_local[j]))
            held_vals[j] = -np.inf  # picked: a center now
            d = np.asarray(kernels.nearest_sq_distances(held_pts, point)[0], dtype=np.float64)
            np.minimum(held_vals, d, out=held_vals)
    return np.asarray(picks, dtype=np.int64), np.asarray(radii, dtype=np.float64)


def _request(client: Any, ask: np.ndarray, points: list[Any], dist: list[Any], m: np.ndarray, applied: np.ndarray,
             picked_local: list[list[int]], pick_points: list[np.ndarray], stats: KCenterStats) -> list[tuple[Any, ...]]:
    """One round trip: the asked blocks apply the centers they lack and send their top rows."""
    tops = []
    for i in ask:
        new = pick_points[applied[i] :]
        if new:
            batch = np.concatenate(new, axis=0)
            inside = np.asarray(picked_local[i], dtype=np.int64)
            dist[i] = client.submit(_apply, points[i], dist[i], batch, inside, pure=False)
            stats.bytes_to_workers += batch.nbytes + inside.nbytes
        applied[i] = len(pick_points)
        tops.append(client.submit(_top, points[i], dist[i], int(m[i]), pure=False))
    answers = gather_round(client, tops)
    stats.round_trips += 1
    stats.requests.append(int(len(ask)))
    for local, values, pts, _, _ in answers:
        stats.bytes_to_driver += local.nbytes + values.nbytes + pts.nbytes + 16
    return answers


def gather_round(client: Any, futures: list[Any]) -> list[Any]:
    """``client.gather(futures)``; a loss the cluster cannot repair becomes a ``DaskRoundError``."""
    try:
        return client.gather(futures)
    except Exception as exc:  # noqa: BLE001 - a loss of cluster data: fail the round clearly
        if not _cluster_failure(exc):
            raise  # an error of the task itself (bad input...): as it is
        raise DaskRoundError(
            f"the Dask cluster lost data of this round and could not recompute it ({type(exc).__name__}: {exc}); "
            "no picks were returned: run the round again"
        ) from exc


def _cluster_failure(exc: BaseException) -> bool:
    """A lost worker, a cancelled future, a broken connection: not an error of the task's code."""
    module = type(exc).__module__.split(".")[0]
    return module in ("distributed", "asyncio", "concurrent") or isinstance(exc, (OSError, TimeoutError))
