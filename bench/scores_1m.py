"""The "scores" stage of a 1M-row `dami select` (the candidates' probabilities, margins, top picks), two trees interleaved.

    python bench/scores_1m.py --before bcf6ef1 --after HEAD                # 3 runs per tree and command
    python bench/scores_1m.py --before bcf6ef1 --after HEAD --repeat 5 --out bench/results/scores-1m.md

The table is ``bench/end_to_end.py``'s (``--rows`` x 50 floats, 1,000 labeled, Parquet, made once
under ``--data``).  For each strategy and hidden-layer depth (1: (100,), 2: (64, 64), set as the
default model's ``hidden_layer_sizes`` the way ``end_to_end.py`` does) the two trees (git revisions
exported with ``git archive``, or directories: ``same_picks.export``) run ``dami select TABLE --label
label --budget 100 --strategy S -q`` in turn, before, after, before, after..., each a fresh process
with ``DAMI_NP_TIMINGS=1``.  "scores" is the time from the end of the ``fit`` stage to the start of the
``report`` stage, less the ``representations`` and ``kcenter`` stages inside it (dami_margin's own
second step), with its CPU time (see ``scores_seconds``): on a busy machine the CPU column still
compares.  Each row also says whether the two trees wrote the same picks file, byte for byte.

A second table times the scores alone, in a fresh process per tree (interleaved, ``--repeat`` times):
a seeded 1M x 50 float32 matrix (the round's matrix for the default model), a default
``MLPClassifier`` fitted on 1,000 rows (20 epochs), then ``lowest_first(margins(unlabeled_proba))``
for 100 picks, 5 times in the process (wall and CPU: the smallest and the median of all runs).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_summary  # noqa: E402
from end_to_end import BUDGET, HIDDEN, make_table, uptime, write_result  # noqa: E402
from same_picks import _CLI, export  # noqa: E402


def stage_marks(stderr: str) -> dict[str, dict[str, float]]:
    """``{stage: {"wall", "cpu", "start", "end"}}`` from the ``dami-timing:`` lines (a repeated stage summed)."""
    marks: dict[str, dict[str, float]] = {}
    for line in stderr.splitlines():
        if line.startswith("dami-timing:"):
            values = dict(field.split("=", 1) for field in line.split()[1:])
            entry = marks.setdefault(values["stage"], {"wall": 0.0, "cpu": 0.0})
            entry["wall"] += float(values["wall"])
            entry["cpu"] += float(values["cpu"])
            entry.update({key: float(values[key]) for key in ("start", "end") if key in values})
    return marks


def scores_seconds(marks: dict[str, dict[str, float]]) -> tuple[float, float]:
    """(wall, CPU) seconds.  Wall: from the end of ``fit`` to the start of ``report``, less the stages
    run in between.  CPU (both cores): the ``round`` stage's less every stage inside it, so it also
    holds the round's unstaged checks before preprocessing (the same code in both trees)."""
    inside = sum(marks[name]["wall"] for name in ("representations", "kcenter") if name in marks)
    staged = ("preprocessing", "fit", "representations", "kcenter", "report")
    cpu = marks["round"]["cpu"] - sum(marks[name]["cpu"] for name in staged if name in marks)
    return marks["report"]["start"] - marks["fit"]["end"] - inside, cpu


def run_once(tree: Path, table: str, strategy: str, hidden: str, out: Path) -> tuple[tuple[float, float], float, bytes]:
    """One fresh ``dami select`` process on ``tree``: ((scores wall, CPU), process wall seconds, the picks file)."""
    env = dict(os.environ, PYTHONPATH=str(tree), DAMI_NP_TIMINGS="1")
    command = [sys.executable, "-c", _CLI, hidden, "select", table, "--label", "label", "--budget", str(BUDGET),
               "--strategy", strategy, "--out", str(out), "-q"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tree)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed in {tree} ({done.returncode}): {' '.join(command)}\n{done.stderr[-2000:]}")
    return scores_seconds(stage_marks(done.stderr)), wall, out.read_bytes()


_IN_PROCESS = r"""
import hashlib, sys, time
import numpy as np
import dami_np
from dami_np.strategies import make_context
from dami_np.strategies._uncertainty import lowest_first, margins, unlabeled_proba
hidden = tuple(int(h) for h in sys.argv[1].split(","))
rng = np.random.default_rng(0)
X = rng.normal(size=(1_000_000, 50)).astype(np.float32)
labeled = np.sort(rng.choice(X.shape[0], 1_000, replace=False))
y = np.full(X.shape[0], np.nan)
y[labeled] = rng.integers(0, 10, labeled.size)
model = dami_np.MLPClassifier(hidden_layer_sizes=hidden, max_iter=20, random_state=0).fit(X[labeled], y[labeled])
for _ in range(5):
    context = make_context(X, y, model=model)
    wall, cpu = time.perf_counter(), time.process_time()
    rows, keys = lowest_first(context, margins(unlabeled_proba(context)), 100)
    digest = hashlib.sha256(rows.tobytes() + keys.tobytes()).hexdigest()[:12]
    print("scores", time.perf_counter() - wall, time.process_time() - cpu, digest)
"""


def in_process(tree: Path, hidden: str) -> list[tuple[float, float, str]]:
    """(wall, CPU, picks digest) of each timed run of ``_IN_PROCESS`` on ``tree``."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", _IN_PROCESS, hidden], capture_output=True, text=True,
                          env=env, cwd=tree)
    if done.returncode != 0:
        raise SystemExit(f"failed in {tree} ({done.returncode})\n{done.stderr[-2000:]}")
    return [(float(w), float(c), d) for _, w, c, d in (line.split() for line in done.stdout.splitlines())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision, or a source tree's directory")
    parser.add_argument("--after", default=".", help="git revision, a directory, or . for the working tree")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--strategies", default="margin,dami_margin")
    parser.add_argument("--depths", default="1,2")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tree and command")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "dami-end-to-end")
    parser.add_argument("--out", type=Path, help="append the Markdown result to this file (default: stdout)")
    args = parser.parse_args()
    table = str(make_table(args.rows, args.data)["parquet"])
    lines = [f"## `python bench/scores_1m.py {' '.join(sys.argv[1:])}`", "",
             f"- date: {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {machine_summary()}",
             f"- before: {args.before}; after: {args.after}; table: {args.rows:,} x 50 Parquet, budget {BUDGET}",
             f"- load before: `{uptime()}`", "",
             "| strategy | layers | scores s before (median / min; runs) | scores s after (median / min; runs) | after / before "
             "| scores CPU s before / after (median) | process wall s before / after (median) | picks |",
             "|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        trees = {"before": export(args.before, scratch), "after": export(args.after, scratch)}
        for strategy in args.strategies.split(","):
            for depth in [int(d) for d in args.depths.split(",")]:
                hidden = ",".join(str(h) for h in HIDDEN[depth])
                scores: dict[str, list[float]] = {side: [] for side in trees}
                cpus: dict[str, list[float]] = {side: [] for side in trees}
                walls: dict[str, list[float]] = {side: [] for side in trees}
                picks: dict[str, set[bytes]] = {side: set() for side in trees}
                for _ in range(args.repeat):
                    for side, tree in trees.items():
                        (seconds, cpu), wall, written = run_once(tree, table, strategy, hidden, scratch / f"{side}.csv")
                        scores[side].append(seconds)
                        cpus[side].append(cpu)
                        walls[side].append(wall)
                        picks[side].add(written)
                same = len(picks["before"] | picks["after"]) == 1
                median = {side: statistics.median(values) for side, values in scores.items()}
                row = (f"| {strategy} | {depth} | {median['before']:.3f} / {min(scores['before']):.3f}; "
                       f"{_runs(scores['before'])} | {median['after']:.3f} / {min(scores['after']):.3f}; "
                       f"{_runs(scores['after'])} | {median['after'] / median['before']:.2f} | "
                       f"{_median(cpus['before'])} / {_median(cpus['after'])} | "
                       f"{statistics.median(walls['before']):.2f} / {statistics.median(walls['after']):.2f} | "
                       f"{'same' if same else 'DIFFERENT'} |")
                print(row, file=sys.stderr, flush=True)
                lines.append(row)
        lines += ["", "Scores alone, in one process (`_IN_PROCESS`): seconds, smallest / median", "",
                  "| layers | wall before | wall after | CPU before | CPU after | picks |", "|---|---|---|---|---|---|"]
        for depth in [int(d) for d in args.depths.split(",")]:
            hidden = ",".join(str(h) for h in HIDDEN[depth])
            runs: dict[str, list[tuple[float, float, str]]] = {side: [] for side in trees}
            for _ in range(args.repeat):
                for side, tree in trees.items():
                    runs[side] += in_process(tree, hidden)
            cells = [f"{min(v):.3f} / {statistics.median(v):.3f}" for column in (0, 1)
                     for v in ([r[column] for r in runs[side]] for side in trees)]
            same = len({r[2] for side in trees for r in runs[side]}) == 1
            row = f"| {depth} | " + " | ".join(cells) + f" | {'same' if same else 'DIFFERENT'} |"
            print(row, file=sys.stderr, flush=True)
            lines.append(row)
    lines += ["", f"- load after: `{uptime()}`", ""]
    write_result(lines, args.out)


def _median(values: list[float]) -> str:
    """The median to 2 decimals, or n/a (K-Center's stage line carries no CPU time: dami_margin)."""
    middle = statistics.median(values)
    return "n/a" if middle != middle else f"{middle:.2f}"


def _runs(values: list[float]) -> str:
    return " ".join(f"{v:.3f}" for v in values)


if __name__ == "__main__":
    main()
