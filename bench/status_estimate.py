"""Is the status accuracy estimate honest?  And the audit estimate?  (issue 25)

Replays the ``dami select --model`` workflow with the stop rule's harness (``stopping_rule.run``:
development tables, stratified 70/30 split, 20 random initial labels, rounds of 20 picks by the
default strategy, warm-started models).  After each round, for the round's model:

- the *true pool accuracy*: its accuracy on the unlabeled training rows (what a user wants to know);
- the *status estimate*: ``dami_np.stopping.cv_accuracy`` on the labeled rows (5-fold, the model's
  parameters, as ``dami status`` prints it) with its 95% Wilson interval: its bias (estimate minus
  true pool accuracy) and how often the interval holds the true pool accuracy;
- the *audit estimate* of ``dami select --audit N``: ``--draws`` independent uniform samples of N
  unlabeled rows (``stopping.audit_sample``), the model's accuracy on them and the 95% Wilson
  interval (``stopping.audit_estimate``): its bias and coverage of the true pool accuracy;
- the *coverage radius* in the preprocessed input space (``stopping.input_coverage_radius``):
  whether it ever grows from one round to the next.

    nice -n 10 python bench/status_estimate.py                 # writes bench/results/status-estimate.md
    python bench/status_estimate.py --tables wdbc --seeds 1 --rounds 3 --out /tmp/x.md   # quick look
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dami_np  # noqa: E402
from dami_np import stopping  # noqa: E402

import _machine  # noqa: E402
import stopping_rule  # noqa: E402


def observer(audit_sizes: list[int], draws: int):
    """The per-round measurements (``stopping_rule.run``'s ``observe`` hook)."""

    def observe(model, present, Xtr, ytr, labeled, seed) -> dict:
        pool = np.flatnonzero(~labeled)
        predicted = present[model.predict(Xtr)]
        correct = predicted == ytr
        truth = float(np.mean(correct[pool])) if pool.size else float("nan")
        out = {"pool_accuracy": truth, "radius": stopping.input_coverage_radius(Xtr, labeled)}
        codes = np.searchsorted(present, ytr[labeled])
        params = {k: v for k, v in model.get_params().items() if k not in ("random_state", "warm_start")}
        cv = stopping.cv_accuracy(Xtr[labeled], codes, params=params, random_state=seed)
        if cv is not None:
            accuracy, (lo, hi), _ = cv
            out.update(cv=accuracy, cv_covers=bool(lo <= truth <= hi))
        for n in audit_sizes:
            if pool.size < n:
                continue
            estimates, covers = [], []
            for draw in range(draws):
                rows = stopping.audit_sample(pool, n, seed=seed * 100003 + draw)
                accuracy, (lo, hi), _ = stopping.audit_estimate(predicted[rows], ytr[rows])
                estimates.append(accuracy)
                covers.append(lo <= truth <= hi)
            out[f"audit{n}_bias"] = float(np.mean(estimates) - truth)
            out[f"audit{n}_covers"] = float(np.mean(covers))
        return out

    return observe


def table_lines(runs: list[tuple[str, int, list[dict]]], audit_sizes: list[int]) -> list[str]:
    head = "| table | rounds measured | mean true pool accuracy | status (CV) bias | status interval coverage |"
    rule = "|---|---|---|---|---|"
    for n in audit_sizes:
        head += f" audit {n} bias | audit {n} coverage |"
        rule += "---|---|"
    head += " radius grew (rounds) |"
    rule += "---|"
    lines = [head, rule]
    tables = list(dict.fromkeys(t for t, _, _ in runs))
    for table in tables + ["all"]:
        records = [r for t, _, rs in runs if table in ("all", t) for r in rs if "cv" in r]
        grew = sum(int(b["radius"] > a["radius"] + 1e-12) for t, _, rs in runs if table in ("all", t)
                   for a, b in zip(rs, rs[1:]) if a["radius"] is not None and b["radius"] is not None)
        cells = [table, str(len(records)), f"{np.mean([r['pool_accuracy'] for r in records]):.3f}",
                 f"{np.mean([r['cv'] - r['pool_accuracy'] for r in records]):+.3f}",
                 f"{np.mean([r['cv_covers'] for r in records]):.2f}"]
        for n in audit_sizes:
            got = [r for r in records if f"audit{n}_bias" in r]
            cells += [f"{np.mean([r[f'audit{n}_bias'] for r in got]):+.4f}" if got else "",
                      f"{np.mean([r[f'audit{n}_covers'] for r in got]):.3f}" if got else ""]
        cells.append(str(grew))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def conclusion(runs: list[tuple[str, int, list[dict]]], audit_sizes: list[int]) -> list[str]:
    """The answer in words, from the same numbers as the table."""
    records = [r for _, _, rs in runs for r in rs if "cv" in r]
    bias = np.mean([r["cv"] - r["pool_accuracy"] for r in records])
    cover = np.mean([r["cv_covers"] for r in records])
    audit = [(n, np.mean([r[f"audit{n}_bias"] for r in records if f"audit{n}_bias" in r]),
              np.mean([r[f"audit{n}_covers"] for r in records if f"audit{n}_covers" in r])) for n in audit_sizes]
    return [
        f"**Conclusion.** Over {len(records)} rounds the status estimate (cross-validation on the labeled rows) was "
        f"{bias:+.3f} off the true pool accuracy on average (pessimistic: the picks are the hard rows) and its "
        f"printed 95% interval held the true pool accuracy in {cover:.0%} of the rounds: it cannot be made an "
        "estimate of the pool accuracy from the labeled rows alone, and `dami status` now says what it is "
        "(\"accuracy on the rows chosen for labeling; pessimistic\"). Audit rows are unbiased (mean error "
        + ", ".join(f"{b:+.4f} with {n} rows" for n, b, _ in audit) + ") and their 95% interval held the true pool "
        "accuracy in " + " and ".join(f"{c:.1%} (N = {n})" for n, _, c in audit) + " of the draws: at or above "
        "the nominal 95% (drawing without replacement from a finite pool makes the Wilson interval conservative).",
        "",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", default="wdbc,pima,vehicle,australian")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--initial", type=int, default=20)
    parser.add_argument("--audit", default="30,100", help="audit sample sizes N")
    parser.add_argument("--draws", type=int, default=200, help="audit samples drawn per round and size")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "status-estimate.md"))
    args = parser.parse_args()
    sizes = [int(n) for n in args.audit.split(",")]
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    runs = []
    for table in args.tables.split(","):
        for seed in range(args.seeds):
            records = stopping_rule.run(table, seed, args.rounds, args.batch, args.initial, True,
                                        dami_np.DEFAULT_STRATEGY, observe=observer(sizes, args.draws))
            runs.append((table, seed, records))
            print(f"{table} seed {seed}: {len(records)} rounds", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    lines = [
        "# Status accuracy estimate vs audit rows: bias and coverage on the development tables",
        "",
        f"Generated by `nice -n 10 python bench/status_estimate.py` (`--tables {args.tables} --seeds {args.seeds} "
        f"--rounds {args.rounds} --audit {args.audit} --draws {args.draws}`) on "
        f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; machine: {_machine.machine_summary()}; "
        f"1-minute load {load_before:.2f} at the start, {os.getloadavg()[0]:.2f} at the end (other agents' work "
        f"included); {seconds:.0f} s.",
        "",
        "Workflow replayed with the stop rule's harness (`bench/stopping_rule.py`: stratified 70/30 split, "
        f"{args.initial} random initial labels, up to {args.rounds} rounds of {args.batch} picks by "
        f"`{dami_np.DEFAULT_STRATEGY}`, warm-started models). Per round (rounds where every class has 2 labels): "
        "*true pool accuracy* = the round's model on the unlabeled training rows; *status (CV)* = the 5-fold "
        "cross-validated accuracy on the labeled rows that `dami status` prints, bias = estimate - true, coverage = "
        "share of rounds whose printed 95% interval holds the true pool accuracy; *audit N* = accuracy on N rows "
        f"drawn uniformly from the unlabeled rows (`dami select --audit N`), {args.draws} draws per round: bias and "
        "share of draws whose 95% Wilson interval holds the true pool accuracy (nominal 0.95); *radius grew* = "
        "rounds in which the input-space coverage radius was larger than the round before (it cannot grow: the "
        "space is fixed and labels are only added).",
        "",
    ] + table_lines(runs, sizes) + [""] + conclusion(runs, sizes)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
