"""The preprocessor's fit and transform at 1M x 50 (issue 27): before/after, each in a fresh process.

Compares two source trees: ``--before`` (``git archive <commit> dami_np kernels | tar -x -C DIR``
then ``mv DIR/kernels DIR/dami_np/kernels``, so the tree carries its own kernels and Numba cache)
and this checkout. Every measurement is a fresh process with the tree first on ``PYTHONPATH``;
before and after alternate (same load), ``--rounds`` times, after one warm-up process each (Numba's
on-disk cache warm). In each process: ``pd.read_parquet`` of the 1M x 50 table of
``bench/end_to_end.py`` (label column dropped), then ``TabularPreprocessor().fit`` and
``.transform`` (float64), a second fit and a float32 transform; and the whole
``dami select TABLE --label label --budget 100 --strategy margin -q`` with ``DAMI_NP_TIMINGS=1``
(its stage lines; the fit is in the gap between ``read`` and ``round``: "checks").
Also checks that both trees give the same fitted numbers and the same matrix bits.

    nice -n 10 .venv/bin/python bench/preprocess_1m.py --before /tmp/preprocess-before --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TABLE = "/tmp/dami-end-to-end/table-1000000.parquet"
RESULT = HERE / "results" / "preprocess-1m.md"

_MEASURE = """
import hashlib, json, sys, time
t0 = time.perf_counter()
import numpy as np, pandas as pd
from dami_np._preprocess import TabularPreprocessor
frame = pd.read_parquet(sys.argv[1]).drop(columns=["label"])
t1, c1 = time.perf_counter(), time.process_time()
pre = TabularPreprocessor().fit(frame)
t2, c2 = time.perf_counter(), time.process_time()
out = pre.transform(frame)
t3 = time.perf_counter()
TabularPreprocessor().fit(frame)
t4 = time.perf_counter()
try:
    narrow = pre.transform(frame, dtype=np.float32)
except TypeError:  # a tree from before transform's dtype parameter
    narrow = pre.transform(frame).astype(np.float32)
t5 = time.perf_counter()
del out
again = pre.transform(frame)  # into recycled memory: the arithmetic without first-touch page faults
t6 = time.perf_counter()
out = again
numbers = [[float(s[k]).hex() for k in ("median", "shift", "mean", "scale")] for s in pre._specs]
print(json.dumps({"fit": t2 - t1, "fit_cpu": c2 - c1, "transform": t3 - t2, "fit_again": t4 - t3,
                  "transform_float32": t5 - t4, "transform_again": t6 - t5,
                  "numbers": hashlib.sha256(json.dumps(numbers).encode()).hexdigest()[:16],
                  "matrix": hashlib.sha256(out.tobytes()).hexdigest()[:16],
                  "matrix32": hashlib.sha256(narrow.tobytes()).hexdigest()[:16]}))
"""


def _env(tree: str | None, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if tree:
        env["PYTHONPATH"] = tree
    return {**env, **(extra or {})}


def _preprocess(tree: str | None, extra: dict | None = None) -> dict:
    run = subprocess.run([sys.executable, "-c", _MEASURE, TABLE], env=_env(tree, extra), capture_output=True,
                         text=True, cwd=tempfile.gettempdir(), check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def _select(tree: str | None, out: str, extra: dict | None = None) -> dict:
    """Stage walls of one ``dami select`` run (and the whole command's wall)."""
    command = [sys.executable, "-c", "from dami_np.cli import console_main; console_main()", "select", TABLE,
               "--label", "label", "--budget", "100", "--strategy", "margin", "-q", "--out", out]
    start = time.perf_counter()
    run = subprocess.run(command, env={**_env(tree, extra), "DAMI_NP_TIMINGS": "1"}, capture_output=True, text=True,
                         cwd=tempfile.gettempdir(), check=True)
    wall = time.perf_counter() - start
    stages = {m["stage"]: (float(m["wall"]), float(m["start"]), float(m["end"])) for m in re.finditer(
        r"stage=(?P<stage>\w+) wall=(?P<wall>[\d.]+) .*?start=(?P<start>[\d.]+) end=(?P<end>[\d.]+)", run.stderr)}
    result = {name: value[0] for name, value in stages.items()}
    if "read" in stages and "round" in stages:
        result["checks"] = stages["round"][1] - stages["read"][2]
    result["command"] = wall
    result["picks"] = Path(out).read_bytes()
    return result


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _median(rows: list[dict], key: str) -> float:
    values = [row[key] for row in rows if key in row]
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="source tree of the old code (dami_np with its kernels)")
    parser.add_argument("--before-label", default="before")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=VAR=VALUE",
                        help="also measure both trees with an environment variable set (repeatable), "
                             "e.g. one-thread=NUMBA_NUM_THREADS=1")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from _machine import machine_summary

    trees = {args.before_label: args.before, "after": None}
    extras: dict[str, dict] = {}
    for variant in args.variant:
        name, variable, value = variant.split("=", 2)
        for base in (args.before_label, "after"):
            trees[f"{base}, {name}"] = trees[base]
            extras[f"{base}, {name}"] = {variable: value}
    load_start = _uptime()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for name, tree in trees.items():  # warm-up: Numba's cache written or loaded once per tree
        _preprocess(tree, extras.get(name))
    results: dict[str, dict[str, list]] = {name: {"preprocess": [], "select": []} for name in trees}
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(args.rounds):
            for name, tree in trees.items():
                results[name]["preprocess"].append(_preprocess(tree, extras.get(name)))
                results[name]["select"].append(_select(tree, f"{scratch}/{len(results[name]['select'])}.csv",
                                                       extras.get(name)))
    load_end = _uptime()
    same_numbers = len({row["numbers"] for rows in results.values() for row in rows["preprocess"]}) == 1
    same_matrix = len({row["matrix"] for rows in results.values() for row in rows["preprocess"]}) == 1
    same_matrix32 = len({row["matrix32"] for rows in results.values() for row in rows["preprocess"]}) == 1
    same_picks = len({row.pop("picks") for rows in results.values() for row in rows["select"]}) == 1
    lines = [
        "# The preprocessor's fit and transform at 1M x 50 (issue 27)",
        "",
        f"Produced by `bench/preprocess_1m.py --before <tree of {args.before_label}> --rounds {args.rounds}` "
        f"on {started}. Machine: {machine_summary()}.",
        f"Load (`uptime`) at the start: `{load_start}`; at the end: `{load_end}`.",
        "",
        f"Table `{TABLE}` (1,000,000 rows x 50 float64 columns, no missing values; `bench/end_to_end.py`).",
        "Every number is the median of the fresh processes (before and after alternated, Numba cache warm);",
        "`fit` and `transform` are the first calls in their process (Numba's one-time start included),",
        "`fit cpu` the process's CPU seconds (all threads) during the first fit, `fit again` the second fit,",
        "`transform float32` the float32 matrix (before: float64 then `astype`).",
        "`dami select` is `--strategy margin --budget 100 -q` with `DAMI_NP_TIMINGS=1`: `checks` is the gap",
        "between the read and the round (the CLI's checks, the fit among them), `preprocessing` the transform.",
        "",
        f"Same fitted numbers: {same_numbers}; same float64 matrix bits: {same_matrix}; "
        f"same float32 matrix bits: {same_matrix32}; same picks file: {same_picks}.",
        "".join(f"`{name}`: with `{' '.join(f'{k}={v}' for k, v in extra.items())}`. "
                for name, extra in extras.items()),
        "",
        "On this VM the first write to freshly mapped memory is slow (400 MB: ~0.9 s on one thread, ~0.5 s on",
        "two; ~0.03 s into recycled pages), so a transform's time swings with the allocator's state:",
        "`transform again` writes into recycled memory (the arithmetic). With other sessions busy, two",
        "threads get less than two cores: `fit cpu` near `fit` means about one core's worth of work.",
        "",
        "| seconds | " + " | ".join(trees) + " |",
        "|---|" + "---|" * len(trees),
    ]
    for key in ("fit", "fit_cpu", "transform", "fit_again", "transform_float32", "transform_again"):
        lines.append(f"| {key.replace('_', ' ')} | " + " | ".join(
            f"{_median(results[name]['preprocess'], key):.3f}" for name in trees) + " |")
    for key in ("checks", "preprocessing", "round", "command"):
        lines.append(f"| dami select: {key} | " + " | ".join(
            f"{_median(results[name]['select'], key):.3f}" for name in trees) + " |")
    lines += ["", "Every run (seconds):", ""]
    for name in trees:
        for kind in ("preprocess", "select"):
            for row in results[name][kind]:
                shown = {k: round(v, 3) for k, v in row.items() if isinstance(v, float)}
                lines.append(f"- {name} {kind}: `{json.dumps(shown)}`")
    RESULT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:30]))


if __name__ == "__main__":
    main()
