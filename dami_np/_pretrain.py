"""SCARF-style self-supervised pre-training of an MLP's first hidden layer on the unlabeled pool.

Why: the labels train the network on a few dozen rows while the pool holds thousands; a hidden
layer that already encodes the pool's structure may need fewer labels (issue 29, candidate (a)).

How: each row is corrupted by replacing a random ``rate`` share of its features with the same
features of random other pool rows (SCARF's corruption: values stay on each feature's marginal);
a linear decoder reconstructs the clean row from the corrupted row's hidden layer. Loss of a batch
of ``m`` rows and ``d`` features (denoising, mean squared error)::

    Z = X_corrupt @ W + b;  A = relu(Z);  R = A @ D + c - X_clean;  loss = sum(R ** 2) / (2 m d)

The encoder ``(W, b)`` is the classifier's first layer; the decoder ``(D, c)`` is dropped.
Parameters live in one flat buffer laid out as a ``[d, H, d]`` network (``_mlp_math.ParamLayout``),
so initialisation and Adam are the classifier's own.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from dami_np._mlp_math import Adam, ParamLayout, glorot_init

__all__ = ["corrupt", "denoising_loss_and_grad", "pretrain_hidden_layer"]


def corrupt(X: np.ndarray, pool: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """``X`` with each cell replaced, with probability ``rate``, by the same column of a random ``pool`` row."""
    m, d = X.shape
    replace = rng.random((m, d)) < rate
    donors = rng.integers(0, pool.shape[0], size=(m, d))
    return np.where(replace, pool[donors, np.arange(d)], X)


def denoising_loss_and_grad(
    flat: np.ndarray, layout: ParamLayout, X_corrupt: np.ndarray, X_clean: np.ndarray, grad: np.ndarray
) -> float:
    """The batch loss of the module docstring; writes its gradient (same layout as ``flat``) into ``grad``."""
    (W, D), (b, c) = layout.views(flat)
    (gW, gD), (gb, gc) = layout.views(grad)
    m, d = X_clean.shape
    A = X_corrupt @ W
    A += b
    np.maximum(A, 0, out=A)
    R = A @ D
    R += c
    R -= X_clean
    loss = float(np.dot(R.ravel(), R.ravel())) / (2.0 * m * d)
    R *= 1.0 / (m * d)  # dLoss/dR
    np.matmul(A.T, R, out=gD)
    np.sum(R, axis=0, out=gc)
    dA = R @ D.T
    dA *= A > 0
    np.matmul(X_corrupt.T, dA, out=gW)
    np.sum(dA, axis=0, out=gb)
    return loss


def pretrain_hidden_layer(
    pool: np.ndarray,
    hidden: int,
    *,
    seed: int,
    rate: float = 0.6,
    steps: int = 1000,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    dtype: str = "float32",
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Pre-trained first layer ``(W (d, hidden), b (hidden,))`` and the loss of every step.

    Deterministic in ``seed``: the same pool and seed give the same weights bit for bit.
    """
    dt = np.dtype(dtype)
    pool = np.ascontiguousarray(pool, dtype=dt)
    if pool.ndim != 2 or pool.shape[0] < 2:
        raise ValueError(f"pre-training needs a 2-D pool of at least 2 rows, got shape {pool.shape}")
    if not np.isfinite(pool).all():
        raise ValueError("pre-training pool holds NaN or infinite values")
    rng = np.random.default_rng(seed)
    layout = ParamLayout([pool.shape[1], int(hidden), pool.shape[1]])
    flat = glorot_init(layout, rng, dt)
    grad = np.empty_like(flat)
    adam = Adam(layout.size, dt, learning_rate)
    m = min(int(batch_size), pool.shape[0])
    losses = []
    with threadpool_limits(limits=1, user_api="blas"), np.errstate(over="ignore", invalid="ignore"):
        for _ in range(int(steps)):
            rows = rng.choice(pool.shape[0], size=m, replace=False)
            clean = pool[rows]
            losses.append(denoising_loss_and_grad(flat, layout, corrupt(clean, pool, rate, rng), clean, grad))
            if not np.isfinite(losses[-1]):
                raise FloatingPointError(f"pre-training diverged (loss={losses[-1]}) at step {len(losses)}")
            adam.step(flat, grad)
    (W, _), (b, _) = layout.views(flat)
    return W.copy(), b.copy(), losses
