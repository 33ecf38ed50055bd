"""Whole `dami select` processes on a generated table against the scikit-learn script a user would write.

    python bench/end_to_end.py                           # 100k and 1M rows, CSV and Parquet, everything
    python bench/end_to_end.py --rows 100000 --repeat 3  # 100k only, each command 3 times
    python bench/end_to_end.py --out bench/results/end-to-end.md   # append the result as Markdown

The table (seeded): ``--rows`` x 50 float columns ``x0..x49`` from 10 Gaussian classes and a
``label`` column, filled on 1,000 random rows (``c0``..``c9``), empty elsewhere; written once
per size as Parquet and CSV under ``--data``.  Every command is a fresh process timed by GNU
time (wall, user+system CPU, peak RSS), in this order per size and format:

- ``script``: the hand-written scikit-learn round (``pd.read_csv``/``read_parquet``,
  ``StandardScaler`` on all rows, ``sklearn.neural_network.MLPClassifier`` fit on the labeled
  rows, margin over the pool, the 100 smallest, a CSV of the picks), one and two hidden layers;
- ``dami select TABLE --label label --budget 100 --strategy S`` for margin, the default and
  dami, through ``dami_np.cli.console_main`` (the ``dami`` console script) with the default ``MLPClassifier``'s ``hidden_layer_sizes``
  set to (100,) (its default) or (64, 64) (the CLI has no option for it).

``DAMI_NP_TIMINGS=1`` makes ``dami select`` print its stages (``dami_np._timings``); the table
splits each run into startup (interpreter and imports), read, checks, preprocessing, fit, scores
(the strategy's own work), representations, K-Center, report, write and exit (the interpreter's
shutdown after ``main`` returns, or after the script's last line).  The ratio is the
script's wall time over the command's (same size, format and depth, same run of this program).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_summary  # noqa: E402

D, CLASSES, LABELED, BUDGET = 50, 10, 1_000, 100
HIDDEN = {1: (100,), 2: (64, 64)}
STAGES = ("startup", "read", "checks", "preprocessing", "fit", "scores", "representations", "kcenter", "report",
          "write", "exit")

SCRIPT = r"""
import sys, time
import numpy as np, pandas as pd
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
path, out, hidden = sys.argv[1], sys.argv[2], tuple(int(h) for h in sys.argv[3].split(","))
marks = [("startup", time.time())]
frame = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
marks.append(("read", time.time()))
y = frame.pop("label")
labeled = y.notna().to_numpy()
X = StandardScaler().fit_transform(frame.to_numpy())
marks.append(("preprocessing", time.time()))
model = MLPClassifier(hidden_layer_sizes=hidden, random_state=0).fit(X[labeled], y[labeled])
marks.append(("fit", time.time()))
pool = np.flatnonzero(~labeled)
proba = model.predict_proba(X[pool])
top2 = np.sort(proba, axis=1)[:, -2:]
picks = pool[np.argsort(top2[:, 1] - top2[:, 0], kind="stable")[:100]]
marks.append(("scores", time.time()))
pd.DataFrame({"row": picks}).to_csv(out, index=False)
marks.append(("write", time.time()))
for (_, before), (name, after) in zip(marks, marks[1:]):
    print(f"script-stage: {name} {after - before:.4f}", file=sys.stderr)
print(f"script-start: {marks[0][1]:.4f}", file=sys.stderr)
print(f"script-end: {marks[-1][1]:.4f}", file=sys.stderr)
"""

CLI = r"""
import atexit, sys, time
from dami_np import MLPClassifier
from dami_np.cli import console_main
MLPClassifier.__init__.__defaults__ = (tuple(int(h) for h in sys.argv[1].split(",")),)
atexit.register(lambda: print(f"main-end: {time.time():.4f}", file=sys.stderr, flush=True))  # runs last
sys.argv = ["dami", *sys.argv[2:]]
console_main()  # what the `dami` console script runs, its exit included
"""


def make_table(rows: int, data: Path) -> dict[str, Path]:
    """The seeded table at ``rows`` rows as Parquet and CSV (written once, then reused)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    paths = {"parquet": data / f"table-{rows}.parquet", "csv": data / f"table-{rows}.csv"}
    if all(p.exists() for p in paths.values()):
        return paths
    data.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(rows)
    centers = rng.normal(size=(CLASSES, D)) * 1.5
    classes = rng.integers(0, CLASSES, size=rows)
    X = centers[classes] + rng.normal(size=(rows, D))
    label = np.full(rows, None, dtype=object)
    chosen = rng.choice(rows, size=LABELED, replace=False)
    label[chosen] = np.array([f"c{c}" for c in range(CLASSES)], dtype=object)[classes[chosen]]
    columns = {f"x{j}": X[:, j] for j in range(D)}
    columns["label"] = pa.array(label, type=pa.string())
    table = pa.table(columns)
    pq.write_table(table, paths["parquet"])
    pacsv.write_csv(table, paths["csv"])
    return paths


def timed(command: list[str], env: dict[str, str]) -> dict[str, object]:
    """Run ``command`` under GNU time; wall, CPU, peak RSS, stderr and the launch time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as clock:
        launch = time.time()
        done = subprocess.run(["/usr/bin/time", "-o", clock.name, "-f", "%e %U %S %M", *command],
                              capture_output=True, text=True, env=env, cwd=ROOT)
        wall, user, system, rss_kb = clock.read().split()[-4:]
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-2000:]}")
    return {"wall": float(wall), "cpu": float(user) + float(system), "rss_gib": int(rss_kb) / 2**20,
            "stderr": done.stderr, "launch": launch}


def dami_stages(run: dict[str, object]) -> dict[str, float]:
    """Exclusive seconds per stage from the ``DAMI_NP_TIMINGS`` lines of one run."""
    lines = [line.split()[1:] for line in str(run["stderr"]).splitlines() if line.startswith("dami-timing:")]
    seen: dict[str, dict[str, float]] = {}
    for fields in lines:
        values = dict(field.split("=", 1) for field in fields)
        name = values.pop("stage")
        entry = seen.setdefault(name, {"wall": 0.0})
        entry["wall"] += float(values["wall"])
        for key in ("start", "end"):
            if key in values:
                entry[key] = float(values[key])
    stages = {name: seen[name]["wall"] for name in ("read", "preprocessing", "fit", "representations", "kcenter",
                                                    "report") if name in seen}
    launch, wall = float(run["launch"]), float(run["wall"])  # type: ignore[arg-type]
    if "read" in seen:
        stages["startup"] = seen["read"]["start"] - launch
    if "read" in seen and "round" in seen:
        stages["checks"] = seen["round"]["start"] - seen["read"]["end"]
    if "round" in seen:
        inner = sum(stages.get(name, 0.0) for name in ("preprocessing", "fit", "representations", "kcenter", "report"))
        stages["scores"] = seen["round"]["wall"] - inner
        stages["write"] = launch + wall - seen["round"]["end"]
        main_end = _marked_time(run, "main-end:")
        if main_end is not None:  # after main returns: the interpreter's shutdown
            stages["write"] = main_end - seen["round"]["end"]
            stages["exit"] = launch + wall - main_end
    return stages


def _marked_time(run: dict[str, object], prefix: str) -> float | None:
    """The time printed on the ``prefix`` line of a run's stderr, if any."""
    for line in str(run["stderr"]).splitlines():
        if line.startswith(prefix):
            return float(line.split()[1])
    return None


def script_stages(run: dict[str, object]) -> dict[str, float]:
    stages = {}
    for line in str(run["stderr"]).splitlines():
        if line.startswith("script-stage:"):
            _, name, seconds = line.split()
            stages[name] = float(seconds)
    start, end = _marked_time(run, "script-start:"), _marked_time(run, "script-end:")
    if start is not None:
        stages["startup"] = start - float(run["launch"])  # type: ignore[arg-type]
    if end is not None:
        stages["exit"] = float(run["launch"]) + float(run["wall"]) - end  # type: ignore[arg-type]
    return stages


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "uptime unavailable"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000", help="comma-separated table sizes")
    parser.add_argument("--formats", default="parquet,csv")
    parser.add_argument("--strategies", default="margin,default,dami")
    parser.add_argument("--depths", default="1,2", help="hidden layers: 1 (100,) and/or 2 (64, 64)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per command (the table shows each)")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "dami-end-to-end")
    parser.add_argument("--out", type=Path, help="append the Markdown result to this file (default: stdout)")
    args = parser.parse_args()
    env = dict(os.environ, DAMI_NP_TIMINGS="1")
    python = sys.executable
    lines = [f"## `python bench/end_to_end.py {' '.join(sys.argv[1:])}`", "",
             f"- date: {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {machine_summary()}",
             f"- commit: {commit_name()}", f"- load before: `{uptime()}`", ""]
    header = ("| rows | format | layers | command | wall s | CPU s | peak RSS GiB | x script | "
              + " | ".join(STAGES) + " |")
    lines += [header, "|" + "---|" * (8 + len(STAGES))]
    with tempfile.TemporaryDirectory() as scratch:
        out = str(Path(scratch) / "picks.csv")
        for rows in [int(r) for r in args.rows.split(",")]:
            paths = make_table(rows, args.data)
            for fmt in args.formats.split(","):
                path = str(paths[fmt])
                for depth in [int(d) for d in args.depths.split(",")]:
                    hidden = ",".join(str(h) for h in HIDDEN[depth])
                    commands = [("script", [python, "-c", SCRIPT, path, out, hidden], script_stages)]
                    for strategy in args.strategies.split(","):
                        chosen = [] if strategy == "default" else ["--strategy", strategy]
                        cli = [python, "-c", CLI, hidden]  # `dami` itself, with the default model's hidden layers
                        commands.append((f"dami {strategy}",
                                         cli + ["select", path, "--label", "label", "--budget", str(BUDGET),
                                                "--out", out, "-q", *chosen], dami_stages))
                    script_wall = None
                    for name, command, stages_of in commands:
                        for _ in range(args.repeat):
                            run = timed(command, env)
                            stages = stages_of(run)
                            if name == "script":
                                script_wall = float(run["wall"])  # type: ignore[arg-type]
                            ratio = f"{script_wall / float(run['wall']):.2f}" if script_wall else ""  # type: ignore[arg-type]
                            cells = [f"{stages[s]:.2f}" if s in stages else "" for s in STAGES]
                            row = (f"| {rows:,} | {fmt} | {depth} | {name} | {run['wall']:.2f} | {run['cpu']:.2f} | "
                                   f"{run['rss_gib']:.2f} | {ratio} | " + " | ".join(cells) + " |")
                            print(row, file=sys.stderr, flush=True)
                            lines.append(row)
    lines += ["", f"- load after: `{uptime()}`", ""]
    write_result(lines, args.out)


def write_result(lines: list[str], out: Path | None) -> None:
    """The Markdown lines appended to ``out``, or written to standard output."""
    text = "\n".join(lines) + "\n"
    if out:
        with open(out, "a", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)


def commit_name() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=ROOT).stdout.strip()
        return head.stdout.strip() + (" (working tree with uncommitted changes)" if dirty else "")
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
