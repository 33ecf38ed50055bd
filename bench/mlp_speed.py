"""Speed table for dami_np.MLPClassifier (and PyTorch CPU side by side if importable).

Usage: python bench/mlp_speed.py [--repeats 3] [--threads 2]

Rows: training d=50 -> 128 -> 128 -> 10, batch 128, 20 epochs on 10k rows
(max_iter=20, tol=0 so every epoch runs), and local_linear on 100k x 50 with 10
classes for 1 and 2 hidden layers.  Reports the best and median wall time of
``--repeats`` runs (timings on a shared machine are noisy).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from dami_np import MLPClassifier

N_TRAIN, N_EXPLAIN, D, C = 10_000, 100_000, 50, 10


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, D)).astype(np.float32)
    y = (X[:, :C] + 0.5 * rng.standard_normal((n, C))).argmax(axis=1)
    return X, y


def _time(fn: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _torch_train(X: np.ndarray, y: np.ndarray, threads: int) -> Callable[[], object] | None:
    """Equivalent PyTorch CPU loop: same arch, Adam(lr=1e-3), batch 128, 20 epochs, reshuffled each epoch.

    ``weight_decay=1e-4 / 128`` is Adam's coupled L2, matching ``alpha=1e-4`` per batch of 128
    (torch also decays the biases; the cost difference is negligible).
    """
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))

    def run() -> object:
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            torch.nn.Linear(D, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128), torch.nn.ReLU(), torch.nn.Linear(128, C)
        )
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4 / 128)
        loss_fn = torch.nn.CrossEntropyLoss()
        n = Xt.shape[0]
        for _ in range(20):
            perm = torch.randperm(n)
            Xs, ys = Xt[perm], yt[perm]
            for start in range(0, n, 128):
                xb, yb = Xs[start : start + 128], ys[start : start + 128]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
        return model

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (numpy uses OpenBLAS defaults)")
    args = ap.parse_args()

    X, y = _data(N_TRAIN, 0)
    Xe, _ = _data(N_EXPLAIN, 1)
    rows: list[tuple[str, list[float]]] = []

    def train() -> object:
        return MLPClassifier((128, 128), batch_size=128, max_iter=20, tol=0.0, random_state=0).fit(X, y)

    rows.append(("dami_np train 50-128-128-10, 20 ep, 10k", _time(train, args.repeats)))
    torch_run = _torch_train(X, y, args.threads)
    if torch_run is not None:
        rows.append((f"torch   train 50-128-128-10, 20 ep, 10k ({args.threads} thr)", _time(torch_run, args.repeats)))
    else:
        print("torch not importable: skipping the PyTorch row")

    for hidden in [(128,), (128, 128)]:
        model = MLPClassifier(hidden, max_iter=1, random_state=0).fit(X, y)
        rows.append((f"dami_np local_linear 100k x 50, hidden={hidden}", _time(lambda: model.local_linear(Xe), args.repeats)))

    width = max(len(name) for name, _ in rows)
    print(f"{'benchmark':<{width}}  {'best s':>8}  {'median s':>9}")
    for name, times in rows:
        print(f"{name:<{width}}  {min(times):8.3f}  {statistics.median(times):9.3f}")


if __name__ == "__main__":
    main()
