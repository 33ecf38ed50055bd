"""Reference accuracies of scikit-learn's MLPClassifier for tests/test_mlp_fit.py.

scikit-learn is NOT a dependency of dami-np; install it temporarily to rerun:

    pip install scikit-learn && python bench/reference_sklearn_mlp.py

Protocol (copied in tests/test_mlp_fit.py::test_real_data_matches_sklearn_reference):
read ``dami_np/datasets/data/<name>.csv.gz`` with pandas, fixed stratified 70/30
split (``_split`` below, numpy seed 0), standardize with the training rows'
mean/std, hidden_layer_sizes=(100,), alpha=1e-4, batch_size=64,
learning_rate_init=1e-3, max_iter=200, tol=1e-4, n_iter_no_change=10,
random_state in SEEDS; report the mean test accuracy.  dami_np's number is
printed beside it for comparison.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "dami_np" / "datasets" / "data"
SEEDS = (0, 1, 2)
PARAMS = dict(hidden_layer_sizes=(100,), alpha=1e-4, batch_size=64, learning_rate_init=1e-3, max_iter=200, tol=1e-4,
              n_iter_no_change=10)


def _split(y: np.ndarray, test_fraction: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split: per class (sorted), a seeded permutation; the first round(frac * n_c) rows go to test."""
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        test.append(idx[: int(round(test_fraction * idx.size))])
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(y.size), test_idx)
    return train_idx, test_idx


def load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardized (X_train, y_train, X_test, y_test) for a numeric KEEL table."""
    df = pd.read_csv(DATA / f"{name}.csv.gz")
    X = df.drop(columns="class").to_numpy(dtype=np.float64)
    y = df["class"].astype(str).to_numpy()
    tr, te = _split(y)
    mean, std = X[tr].mean(axis=0), X[tr].std(axis=0)
    std[std == 0] = 1.0
    X = (X - mean) / std
    return X[tr], y[tr], X[te], y[te]


def main() -> None:
    from sklearn.neural_network import MLPClassifier as SkMLP

    from dami_np import MLPClassifier

    for name in ("segment", "wdbc", "vehicle"):
        Xtr, ytr, Xte, yte = load(name)
        sk, ours = [], []
        t0 = time.perf_counter()
        for seed in SEEDS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ConvergenceWarning
                sk.append(SkMLP(random_state=seed, **PARAMS).fit(Xtr, ytr).score(Xte, yte))
        t1 = time.perf_counter()
        for seed in SEEDS:
            ours.append(MLPClassifier(random_state=seed, **PARAMS).fit(Xtr, ytr).score(Xte, yte))
        t2 = time.perf_counter()
        print(f"{name:8s} n_train={len(ytr):5d} n_test={len(yte):5d}  "
              f"sklearn mean={np.mean(sk):.4f} {np.round(sk, 4).tolist()} ({t1 - t0:.1f}s)  "
              f"dami_np mean={np.mean(ours):.4f} {np.round(ours, 4).tolist()} ({t2 - t1:.1f}s)")


if __name__ == "__main__":
    main()
