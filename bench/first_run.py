"""Whole-process time of ``dami select``: the first run on an empty Numba cache, then later runs.

    python bench/first_run.py                       # margin, dami, badge; 3 later runs each
    python bench/first_run.py --strategies dami --later 5 --rows 600

For each strategy: a fresh ``NUMBA_CACHE_DIR`` (so nothing is cached), one ``dami select`` run
(the first run after an install: import, preprocessing, fit, pick, and any kernel
compilation), then ``--later`` runs on the now filled cache (median reported). Wall time and
peak RSS come from ``/usr/bin/time`` around the real console script. The table: ``--rows``
rows of the bundled ``segment`` data (19 numeric features, 7 classes), shuffled with seed 0,
labels kept on the first ``--labeled`` rows only. The script also checks that every run of a
strategy printed the same picks. Prints Markdown (store it under ``bench/results/``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_summary  # noqa: E402

DAMI = Path(sys.executable).with_name("dami")
TIME = shutil.which("time") or "/usr/bin/time"


def make_table(path: Path, rows: int, labeled: int) -> None:
    from dami_np import datasets

    X, y = datasets.load("segment")
    df = X.assign(label=y.astype(object)).sample(n=rows, random_state=0).reset_index(drop=True)
    df.loc[labeled:, "label"] = None
    df.to_csv(path, index=False)


def run_once(table: Path, strategy: str, cache: Path, budget: int) -> tuple[float, float, str, str]:
    """(wall seconds, peak RSS MiB, stdout, stderr) of one ``dami select`` process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAMI_", "NUMBA_CACHE_DIR"))}
    env["NUMBA_CACHE_DIR"] = str(cache)
    stats = cache.parent / "time.txt"
    argv = [TIME, "-f", "%e %M", "-o", str(stats), str(DAMI), "select", str(table), "--label", "label",
            "--budget", str(budget), "--seed", "0", "--strategy", strategy]
    t0 = time.perf_counter()
    res = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"dami select --strategy {strategy} failed ({res.returncode}): {res.stderr.strip()}")
    try:
        rss = float(stats.read_text().split()[-1]) / 1024
    except (OSError, ValueError, IndexError):
        rss = float("nan")
    return wall, rss, res.stdout, res.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strategies", default="margin,dami,badge")
    ap.add_argument("--rows", type=int, default=600)
    ap.add_argument("--labeled", type=int, default=60)
    ap.add_argument("--budget", type=int, default=10)
    ap.add_argument("--later", type=int, default=3, help="runs on the filled cache (median reported)")
    args = ap.parse_args()
    if not DAMI.exists():
        raise SystemExit(f"no dami console script next to {sys.executable}")

    print(f"# First and later `dami select` runs ({time.strftime('%Y-%m-%d %H:%M')})\n")
    print(f"Machine: {machine_summary()}; Python {platform.python_version()}  ")
    print(f"Load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())} (1, 5, 15 min)  ")
    print(f"Command: python {' '.join(sys.argv)}  ")
    print(f"Table: {args.rows} rows of `segment` (19 numeric features, 7 classes), {args.labeled} labeled; "
          f"budget {args.budget}, seed 0\n")
    print("| strategy | first run, empty cache (s) | peak RSS (MiB) | later runs, median (s) | later runs (s) | "
          "peak RSS (MiB) | kernel cache entries | same picks |")
    print("|---|---:|---:|---:|---|---:|---:|:---:|")
    with tempfile.TemporaryDirectory(prefix="dami-first-run-") as tmp:
        table = Path(tmp) / "table.csv"
        make_table(table, args.rows, args.labeled)
        for strategy in args.strategies.split(","):
            cache = Path(tmp) / strategy / "numba-cache"
            cache.mkdir(parents=True)
            first, rss1, out1, _ = run_once(table, strategy, cache, args.budget)
            entries = len(list(cache.rglob("*.nbi")))
            later = [run_once(table, strategy, cache, args.budget) for _ in range(args.later)]
            same = all(r[2] == out1 for r in later)
            times = [r[0] for r in later]
            print(f"| {strategy} | {first:.2f} | {rss1:.0f} | {statistics.median(times):.2f} | "
                  f"{', '.join(f'{t:.2f}' for t in times)} | {max(r[1] for r in later):.0f} | {entries} | "
                  f"{'yes' if same else 'NO'} |", flush=True)
    print(f"\nLoad average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
