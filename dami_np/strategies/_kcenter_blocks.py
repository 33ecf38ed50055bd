"""Exact greedy K-Center over a source of row blocks: one active-set driver for every path.

The pool is split into blocks (rows ``0 .. size_b - 1`` of block ``b``, each with a global row
that is ascending with the position inside the block); whoever holds a block (this process for
streamed batches, a Dask worker for a partition) keeps for every row of it an upper bound ``u``
of its squared distance to the nearest center: the minimum over the first ``upto`` centers of
one sequence (a strided subset of at most 256 initial centers, the other initial centers, then
the picks in pick order), each term the exact formula; ``-inf`` for centers (initial centers
and picks).  The driver never sees a whole block.

Protocol (a :class:`BlockSource` implements the block side with :func:`block_bounds` and
:func:`block_top`)
--------
1. ``source.start(first, rest)``: the initial centers, split as above; each block bounds every
   row by ``first`` (the screened kernel's rule for many centers).
2. ``source.request(ask, m, new_centers, picked)``: the picks made since the previous request
   (``new_centers``, the next part of the sequence) go to the blocks; block ``b`` in ``ask``
   marks its picked rows, takes its ``m[b]`` rows of smallest bound key ``(-u, row)``, brings
   the stale ones among them up to date with the rest of the sequence (exact now) and repeats
   until those ``m[b]`` rows are all exact; it answers with them (local positions, exact
   squared distances, float64 points; largest distance first, ties to the lowest row) and the
   bound key ``(-beta_b, rho_b)`` of its next row (``(-inf, inf)`` when it sent them all).
3. The driver keeps the candidates and updates their distances exactly with every new center.
   It picks the candidate of smallest key ``(-v, r)`` as long as that key is below every
   block's bound key; otherwise it asks every block again with ``m`` doubled (asking only the
   blocking blocks is also exact, but costs more requests).  Since every block answers every
   request, a candidate whose distance is below the highest bound can be dropped until the
   next answer: it cannot be picked before, as distances only decrease.

Invariant: for every block ``b`` and every eligible row ``x`` of ``b`` (not a center, not
picked), either the driver holds ``x`` with its exact current distance, or the key of ``x``
(with its exact current distance) is at least ``(-beta_b, rho_b)`` from ``b``'s last answer.
Proof: a bound is a minimum over a subset of the centers, so it is at least the exact
distance, and keys by exact distance are at least keys by bound.  Right after the answer every
row left out has bound key >= ``(-beta_b, rho_b)`` (the answer is the ``m_b`` smallest bound
keys, all exact, and the bound is the next one), hence exact key >= the bound.  Afterwards the
driver applies every new center to its candidates with the same formula as the blocks, so
their values stay exact; a row left out only gets farther from the bound: its distance can
only decrease as centers are added, which increases ``-dist`` and so its key.  Exactness of
each pick: the chosen candidate's key is below every bound, so by the invariant it is below
the key of every eligible row the driver does not hold, and it is the smallest among those it
holds: it is the row of largest distance to its nearest center, ties to the lowest global
row, which is what the single-machine greedy (``dami_np.kernels.kcenter_greedy``: argmax,
ties to the lowest row) picks at that step.  Distances are the kernels' exact formula
(``kernels.nearest_sq_distances`` on float64 points on the blocks, :func:`sq_dists_to` on the
driver; the minimum of exact values does not depend on the order the centers are applied
in), so the values are bit-identical to the local kernel's.  Termination: a block whose bound
blocks a pick is asked again with twice the rows; after at most ``log2`` of its size requests
it sends all its eligible rows and its bound is ``(-inf, inf)``, which every candidate beats.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

__all__ = ["BlockSource", "kcenter_over_blocks", "block_bounds", "block_top", "sq_dists_to", "split_initial_centers"]

SCREEN_FIRST = 256  # with more initial centers, this strided subset bounds every row first
_REFRESH_MIN = 4096  # rows a block brings up to date together (at least)

# an answer: (local positions, exact squared distances, float64 points, beta, rho as a local position)
Answer = tuple[np.ndarray, np.ndarray, np.ndarray, float, float]


class BlockSource(Protocol):
    """The blocks of one K-Center run (see the module docstring for the protocol)."""

    sizes: np.ndarray  # rows per block (int64)

    def global_rows(self, block: int, local: np.ndarray) -> np.ndarray:
        """Global rows (ascending with ``local``) of local positions of ``block``."""

    def start(self, first: np.ndarray, rest: np.ndarray) -> None:
        """Every block bounds its rows by the centers ``first``; ``rest`` are the other initial centers."""

    def request(self, ask: np.ndarray, m: np.ndarray, new_centers: np.ndarray | None,
                picked: list[list[int]]) -> list[Answer]:
        """The answers of the blocks ``ask`` (``m[b]`` rows each) after ``new_centers`` joined the sequence."""


# ---------------------------------------------------------------------- block side
def as_f64(points: np.ndarray) -> np.ndarray:
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
    import dami_np.kernels as kernels

    return np.asarray(kernels.nearest_sq_distances(as_f64(points), centers)[0], dtype=np.float64)


def block_bounds(points: np.ndarray, centers_local: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A block's first state (upper bounds, centers applied): every row against ``first``."""
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


def block_top(points: np.ndarray, state: tuple[np.ndarray, np.ndarray], centers: Any,
              picked_local: np.ndarray, m: int) -> tuple[Answer, tuple[np.ndarray, np.ndarray]]:
    """A block's answer: its ``m`` eligible rows of smallest key ``(-dist, position)``, exact, and
    the key of the next one; and its new state.

    ``state``: per row an upper bound of its squared distance to the nearest center (the minimum
    over the first ``upto`` centers of the sequence ``centers``: one array, or the list of its
    parts; each term the exact formula; -inf for centers).  Rows are brought up to date (all
    centers) only when they are among the top ``m`` by bound; the loop ends when the top ``m``
    are all exact.  Positions are local; the driver maps them to global rows.
    """
    u, upto = state[0].copy(), state[1].copy()
    u[picked_local] = -np.inf
    if isinstance(centers, np.ndarray):
        everything = centers
    else:
        everything = np.concatenate(centers, axis=0) if centers else np.empty((0, points.shape[1]))
    total = everything.shape[0]
    eligible = np.flatnonzero(u >= 0)
    size = max(4 * m, _REFRESH_MIN)  # rows refreshed together (the screened kernel's active set), doubled as needed
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
    answer = (local.astype(np.int64), u[local].copy(), as_f64(points[local]), beta, rho)
    return answer, (u, upto)


# ---------------------------------------------------------------------- driver side
def split_initial_centers(centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, rest): a strided subset of at most ``SCREEN_FIRST`` initial centers bounds every row
    first (all of them when there are at most twice as many); the rest are applied only where they matter."""
    n_first = centers.shape[0] if centers.shape[0] <= 2 * SCREEN_FIRST else SCREEN_FIRST
    firsts = np.zeros(centers.shape[0], dtype=bool)
    firsts[np.linspace(0, centers.shape[0] - 1, n_first).round().astype(np.int64)] = True
    return centers[firsts], centers[~firsts]


def kcenter_over_blocks(
    source: BlockSource, centers: np.ndarray, k: int, *, first_m: np.ndarray | int | None = None,
    stop_at_zero: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """``k`` greedy K-Center picks (global rows) and their squared radii over the blocks of ``source``.

    ``centers``: the points of the initial centers (the rows each block marks as centers); at
    least one (the first pick without centers is the caller's, by the kernels' first-pick
    rule).  ``first_m``: rows asked of each block first (default ``4 ceil(k / blocks) + 16``).
    With ``stop_at_zero`` the run stops before the first pick at distance 0 (fewer picks; the
    caller fills in row order, the kernels' radius-0 rule); without it, a budget past the
    eligible rows is an error.
    """
    centers = as_f64(centers)
    if centers.shape[0] == 0:
        raise ValueError("K-Center over blocks needs at least one initial center")
    source.start(*split_initial_centers(centers))
    sizes = np.asarray(source.sizes, dtype=np.int64)
    n_blocks = sizes.size
    if first_m is None:
        first_m = 4 * -(-int(k) // max(1, n_blocks)) + 16
    m = np.minimum(np.broadcast_to(np.asarray(first_m, dtype=np.int64), (n_blocks,)), sizes)
    beta = np.full(n_blocks, np.inf)  # bound keys (-beta, rho): nothing known yet, every block blocks
    rho = np.full(n_blocks, -np.inf)
    dim = centers.shape[1]
    held_rows = np.empty(0, dtype=np.int64)  # candidates the driver holds, with exact current distances
    held_local = np.empty(0, dtype=np.int64)
    held_vals = np.empty(0)
    held_pts = np.empty((0, dim))
    held_blk = np.empty(0, dtype=np.int64)

    picks: list[int] = []
    radii: list[float] = []
    pick_points: list[np.ndarray] = []
    sent = 0  # picks already sent to the blocks
    picked_local: list[list[int]] = [[] for _ in range(n_blocks)]
    ask = np.arange(n_blocks)
    while len(picks) < k:
        new = np.concatenate(pick_points[sent:], axis=0) if len(pick_points) > sent else None
        sent = len(pick_points)
        answers = source.request(ask, m, new, picked_local)
        keep = ~np.isin(held_blk, ask)
        held_rows = np.concatenate([held_rows[keep]] + [source.global_rows(int(i), a[0]) for i, a in zip(ask, answers)])
        held_local = np.concatenate([held_local[keep]] + [a[0] for a in answers])
        held_vals = np.concatenate([held_vals[keep]] + [a[1] for a in answers])
        held_pts = np.concatenate([held_pts[keep]] + [a[2].reshape(-1, dim) for a in answers], axis=0)
        held_blk = np.concatenate([held_blk[keep]] + [np.full(a[0].size, i, dtype=np.int64) for i, a in zip(ask, answers)])
        for i, a in zip(ask, answers):
            beta[i] = a[3]
            rho[i] = np.inf if not np.isfinite(a[4]) else float(source.global_rows(int(i), np.array([int(a[4])]))[0])
        # every block was just asked: a candidate below the highest bound cannot be picked before
        # the next request, which brings it back if it still matters; drop it (fewer updates)
        live = held_vals >= beta.max()
        held_rows, held_local, held_vals = held_rows[live], held_local[live], held_vals[live]
        held_pts, held_blk = held_pts[live], held_blk[live]
        while len(picks) < k:
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
                    raise RuntimeError("K-Center over blocks ran out of rows")  # budget > eligible rows
                # ask again every block that still has rows outside, with twice the rows: the
                # answers grow geometrically, so a run needs about log2(rows per block) requests
                ask = np.flatnonzero(sizes > 0)
                m[ask] = np.minimum(2 * m[ask], sizes[ask])
                break
            point = held_pts[j : j + 1].copy()
            picks.append(r)
            radii.append(v)
            pick_points.append(point)
            picked_local[int(held_blk[j])].append(int(held_local[j]))
            held_vals[j] = -np.inf  # picked: a center now
            np.minimum(held_vals, sq_dists_to(held_pts, point[0]), out=held_vals)
    return np.asarray(picks, dtype=np.int64), np.asarray(radii, dtype=np.float64)
