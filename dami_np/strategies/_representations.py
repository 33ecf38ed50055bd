"""DAMI representations: each row's local linear model, computed in chunks, grouped by pattern.

Inside its linear region a ReLU MLP is exactly ``f(x) = W(x) x + b(x)``; the representation of
a row is the flattened ``W(x)`` (C*d), optionally followed by ``b(x)`` (``bias``), or only the
predicted class's row ``[W_yhat(x), b_yhat(x)]`` (``rows="predicted"``), optionally scaled to
unit norm (``normalize``).

Two facts make it cheap:

- rows with the same activation pattern share ``W(x)`` and ``b(x)`` (with ``rows="predicted"``
  also the same predicted class is needed), so only one row per group is computed;
- with one hidden layer, ``W(x) = A2 diag(a(x)) A1`` (``A1 = coefs_[0].T`` (H, d),
  ``A2 = coefs_[1].T`` (C, H), ``a`` the 0/1 pattern), so the representation is ``u(x) @ B``
  for a fixed matrix ``B`` and a vector ``u(x)`` built from ``a(x)``.  With ``B B^T = F F^T``
  (eigendecomposition, tiny negative eigenvalues clipped, rank-deficient directions dropped)
  the vectors ``u(x) @ F`` have exactly the same pairwise distances and norms as the
  representation itself, in ``rank(B) <= H (+1)`` dimensions instead of C*d.  For
  ``rows="all"`` this is ``||W(x)-W(y)||_F^2 = (a-a')^T [(A2^T A2) * (A1 A1^T)] (a-a')``, plus
  ``(A2^T A2) * (b1 b1^T)`` for the bias part.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["DamiRepresentation", "group_ids", "last_layer_inputs"]

_CHUNK_BYTES = 64 * 2**20
METHODS = ("auto", "embedding", "direct")
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
    """(n, C >= 2) logits, what ``local_linear`` reconstructs (``logits`` where the model has it)."""
    logits = getattr(model, "logits", None)
    if logits is not None:
        return np.asarray(logits(X))
    scores = np.asarray(model.decision_function(X))
    return np.column_stack([np.zeros_like(scores), scores]) if scores.ndim == 1 else scores


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

    ``points(rows)`` gives the (len(rows), dim) float64 representation of the given rows (or
    its exact embedding, see the module docstring); ``groups(rows)`` ids that are equal for
    rows with equal representation.  ``method``: "embedding" (one hidden layer only), "direct"
    (``model.local_linear``) or "auto" (the embedding when it has fewer dimensions).
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
        self.patterns = model.activation_patterns(X)
        self.predicted = (
            np.argmax(model_logits(model, X), axis=1).astype(np.int64) if rows == "predicted" else None
        )
        per_class = self.n_features + (1 if self.bias else 0)
        self.direct_dim = per_class * (self.n_classes if rows == "all" else 1)
        self.factor: np.ndarray | None = None
        if method != "direct" and self.n_hidden == 1:
            factor = _embedding_factor(model, self.bias, rows)
            if method == "embedding" or factor.shape[1] < self.direct_dim:
                self.factor = factor
        elif method == "embedding":
            raise ValueError(f"method='embedding' needs exactly one hidden layer, the model has {self.n_hidden}")
        self.method = "embedding" if self.factor is not None else "direct"
        self.dim = int(self.factor.shape[1]) if self.factor is not None else self.direct_dim

    def groups(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Group ids of ``rows`` (default: all): same activation pattern (and predicted class)."""
        sel = slice(None) if rows is None else rows
        extra = None if self.predicted is None else self.predicted[sel]
        return group_ids(self.patterns[sel], extra)

    def points(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), dim) float64 points of ``rows`` (positions into ``X``), chunk by chunk."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((rows.size, self.dim), dtype=np.float64)
        if self.factor is not None:
            self._embedded(rows, out)
        else:
            step = max(1, _CHUNK_BYTES // (8 * max(self.direct_dim, self.n_classes * self.n_features, 1)))
            for start in range(0, rows.size, step):
                out[start : start + step] = self._direct(rows[start : start + step])
        if self.normalize:
            norms = np.sqrt(np.einsum("ij,ij->i", out, out))
            np.divide(out, norms[:, None], out=out, where=norms[:, None] > 0)
        return out

    def points_stable(self, rows: np.ndarray) -> np.ndarray:
        """``points(rows)``, each row computed inside its aligned block of ``X`` (see ``_stable_rows``):
        a row's point does not depend on which other rows are asked for."""
        from .._stable_rows import stable_rows

        return stable_rows(
            lambda start, stop: self.points(np.arange(start, stop, dtype=np.int64)), self.X.shape[0], rows
        )

    def _embedded(self, rows: np.ndarray, out: np.ndarray) -> None:
        """``u(x) @ F`` for ``rows`` into ``out``, through one reused (chunk, H [+1]) buffer."""
        H = int(self.model.coefs_[0].shape[1])
        width = self.factor.shape[0]
        step = max(1, _CHUNK_BYTES // (8 * width))
        u = np.empty((min(step, rows.size), width))
        A2T = np.asarray(self.model.coefs_[1], dtype=np.float64).T if self.rows == "predicted" else None
        b2 = np.asarray(self.model.intercepts_[1], dtype=np.float64)
        for start in range(0, rows.size, step):
            chunk = rows[start : start + step]
            m = chunk.size
            buf = u[:m]
            buf[:, :H] = np.unpackbits(self.patterns[chunk], axis=1, count=H)
            if A2T is not None:
                cls = self.predicted[chunk]
                buf[:, :H] *= A2T[cls]
                if self.bias:
                    buf[:, H] = b2[cls]
            elif self.bias:
                buf[:, H] = 1.0
            np.matmul(buf, self.factor, out=out[start : start + m])

    def _direct(self, rows: np.ndarray) -> np.ndarray:
        W, b = self.model.local_linear(self.X[rows])
        m = rows.size
        if self.rows == "predicted":
            cls = self.predicted[rows]
            W, b = W[np.arange(m), cls][:, None, :], b[np.arange(m), cls][:, None]
        parts = [W.reshape(m, -1)] + ([b] if self.bias else [])
        return np.concatenate(parts, axis=1).astype(np.float64, copy=False)


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
    values, vectors = np.linalg.eigh(gram)
    top = max(float(values[-1]), 0.0)
    tol = top * gram.shape[0] * np.finfo(np.float64).eps
    keep = values > tol
    if not keep.any():
        return np.zeros((gram.shape[0], 1))
    return vectors[:, keep] * np.sqrt(values[keep])
