"""DAMI representations: each row's local linear model, computed in chunks, grouped by pattern.

Inside its linear region a ReLU MLP is exactly ``f(x) = W(x) x + b(x)``; the representation of
a row is the flattened ``W(x)`` (C*d), optionally followed by ``b(x)`` (``bias``), or only the
predicted class's row ``[W_yhat(x), b_yhat(x)]`` (``rows="predicted"``), optionally scaled to
unit norm (``normalize``).

What makes it cheap:

- rows with the same activation pattern share ``W(x)`` and ``b(x)`` (with ``rows="predicted"``
  also the same predicted class is needed), so only one row per group is computed; a point is
  computed from the row's stored pattern alone (masks from ``activation_patterns``, never a
  second forward pass), so it is a function of its group;
- ``W(x) = A(x) W_1`` with ``A(x) = W_L D_{L-1} W_{L-1} ... W_2 D_1`` (C x H_1; ``W_l =
  coefs_[l-1].T``, ``D_l`` the 0/1 pattern of hidden layer ``l``).  ``A(x)`` is built per chunk
  of rows from the output side as GEMMs: ``mask_{L-1} (m, H) @ K (H, C*H')`` with ``K[j] =
  outer(W_L[:, j], W_{L-1}[j, :])``, then per further layer an elementwise mask and one
  ``(m*C, H) @ (H, H')`` product; ``b(x)`` is the masked forward pass of the intercepts.
  Points are computed in the model's dtype (float32 for the default ``MLPClassifier``; the
  kernels are exact on float32 input);
- the W_1 Gram factor (``method="factor"``, any depth): with ``W_1 W_1^T = F F^T`` (``F`` = U S
  from the SVD of ``W_1``, H_1 x r, ``r = rank(W_1) <= min(d, H_1)``), ``||A(x) W_1 - A(y)
  W_1||_F = ||A(x) F - A(y) F||_F`` and the norms agree too, so ``A(x) F`` (C x r, followed by
  ``b(x)``) has exactly the pairwise distances of ``W(x)`` in ``C*r`` instead of ``C*d``
  dimensions.  ``"auto"`` uses it when ``r < d`` (a first hidden layer narrower than the input);
- with one hidden layer, ``W(x) = A2 diag(a(x)) A1`` (``A1 = coefs_[0].T`` (H, d), ``A2 =
  coefs_[1].T`` (C, H), ``a`` the 0/1 pattern), so the representation is ``u(x) @ B`` for a
  fixed matrix ``B`` and a vector ``u(x)`` built from ``a(x)``.  With ``B B^T = F F^T``
  (eigendecomposition, tiny negative eigenvalues clipped, rank-deficient directions dropped)
  the vectors ``u(x) @ F`` have exactly the same pairwise distances and norms as the
  representation itself, in ``rank(B) <= H (+1)`` dimensions instead of C*d (``"embedding"``,
  float64).  For ``rows="all"`` this is ``||W(x)-W(y)||_F^2 = (a-a')^T [(A2^T A2) * (A1 A1^T)]
  (a-a')``, plus ``(A2^T A2) * (b1 b1^T)`` for the bias part.

Rows are computed in consecutive batches of ``chunk_rows`` (a function of the model's shape
only): a BLAS product gives a row bits that may depend on the other rows of its batch, so
K-Center evaluates its points on one fixed grid of batches, in memory and when streaming alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["DamiRepresentation", "group_ids", "last_layer_inputs", "model_logits"]

_CHUNK_BYTES = 16 * 2**20  # intermediates of one batch of rows
METHODS = ("auto", "embedding", "factor", "direct")
ROWS = ("all", "predicted")


def group_ids(packed: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
    """int64 ids, equal exactly for equal rows of ``packed`` (and equal ``extra``).

    The grouping rule is the model's own (``region_ids_from_patterns``: ids in order of first
    appearance); ``extra`` (e.g. the predicted class) splits groups further.
    """
    from .._local_linear import region_ids_from_patterns

    packed = np.asarray(packed, dtype=np.uint8)
    if extra is not None:
        packed = np.concatenate([packed, np.asarray(extra, dtype="<i8")[:, None].view(np.uint8)], axis=1)
    return region_ids_from_patterns(packed)


def model_logits(model: Any, X: np.ndarray) -> np.ndarray:
    """(n, C >= 2) logits, what ``local_linear`` reconstructs (every supported ReLU-MLP view has ``logits``)."""
    return np.asarray(model.logits(X))


def last_layer_inputs(model: Any, X: np.ndarray, *, needs: str) -> np.ndarray:
    """float64 inputs of the model's last layer: the last hidden activations, or ``X`` itself
    for a model without hidden layers (softmax regression).  ``needs``: the strategy's name (errors)."""
    from .._model_adapter import relu_mlp_view

    model = relu_mlp_view(model, needs=needs)
    if len(model.coefs_) < 2:
        return np.asarray(X, dtype=np.float64)
    return np.asarray(model.hidden_activations(X, layer=-1), dtype=np.float64)


class DamiRepresentation:
    """The DAMI representation of the rows of ``X`` under a fitted ``model``.

    ``points(rows)`` gives the (len(rows), dim) representation of the given rows (or an exact
    embedding with the same pairwise distances, see the module docstring), float64 unless
    ``dtype`` says otherwise; ``dtype`` (attribute) is the precision it is computed in;
    ``groups(rows)`` ids that are equal for rows with equal representation.  ``alone``: every row
    computed in a batch of its own (patterns and points), so a row's point is a function of the
    row alone, whatever other rows ``X`` holds (the report's distances).  ``patterns`` (not with
    ``alone``): the rows' activation patterns when computed already (a Dask round computes them on the whole table's
    grid), else computed here.  ``method``:
    "embedding" (one hidden layer only), "factor" (the W_1 Gram factor, at least one hidden
    layer), "direct" (``W(x)`` itself) or "auto" (the one with the fewest dimensions).
    """

    def __init__(
        self,
        model: Any,
        X: np.ndarray,
        *,
        bias: bool = True,
        rows: str = "all",
        normalize: bool = False,
        method: str = "auto",
        needs: str = "dami",
        alone: bool = False,
        patterns: np.ndarray | None = None,
    ) -> None:
        from .._model_adapter import relu_mlp_view

        model = relu_mlp_view(model, needs=needs)
        if rows not in ROWS:
            raise ValueError(f"rows must be one of {ROWS}, got {rows!r}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        self.model, self.X = model, X
        self.bias, self.rows, self.normalize = bool(bias), rows, bool(normalize)
        self.n_hidden = len(model.coefs_) - 1
        self.n_classes = int(model.coefs_[-1].shape[1])
        self.n_features = int(model.coefs_[0].shape[0])
        self.alone = bool(alone)
        if self.alone:  # every row's pattern, logits and point from a batch of its own (see each_row_alone)
            from .._stable_rows import each_row_alone

            self.patterns = each_row_alone(lambda x: np.asarray(model.activation_patterns(x), dtype=np.uint8), X)
            logits = each_row_alone(lambda x: model_logits(model, x), X) if rows == "predicted" else None
        else:
            self.patterns = _activation_patterns(model, X) if patterns is None else np.asarray(patterns, dtype=np.uint8)
            logits = model_logits(model, X) if rows == "predicted" else None
        self.predicted = np.argmax(logits, axis=1).astype(np.int64) if logits is not None else None
        self._per_class = 1 if rows == "predicted" else self.n_classes
        self.direct_dim = (self.n_features + (1 if self.bias else 0)) * self._per_class
        if method == "embedding" and self.n_hidden != 1:
            raise ValueError(f"method='embedding' needs exactly one hidden layer, the model has {self.n_hidden}")
        if method == "factor" and self.n_hidden < 1:
            raise ValueError("method='factor' needs at least one hidden layer, the model has none")
        self.factor: np.ndarray | None = None
        if method in ("auto", "embedding") and self.n_hidden == 1:
            factor = _embedding_factor(model, self.bias, rows)
            if method == "embedding" or factor.shape[1] < self.direct_dim:
                self.factor = factor
        compute = np.result_type(*[np.asarray(W).dtype for W in model.coefs_])
        compute = compute if compute in (np.float32, np.float64) else np.dtype(np.float64)
        if self.factor is not None:
            self.method, self.dtype = "embedding", np.dtype(np.float64)
            self.dim = int(self.factor.shape[1])
            self.chunk_rows = 1 if self.alone else max(1, _CHUNK_BYTES // (8 * (self.factor.shape[0] + self.dim)))
            return
        self.dtype = np.dtype(compute)
        self._coefs = [np.ascontiguousarray(W, dtype=self.dtype) for W in model.coefs_]
        self._intercepts = [np.ascontiguousarray(b, dtype=self.dtype) for b in model.intercepts_]
        right = None  # (H_1, r): W_1 itself (direct) or its Gram factor
        self.method = "direct"
        if self.n_hidden >= 1:
            W1 = np.asarray(model.coefs_[0], dtype=np.float64).T  # (H_1, d)
            if method == "factor" or (method == "auto" and min(W1.shape) < self.n_features):
                right = _gram_factor(W1)
                if method == "factor" or right.shape[1] < self.n_features:
                    self.method = "factor"
                else:
                    right = None
            if right is None:
                right = W1
            self._right = np.ascontiguousarray(right, dtype=self.dtype)
        self._r = int(self._right.shape[1]) if self.n_hidden >= 1 else self.n_features
        self.dim = (self._r + (1 if self.bias else 0)) * self._per_class
        widths = [int(W.shape[1]) for W in model.coefs_[:-1]]
        if self.n_hidden >= 2:  # first step as one GEMM: K[j] = outer(W_L[:, j], W_{L-1}[j, :])
            self._K = _outer_step(self._coefs[-1], self._coefs[-2].T)
        elif self.n_hidden == 1:
            self._K = _outer_step(self._coefs[-1], self._right)
        inner = max([self._per_class * w for w in widths] + [self.dim, 1])
        per_row = self.dtype.itemsize * (sum(widths) + 2 * inner + self.dim) + sum(widths)
        self.chunk_rows = 1 if self.alone else max(1, _CHUNK_BYTES // per_row)

    def of_rows(self, X: np.ndarray, patterns: np.ndarray) -> DamiRepresentation:
        """The same representation (model, factor, dtype, batches) of other rows ``X`` with their
        activation patterns (a Dask worker's batch of group representatives); ``rows="all"`` only."""
        if self.predicted is not None:
            raise ValueError("of_rows needs rows='all' (a predicted class is not passed)")
        import copy

        other = copy.copy(self)
        other.X, other.patterns = X, np.asarray(patterns, dtype=np.uint8)
        return other

    def groups(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Group ids of ``rows`` (default: all): same activation pattern (and predicted class)."""
        sel = slice(None) if rows is None else rows
        extra = None if self.predicted is None else self.predicted[sel]
        return group_ids(self.patterns[sel], extra)

    def points(self, rows: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
        """(len(rows), dim) points of ``rows`` (positions into ``X``) in ``dtype`` (default float64).

        Rows are computed in consecutive batches of ``chunk_rows`` from the start of ``rows``,
        each with single-threaded BLAS (so its bits do not depend on the thread count); the
        batches run on the kernels' thread count (``kernels.set_num_threads``), each thread
        reusing one set of buffers.
        """
        from threadpoolctl import threadpool_limits

        rows = np.asarray(rows, dtype=np.int64)
        dtype = np.dtype(dtype)
        out = np.empty((rows.size, self.dim), dtype=dtype)
        starts = list(range(0, rows.size, self.chunk_rows))
        workers = 1 if self.alone else min(len(starts), _threads())  # rows alone: tiny batches, no GIL ping-pong

        def run(mine: list[int]) -> None:
            work: dict[str, np.ndarray] = {}
            for start in mine:
                chunk = rows[start : start + self.chunk_rows]
                m = chunk.size
                target = out[start : start + m] if dtype == self.dtype else _buffer(work, "target", (m, self.dim), self.dtype)
                if self.factor is not None:
                    self._embedded(chunk, target)
                else:
                    self._chain(chunk, target, work)
                if self.normalize:
                    norms = np.sqrt(np.einsum("ij,ij->i", target, target))
                    np.divide(target, norms[:, None], out=target, where=norms[:, None] > 0)
                if dtype != self.dtype:
                    out[start : start + m] = target

        with threadpool_limits(limits=1, user_api="blas"):
            if workers > 1:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(workers) as pool:
                    list(pool.map(run, [starts[i::workers] for i in range(workers)]))
            else:
                run(starts)
        return out

    def _masks(self, rows: np.ndarray, work: dict[str, np.ndarray]) -> list[np.ndarray]:
        """0/1 masks (len(rows), H_l) of every hidden layer, in the compute dtype, from the stored patterns."""
        widths = [int(W.shape[1]) for W in self.model.coefs_[:-1]]
        bits = np.unpackbits(self.patterns[rows], axis=1, count=sum(widths))
        masks, at = [], 0
        for layer, w in enumerate(widths):
            mask = _buffer(work, f"mask{layer}", (rows.size, w), self.dtype)
            np.copyto(mask, bits[:, at : at + w])
            masks.append(mask)
            at += w
        return masks

    def _chain(self, rows: np.ndarray, out: np.ndarray, work: dict[str, np.ndarray]) -> None:
        """``[A(x) @ right (flattened), b(x)]`` of ``rows`` into ``out`` (m, dim), compute dtype."""
        m, C, L = rows.size, self._per_class, self.n_hidden + 1
        coefs, r, dt = self._coefs, self._r, self.dtype
        masks = self._masks(rows, work)
        cls = self.predicted[rows] if self.rows == "predicted" else None
        wpart = out if not self.bias else _buffer(work, "wpart", (m, C * r), dt)
        if self.n_hidden == 0:
            W = coefs[0].T  # (C_all, d): one global linear map
            wpart[...] = W[cls] if cls is not None else W.reshape(1, -1)
        elif cls is not None:  # one class per row: vectors, (m, H) @ (H, H') products
            P = _buffer(work, "P", (m, masks[-1].shape[1]), dt)
            np.take(coefs[-1].T, cls, axis=0, out=P)
            P *= masks[-1]
            for layer in range(L - 1, 1, -1):  # W_layer = coefs[layer - 1].T, then the mask of layer - 1
                P = np.matmul(P, coefs[layer - 1].T, out=_buffer(work, f"P{layer}", (m, coefs[layer - 1].shape[0]), dt))
                P *= masks[layer - 2]
            np.matmul(P, self._right, out=wpart)
        elif self.n_hidden == 1:
            np.matmul(masks[0], self._K, out=wpart)
        else:
            R = np.matmul(masks[-1], self._K, out=_buffer(work, "R", (m, self._K.shape[1]), dt))  # (m, C * H_{L-2})
            for layer in range(L - 2, 1, -1):  # mask of hidden layer `layer`, then W_layer
                R.reshape(m, C, -1).__imul__(masks[layer - 1][:, None, :])
                nxt = _buffer(work, f"R{layer}", (m * C, coefs[layer - 1].shape[0]), dt)
                R = np.matmul(R.reshape(m * C, -1), coefs[layer - 1].T, out=nxt)
            R.reshape(m, C, -1).__imul__(masks[0][:, None, :])
            np.matmul(R.reshape(m * C, -1), self._right, out=wpart.reshape(m * C, r))
        if self.bias:
            out[:, : C * r] = wpart
            out[:, C * r :] = self._bias(masks, cls, m, work)

    def _bias(self, masks: list[np.ndarray], cls: np.ndarray | None, m: int, work: dict[str, np.ndarray]) -> np.ndarray:
        """``b(x)``: the forward pass of the intercepts through the rows' masks ((m, C) or (m, 1))."""
        coefs, intercepts, dt = self._coefs, self._intercepts, self.dtype
        if self.n_hidden == 0:
            b = np.broadcast_to(intercepts[0], (m, intercepts[0].size))
        else:
            beta = np.multiply(intercepts[0], masks[0], out=_buffer(work, "beta0", masks[0].shape, dt))
            for layer in range(1, self.n_hidden):
                beta = np.matmul(beta, coefs[layer], out=_buffer(work, f"beta{layer}", masks[layer].shape, dt))
                beta += intercepts[layer]
                beta *= masks[layer]
            b = np.matmul(beta, coefs[-1], out=_buffer(work, "b", (m, coefs[-1].shape[1]), dt))
            b += intercepts[-1]
        return b[np.arange(m), cls][:, None] if cls is not None else b

    def _embedded(self, rows: np.ndarray, out: np.ndarray) -> None:
        """``u(x) @ F`` for ``rows`` into ``out``, through one (chunk, H [+1]) buffer."""
        H = int(self.model.coefs_[0].shape[1])
        width = self.factor.shape[0]
        m = rows.size
        buf = np.empty((m, width))
        A2T = np.asarray(self.model.coefs_[1], dtype=np.float64).T if self.rows == "predicted" else None
        b2 = np.asarray(self.model.intercepts_[1], dtype=np.float64)
        buf[:, :H] = np.unpackbits(self.patterns[rows], axis=1, count=H)
        if A2T is not None:
            cls = self.predicted[rows]
            buf[:, :H] *= A2T[cls]
            if self.bias:
                buf[:, H] = b2[cls]
        elif self.bias:
            buf[:, H] = 1.0
        np.matmul(buf, self.factor, out=out)


_PATTERN_ROWS = 1 << 15


def _activation_patterns(model: Any, X: np.ndarray) -> np.ndarray:
    """``model.activation_patterns(X)``, evaluated on fixed blocks of rows in parallel (single-threaded
    BLAS per block, like ``points``)."""
    n = int(np.shape(X)[0])
    workers = min(-(-n // _PATTERN_ROWS), _threads())
    if workers <= 1:
        return np.asarray(model.activation_patterns(X), dtype=np.uint8)
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    starts = list(range(0, n, _PATTERN_ROWS))
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        blocks = list(pool.map(lambda lo: model.activation_patterns(X[lo : lo + _PATTERN_ROWS]), starts))
    return np.concatenate([np.asarray(b, dtype=np.uint8) for b in blocks])


def _buffer(work: dict[str, np.ndarray], name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A reusable C-contiguous buffer of ``shape`` from ``work`` (grown when too small)."""
    size = int(np.prod(shape))
    buf = work.get(name)
    if buf is None or buf.size < size or buf.dtype != dtype:
        buf = work[name] = np.empty(size, dtype=dtype)
    return buf[:size].reshape(shape)


def _threads() -> int:
    """Threads for batches of rows: the kernels' setting (all cores unless set lower)."""
    import dami_np.kernels as kernels

    return max(1, int(kernels.get_num_threads()))


def _outer_step(out_w: np.ndarray, right: np.ndarray) -> np.ndarray:
    """K (H, C * r) with ``K[j] = outer(W_L[:, j], right[j, :])``; ``out_w`` = ``coefs_[-1]`` (H, C)."""
    K = out_w[:, :, None] * right[:, None, :]
    return np.ascontiguousarray(K.reshape(out_w.shape[0], -1))


def _one_blas_thread() -> Any:
    """Single-threaded BLAS/LAPACK for a small factorization: its result then does not depend on the
    BLAS thread count (threaded LAPACK rounds differently), and it does not wait on busy cores."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _gram_factor(W1: np.ndarray) -> np.ndarray:
    """``F`` (H_1, r) with ``F F^T = W_1 W_1^T``: ``U S`` of the SVD of ``W_1`` (float64), directions
    with singular values below rounding level dropped (``r = rank(W_1) <= min(H_1, d)``)."""
    with _one_blas_thread():  # the same bits on every machine and thread count (and fast on a busy one)
        U, s, _ = np.linalg.svd(W1, full_matrices=False)
    tol = (float(s[0]) if s.size else 0.0) * max(W1.shape) * np.finfo(np.float64).eps
    keep = s > tol
    if not keep.any():
        return np.zeros((W1.shape[0], 1))
    return U[:, keep] * s[keep]


def _embedding_factor(model: Any, bias: bool, rows: str) -> np.ndarray:
    """``F`` with ``F F^T = B B^T`` where the representation is ``u(x) @ B`` (one hidden layer).

    rows="all":       u = [a, 1 if bias],        B = [[A2[c,j] A1[j,:] for c] (+ A2[:,j] b1[j])] (+ [0, b2])
    rows="predicted": u = [A2[yhat] * a, b2[yhat] if bias],  B = [[A1, b1], [0, 1]] (or A1)
    """
    A1 = np.asarray(model.coefs_[0], dtype=np.float64).T  # (H, d)
    A2 = np.asarray(model.coefs_[1], dtype=np.float64).T  # (C, H)
    b1 = np.asarray(model.intercepts_[0], dtype=np.float64)
    b2 = np.asarray(model.intercepts_[1], dtype=np.float64)
    if rows == "all":
        inner = A1 @ A1.T + (np.outer(b1, b1) if bias else 0.0)
        gram = (A2.T @ A2) * inner
        if bias:  # constant coordinate u_H = 1 carries b2, so norms (not only distances) are exact
            cross = (A2.T @ b2) * b1  # B_a B_1^T: sum_c A2[c,j] b1[j] b2[c]
            gram = np.block([[gram, cross[:, None]], [cross[None, :], np.array([[b2 @ b2]])]])
    else:
        B = A1 if not bias else np.block([[A1, b1[:, None]], [np.zeros((1, A1.shape[1])), np.ones((1, 1))]])
        gram = B @ B.T
    return _psd_factor(gram)


def _psd_factor(gram: np.ndarray) -> np.ndarray:
    """``F`` (m, r) with ``F F^T = gram`` for a PSD ``gram``; directions below rounding level dropped."""
    gram = (gram + gram.T) / 2
    with _one_blas_thread():  # as in _gram_factor
        values, vectors = np.linalg.eigh(gram)
    top = max(float(values[-1]), 0.0)
    tol = top * gram.shape[0] * np.finfo(np.float64).eps
    keep = values > tol
    if not keep.any():
        return np.zeros((gram.shape[0], 1))
    return vectors[:, keep] * np.sqrt(values[keep])
