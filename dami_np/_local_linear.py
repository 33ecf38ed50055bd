"""Exact local linear maps of a ReLU MLP (the DAMI representation) and its linear regions.

Inside the linear region holding ``x`` the logits are ``f(x) = W(x) x + b(x)`` with
``W(x) = W_L D_{L-1}(x) W_{L-1} ... D_1(x) W_1`` (``W_l = coefs[l-1].T``,
``D_l`` the 0/1 ReLU pattern of hidden layer ``l``).  Everything here works in
row chunks so memory stays bounded by a budget, never by ``n``.

The product is evaluated from the output side (``C`` is small).  Its first step
``W_L D_{L-1} W_{L-1}`` is one GEMM: ``mask_{L-1} (m, h) @ K (h, C*h')`` with
``K[j] = outer(W_L[:, j], W_{L-1}[j, :])``; each further layer is an in-place
mask multiply and a ``(m*C, h) @ (h, h')`` GEMM.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = ["DEFAULT_BUDGET_BYTES", "chunk_rows", "activation_block_rows", "by_row_blocks", "one_blas_thread", "hidden_chunks", "local_linear", "activation_patterns",
           "region_ids_from_patterns"]

DEFAULT_BUDGET_BYTES = 64 * 2**20  # intermediates per chunk


def chunk_rows(bytes_per_row: int, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> int:
    """Rows per chunk so that ``rows * bytes_per_row`` stays within ``budget_bytes`` (at least 1)."""
    return max(1, int(budget_bytes // max(1, bytes_per_row)))


_CONTROLLER: Any = None


def one_blas_thread() -> Any:
    """A context with BLAS on one thread.  OpenBLAS rounds a product differently with more threads on
    some CPUs (seen on AMD EPYC: margins and activations changed in their last bits), so every product
    whose bits reach a pick or a report runs single-threaded: the same bits on every thread count,
    and on a Dask worker (one thread) as on the driver."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


_IN_BLOCKS = threading.local()  # .active: this thread runs inside by_row_blocks (BLAS already on one thread)


def by_row_blocks(compute: Callable[[np.ndarray], np.ndarray], X: np.ndarray, rows: int,
                  out: np.ndarray | None = None) -> np.ndarray:
    """``compute`` on consecutive blocks of ``rows`` rows of ``X`` (the grid starts at row 0), stacked.

    Each block's BLAS runs on one thread (``one_blas_thread``) and the blocks are spread over the
    cores, so a row's result depends on the block grid only, never on the thread count.  With
    ``out`` (one row per row of ``X``) each block's result is stored there (cast to ``out``'s dtype)
    and ``out`` is returned: no stacked copy.
    """
    n = X.shape[0]
    rows = max(1, int(rows))
    starts = range(0, n, rows)

    def block(a: int) -> np.ndarray | None:
        part = _inside_blocks(compute, X[a : a + rows])
        if out is None:
            return part
        out[a : a + rows] = part
        return None

    nested = getattr(_IN_BLOCKS, "active", False)  # a block of an outer call: its limit holds (and is not
    with contextlib.nullcontext() if nested else one_blas_thread():  # set again from each worker thread)
        if n <= rows:
            whole = _inside_blocks(compute, X)
            if out is None:
                return whole
            out[...] = whole
            return out
        workers = min(len(starts), len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
        parts = None
        if workers > 1:
            try:
                with ThreadPoolExecutor(workers) as pool:
                    parts = list(pool.map(block, starts))
            except RuntimeError as error:  # no thread to be had (e.g. under ulimit -v): the same blocks in turn
                if "can't start new thread" not in str(error):
                    raise
        if parts is None:
            parts = [block(a) for a in starts]
    return out if out is not None else np.concatenate(parts, axis=0)


def _inside_blocks(compute: Callable[[np.ndarray], np.ndarray], X: np.ndarray) -> np.ndarray:
    """``compute(X)`` marked as running inside ``by_row_blocks`` on this thread."""
    outer = getattr(_IN_BLOCKS, "active", False)
    _IN_BLOCKS.active = True
    try:
        return compute(X)
    finally:
        _IN_BLOCKS.active = outer


def hidden_chunks(
    X: np.ndarray, coefs: list[np.ndarray], intercepts: list[np.ndarray], rows: int
) -> Iterator[tuple[int, int, list[np.ndarray]]]:
    """Yield ``(start, stop, pre)`` per chunk, ``pre[l]`` = pre-activations of hidden layer ``l``."""
    n = X.shape[0]
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        A = X[start:stop]
        pre = []
        for W, b in zip(coefs[:-1], intercepts[:-1]):
            Z = A @ W
            Z += b
            pre.append(Z)
            A = np.maximum(Z, 0)
        yield start, stop, pre


def _first_step_matrix(coefs: list[np.ndarray]) -> np.ndarray:
    """K (h_{L-1}, C * h_{L-2}) with K[j] = outer(W_L[:, j], W_{L-1}[j, :])."""
    out_w = coefs[-1]  # (h_{L-1}, C) == W_L.T
    prev_w = coefs[-2]  # (h_{L-2}, h_{L-1}) == W_{L-1}.T
    K = out_w[:, :, None] * prev_w.T[:, None, :]
    return K.reshape(out_w.shape[0], -1)


def local_linear(
    X: np.ndarray,
    coefs: list[np.ndarray],
    intercepts: list[np.ndarray],
    *,
    chunk_size: int | None = None,
    budget_bytes: int = DEFAULT_BUDGET_BYTES,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(W, b)``, ``W`` (n, C, d) and ``b`` (n, C), in ``X``'s dtype, with ``W[i] @ X[i] + b[i] == f(X[i])``.

    ``b`` is a masked forward pass of the intercepts alone (not ``f(x) - W x``).
    If the first-step matrix ``K`` would exceed ``budget_bytes`` the first step
    falls back to a broadcast mask multiply.
    """
    n, d = X.shape
    dtype = X.dtype
    n_classes = coefs[-1].shape[1]
    W_out = np.empty((n, n_classes, d), dtype=dtype)
    b_out = np.empty((n, n_classes), dtype=dtype)
    if len(coefs) == 1:  # no hidden layer: a single global linear map
        W_out[...] = coefs[0].T
        b_out[...] = intercepts[0]
        return W_out, b_out

    widths = [W.shape[1] for W in coefs[:-1]]
    itemsize = dtype.itemsize
    K = None
    k_bytes = coefs[-1].shape[0] * n_classes * coefs[-2].shape[0] * itemsize
    if k_bytes <= budget_bytes:
        K = _first_step_matrix(coefs)
    # per row: hidden pre-activations + masks + masked forward of biases + the product intermediates
    inner = widths[:-1] or [0]
    bytes_per_row = itemsize * (3 * sum(widths) + n_classes * (max(inner) + (0 if K is not None else widths[-1])))
    rows = chunk_size if chunk_size is not None else chunk_rows(bytes_per_row, budget_bytes)

    for start, stop, pre in hidden_chunks(X, coefs, intercepts, rows):
        m = stop - start
        masks = [(Z > 0).astype(dtype) for Z in pre]
        out = W_out[start:stop].reshape(m * n_classes, d)  # view: the last GEMM writes straight into W_out
        last = len(coefs) == 2
        if K is not None:
            R = np.matmul(masks[-1], K, out=out.reshape(m, n_classes * d) if last else None)
        else:
            G = coefs[-1].T[None, :, :] * masks[-1][:, None, :]  # (m, C, h_{L-1})
            R = np.matmul(G.reshape(m * n_classes, -1), coefs[-2].T, out=out if last else None)
        for layer in range(len(coefs) - 2, 0, -1):  # apply D of hidden layer `layer - 1`, then W = coefs[layer - 1].T
            R = R.reshape(m, n_classes, -1)
            R *= masks[layer - 1][:, None, :]
            R = np.matmul(R.reshape(m * n_classes, -1), coefs[layer - 1].T, out=out if layer == 1 else None)
        # b(x): forward of the intercepts through the same masks
        beta = intercepts[0] * masks[0]
        for layer in range(1, len(coefs) - 1):
            beta = beta @ coefs[layer]
            beta += intercepts[layer]
            beta *= masks[layer]
        b_chunk = beta @ coefs[-1]
        b_chunk += intercepts[-1]
        b_out[start:stop] = b_chunk
    return W_out, b_out


def activation_patterns(
    X: np.ndarray,
    coefs: list[np.ndarray],
    intercepts: list[np.ndarray],
    *,
    budget_bytes: int = DEFAULT_BUDGET_BYTES,
) -> np.ndarray:
    """``np.packbits`` (row-wise) of the concatenated on/off patterns (pre-activation > 0) of all hidden layers."""
    n = X.shape[0]
    widths = [W.shape[1] for W in coefs[:-1]]
    total = sum(widths)
    out = np.zeros((n, (total + 7) // 8), dtype=np.uint8)
    if total == 0:
        return out
    rows = pattern_block_rows(coefs, X.dtype.itemsize, budget_bytes)
    for start, stop, pre in hidden_chunks(X, coefs, intercepts, rows):
        bits = np.concatenate([Z > 0 for Z in pre], axis=1)
        out[start:stop] = np.packbits(bits, axis=1)
    return out


def region_ids_from_patterns(packed: np.ndarray) -> np.ndarray:
    """int64 ids, equal for equal rows of ``packed``, numbered 0, 1, ... in order of first appearance."""
    n, width = packed.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if width == 0:
        return np.zeros(n, dtype=np.int64)
    keys = np.ascontiguousarray(packed).view(np.dtype((np.void, width))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    rank = np.empty(first.shape[0], dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.shape[0], dtype=np.int64)
    return rank[inverse.ravel()]


def hidden_activations(X: np.ndarray, coefs: list[np.ndarray], intercepts: list[np.ndarray], layer: int = -1) -> np.ndarray:
    """Post-ReLU activations (n, h) of hidden layer ``layer`` (default: the last one), for any ReLU MLP
    in scikit-learn's layout (``coefs[i]`` is (in, out))."""
    import numbers

    n_hidden = len(coefs) - 1
    if not isinstance(layer, numbers.Integral) or isinstance(layer, bool) or not -n_hidden <= layer < n_hidden:
        raise ValueError(f"layer must be an int in [{-n_hidden}, {n_hidden}) for {n_hidden} hidden layers, got {layer!r}")
    layer = int(layer) % n_hidden

    def block(A: np.ndarray) -> np.ndarray:
        for W, b in zip(coefs[: layer + 1], intercepts[: layer + 1]):
            A = A @ W
            A += b
            np.maximum(A, 0, out=A)
        return A

    return by_row_blocks(block, X, activation_block_rows(coefs, layer, np.dtype(X.dtype).itemsize))


def pattern_block_rows(coefs: list[np.ndarray], itemsize: int, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> int:
    """Rows per block of ``activation_patterns`` (a Dask round computes its patterns on this grid too)."""
    total = sum(int(W.shape[1]) for W in coefs[:-1])
    return chunk_rows(int(itemsize) * 3 * total + total, budget_bytes)


def activation_block_rows(coefs: list[np.ndarray], layer: int, itemsize: int) -> int:
    """Rows per block of ``hidden_activations``: a Dask round computes its blocks on this grid too,
    because BLAS gives a row other bits in a product of another height."""
    widest = max(int(W.shape[1]) for W in coefs[: int(layer) % (len(coefs) - 1) + 1])
    return chunk_rows(2 * widest * int(itemsize))
