"""Group bitwise-identical rows, in O(n) extra memory, without sorting the data itself.

DAMI representations repeat a lot (all rows of one linear region share one Jacobian), and
greedy K-Center never needs more than one row per distinct value: duplicates always have
the same distance to every center. Rows are hashed (a linear hash of their bit patterns
with random odd 64-bit multipliers: integer arithmetic, so it vectorizes without fastmath),
hashes are stably sorted, and each run of equal hashes is split into truly identical rows
by comparing bits, so a collision can never merge different rows. Rows equal in value but
not in bits (``0.0`` vs ``-0.0``) simply stay separate groups, which is harmless.
"""

from __future__ import annotations

import numpy as np

from . import _numba_policy as _policy
from ._numba_policy import inline, kernel, prange

__all__ = ["Groups", "group_identical_rows"]

_HASH_SEED = 0x5DEECE66D
_GROUP_WEIGHT = 64  # NumPy's row sort costs far more per element than a distance term
_PARALLEL_MIN = 1 << 22  # row elements from which hashing runs on all threads


@inline
def _hash_row(bits, mult, out, i):  # pragma: no cover - compiled
    h = np.uint64(0)
    for j in range(bits.shape[1]):
        h += np.uint64(bits[i, j]) * mult[j]
    h ^= h >> np.uint64(31)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(29)
    out[i] = h


@kernel(parallel=True)
def _row_hashes(bits, mult, out):  # pragma: no cover - compiled
    for i in prange(bits.shape[0]):
        _hash_row(bits, mult, out, i)


@kernel()
def _row_hashes_serial(bits, mult, out):  # pragma: no cover - compiled
    """:func:`_row_hashes` on one thread: for mid-size inputs (a parallel kernel costs seconds
    to compile on a first run, more than it can save there)."""
    for i in range(bits.shape[0]):
        _hash_row(bits, mult, out, i)


@kernel()
def _assign_reps(order, hashes, bits, rep, scratch):  # pragma: no cover - compiled
    n = order.shape[0]
    d = bits.shape[1]
    i = 0
    while i < n:
        h = hashes[order[i]]
        j = i + 1
        while j < n and hashes[order[j]] == h:
            j += 1
        nreps = 0
        for p in range(i, j):  # run in increasing row order (stable sort)
            e = order[p]
            found = -1
            for q in range(nreps):
                r = scratch[q]
                same = True
                for col in range(d):
                    if bits[e, col] != bits[r, col]:
                        same = False
                        break
                if same:
                    found = r
                    break
            if found < 0:
                scratch[nreps] = e
                nreps += 1
                found = e
            rep[e] = found
        i = j


class Groups:
    """Rows grouped by identical value.

    ``rows``: lowest original index of each group, ascending (so "lowest row index" tie
    breaking is the same on groups as on rows); ``group_of``: group number of every row.
    """

    __slots__ = ("rows", "group_of")

    def __init__(self, rows: np.ndarray, group_of: np.ndarray) -> None:
        self.rows = rows
        self.group_of = group_of

    @property
    def n_groups(self) -> int:
        return int(self.rows.shape[0])


def _identity(n: int) -> Groups:
    r = np.arange(n, dtype=np.int64)
    return Groups(r, r)


def group_identical_rows(x: np.ndarray) -> Groups:
    """Group the rows of C-contiguous float32/float64 ``x`` that are bitwise identical."""
    n, d = x.shape
    if n <= 1 or not _policy.use_kernels(x.size * _GROUP_WEIGHT):
        if n <= 1:
            return _identity(n)
        _, first, inv = np.unique(x.view(np.uint8).reshape(n, -1), axis=0, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.shape[0])
        return Groups(first[order].astype(np.int64), rank[inv.reshape(-1)].astype(np.int64))
    bits = x.view(np.uint32 if x.dtype == np.float32 else np.uint64)
    mult = np.random.default_rng(_HASH_SEED).integers(0, 2**63, size=d, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    hashes = np.empty(n, dtype=np.uint64)
    (_row_hashes if x.size >= _PARALLEL_MIN else _row_hashes_serial)(bits, mult, hashes)
    order = np.argsort(hashes, kind="stable").astype(np.int64, copy=False)
    rep = np.empty(n, dtype=np.int64)
    scratch = np.empty(n, dtype=np.int64)
    _assign_reps(order, hashes, bits, rep, scratch)
    del scratch, order, hashes
    rows = np.flatnonzero(rep == np.arange(n)).astype(np.int64)
    pos = np.empty(n, dtype=np.int64)
    pos[rows] = np.arange(rows.shape[0], dtype=np.int64)
    return Groups(rows, pos[rep])

