"""The single squared-distance formula every kernel and the NumPy path share.

Why one formula: greedy K-Center picks ``argmax`` of distances, so two code paths that
round differently can pick different rows on near-ties. Every distance in
``dami_np.kernels`` (pairwise, nearest, all K-Center methods, Numba or NumPy) is computed
exactly like this, and is therefore bit-identical across paths and thread counts:

* the row ``x`` (float32 or float64) and the center ``c`` are taken in float64 (exact for
  float32 input); ``t_j = x_j - c_j`` and ``t_j * t_j`` are rounded in float64;
* squares are accumulated in ``LANES`` (= 32) float64 partial sums: lane ``l`` adds the
  terms ``j = l, l + 32, l + 64, ...`` in increasing ``j`` order;
* the 32 lanes are summed sequentially, lane 0 first. With ``D <= 32`` that is simply the
  squares summed in increasing ``j`` (unused lanes hold +0.0, which adds nothing), and the
  kernels compute it that way.

Fixed independent lanes let LLVM vectorize the loop without ``fastmath`` (no
reassociation is needed), and float64 accumulation keeps float32 data accurate. The result
is never negative and is exactly 0 for identical rows (every ``t_j`` is 0).
The NumPy mirror reproduces the order with ``cumsum`` (a strictly sequential
accumulation) over the lane-reshaped squares.

Cache note: ``sq_dist`` is inlined into kernels of other modules; the cache policy of
:mod:`._numba_policy` stamps every entry with a hash of all ``kernels/*.py`` sources, so
editing this file invalidates them.
"""

from __future__ import annotations

import numpy as np

from ._numba_policy import inline

__all__ = ["LANES", "sq_dist", "sq_dists_numpy"]

LANES = 32
_NUMPY_CHUNK_ELEMS = 1 << 20


@inline
def sq_dist(x, c, acc):  # pragma: no cover - compiled into the kernels
    """Squared distance of row ``x`` to float64 vector ``c``; ``acc`` is a (LANES,) scratch."""
    d = c.shape[0]
    if d <= LANES:  # every term has its own lane, the rest stay 0 (adding +0.0 changes nothing)
        s = 0.0
        for j in range(d):
            t = x[j] - c[j]
            s += t * t
        return s
    nb = d // LANES
    for lane in range(LANES):
        acc[lane] = 0.0
    for b in range(nb):
        j = b * LANES
        for lane in range(LANES):
            t = x[j + lane] - c[j + lane]
            acc[lane] += t * t
    j = nb * LANES
    for lane in range(d - j):
        t = x[j + lane] - c[j + lane]
        acc[lane] += t * t
    s = 0.0
    for lane in range(LANES):
        s += acc[lane]
    return s


def _sq_dists_block(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    r, d = x.shape
    t = x.astype(np.float64)
    t -= c
    t *= t
    nb = d // LANES
    if nb:
        acc = np.cumsum(t[:, : nb * LANES].reshape(r, nb, LANES), axis=1)[:, -1, :].copy()
    else:
        acc = np.zeros((r, LANES))
    tail = d - nb * LANES
    if tail:
        acc[:, :tail] += t[:, nb * LANES :]
    return np.cumsum(acc, axis=1)[:, -1]


def sq_dists_numpy(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """NumPy mirror of :func:`sq_dist` for every row of ``x`` (n, D) against ``c`` (D,)."""
    n, d = x.shape
    c = np.asarray(c, dtype=np.float64)
    out = np.empty(n, dtype=np.float64)
    step = max(1, _NUMPY_CHUNK_ELEMS // max(1, d))
    for i in range(0, n, step):
        out[i : i + step] = _sq_dists_block(x[i : i + step], c)
    return out
