"""Greedy K-Center over groups of equal rows, in memory (the kernels) or streamed (the block driver).

Greedy K-Center (Gonzalez 1985; Sener & Savarese 2018) repeatedly picks the row farthest from
its nearest center; labeled rows are the initial centers.  Ties go to the lowest row index;
with no centers the first pick is the row farthest from the column mean (the kernel's rules).

``grouped_kcenter`` runs it once per group of rows known to share a representation (DAMI: one
activation pattern) and gives exactly the picks of the run over all rows: a group stands for
its lowest candidate row, groups are ordered by that row, and once every remaining row is at
distance 0 the plain run would take the remaining rows in index order, so we do the same.

Points come from ``points_of`` on one fixed grid of batches (``chunk_rows`` consecutive group
representatives per batch): the (groups, dim) matrix when it fits ``memory_budget`` bytes
(then ``kernels.kcenter_greedy``), otherwise :func:`streamed_kcenter`: the batches are the
blocks of ``_kcenter_blocks`` (the one active-set driver, also the Dask path's), passed over a
few times per round (not once per pick), with the same picks and radii, bit for bit, because
every distance is the kernels' exact formula on the same point bits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._pattern_groups import fill_in_row_order, group_representatives

__all__ = ["kcenter", "kcenter_radii", "grouped_kcenter", "streamed_kcenter"]

PointsFn = Callable[[np.ndarray], np.ndarray]
_CHUNK_BYTES = 16 * 2**20
_ACTIVE_MIN = 4096  # rows asked of the batches first, together (at least) ...
_ACTIVE_PER_PICK = 16  # ... and per pick asked for (the screened kernel's sizes)


def kcenter(points: np.ndarray, centers: np.ndarray, k: int) -> np.ndarray:
    """``k`` greedy K-Center picks over the rows of ``points``; ``centers`` is a bool mask."""
    return kcenter_radii(points, centers, k)[0]


def kcenter_radii(points: np.ndarray, centers: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Picks and Euclidean radii of ``kernels.kcenter_greedy`` (the kernel owns every tie rule)."""
    import dami_np.kernels as kernels

    picks, radii = kernels.kcenter_greedy(points, int(k), centers=centers, return_radii=True)
    return np.asarray(picks, dtype=np.int64), np.asarray(radii, dtype=np.float64)


def grouped_kcenter(
    group: np.ndarray,
    is_center: np.ndarray,
    k: int,
    points_of: PointsFn,
    dim: int,
    *,
    memory_budget: int,
    chunk_rows: int | None = None,
    dtype: object = np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact K-Center picks (positions into ``group``) when rows of a group share their point.

    ``group`` (m,) ids of the rows (any numbering), ``is_center`` (m,) the initial centers,
    ``points_of(rows)`` the (len(rows), dim) points (float32 or float64, ``dtype``) of the given
    row positions, computed in consecutive batches of ``chunk_rows`` from the start of ``rows``
    (default: batches of about 16 MiB).  The (groups, dim) matrix is built when it fits
    ``memory_budget`` bytes, else streamed (same picks and radii).  Returns the picks and their
    Euclidean radii, as ``kernels.kcenter_greedy`` defines them (first pick without centers:
    its distance to the mean; duplicates of centers: 0).
    """
    group = np.asarray(group, dtype=np.int64)
    is_center = np.asarray(is_center, dtype=bool)
    n_groups = int(group.max()) + 1 if group.size else 0
    candidate_rows = np.flatnonzero(~is_center)
    reps, n_cand = group_representatives(group, is_center)  # one row per group: the one rule (_pattern_groups)
    centers = np.zeros(reps.size, dtype=bool)
    centers[n_cand:] = True
    cand_groups = group[reps[:n_cand]]
    step = int(chunk_rows) if chunk_rows else _chunk_rows(dim)
    in_memory = reps.size * dim * np.dtype(dtype).itemsize <= memory_budget

    picks: list[int] = []
    radii_found: list[float] = []
    k_groups = min(int(k), n_cand)
    matrix = points_of(reps) if (k_groups and in_memory) else None
    blocks = _Blocks(points_of, reps, step, matrix)
    if k_groups and reps.size == n_cand:  # no center group
        counts = np.bincount(group, minlength=n_groups)[cand_groups]
        first_pick, first_sq = _farthest_from_mean(blocks, counts, dim)
        picks.append(first_pick)
        radii_found.append(float(np.sqrt(first_sq)))
        centers[first_pick] = True
        k_groups -= 1
    if k_groups:
        if matrix is not None:
            found, radii = kcenter_radii(matrix, centers, k_groups)
        else:
            found, sq_radii = _streamed(blocks, centers, k_groups, dim)
            radii = np.sqrt(sq_radii)
        found = np.asarray(found, dtype=np.int64)
        radii = np.asarray(radii, dtype=np.float64)
        zero = np.flatnonzero(~(radii > 0))
        stop = zero[0] if zero.size else found.size
        picks.extend(found[:stop].tolist())
        radii_found.extend(radii[:stop].tolist())
    # only rows at distance 0 left: the lowest available rows (the kernels' rule)
    return fill_in_row_order(reps[np.asarray(picks, dtype=np.int64)], radii_found, min(int(k), candidate_rows.size),
                             is_center)


class _Blocks:
    """The points of ``reps`` on the fixed grid of ``step`` consecutive rows: batch ``q`` is
    ``points_of(reps[q*step : (q+1)*step])`` (or that slice of the matrix, when it is built).

    Also the streamed ``BlockSource`` of ``_kcenter_blocks`` (block = batch, the bounds kept
    here): each request computes the asked batches' points once; set ``centers`` (a mask over
    ``reps``) before a run."""

    def __init__(self, points_of: PointsFn, reps: np.ndarray, step: int, matrix: np.ndarray | None = None) -> None:
        self.points_of, self.reps, self.step, self.matrix = points_of, reps, max(1, int(step)), matrix
        self.n = int(reps.size)
        self.count = -(-self.n // self.step)
        self.rows_computed = 0  # rows passed to points_of (passes = rows_computed / n)
        self.sizes = np.minimum(self.step, self.n - self.step * np.arange(self.count, dtype=np.int64))
        self.centers = np.zeros(self.n, dtype=bool)
        self._sequence: list[np.ndarray] = []
        self._states: list[tuple[np.ndarray, np.ndarray] | None] = []

    def __call__(self, q: int) -> np.ndarray:
        lo, hi = q * self.step, min(self.n, (q + 1) * self.step)
        if self.matrix is not None:
            return self.matrix[lo:hi]
        self.rows_computed += hi - lo
        return np.ascontiguousarray(self.points_of(self.reps[lo:hi]))

    def global_rows(self, block: int, local: np.ndarray) -> np.ndarray:
        return block * self.step + np.asarray(local, dtype=np.int64)

    def start(self, first: np.ndarray, rest: np.ndarray) -> None:
        self._sequence = [first, rest]
        self._states = [None] * self.count

    def request(self, ask: np.ndarray, m: np.ndarray, new_centers: np.ndarray | None,
                picked: list[list[int]]) -> list[tuple]:
        from ._kcenter_blocks import as_f64, block_bounds, block_top

        if new_centers is not None:
            self._sequence.append(new_centers)
        everything = np.concatenate(self._sequence, axis=0)
        answers = []
        for q in ask:
            q = int(q)
            pts = as_f64(self(q))
            state = self._states[q]
            if state is None:  # first pass: bounds by the first centers, in the same pass
                lo = q * self.step
                state = block_bounds(pts, np.flatnonzero(self.centers[lo : lo + pts.shape[0]]), self._sequence[0])
            answer, self._states[q] = block_top(pts, state, everything, np.asarray(picked[q], dtype=np.int64), int(m[q]))
            answers.append(answer)
        return answers


def _farthest_from_mean(blocks: _Blocks, counts: np.ndarray, dim: int) -> tuple[int, float]:
    """Index (into the reps) of the point farthest from the count-weighted mean (ties lowest), and its squared distance."""
    total = np.zeros(dim)
    for q in range(blocks.count):
        lo = q * blocks.step
        pts = np.asarray(blocks(q), dtype=np.float64)
        total += counts[lo : lo + pts.shape[0]].astype(np.float64) @ pts
    mean = total / counts.sum()
    best, best_d = 0, -1.0
    for q in range(blocks.count):
        diff = np.asarray(blocks(q), dtype=np.float64) - mean
        d = np.einsum("ij,ij->i", diff, diff)
        j = int(np.argmax(d))
        if d[j] > best_d:
            best, best_d = q * blocks.step + j, float(d[j])
    return best, best_d


def streamed_kcenter(
    reps: np.ndarray,
    centers: np.ndarray,
    k: int,
    points_of: PointsFn,
    dim: int,
    *,
    memory_budget: int | None = None,
    chunk_rows: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy K-Center over the points of ``reps`` without their full matrix (at least one center).

    Points are computed on the fixed grid of ``chunk_rows`` consecutive rows (see
    :func:`grouped_kcenter`), a few passes per run (see :func:`_streamed`); ``memory_budget`` is
    accepted for compatibility (the active set's size follows the kernel's rule).  Returns the
    picks (indices into ``reps``) and their squared radii, stopping early at the first zero radius.
    """
    blocks = _Blocks(points_of, np.asarray(reps, dtype=np.int64), int(chunk_rows) if chunk_rows else _chunk_rows(dim))
    return _streamed(blocks, np.asarray(centers, dtype=bool), int(k), dim)


def _streamed(blocks: _Blocks, centers: np.ndarray, k: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The block driver (``_kcenter_blocks``) over the streamed batches: exactly the kernel's picks
    and squared radii, stopping before the first zero radius.

    One request is one pass over the batches (each batch's points computed once, its bounds
    brought up to date and its top rows sent); the rows asked of each batch first share the
    kernel's active-set size (at least ``_ACTIVE_MIN`` rows, ``_ACTIVE_PER_PICK`` per pick, a
    64th of the rows) and double when a batch's bound blocks a pick, so a run makes about
    ``2 + log2(n / size)`` passes at most, not one per pick.
    """
    from ._kcenter_blocks import kcenter_over_blocks

    center_idx = np.flatnonzero(centers)
    if center_idx.size == 0:
        raise ValueError("the streamed K-Center needs at least one center")
    step = blocks.step
    cpts = np.empty((center_idx.size, dim))
    for q in np.unique(center_idx // step):
        sel = center_idx[(center_idx // step) == q]
        cpts[np.searchsorted(center_idx, sel)] = blocks(int(q))[sel - q * step]
    blocks.centers = centers
    size = min(blocks.n, max(_ACTIVE_MIN, _ACTIVE_PER_PICK * k, blocks.n // 64))
    return kcenter_over_blocks(blocks, cpts, k, first_m=-(-size // max(1, blocks.count)), stop_at_zero=True)


def _chunk_rows(dim: int) -> int:
    return max(1, _CHUNK_BYTES // (8 * max(1, dim)))
