"""One round on a Dask LocalCluster vs the single-process path: wall time, round trips, bytes, memory.

    python bench/dask_round.py > bench/results/dask-round.md            # 10M rows x 20 features
    python bench/dask_round.py --rows 200000 --labeled 1000 --budget 1000   # a quick look

Generates ``--rows`` x 20 float64 features (binary label from a noisy linear rule, ``--labeled``
rows labeled at random, the rest NaN) as ``--files`` Parquet files under ``--data`` (kept; made
once), then for ``margin`` and ``dami`` (``--budget`` picks, seed 0) runs, each in a fresh process:

* ``local``: ``pandas.read_parquet`` + ``dami_np.query`` (the single-process path);
* ``dask``: ``dask.dataframe.read_parquet`` + ``dami_np.query`` on a LocalCluster of
  ``--workers`` worker processes with one thread each (started before the clock).

Both read the files inside the timed region and must return the same picks (checked).  Peak
memory is each process's maximum RSS (``getrusage``): the driver, and every worker.  Bytes:
the K-Center protocol's own count (answers to the driver, centers to the workers), the
worker-to-worker transfers Dask counts, and the bytes the preprocessing moves to the workers
that fit the columns (every non-categorical column once).  The machine is shared: the background job
``label_efficiency`` is paused (SIGSTOP) while timing and resumed (SIGCONT) after, and the
load average is printed before and after.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_summary  # noqa: E402

FEATURES = 20


def make_data(path: Path, rows: int, labeled: int, files: int, seed: int = 0) -> None:
    import pandas as pd

    marker = path / f"_done-{rows}-{labeled}-{files}"
    if marker.exists():
        return
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.parquet"):
        old.unlink()
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(FEATURES)
    chosen = np.sort(rng.choice(rows, labeled, replace=False))
    edges = np.linspace(0, rows, files + 1).astype(np.int64)
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        X = rng.standard_normal((b - a, FEATURES))
        y = (X @ w + rng.standard_normal(b - a) > 0).astype(np.float64)
        mask = np.zeros(b - a, dtype=bool)
        mask[chosen[(chosen >= a) & (chosen < b)] - a] = True
        frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(FEATURES)])
        frame["label"] = np.where(mask, y, np.nan)
        frame.to_parquet(path / f"part-{i:04d}.parquet")
    marker.write_text("ok\n")


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_one(mode: str, strategy: str, data: Path, budget: int, workers: int) -> dict:
    import dami_np

    out: dict = {"mode": mode, "strategy": strategy}
    if mode == "local":
        import pandas as pd

        start = time.perf_counter()
        frame = pd.read_parquet(data)
        picks = dami_np.query(frame.drop(columns=["label"]), frame["label"], budget, strategy=strategy, random_state=0)
        out["seconds"] = time.perf_counter() - start
        out["driver_peak"] = _peak_rss()
    else:
        import dask.dataframe as dd
        from distributed import Client, LocalCluster

        from dami_np._dask import _round

        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            client.run(lambda: __import__("dami_np").kernels.nearest_sq_distances(np.zeros((2, 2)), np.ones((1, 2))))
            start = time.perf_counter()
            frame = dd.read_parquet(str(data))
            picks = dami_np.query(frame, "label", budget, strategy=strategy, random_state=0)
            out["seconds"] = time.perf_counter() - start
            info = _round.LAST_ROUND
            out.update(round_trips=info.round_trips, kcenter_round_trips=info.kcenter.round_trips,
                       kcenter_requests=info.kcenter.requests, kcenter_to_driver=info.kcenter.bytes_to_driver,
                       kcenter_to_workers=info.kcenter.bytes_to_workers, blocks=info.n_blocks,
                       kcenter_request_seconds=info.kcenter.request_seconds,
                       stages={k: round(v, 2) for k, v in info.seconds.items()})
            stats = client.run(lambda dask_worker: (_peak_rss(), getattr(dask_worker, "transfer_outgoing_bytes_total", 0)))
            out["worker_peak"] = [v[0] for v in stats.values()]
            out["worker_transfers"] = int(sum(v[1] for v in stats.values()))
            out["driver_peak"] = _peak_rss()
    out["picks"] = [int(p) for p in picks]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--labeled", type=int, default=1000)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data", type=Path, default=Path("/tmp/dami-np-dask-pool"))
    parser.add_argument("--strategies", default="margin,dami")
    parser.add_argument("--modes", default="local,dask")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    parser.add_argument("--no-pause", action="store_true",
                        help="do not SIGSTOP the background job label_efficiency (a shared machine: not ours to stop)")
    parser.add_argument("--one", nargs=2, metavar=("MODE", "STRATEGY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    data = args.data / f"{args.rows}"
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], data, args.budget, args.workers)))
        return
    make_data(data, args.rows, args.labeled, args.files)
    paused = False if args.no_pause else _pause("label_efficiency")
    load_before = os.getloadavg()
    results = []
    try:
        for strategy in args.strategies.split(","):
            for mode in args.modes.split(","):
                cmd = [sys.executable, __file__, "--rows", str(args.rows), "--budget", str(args.budget),
                       "--workers", str(args.workers), "--data", str(args.data), "--one", mode, strategy]
                try:
                    done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
                except subprocess.TimeoutExpired:
                    results.append({"mode": mode, "strategy": strategy, "error": [f"not done in {args.timeout} s"]})
                    continue
                if done.returncode != 0:
                    results.append({"mode": mode, "strategy": strategy, "error": done.stderr.strip().splitlines()[-1:]})
                    continue
                results.append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(f"# done {mode} {strategy}: {results[-1]['seconds']:.1f} s", file=sys.stderr, flush=True)
    finally:
        _resume(paused)
    load_after = os.getloadavg()
    report(args, results, load_before, load_after, paused)


def _pause(pattern: str) -> bool:
    """SIGSTOP the shared machine's background job while timing (resumed in ``_resume``)."""
    found = subprocess.run(["pkill", "-STOP", "-f", pattern]).returncode == 0
    if found:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: (_resume(True), sys.exit(1)))
    return found


def _resume(paused: bool) -> None:
    if paused:
        subprocess.run(["pkill", "-CONT", "-f", "label_efficiency"])


def _gib(value: float) -> str:
    return f"{value / 2**30:.2f}"


def report(args, results, load_before, load_after, paused) -> None:
    print("# One round on Dask vs one process\n")
    print(f"`python bench/dask_round.py --rows {args.rows} --labeled {args.labeled} --budget {args.budget} "
          f"--workers {args.workers}` on {_dt.date.today().isoformat()}  ")
    print(f"Machine: {machine_summary()}  ")
    print(f"Load average before / after: {' '.join(f'{v:.2f}' for v in load_before)} / "
          f"{' '.join(f'{v:.2f}' for v in load_after)}; background job label_efficiency "
          f"{'paused during the runs' if paused else 'not paused (--no-pause)' if args.no_pause else 'not running'}.  ")
    print(f"Data: {args.rows:,} rows x {FEATURES} float64 features, {args.labeled:,} labeled, {args.files} Parquet files; "
          f"{args.budget:,} picks, seed 0; LocalCluster of {args.workers} worker processes x 1 thread.\n")
    print("| strategy | path | wall s | vs local | same picks | round trips (K-Center) | K-Center bytes to driver / to workers | "
          "worker-to-worker bytes | peak RSS driver GiB | peak RSS per worker GiB |")
    print("|---|---|---:|---:|---|---|---|---:|---:|---|")
    by = {(r["strategy"], r["mode"]): r for r in results}
    for r in results:
        if "error" in r:
            print(f"| {r['strategy']} | {r['mode']} | error: {' '.join(r['error'])} | | | | | | | |")
            continue
        local = by.get((r["strategy"], "local"))
        ratio = f"{r['seconds'] / local['seconds']:.2f}x" if local and "seconds" in local and r["mode"] != "local" else ""
        same = "" if r["mode"] == "local" or not local or "picks" not in local else ("yes" if local["picks"] == r["picks"] else "NO")
        if r["mode"] == "local":
            print(f"| {r['strategy']} | local | {r['seconds']:.1f} | | | | | | {_gib(r['driver_peak'])} | |")
        else:
            trips = f"{r['round_trips']} ({r['kcenter_round_trips']}: blocks asked {r['kcenter_requests']})"
            print(f"| {r['strategy']} | dask | {r['seconds']:.1f} | {ratio} | {same} | {trips} | "
                  f"{r['kcenter_to_driver']:,} / {r['kcenter_to_workers']:,} | {r['worker_transfers']:,} | "
                  f"{_gib(r['driver_peak'])} | {', '.join(_gib(v) for v in r['worker_peak'])} |")
    print()
    for r in results:
        if r.get("mode") == "dask" and "stages" in r:
            print(f"- {r['strategy']} on dask: stages (s) {r['stages']}, {r['blocks']} K-Center blocks")
    print("\nPreprocessing: the float columns are fitted by dask reductions (exact sums and median keys; "
          "no column moves, bench/results/column-stats.md); the worker-to-worker bytes above are the rows "
          "the strategies' chunks and batches move.")


if __name__ == "__main__":
    main()
