"""Time one DAMI round stage by stage: fit, representations, K-Center.

    python bench/dami_round.py            # 1,000 labeled + 100,000-row pool, d=50, C=10, 100 picks
    python bench/dami_round.py --big      # the same with a 1,000,000-row pool
    python bench/dami_round.py --hidden 64,64 --threads 2 --repeats 3

Stages (seconds, best of ``--repeats``; the machine may be shared, so timings are noisy):

- fit: default ``MLPClassifier`` on the 1,000 labeled rows;
- representations: activation patterns, grouping rows by pattern, the DAMI points of one row
  per group (with one hidden layer: the exact H-dim embedding);
- kcenter: greedy K-Center over labeled + pool, labeled rows as centers, 100 picks.

Numba kernels are compiled (or loaded from cache) on a small warm-up round first.  Peak
memory: the process's peak RSS (``resource.getrusage``), which includes the data itself, and
the peak of Python/NumPy allocations during the round (``tracemalloc``, ``--tracemalloc``).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
import tracemalloc

import numpy as np

from dami_np import MLPClassifier, kernels
from dami_np.strategies import dami_select

D, C, N_LABELED, BUDGET = 50, 10, 1_000, 100


def make_data(n_pool: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardized Gaussian features, 10 classes from a noisy linear rule; the first rows labeled."""
    rng = np.random.default_rng(seed)
    n = N_LABELED + n_pool
    X = rng.standard_normal((n, D))
    y = (X[:, :C] + X[:, C : 2 * C] * X[:, 2 * C : 3 * C] + 0.5 * rng.standard_normal((n, C))).argmax(axis=1)
    labeled = np.zeros(n, dtype=bool)
    labeled[:N_LABELED] = True
    return X, y, labeled


def one_round(X: np.ndarray, y: np.ndarray, labeled: np.ndarray, hidden: tuple[int, ...],
              options: dict | None = None) -> dict[str, float]:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    model = MLPClassifier(hidden, random_state=0).fit(X[labeled], y[labeled])
    timings["fit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    picks = dami_select(model, X, labeled, BUDGET, timings=timings, **(options or {})).positions
    timings["select"] = time.perf_counter() - t0
    timings["round"] = timings["fit"] + timings["select"]
    assert picks.size == BUDGET and not labeled[picks].any() and np.unique(picks).size == BUDGET
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", action="store_true", help="1,000,000-row pool instead of 100,000")
    parser.add_argument("--pool", type=int, default=None, help="pool rows (overrides --big)")
    parser.add_argument("--hidden", default="100", help="hidden layer sizes, comma separated (default 100)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="Numba threads (default: all)")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace peak allocations (slower)")
    args = parser.parse_args()
    n_pool = args.pool or (1_000_000 if args.big else 100_000)
    hidden = tuple(int(h) for h in args.hidden.split(",") if h)
    if args.threads:
        kernels.set_num_threads(args.threads)

    warm_X, warm_y, warm_labeled = make_data(2_000, seed=1)
    one_round(warm_X, warm_y, warm_labeled, hidden)  # compile / load the kernels

    X, y, labeled = make_data(n_pool)
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    best: dict[str, float] = {}
    peak_traced = float("nan")
    for _ in range(args.repeats):
        if args.tracemalloc:
            tracemalloc.start()
        timings = one_round(X, y, labeled, hidden)
        if args.tracemalloc:
            peak_traced = tracemalloc.get_traced_memory()[1] / 2**30
            tracemalloc.stop()
        for key, value in timings.items():
            best[key] = min(best.get(key, np.inf), value)
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB on Linux

    print(f"DAMI round: {N_LABELED:,} labeled + {n_pool:,} pool rows, d={D}, C={C}, hidden={hidden}, "
          f"{BUDGET} picks; best of {args.repeats}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numba threads {kernels.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
    for stage in ("fit", "representations", "kcenter", "select", "round"):
        print(f"  {stage:<16} {best.get(stage, float('nan')):8.3f} s")
    print(f"  peak RSS {rss_peak:.2f} GiB (after data generation: {rss_data:.2f} GiB; X alone "
          f"{X.nbytes / 2**30:.2f} GiB)")
    if args.tracemalloc:
        print(f"  peak traced allocations during the round {peak_traced:.2f} GiB")


if __name__ == "__main__":
    main()
