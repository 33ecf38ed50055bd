"""Exact greedy K-Center over points that stay on the workers, with few round trips.

The pool is split into blocks (ranges of global rows, or lists of them); block ``b`` keeps, on
its worker, its points ``P_b`` and for every row an upper bound ``u_b`` of its squared distance
to the nearest center: the minimum over the first ``upto`` centers of one sequence (a strided
subset of at most 256 labeled rows, the other labeled rows, then the picks in pick order), each
term the exact formula; ``-inf`` for centers (labeled rows and picks).  The driver never sees a
whole block.

Protocol
--------
1. The labeled rows' points (the initial centers) are broadcast; each block bounds every row by
   the strided subset (the screened kernel's rule for many centers).
2. A *top request* to block ``b`` comes after the picks made since the previous request were
   broadcast as one batch (the next part of the sequence).  The block marks its picked rows,
   takes its ``M_b`` rows of smallest bound key ``(-u, row)``, brings the stale ones among them
   up to date with the rest of the sequence (exact now) and repeats until those ``M_b`` rows are
   all exact; it answers with them (points, exact distances, global rows: largest distance
   first, ties to the lowest row) and the bound key ``(-beta_b, rho_b)`` of the next row
   (``(-inf, inf)`` when it sent them all).
3. The driver keeps the candidates and updates their distances exactly with every new center.
   It picks the candidate of smallest key ``(-v, r)`` as long as that key is below every
   block's bound key; otherwise it sends a top request (one batch, in parallel) to every
   block, with ``M_b`` doubled, and goes on (asking only the blocking blocks is also exact,
   but costs more round trips).  Since every block answers every request, a candidate whose
   distance is below the highest bound can be dropped until the next answer: it cannot be
   picked before, as distances only decrease.

Invariant: for every block ``b`` and every eligible row ``x`` of ``b`` (not a center, not
picked), either the driver holds ``x`` with its exact current distance, or the key of ``x``
(with its exact current distance) is at least ``(-beta_b, rho_b)`` from ``b``'s last answer.
Proof: a bound is a minimum over a subset of the centers, so it is at least the exact
distance, and keys by exact distance are at least keys by bound.  Right after the answer every
row left out has bound key >= ``(-beta_b, rho_b)`` (the answer is the ``M_b`` smallest bound
keys, all exact, and the bound is the next one), hence exact key >= the bound.  Afterwards the
driver applies every new center to its candidates with the same formula as the workers, so
their values stay exact; a row left out only gets farther from the bound: its distance can
only decrease as centers are added, which increases ``-dist`` and so its key.  Exactness of
each pick: the chosen candidate's key is below every bound, so by the invariant it is below
the key of every eligible row the driver does not hold, and it is the smallest among those it
holds: it is the row of largest distance to its nearest center, ties to the lowest global
row, which is what the single-machine greedy (``dami_np.kernels.kcenter_greedy``: argmax,
ties to the lowest row; when only distance 0 is left, the lowest rows) picks at that step.
Distances are ``dami_np.kernels.nearest_sq_distances`` on float64 points on both sides (one
exact formula, no BLAS; the minimum of exact values does not depend on the order the centers
are applied in), so the values (and radii ``sqrt``) are bit-identical to the local kernel's.
Termination: a block whose bound blocks a pick is asked again with twice the rows; after at
most ``log2`` of its size requests it sends all its eligible rows and its bound is
``(-inf, inf)``, which every candidate beats.

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

_SCREEN_FIRST = 256  # with more initial centers, this strided subset bounds every row first
_ACTIVE_MIN = 4096  # rows brought up to date together in a block (at least)


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
    request_seconds: list[float] = field(default_factory=list)
    driver_seconds: float = 0.0


# ---------------------------------------------------------------------- worker side
def _f64(points: np.ndarray) -> np.ndarray:
    """Points in float64 (exact for float32): the kernels' formula takes rows in float64, and
    ``nearest_sq_distances`` returns its input dtype, so float32 input would round the distances."""
    return np.ascontiguousarray(points, dtype=np.float64)


def sq_dists_to(points: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Squared distance of every row of float64 ``points`` to one float64 ``center``: the kernels'
    formula (``dami_np.kernels._rowdist``: float64 differences squared, 32 lanes each summed in
    order, then the lanes in order) with vector operations, bit-identical to
    ``nearest_sq_distances`` (tested) and fast for the driver's few thousand candidates."""
    lanes = 32
    t = points - center
    t *= t
    n, d = t.shape
    if d <= lanes:
        out = t[:, 0].copy() if d else np.zeros(n)
        for j in range(1, d):
            out += t[:, j]
        return out
    nb = d // lanes
    acc = t[:, :lanes].copy()
    for b in range(1, nb):
        acc += t[:, b * lanes : (b + 1) * lanes]
    tail = d - nb * lanes
    if tail:
        acc[:, :tail] += t[:, nb * lanes :]
    out = acc[:, 0].copy()
    for lane in range(1, lanes):
        out += acc[:, lane]
    return out


def _nearest(points: np.ndarray, centers: np.ndarray) -> np.ndarray:
    from .. import kernels

    return np.asarray(kernels.nearest_sq_distances(_f64(points), centers)[0], dtype=np.float64)


def _init_state(points: np.ndarray, centers_local: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(upper bounds, centers applied): every row against the first centers of the sequence."""
    u = np.full(points.shape[0], np.inf)
    if points.shape[0] and first.shape[0]:
        u = _nearest(points, first).copy()
    u[centers_local] = -np.inf
    return u, np.full(points.shape[0], first.shape[0], dtype=np.int64)


def _smallest_keys(values: np.ndarray, eligible: np.ndarray, count: int) -> np.ndarray:
    """Positions (into ``values``) of the ``count`` smallest keys ``(-value, row)``, in key order."""
    if values.size <= count:
        chosen = np.arange(values.size)
    else:
        cut = np.partition(values, values.size - count)[values.size - count]  # count-th largest value
        above = np.flatnonzero(values > cut)
        ties = np.flatnonzero(values == cut)[: count - above.size]  # lowest rows first (eligible ascending)
        chosen = np.concatenate([above, ties])
    return chosen[np.lexsort((eligible[chosen], -values[chosen]))]


def _top(points: np.ndarray, state: tuple[np.ndarray, np.ndarray], centers: list[np.ndarray],
         picked_local: np.ndarray, m: int) -> tuple[tuple[Any, ...], tuple[np.ndarray, np.ndarray]]:
    """The ``m`` eligible rows of smallest key ``(-dist, position)``, exact, and the key of the next one.

    ``state``: per row an upper bound of its squared distance to the nearest center (the minimum
    over the first ``upto`` centers of the sequence ``centers``, each the exact formula; -inf
    for centers).  Rows are brought up to date (all centers) only when they are among the top
    ``m`` by bound; the loop ends when the top ``m`` are all exact.  Positions are local; the
    driver maps them to global rows (ascending with the position for every eligible row of a
    block, so the tie rule is the same).  Returns the answer and the new state.
    """
    u, upto = state[0].copy(), state[1].copy()
    u[picked_local] = -np.inf
    everything = np.concatenate(centers, axis=0) if centers else np.empty((0, points.shape[1]))
    total = everything.shape[0]
    eligible = np.flatnonzero(u >= 0)
    size = max(4 * m, _ACTIVE_MIN)  # rows refreshed together (the screened kernel's active set), doubled as needed
    while True:
        values = u[eligible]
        order = _smallest_keys(values, eligible, m + 1)
        head = eligible[order[:m]]
        if not (upto[head] < total).any():
            break
        wide = eligible[_smallest_keys(values, eligible, size)]
        stale = wide[upto[wide] < total]
        start = int(upto[stale].min())
        u[stale] = np.minimum(u[stale], _nearest(points[stale], everything[start:]))
        upto[stale] = total
        size *= 2
    if eligible.size <= m:
        beta, rho = -np.inf, np.inf
    else:
        last = order[m]
        beta, rho = float(values[last]), float(eligible[last])
    local = eligible[order[:m]]
    answer = (local.astype(np.int64), u[local].copy(), _f64(points[local]), beta, rho)
    return answer, (u, upto)


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
    stats = stats if stats is not None else KCenterStats()
    if centers.shape[0] == 0:
        raise ValueError("distributed K-Center needs at least one labeled row (initial center)")
    centers = _f64(centers)
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    # the centers sequence: a strided subset of the initial centers bounds every row first (the
    # screened kernel's rule), the rest and the picks are applied to rows only when they matter
    n_first = centers.shape[0] if centers.shape[0] <= 2 * _SCREEN_FIRST else _SCREEN_FIRST
    firsts = np.zeros(centers.shape[0], dtype=bool)
    firsts[np.linspace(0, centers.shape[0] - 1, n_first).round().astype(np.int64)] = True
    first_f, rest_f = client.scatter([centers[firsts], centers[~firsts]], broadcast=True, hash=False)
    sequence = [first_f, rest_f]  # then one future per batch of picks
    stats.bytes_to_workers += centers.nbytes * n_workers
    n_blocks = len(blocks)
    sizes = np.array([b.size() for b in blocks], dtype=np.int64)
    m0 = first_m if first_m is not None else 4 * math.ceil(budget / max(1, n_blocks)) + 16
    points = [b.points for b in blocks]
    dist = [client.submit(_init_state, b.points, np.asarray(b.centers, dtype=np.int64), first_f, pure=False)
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
            answers = _request(client, ask, points, dist, m, applied, picked_local, pick_points, sequence, stats)
        except DaskRoundError:  # a lost distance state: rebuild every one from the centers (same bits), once
            dist[:] = [client.submit(_init_state, b.points, np.asarray(b.centers, dtype=np.int64), first_f, pure=False)
                       for b in blocks]
            stats.recoveries += 1
            answers = _request(client, ask, points, dist, m, applied, picked_local, pick_points, sequence, stats)
        keep = ~np.isin(held_blk, ask)
        held_rows = np.concatenate([held_rows[keep]] + [blocks[i].global_rows(a[0]) for i, a in zip(ask, answers)])
        held_local = np.concatenate([held_local[keep]] + [a[0] for a in answers])
        held_vals = np.concatenate([held_vals[keep]] + [a[1] for a in answers])
        held_pts = np.concatenate([held_pts[keep]] + [a[2].reshape(-1, dim) for a in answers], axis=0)
        held_blk = np.concatenate([held_blk[keep]] + [np.full(a[0].size, i, dtype=np.int64) for i, a in zip(ask, answers)])
        for i, a in zip(ask, answers):
            beta[i] = a[3]
            rho[i] = np.inf if not np.isfinite(a[4]) else float(blocks[i].global_rows(np.array([int(a[4])]))[0])
        # every block was just asked: a candidate below the highest bound cannot be picked before
        # the next request, which brings it back if it still matters; drop it (fewer updates)
        live = held_vals >= beta.max()
        held_rows, held_local, held_vals = held_rows[live], held_local[live], held_vals[live]
        held_pts, held_blk = held_pts[live], held_blk[live]
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
                # ask again every block that still has rows outside, with twice the rows: the
                # answers grow geometrically, so a run needs about log2(rows per block) requests
                ask = np.flatnonzero(sizes > 0)
                m[ask] = np.minimum(2 * m[ask], sizes[ask])
                break
            point = held_pts[j : j + 1].copy()
            picks.append(r)
            radii.append(math.sqrt(v))
            pick_points.append(point)
            picked_local[int(held_blk[j])].append(int(held_local[j]))
            held_vals[j] = -np.inf  # picked: a center now
            np.minimum(held_vals, sq_dists_to(held_pts, point[0]), out=held_vals)
    return np.asarray(picks, dtype=np.int64), np.asarray(radii, dtype=np.float64)


def _request(client: Any, ask: np.ndarray, points: list[Any], dist: list[Any], m: np.ndarray, applied: np.ndarray,
             picked_local: list[list[int]], pick_points: list[np.ndarray], sequence: list[Any],
             stats: KCenterStats) -> list[tuple[Any, ...]]:
    """One round trip: the picks since the last request go to the workers as one batch (one
    future, sent once per worker), the asked blocks answer with their top rows."""
    import operator

    known = int(applied.max()) if applied.size else 0
    if len(pick_points) > known:
        batch = np.concatenate(pick_points[known:], axis=0)
        [f] = client.scatter([batch], broadcast=True, hash=False)
        sequence.append(f)
        stats.bytes_to_workers += batch.nbytes * max(1, len(client.scheduler_info().get("workers", {})))
        applied[:] = len(pick_points)
    tops = []
    for i in ask:
        inside = np.asarray(picked_local[i], dtype=np.int64)
        both = client.submit(_top, points[i], dist[i], list(sequence), inside, int(m[i]), pure=False)
        dist[i] = client.submit(operator.getitem, both, 1, pure=False)
        tops.append(client.submit(operator.getitem, both, 0, pure=False))
    import time

    clock = time.perf_counter()
    answers = gather_round(client, tops)
    stats.request_seconds.append(round(time.perf_counter() - clock, 3))
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
