"""Greedy K-Center as other code bases write it: the baselines ``dami_np.kernels`` is measured against.

Each function has the signature ``f(points, k, centers) -> picks`` (int64, pick order) and
follows the same rules as ``dami_np.kernels.kcenter_greedy``: ``centers`` are row indices
(or a boolean mask) of rows that are already centers; without centers the first pick is
the row farthest from the column mean (google/active-learning picks a random row there;
we use the deterministic rule so results can be compared); then repeatedly the row with
the largest distance to its nearest center, ties to the lowest row (``argmax``).

* :func:`kcenter_google_style`: google/active-learning ``kcenter_greedy.py``: one
  ``sklearn.metrics.pairwise_distances(features, new_center)`` call per pick, re-implemented
  here in NumPy as scikit-learn does it (float32 upcast to float64 in chunks, row norms
  recomputed at every call, ``|x|^2 - 2 x.c + |c|^2``, clipped at 0, square root).
* :func:`kcenter_numpy_gemv`: the tuned NumPy version: norms once, then one float32 GEMV
  per pick and an in-place ``minimum``.
* :func:`kcenter_numba_prange`: the plain Numba loop one writes first (``prange`` over
  rows, ``fastmath`` so the reduction vectorizes).
* :func:`kcenter_torch_cdist`: PyTorch CPU, ``torch.cdist`` per pick (only if torch imports).

The expanded formula loses digits for rows very close to a center; like careful code does,
distances below a tiny fraction of the norms are recomputed from differences (a handful of
rows, negligible cost), so exact duplicates of centers get exactly 0 and picks agree with
dami-np's except on true near-ties.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "kcenter_google_style",
    "kcenter_numpy_gemv",
    "kcenter_numba_prange",
    "kcenter_torch_cdist",
    "torch_available",
]

_CHUNK_BYTES = 64 << 20  # scikit-learn's default working memory is 1 GiB; keep it modest
_NEAR_ZERO = 1e-9


def _center_list(centers: object, n: int) -> np.ndarray:
    if centers is None:
        return np.empty(0, dtype=np.int64)
    c = np.asarray(centers)
    if c.dtype == bool:
        return np.flatnonzero(c)
    return np.unique(c.astype(np.int64))


def _first_pick(points: np.ndarray) -> int:
    mean = points.mean(axis=0, dtype=np.float64)
    d = ((points.astype(np.float64) - mean) ** 2).sum(axis=1) if points.shape[0] * points.shape[1] < 1 << 26 else None
    if d is None:
        d = np.concatenate([((blk.astype(np.float64) - mean) ** 2).sum(axis=1) for blk in np.array_split(points, 64)])
    return int(np.argmax(d))


def _greedy_loop(points: np.ndarray, k: int, cidx: np.ndarray, mind, argmax, add_center) -> np.ndarray:
    """The pick loop every one-pass-per-pick baseline shares: take the farthest row (the
    farthest from the mean when there are no centers), mark it, update ``mind`` with it."""
    picks = np.empty(k, dtype=np.int64)
    for t in range(k):
        ind = _first_pick(points) if not cidx.size and t == 0 else int(argmax(mind))
        picks[t] = ind
        mind[ind] = -1.0
        if t + 1 < k:
            add_center(ind)
    return picks


def _fix_near_zero(d2: np.ndarray, xx: np.ndarray, cc: float, x: np.ndarray, c: np.ndarray) -> None:
    """Recompute from differences the squared distances the expanded formula cannot resolve."""
    small = np.flatnonzero(d2 <= _NEAR_ZERO * (xx + cc))
    if small.size:
        diff = x[small].astype(np.float64) - c.astype(np.float64)
        d2[small] = np.einsum("ij,ij->i", diff, diff)


# ---------------------------------------------------------------------------- google style
def _sk_pairwise_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Euclidean distances (n, m) the way scikit-learn computes them for float32 input."""
    n = x.shape[0]
    y64 = y.astype(np.float64)
    yy = np.einsum("ij,ij->i", y64, y64)
    out = np.empty((n, y.shape[0]), dtype=np.float64)
    step = max(1, _CHUNK_BYTES // (8 * x.shape[1]))
    for i in range(0, n, step):
        x64 = x[i : i + step].astype(np.float64)
        xx = np.einsum("ij,ij->i", x64, x64)
        d = x64 @ y64.T
        d *= -2.0
        d += xx[:, None]
        d += yy[None, :]
        for j in range(y.shape[0]):
            _fix_near_zero(d[:, j], xx, yy[j], x64, y64[j])
        np.maximum(d, 0.0, out=d)
        out[i : i + step] = np.sqrt(d)
    return out


def kcenter_google_style(points: np.ndarray, k: int, centers: object = None) -> np.ndarray:
    """google/active-learning greedy K-Center: a full ``pairwise_distances`` call per pick."""
    x = np.ascontiguousarray(points)
    n = x.shape[0]
    cidx = _center_list(centers, n)
    min_distances = None
    if cidx.size:
        min_distances = _sk_pairwise_distances(x, x[cidx]).min(axis=1).reshape(-1, 1)
    taken = np.zeros(n, dtype=bool)
    taken[cidx] = True
    picks = np.empty(k, dtype=np.int64)
    for t in range(k):
        if min_distances is None:
            ind = _first_pick(x)
        else:
            md = min_distances.ravel().copy()
            md[taken] = -1.0
            ind = int(np.argmax(md))
        assert not taken[ind]
        picks[t] = ind
        taken[ind] = True
        dist = _sk_pairwise_distances(x, x[[ind]])
        min_distances = dist if min_distances is None else np.minimum(min_distances, dist)
    return picks


# ---------------------------------------------------------------------------- numpy GEMV
def kcenter_numpy_gemv(points: np.ndarray, k: int, centers: object = None) -> np.ndarray:
    """Incremental K-Center in NumPy: squared norms once, one GEMV per pick."""
    x = np.ascontiguousarray(points)
    n = x.shape[0]
    cidx = _center_list(centers, n)
    xx = np.einsum("ij,ij->i", x, x, dtype=np.float64)
    mind = np.full(n, np.inf)
    step = max(1, _CHUNK_BYTES // (8 * max(1, len(cidx))))
    for i in range(0, n, step):
        if cidx.size:
            g = x[i : i + step] @ x[cidx].T
            d = xx[i : i + step, None] - 2.0 * g + xx[cidx][None, :]
            mind[i : i + step] = d.min(axis=1)
    if cidx.size:
        _fix_near_zero_many(mind, xx, x, cidx)
    mind[cidx] = -1.0

    def add_center(ind: int) -> None:
        c = x[ind]
        d = x @ c  # the GEMV
        d2 = xx - 2.0 * d + xx[ind]
        _fix_near_zero(d2, xx, float(xx[ind]), x, c)
        np.minimum(mind, d2, out=mind)

    return _greedy_loop(x, k, cidx, mind, np.argmax, add_center)


def _fix_near_zero_many(mind: np.ndarray, xx: np.ndarray, x: np.ndarray, cidx: np.ndarray) -> None:
    small = np.flatnonzero(mind <= _NEAR_ZERO * (xx + xx[cidx].max()))
    if small.size:
        xs = x[small].astype(np.float64)
        xc = x[cidx].astype(np.float64)
        mind[small] = ((xs[:, None, :] - xc[None, :, :]) ** 2).sum(-1).min(axis=1)


# ---------------------------------------------------------------------------- plain numba
_numba_kernel = None


def _numba_update():
    global _numba_kernel
    if _numba_kernel is None:
        import numba

        @numba.njit(parallel=True, fastmath=True, cache=True)
        def update(x, c, mind):  # pragma: no cover - compiled
            for i in numba.prange(x.shape[0]):
                if mind[i] < 0.0:
                    continue
                s = 0.0
                for j in range(x.shape[1]):
                    t = x[i, j] - c[j]
                    s += t * t
                if s < mind[i]:
                    mind[i] = s

        _numba_kernel = update
    return _numba_kernel


def kcenter_numba_prange(points: np.ndarray, k: int, centers: object = None) -> np.ndarray:
    """The straightforward Numba loop: one parallel pass over all rows per new center."""
    update = _numba_update()
    x = np.ascontiguousarray(points)
    n = x.shape[0]
    cidx = _center_list(centers, n)
    mind = np.full(n, np.inf)
    for c in cidx:
        update(x, x[c].astype(np.float64), mind)
    mind[cidx] = -1.0
    return _greedy_loop(x, k, cidx, mind, np.argmax, lambda ind: update(x, x[ind].astype(np.float64), mind))


# ---------------------------------------------------------------------------- torch
def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except Exception:
        return False
    return True


def kcenter_torch_cdist(points: np.ndarray, k: int, centers: object = None) -> np.ndarray:
    """PyTorch CPU K-Center: ``torch.cdist`` of all rows to each new center."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(points))
    n = x.shape[0]
    cidx = _center_list(centers, n)
    with torch.no_grad():
        mind = torch.full((n,), float("inf"), dtype=x.dtype)
        step = max(1, _CHUNK_BYTES // (4 * max(1, len(cidx))))
        if cidx.size:
            cs = x[torch.from_numpy(cidx)]
            for i in range(0, n, step):
                mind[i : i + step] = torch.cdist(x[i : i + step], cs).min(dim=1).values
        mind[torch.from_numpy(cidx)] = -1.0

        def add_center(ind: int) -> None:
            d = torch.cdist(x, x[ind : ind + 1]).squeeze(1)
            torch.minimum(mind, d, out=mind)
            mind[ind] = -1.0

        return _greedy_loop(points, k, cidx, mind, torch.argmax, add_center)
