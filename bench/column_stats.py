"""Exact column statistics (issues #23, #27): the preprocessor's fit before/after, picks, Dask bytes.

Compares two source trees: ``--before`` (e.g. ``git archive HEAD | tar -x -C /tmp/stats-before``
taken before the change) and this checkout; each measurement runs in a fresh process with the
tree first on ``PYTHONPATH`` (``dami_np.kernels`` comes from the installed checkout in both).

- ``fit``: ``TabularPreprocessor().fit`` on the 1M x 50 table of ``bench/end_to_end.py`` (label
  column dropped), after one warm-up fit; before and after interleaved (same load), ``--rounds``
  times, ``--reps`` fits per process.
- ``picks``: the 18 development tables x seeds 0-4, 20 random labeled rows (seeded), the default
  strategy, budget 20: how many pick lists are identical; how many fitted means/scales differ.
- ``dask``: bytes moved while the preprocessor is fitted on a 1M-row table in 4 partitions on a
  LocalCluster of 2 workers (1 thread each): worker-to-worker transfers and bytes gathered to the
  driver (``dask.sizeof``).

    nice -n 10 .venv/bin/python bench/column_stats.py --before /tmp/stats-before all
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TABLE = "/tmp/dami-end-to-end/table-1000000.parquet"
RESULT = HERE / "results" / "column-stats.md"


# ---------------------------------------------------------------------- in the measured process
def _fit_times(path: str, reps: int) -> dict:
    import pandas as pd

    from dami_np._preprocess import TabularPreprocessor

    frame = pd.read_parquet(path).drop(columns=["label"])
    TabularPreprocessor().fit(frame)  # warm-up (kernels compile or load from the cache)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        TabularPreprocessor().fit(frame)
        times.append(time.perf_counter() - start)
    return {"times": times, "shape": list(frame.shape)}


def _picks() -> dict:
    import numpy as np
    import pandas as pd

    import dami_np
    from dami_np._preprocess import TabularPreprocessor

    sys.path.insert(0, str(HERE))
    import _tables

    out: dict = {"picks": {}, "specs": {}}
    for name in _tables.names():
        X, y = _tables.load(name)
        pre = TabularPreprocessor().fit(X)
        out["specs"][name] = [[s["name"], float(s["mean"]).hex(), float(s["scale"]).hex()]
                              for s in pre._specs if s["kind"] in ("numeric", "datetime")]
        for seed in range(5):
            rows = np.random.default_rng(seed).choice(len(y), 20, replace=False)
            labels = pd.Series([None] * len(y), dtype=object)
            labels.iloc[rows] = y.astype(object).iloc[rows].to_numpy()
            try:
                picks = dami_np.query(X, labels, 20, random_state=seed).tolist()
            except Exception as exc:  # noqa: BLE001 - recorded, compared like picks
                picks = f"{type(exc).__name__}: {exc}"
            out["picks"][f"{name}/{seed}"] = picks
    return out


def _dask_bytes(path: str) -> dict:
    import inspect

    import dask.dataframe as dd
    import distributed
    import numpy as np
    import pandas as pd
    from dask.sizeof import sizeof

    from dami_np._dask import _partitions

    frame = pd.read_parquet(path).drop(columns=["label"])
    columns = list(frame.columns)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        ddf = dd.from_pandas(frame, npartitions=4)
        del frame
        frames = client.compute(ddf.to_delayed(optimize_graph=True))
        distributed.wait(frames)
        lengths = client.gather(client.map(len, frames, pure=False))
        starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

        def outgoing(dask_worker):
            return dask_worker.transfer_outgoing_bytes_total

        gathered = [0]
        real_gather = client.gather

        def spy(futures, *args, **kwargs):
            result = real_gather(futures, *args, **kwargs)
            gathered[0] += sizeof(result)
            return result

        before = sum(client.run(outgoing).values())
        client.gather = spy
        start = time.perf_counter()
        if len(inspect.signature(_partitions._fit_columns).parameters) == 4:  # the old signature
            _partitions._fit_columns(client, frames, columns, 100)
        else:
            _partitions._fit_columns(client, frames, columns, 100, list(ddf.dtypes), starts)
        seconds = time.perf_counter() - start
        client.gather = real_gather
        moved = sum(client.run(outgoing).values()) - before
    return {"worker_to_worker_bytes": int(moved), "driver_bytes": int(gathered[0]), "seconds": seconds,
            "partitions": [int(x) for x in lengths]}


# ---------------------------------------------------------------------- driver
def _run(tree: str, task: str, *extra: str) -> dict:
    env = {**os.environ, "PYTHONPATH": tree}
    done = subprocess.run([sys.executable, __file__, "_measure", task, *extra], env=env, cwd=tree,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{task} in {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["fit", "picks", "dask", "all", "_measure"])
    parser.add_argument("rest", nargs="*")
    parser.add_argument("--before", default="/tmp/stats-before")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--table", default=TABLE)
    args = parser.parse_args()
    if args.what == "_measure":
        task = args.rest[0]
        result = (_fit_times(args.table, args.reps) if task == "fit" else _picks() if task == "picks"
                  else _dask_bytes(args.table))
        print(json.dumps(result))
        return
    trees = {"before": args.before, "after": str(ROOT)}
    lines = [f"# Exact column statistics: before/after ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
             f"Command: `nice -n 10 .venv/bin/python bench/column_stats.py {' '.join(sys.argv[1:])}`", "",
             f"Load at start: `{_load()}`", ""]
    if args.what in ("fit", "all"):
        times: dict = {"before": [], "after": []}
        for _ in range(args.rounds):
            for label, tree in trees.items():  # interleaved: both see the same load
                times[label] += _run(tree, "fit", "--reps", str(args.reps), "--table", args.table)["times"]
        lines += ["## `TabularPreprocessor().fit` on 1M x 50 (Parquet table, label dropped)", "",
                  "| tree | fits | min s | median s |", "|---|---|---|---|"]
        for label, values in times.items():
            ordered = sorted(values)
            lines.append(f"| {label} | {len(values)} | {ordered[0]:.3f} | {ordered[len(ordered) // 2]:.3f} |")
        lines += ["", f"Load after: `{_load()}`", ""]
    if args.what in ("picks", "all"):
        found = {label: _run(tree, "picks") for label, tree in trees.items()}
        keys = sorted(found["before"]["picks"])
        same = [k for k in keys if found["before"]["picks"][k] == found["after"]["picks"][k]]
        columns = [(t, a, b) for t in found["before"]["specs"]
                   for a, b in zip(found["before"]["specs"][t], found["after"]["specs"][t])]
        mean_diff = sum(a[1] != b[1] for _, a, b in columns)
        scale_diff = sum(a[2] != b[2] for _, a, b in columns)
        changed = [k for k in keys if k not in same]
        lines += ["## Picks on the 18 development tables x seeds 0-4 (20 random labels, default strategy, budget 20)",
                  "", f"- identical pick lists: {len(same)} of {len(keys)}",
                  f"- changed: {', '.join(changed) if changed else 'none'}",
                  f"- numeric columns fitted: {len(columns)}; means that differ: {mean_diff}; scales that differ: "
                  f"{scale_diff} (last bits: exact sums vs NumPy's pairwise sums of the sorted column)", "",
                  f"Load after: `{_load()}`", ""]
    if args.what in ("dask", "all"):
        moved = {label: _run(tree, "dask", "--table", args.table) for label, tree in trees.items()}
        lines += ["## Dask: bytes moved while fitting the preprocessor (1M x 50, 4 partitions, 2 workers)", "",
                  "| tree | worker-to-worker bytes | bytes gathered to the driver | seconds |", "|---|---|---|---|"]
        for label, m in moved.items():
            lines.append(f"| {label} | {m['worker_to_worker_bytes']:,} | {m['driver_bytes']:,} | {m['seconds']:.2f} |")
        lines += ["", f"Partitions: {moved['after']['partitions']}.", "", f"Load after: `{_load()}`", ""]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.what == "all":
        RESULT.parent.mkdir(parents=True, exist_ok=True)
        RESULT.write_text(text)


if __name__ == "__main__":
    main()
