"""Time one DAMI round stage by stage: fit, representations, K-Center.

    python bench/dami_round.py            # 1,000 labeled + 100,000-row pool, d=50, C=10, 100 picks
    python bench/dami_round.py --big      # the same with a 1,000,000-row pool
    python bench/dami_round.py --hidden 64,64 --threads 2 --repeats 3
    python bench/dami_round.py --hidden 64,64 --big --out bench/results/dami-round.md   # append a result
    python bench/dami_round.py --hidden 64,64 --memory-budget 100000000   # force the streamed K-Center

Stages (seconds, best of ``--repeats``; the machine may be shared, so timings are noisy):

- fit: default ``MLPClassifier`` on the 1,000 labeled rows;
- representations: activation patterns, grouping rows by pattern, the DAMI points of one row
  per group (with one hidden layer: the exact H-dim embedding);
- kcenter: greedy K-Center over labeled + pool, labeled rows as centers, 100 picks.

Numba kernels are compiled (or loaded from cache) on a small warm-up round first.  Peak
memory: the process's peak RSS (``resource.getrusage``), which includes the data itself, and
the peak of Python/NumPy allocations during the round (``tracemalloc``, ``--tracemalloc``).
``--out FILE`` appends the result (command, date, machine, load average before and after, the
representation used, every repeat) as a Markdown section.

On a VM whose host backs guest memory lazily, the first process that touches a GB of fresh
memory pays host page faults (seconds of system time per GB, measured here); the line
"system CPU" makes that visible.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import resource
import shlex
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from dami_np import MLPClassifier, kernels
from dami_np.strategies import DamiRepresentation, dami_select
from dami_np.strategies._dami import default_memory_budget

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_summary  # noqa: E402

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
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    model = MLPClassifier(hidden, random_state=0).fit(X[labeled], y[labeled])
    timings["fit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    picks = dami_select(model, X, labeled, BUDGET, timings=timings, **(options or {})).positions
    timings["select"] = time.perf_counter() - t0
    timings["round"] = timings["fit"] + timings["select"]
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    timings["user CPU"] = usage1.ru_utime - usage0.ru_utime
    timings["system CPU"] = usage1.ru_stime - usage0.ru_stime
    timings["_model"] = model  # type: ignore[assignment]
    assert picks.size == BUDGET and not labeled[picks].any() and np.unique(picks).size == BUDGET
    return timings


def _vm_hwm_reset() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        return True
    except OSError:
        return False


def _status_gib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1]) / 2**20
    return float("nan")


def _cpu_busy_s() -> float:
    """Busy CPU seconds of the whole machine so far (all processes), from /proc/stat."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return float("nan")
    return (fields[0] + fields[1] + fields[2] + sum(fields[5:8])) / os.sysconf("SC_CLK_TCK")


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", action="store_true", help="1,000,000-row pool instead of 100,000")
    parser.add_argument("--pool", type=int, default=None, help="pool rows (overrides --big)")
    parser.add_argument("--hidden", default="100", help="hidden layer sizes, comma separated (default 100)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="Numba threads (default: all)")
    parser.add_argument("--memory-budget", type=int, default=None, help="dami's memory_budget in bytes (default: its own)")
    parser.add_argument("--method", default="auto", help="dami's representation method (default auto)")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace peak allocations (slower)")
    parser.add_argument("--out", type=Path, default=None, help="append the result as Markdown to this file")
    args = parser.parse_args()
    n_pool = args.pool or (1_000_000 if args.big else 100_000)
    hidden = tuple(int(h) for h in args.hidden.split(",") if h)
    if args.threads:
        kernels.set_num_threads(args.threads)
    options = {"method": args.method, "memory_budget": args.memory_budget}
    load_before = _loadavg()

    warm_X, warm_y, warm_labeled = make_data(2_000, seed=1)
    one_round(warm_X, warm_y, warm_labeled, hidden, options)  # compile / load the kernels

    X, y, labeled = make_data(n_pool)
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    hwm = _vm_hwm_reset()
    best: dict[str, float] = {}
    runs: list[dict[str, float]] = []
    peak_traced = float("nan")
    model = None
    for _ in range(args.repeats):
        if args.tracemalloc:
            tracemalloc.start()
        busy0, wall0 = _cpu_busy_s(), time.perf_counter()
        timings = one_round(X, y, labeled, hidden, options)
        own = timings["user CPU"] + timings["system CPU"]
        timings["other load"] = max(0.0, _cpu_busy_s() - busy0 - own) / (time.perf_counter() - wall0)
        model = timings.pop("_model")
        if args.tracemalloc:
            peak_traced = tracemalloc.get_traced_memory()[1] / 2**30
            tracemalloc.stop()
        runs.append(timings)
        for key, value in timings.items():
            best[key] = min(best.get(key, np.inf), value)
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB on Linux
    round_peak = _status_gib("VmHWM") if hwm else float("nan")
    load_after = _loadavg()
    rep = DamiRepresentation(model, X[:10], method=args.method)
    budget = args.memory_budget or default_memory_budget()
    n_rows = X.shape[0]
    path = "in memory" if n_rows * rep.dim * rep.dtype.itemsize <= budget else "streamed"

    lines = [f"DAMI round: {N_LABELED:,} labeled + {n_pool:,} pool rows, d={D}, C={C}, hidden={hidden}, "
             f"{BUDGET} picks; best of {args.repeats}",
             f"machine: {machine_summary()}; numba threads {kernels.get_num_threads()}",
             f"load average before {load_before}, after {load_after}",
             f"representation: {rep.method}, {rep.dim} dims, {rep.dtype}; K-Center {path} "
             f"(matrix ~{n_rows * rep.dim * rep.dtype.itemsize / 2**30:.2f} GiB, memory budget {budget / 2**30:.2f} GiB)"]
    for stage in ("fit", "representations", "kcenter", "select", "round", "user CPU", "system CPU", "other load"):
        each = ", ".join(f"{r.get(stage, float('nan')):.3f}" for r in runs)
        unit = "cores" if stage == "other load" else "s"
        lines.append(f"  {stage:<16} {best.get(stage, float('nan')):8.3f} {unit:<5} (runs: {each})")
    lines.append("  (other load: CPU used by other processes during the round, in cores of the 2; best = the least)")
    lines.append(f"  peak RSS {rss_peak:.2f} GiB (process, data included; after data generation: {rss_data:.2f} GiB; "
                 f"X alone {X.nbytes / 2**30:.2f} GiB); peak RSS during the rounds {round_peak:.2f} GiB")
    if args.tracemalloc:
        lines.append(f"  peak traced allocations during the round {peak_traced:.2f} GiB")
    print("\n".join(lines))
    if args.out:
        command = "python bench/dami_round.py " + shlex.join(sys.argv[1:])
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        with open(args.out, "a") as fh:
            fh.write(f"\n## `{command}`\n\n{stamp}\n\n```\n" + "\n".join(lines) + "\n```\n")
        print(f"appended to {args.out}")


if __name__ == "__main__":
    main()
