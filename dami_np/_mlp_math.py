"""Numerics of the ReLU MLP: parameter layout, init, forward/backward and Adam.

Parameters live in one flat buffer; ``coefs``/``intercepts`` are views into it
(all coefficient matrices first, then all intercepts).  That makes the L2 term,
the Adam update and "snapshot the best weights" a handful of vectorised ops on
one array instead of a Python loop over layers.

Objective of one mini-batch of ``m`` rows (scikit-learn's convention)::

    loss = mean_i CE(softmax(f(x_i)), y_i) + alpha / (2 m) * sum_l ||coefs[l]||^2

Intercepts are not penalised.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ParamLayout", "Workspace", "Adam", "glorot_init", "forward_logits", "softmax_inplace", "row_max"]


class ParamLayout:
    """Shapes and offsets of every parameter inside the flat buffer."""

    def __init__(self, layer_sizes: list[int]) -> None:
        self.layer_sizes = list(layer_sizes)
        pairs = list(zip(self.layer_sizes[:-1], self.layer_sizes[1:]))
        self.coef_shapes = pairs
        self.n_coef = sum(a * b for a, b in pairs)
        self.size = self.n_coef + sum(b for _, b in pairs)

    def views(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Return (coefs, intercepts) as views into ``flat``."""
        coefs, intercepts = [], []
        off = 0
        for a, b in self.coef_shapes:
            coefs.append(flat[off : off + a * b].reshape(a, b))
            off += a * b
        for _, b in self.coef_shapes:
            intercepts.append(flat[off : off + b])
            off += b
        return coefs, intercepts

    def pack(self, coefs: list[np.ndarray], intercepts: list[np.ndarray], dtype: np.dtype) -> np.ndarray:
        """Copy per-layer arrays into a new flat buffer."""
        flat = np.empty(self.size, dtype=dtype)
        c, b = self.views(flat)
        for dst, src in zip(c + b, list(coefs) + list(intercepts)):
            dst[...] = src
        return flat


def glorot_init(layout: ParamLayout, rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
    """Glorot-uniform init of weights *and* intercepts, bound sqrt(6 / (fan_in + fan_out)).

    Same scheme as scikit-learn's MLP for ReLU nets, so accuracies are comparable.
    """
    flat = np.empty(layout.size, dtype=dtype)
    coefs, intercepts = layout.views(flat)
    for (fan_in, fan_out), w, b in zip(layout.coef_shapes, coefs, intercepts):
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        w[...] = rng.uniform(-bound, bound, size=(fan_in, fan_out))
        b[...] = rng.uniform(-bound, bound, size=fan_out)
    return flat


def forward_logits(X: np.ndarray, coefs: list[np.ndarray], intercepts: list[np.ndarray]) -> np.ndarray:
    """Logits of ``X`` (allocating; used at inference time)."""
    A = X
    last = len(coefs) - 1
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        Z = A @ W
        Z += b
        if i < last:
            np.maximum(Z, 0, out=Z)
        A = Z
    return A


def softmax_inplace(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``Z``, overwriting it."""
    Z -= row_max(Z)[:, None]
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


_FEW_COLUMNS = 32  # up to this many columns row_max runs over the columns


def row_max(Z: np.ndarray) -> np.ndarray:
    """``Z.max(axis=1)`` of a 2-D array: the same values, a maximum being exact in any order (only a
    row whose largest values are +0.0 and -0.0 may get the other zero, which ``x - max`` and a softmax
    do not see).  With a few columns, one ``np.maximum`` per column: several times faster than a
    reduction along rows of a few elements each."""
    if Z.shape[1] > _FEW_COLUMNS or Z.shape[1] == 0:
        return Z.max(axis=1)
    top = Z[:, 0].copy()
    for j in range(1, Z.shape[1]):
        np.maximum(top, Z[:, j], out=top)
    return top


class Workspace:
    """Preallocated buffers for forward + backward on batches of up to ``max_rows`` rows."""

    def __init__(self, layout: ParamLayout, max_rows: int, dtype: np.dtype) -> None:
        self.layout = layout
        self.dtype = np.dtype(dtype)
        widths = layout.layer_sizes[1:]
        # acts[l]: pre- then post-activation of layer l (in place); last one holds logits -> probs -> dZ
        self.acts = [np.empty((max_rows, w), dtype=dtype) for w in widths]
        self.deltas = [np.empty((max_rows, w), dtype=dtype) for w in widths[:-1]]
        self.masks = [np.empty((max_rows, w), dtype=bool) for w in widths[:-1]]
        self.rowbuf = np.empty((max_rows, 1), dtype=dtype)
        self.rows = np.arange(max_rows)

    def loss_and_grad(
        self,
        Xb: np.ndarray,
        yb: np.ndarray,
        params: np.ndarray,
        grad: np.ndarray,
        alpha: float,
    ) -> float:
        """Mini-batch loss (see module docstring); writes its gradient into ``grad`` (flat, like ``params``)."""
        m = Xb.shape[0]
        coefs, intercepts = self.layout.views(params)
        gcoefs, gints = self.layout.views(grad)
        n_layers = len(coefs)
        acts = [a[:m] for a in self.acts]

        # forward
        A = Xb
        for i in range(n_layers):
            Z = acts[i]
            np.matmul(A, coefs[i], out=Z)
            Z += intercepts[i]
            if i < n_layers - 1:
                np.maximum(Z, 0, out=Z)
            A = Z

        # softmax cross-entropy; Z becomes dLoss/dlogits
        Z = acts[-1]
        rows = self.rows[:m]
        rb = self.rowbuf[:m]
        np.max(Z, axis=1, keepdims=True, out=rb)
        Z -= rb
        z_true = Z[rows, yb]
        np.exp(Z, out=Z)
        np.sum(Z, axis=1, keepdims=True, out=rb)
        ce = float(np.sum(np.log(rb), dtype=np.float64) - np.sum(z_true, dtype=np.float64)) / m
        Z /= rb
        Z[rows, yb] -= 1
        Z *= 1.0 / m

        # backward
        dZ = Z
        for i in range(n_layers - 1, -1, -1):
            A_prev = Xb if i == 0 else acts[i - 1]
            np.matmul(A_prev.T, dZ, out=gcoefs[i])
            np.sum(dZ, axis=0, out=gints[i])
            if i > 0:
                dA = self.deltas[i - 1][:m]
                np.matmul(dZ, coefs[i].T, out=dA)
                mask = self.masks[i - 1][:m]
                np.greater(A_prev, 0, out=mask)
                np.multiply(dA, mask, out=dA)
                dZ = dA

        # L2 on coefficients only
        nc = self.layout.n_coef
        w = params[:nc]
        penalty = 0.0
        if alpha:
            penalty = 0.5 * alpha * float(np.dot(w, w)) / m
            grad[:nc] += (alpha / m) * w
        return ce + penalty


class Adam:
    """Adam on a flat parameter vector (Kingma & Ba; scikit-learn's bias correction and eps placement)."""

    def __init__(self, size: int, dtype: np.dtype, lr: float, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = np.zeros(size, dtype=dtype)
        self.v = np.zeros(size, dtype=dtype)
        self.tmp = np.empty(size, dtype=dtype)
        self.t = 0

    def step(self, params: np.ndarray, grad: np.ndarray) -> None:
        """In-place update ``params -= lr_t * m_hat / (sqrt(v_hat) + eps)``."""
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        lr_t = self.lr * math.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        m, v, tmp = self.m, self.v, self.tmp
        m *= b1
        np.multiply(grad, 1.0 - b1, out=tmp)
        m += tmp
        v *= b2
        np.multiply(grad, grad, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= lr_t
        params -= tmp
