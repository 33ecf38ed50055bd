"""What the pick report costs on top of the picks: ``dami_np.select`` vs ``dami_np.query``.

    python bench/select_report.py > bench/results/select-report.md
    python bench/select_report.py --rows 20000 --budget 2000 --repeats 1    # a quick look

A 200,000-row table (20 numeric features, 5 classes, 1,000 labeled rows), budget 32,000 with the
``random`` strategy (the issue's case: the report then measures every distance itself, in the
DAMI representation space), and 1,000 picks with ``margin`` and ``dami``.  Both calls run the
same round (preprocessing, default model fit, strategy); ``select`` adds predictions,
explanations and pick-time distances.  Best of ``--repeats`` wall times after a warm-up.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import dami_np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_summary  # noqa: E402


def make_table(rows: int, labeled: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, 20))
    y = np.digitize(X[:, :3] @ np.array([1.0, -0.7, 0.4]) + 0.3 * rng.standard_normal(rows), [-1.2, -0.4, 0.4, 1.2])
    labels = pd.Series(y.astype(object))
    labels.iloc[labeled:] = None
    return pd.DataFrame(X, columns=[f"x{j}" for j in range(20)]), labels


def best_of(repeats: int, fn) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--labeled", type=int, default=1_000)
    parser.add_argument("--budget", type=int, default=32_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    X, y = make_table(args.rows, args.labeled)
    dami_np.select(X.iloc[:3000], y.iloc[:3000], 10, strategy="dami", random_state=0)  # warm-up: compile kernels
    cases = [("random", args.budget), ("margin", 1000), ("dami", 1000)]
    load = os.getloadavg()
    print("# Cost of the pick report (`dami_np.select` vs `dami_np.query`)\n")
    print(f"`python bench/select_report.py{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}` on "
          f"{_dt.date.today().isoformat()}; {machine_summary()}; Python {platform.python_version()}, "
          f"numpy {np.__version__}; load average before the run {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min).\n")
    print(f"Table: {args.rows:,} rows x 20 numeric features, 5 classes, {args.labeled:,} labeled; best of {args.repeats}.\n")
    print("| strategy | budget | query (s) | select (s) | select / query |")
    print("|---|---|---|---|---|")
    for strategy, budget in cases:
        q = best_of(args.repeats, lambda: dami_np.query(X, y, budget, strategy=strategy, random_state=0))
        s = best_of(args.repeats, lambda: dami_np.select(X, y, budget, strategy=strategy, random_state=0))
        print(f"| {strategy} | {budget:,} | {q:.2f} | {s:.2f} | {s / q:.2f} |", flush=True)
    after = os.getloadavg()
    print(f"\nLoad average after the run: {after[0]:.2f} / {after[1]:.2f} / {after[2]:.2f}.")


if __name__ == "__main__":
    main()
