"""Naive reference for the kernel tests (imported by the other test_kernels_* files).

``ref_sq_dists`` spells out the documented distance formula of ``dami_np.kernels``
(float64 differences, squares summed in 32 lanes ``j % 32`` in increasing ``j``, lanes
summed in order) with plain loops, independently of the library's code.
``ref_kcenter`` is the textbook greedy K-Center: at every step it recomputes every row's
distance to every center and takes the first row with the largest one.

Also here, for every kernel test file: ``JIT`` (False under ``NUMBA_DISABLE_JIT=1`` or
without Numba), ``needs_jit`` (skips inputs too large for kernel bodies run as Python) and
the autouse-when-imported fixture ``kernel_paths`` that sends even small inputs through the
Numba kernels (by default small problems take the NumPy passes, see ``use_kernels``).
"""

from __future__ import annotations

import numpy as np
import pytest

from dami_np.kernels import _numba_policy as P

LANES = 32
JIT = P.JIT_ENABLED
needs_jit = pytest.mark.skipif(not JIT, reason="large input: too slow with NUMBA_DISABLE_JIT=1 (covered with the JIT)")


class _Engine:
    """Context: route ``method="auto"`` to one engine (``"cells"``, ``"screened"``) or leave it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._saved = None

    def __enter__(self) -> "_Engine":
        from dami_np.kernels import _kcenter

        self._saved = _kcenter._CELLS_MAX_DIM
        if self.name != "default":
            _kcenter._CELLS_MAX_DIM = 32 if self.name == "cells" else -1
        return self

    def __exit__(self, *exc: object) -> None:
        from dami_np.kernels import _kcenter

        _kcenter._CELLS_MAX_DIM = self._saved

    def __repr__(self) -> str:
        return f"engine={self.name}"


def engine(name: str) -> _Engine:
    """Context sending ``method="auto"`` through ``"cells"`` or ``"screened"``."""
    return _Engine(name)


def engines(dim: int) -> list:
    """(method, engine context) pairs that must all give the reference picks for ``dim`` columns:
    ``numpy``, and ``auto`` through the screened active set and (``dim <= 32``) the k-d tree cells."""
    out = [("numpy", _Engine("default")), ("auto", _Engine("screened"))]
    if dim <= 32:
        out.append(("auto", _Engine("cells")))
    return out


@pytest.fixture(autouse=True)
def kernel_paths(monkeypatch):
    """Every call of the importing test module runs the kernels, however small the input."""
    monkeypatch.setattr(P, "SMALL_WORK", 0)


def ref_sq_dists(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Squared distance of every row of ``x`` to vector ``c``, in the documented order."""
    x = np.asarray(x, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    n, d = x.shape
    lanes = np.zeros((n, LANES))
    for j in range(d):
        t = x[:, j] - c[j]
        lanes[:, j % LANES] += t * t
    s = np.zeros(n)
    for lane in range(LANES):
        s += lanes[:, lane]
    return s


def ref_pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) matrix of :func:`ref_sq_dists`, looping over columns and lanes."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n, d = a.shape
    s = np.zeros((n, b.shape[0]))
    step = max(1, (1 << 24) // max(1, b.shape[0] * LANES))  # rows per block: bounded memory
    for i in range(0, n, step):
        lanes = np.zeros((min(step, n - i), b.shape[0], LANES))
        for j in range(d):
            t = a[i : i + step, None, j] - b[None, :, j]
            lanes[:, :, j % LANES] += t * t
        for lane in range(LANES):
            s[i : i + step] += lanes[:, :, lane]
    return s


def ref_kcenter(points: np.ndarray, k: int, centers=None) -> tuple[np.ndarray, np.ndarray]:
    """Textbook greedy K-Center (first pick without centers: farthest from the column mean)."""
    x = np.ascontiguousarray(points, dtype=np.float64)
    n = x.shape[0]
    is_center = np.zeros(n, dtype=bool)
    if centers is not None and np.asarray(centers).size:
        c = np.asarray(centers)
        is_center[c if c.dtype == bool else c.astype(np.int64)] = True
    picks: list[int] = []
    radii: list[float] = []
    if k and not is_center.any():
        d = ref_sq_dists(x, x.mean(axis=0))
        r = int(np.flatnonzero(d == d.max())[0])
        picks.append(r)
        radii.append(float(np.sqrt(d[r])))
        is_center[r] = True
    dist = ref_pairwise(x, x)  # every row-to-row distance, by the documented formula
    while len(picks) < k:
        # recompute every row's distance to its nearest center, at every step
        md = dist[:, np.flatnonzero(is_center)].min(axis=1)
        md[is_center] = -1.0
        best = float(md.max())
        arg = int(np.flatnonzero(md == best)[0])  # first of the largest: lowest row on ties
        picks.append(arg)
        radii.append(float(np.sqrt(best)))
        is_center[arg] = True
    return np.array(picks, dtype=np.int64), np.array(radii, dtype=np.float64)


def test_reference_distance_matches_plain_numpy_on_integers():
    rng = np.random.default_rng(0)
    x = rng.integers(-5, 6, size=(20, 70)).astype(np.float64)
    c = rng.integers(-5, 6, size=70).astype(np.float64)
    np.testing.assert_array_equal(ref_sq_dists(x, c), ((x - c) ** 2).sum(axis=1))


def test_reference_kcenter_on_a_line():
    pts = np.array([[0.0], [1.0], [10.0], [4.0], [6.0]])
    picks, radii = ref_kcenter(pts, 3, [0])
    np.testing.assert_array_equal(picks, [2, 3, 4])  # 10, then rows 3 and 4 tie at 4 -> lower row 3
    np.testing.assert_allclose(radii, [10.0, 4.0, 2.0])
