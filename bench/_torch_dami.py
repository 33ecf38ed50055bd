"""The DAMI round written the usual PyTorch-CPU way, for the framework benchmark.

- ``build_mlp`` / ``train_epochs``: same architecture (ReLU MLP), optimizer (Adam) and
  minibatching as ``dami_np.MLPClassifier`` (sklearn semantics: L2 ``alpha`` on weights only,
  scaled by the batch size; Glorot-uniform init).
- ``local_linear_jacrev``: W(x) via ``torch.func.vmap(torch.func.jacrev(model))``.
- ``local_linear_closed``: W(x) = W_L D_{L-1}(x) ... D_1(x) W_1 with ReLU masks, batched matmul.
- ``kcenter_torch_cdist``: greedy K-Center with one ``torch.cdist`` call per pick (re-exported
  from ``_kcenter_baselines`` when the kernel engineer's module is present).

Only imported when torch is installed (``pip install .[bench]``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

_CHUNK = 8192


def set_threads(n: int) -> None:
    """Pin torch's intra-op pool (inter-op can only be set once per process)."""
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass


def build_mlp(n_features: int, hidden: Sequence[int], n_outputs: int, seed: int = 0) -> nn.Sequential:
    """ReLU MLP ``d -> hidden... -> n_outputs`` with sklearn's Glorot-uniform init."""
    gen = torch.Generator().manual_seed(seed)
    sizes = [n_features, *hidden, n_outputs]
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(fan_in, fan_out)
        factor = 2.0 if (i == len(sizes) - 2 and n_outputs == 1) else 6.0
        bound = (factor / (fan_in + fan_out)) ** 0.5
        with torch.no_grad():
            lin.weight.uniform_(-bound, bound, generator=gen)
            lin.bias.uniform_(-bound, bound, generator=gen)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def linears(model: nn.Sequential) -> list[nn.Linear]:
    """The model's Linear layers, input to output."""
    return [m for m in model if isinstance(m, nn.Linear)]


def load_weights(model: nn.Sequential, coefs: Sequence[np.ndarray], intercepts: Sequence[np.ndarray]) -> None:
    """Copy sklearn-layout weights (``coefs[i]`` is (in, out)) into the torch model."""
    layers = linears(model)
    if len(layers) != len(coefs):
        raise ValueError(f"{len(layers)} torch layers vs {len(coefs)} coefs")
    with torch.no_grad():
        for lin, w, b in zip(layers, coefs, intercepts):
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(np.asarray(w, np.float32).T)))
            lin.bias.copy_(torch.from_numpy(np.asarray(b, np.float32)))


def train_epochs(
    model: nn.Sequential,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    alpha: float = 1e-4,
    seed: int = 0,
) -> float:
    """Adam minibatch training for ``epochs`` full epochs; returns the last epoch's mean loss.

    L2 ``alpha`` follows sklearn: ``0.5 * alpha * ||W||^2 / batch`` on weights only, i.e. Adam's
    (coupled) ``weight_decay = alpha / batch_size`` on the weight tensors.
    """
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    n_out = linears(model)[-1].out_features
    if n_out == 1:
        yt = torch.from_numpy(np.asarray(y, np.float32)).unsqueeze(1)
        loss_fn: nn.Module = nn.BCEWithLogitsLoss()
    else:
        yt = torch.from_numpy(np.asarray(y, np.int64))
        loss_fn = nn.CrossEntropyLoss()
    weights = [lin.weight for lin in linears(model)]
    biases = [lin.bias for lin in linears(model)]
    opt = torch.optim.Adam(
        [{"params": weights, "weight_decay": alpha / batch_size}, {"params": biases, "weight_decay": 0.0}],
        lr=learning_rate,
        betas=(0.9, 0.999),
        eps=1e-8,
    )
    gen = torch.Generator().manual_seed(seed)
    n = Xt.shape[0]
    model.train()
    last = 0.0
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.numel()
        last = total / n
    return last


def local_linear_jacrev(model: nn.Sequential, X: np.ndarray, chunk: int = _CHUNK) -> np.ndarray:
    """W(x) for every row by ``vmap(jacrev(model))``, in row chunks; (n, C, d) float32."""
    from torch.func import jacrev, vmap

    model.eval()
    jac = vmap(jacrev(lambda row: model(row)))
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    n_out = linears(model)[-1].out_features
    out = torch.empty((Xt.shape[0], n_out, Xt.shape[1]), dtype=torch.float32)
    with torch.no_grad():  # jacrev builds its own graph; no outer autograd bookkeeping
        for start in range(0, Xt.shape[0], chunk):
            out[start : start + chunk] = jac(Xt[start : start + chunk])
    return out.numpy()


def local_linear_closed(model: nn.Sequential, X: np.ndarray, chunk: int = _CHUNK) -> np.ndarray:
    """W(x) = W_L D_{L-1} ... D_1 W_1 from ReLU masks, right-to-left batched matmuls; (n, C, d)."""
    layers = linears(model)
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    out = torch.empty((Xt.shape[0], layers[-1].out_features, Xt.shape[1]), dtype=torch.float32)
    with torch.no_grad():
        for start in range(0, Xt.shape[0], chunk):
            h = Xt[start : start + chunk]
            masks = []
            for lin in layers[:-1]:
                h = torch.relu(lin(h))
                masks.append((h > 0).to(h.dtype))
            J = layers[-1].weight.unsqueeze(0) * masks[-1].unsqueeze(1)  # (m, C, h_{L-1})
            for lin, mask in zip(reversed(layers[1:-1]), reversed(masks[:-1])):
                J = torch.matmul(J, lin.weight) * mask.unsqueeze(1)
            out[start : start + chunk] = torch.matmul(J, layers[0].weight)
    return out.numpy()


try:  # the kernel engineer's baseline, shared by the whole bench
    from _kcenter_baselines import kcenter_torch_cdist  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - fallback only while that module is missing

    def kcenter_torch_cdist(points: np.ndarray, k: int, centers: np.ndarray | None = None) -> np.ndarray:
        """Greedy K-Center, one ``torch.cdist`` per pick (ties -> lowest row index)."""
        P = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32))
        n = P.shape[0]
        min_d = torch.full((n,), float("inf"))
        if centers is not None and len(centers):
            for s in range(0, len(centers), 1024):
                c = P[torch.as_tensor(np.asarray(centers[s : s + 1024], np.int64))]
                min_d = torch.minimum(min_d, torch.cdist(P, c).min(dim=1).values)
        picks = np.empty(k, np.int64)
        for j in range(k):
            i = int(torch.argmax(min_d))
            picks[j] = i
            min_d = torch.minimum(min_d, torch.cdist(P, P[i : i + 1]).squeeze(1))
        return picks
