"""The common NumPy/scikit-learn-style DAMI representation step, for the framework benchmark.

Forward pass with NumPy, ReLU masks, then the per-row Jacobian
W(x) = W_L D_{L-1}(x) ... D_1(x) W_1 with ``np.einsum`` (what one writes without a kernel
library). Row-chunked so that it fits in memory like the other implementations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_CHUNK = 8192


def local_linear_einsum(
    coefs: Sequence[np.ndarray], intercepts: Sequence[np.ndarray], X: np.ndarray, chunk: int = _CHUNK
) -> np.ndarray:
    """W(x) for every row; ``coefs[i]`` is (in, out) as in sklearn. Returns (n, C, d) float32."""
    Ws = [np.asarray(w, np.float32) for w in coefs]
    bs = [np.asarray(b, np.float32) for b in intercepts]
    X = np.asarray(X, np.float32)
    n, d = X.shape
    out = np.empty((n, Ws[-1].shape[1], d), np.float32)
    for start in range(0, n, chunk):
        h = X[start : start + chunk]
        masks = []
        for w, b in zip(Ws[:-1], bs[:-1]):
            h = np.maximum(h @ w + b, 0.0)
            masks.append((h > 0).astype(np.float32))
        # right to left: J (m, C, h) = W_L^T * mask, then through each hidden layer
        J = np.einsum("hc,mh->mch", Ws[-1], masks[-1], optimize=True)
        for w, mask in zip(reversed(Ws[1:-1]), reversed(masks[:-1])):
            J = np.einsum("mch,gh,mg->mcg", J, w, mask, optimize=True)
        out[start : start + chunk] = np.einsum("mch,dh->mcd", J, Ws[0], optimize=True)
    return out
