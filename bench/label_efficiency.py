"""Label-efficiency report: every strategy on every bundled dataset, same protocol.

    python bench/label_efficiency.py                       # full report (about 20-30 min on 2 cores)
    python bench/label_efficiency.py --datasets wdbc,pima --seeds 2 --rounds 3   # a quick look

Writes ``bench/results/label-efficiency.md`` (tables, computed findings, machine, date, command)
and, per dataset, ``bench/results/label-efficiency/<name>-curves.csv`` and ``<name>.png`` (PNG
only when matplotlib is installed).  The protocol is ``dami_np.simulate``'s: per seed one
stratified split and one random initial set shared by all strategies, the model retrained each
round, AULC = test accuracy averaged over rounds, win/tie/loss paired per seed against random.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import dami_np
from dami_np import datasets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_summary  # noqa: E402

DEFAULT_STRATEGIES = (
    "random", "margin", "entropy", "least_confidence", "coreset", "kcenter_input", "badge",
    "dami", "dami_nobias", "dami_predicted", "boundary", "dami_margin", "dami_boundary",
)
RESULTS = Path(__file__).resolve().parent / "results"


def _machine() -> str:
    return f"{machine_summary()}, Python {platform.python_version()}, numpy {np.__version__}"


def _fmt(mean: float, std: float) -> str:
    return f"{mean:.3f} ± {std:.3f}"


def _dataset_table(summary: pd.DataFrame) -> str:
    rows = ["| strategy | AULC | final accuracy | W/T/L vs random | rank |", "|---|---|---|---|---|"]
    for rec in summary.sort_values("aulc_mean", ascending=False).itertuples():
        rows.append(
            f"| {rec.strategy} | {_fmt(rec.aulc_mean, rec.aulc_std)} | "
            f"{_fmt(rec.final_accuracy_mean, rec.final_accuracy_std)} | {rec.wins}/{rec.ties}/{rec.losses} | {rec.rank:g} |"
        )
    return "\n".join(rows)


def _overall(per_dataset: dict[str, pd.DataFrame]) -> tuple[str, list[str]]:
    """Mean rank and comparisons across datasets, plus computed per-dataset findings."""
    ranks = pd.DataFrame({name: s.set_index("strategy")["rank"] for name, s in per_dataset.items()})
    aulc = pd.DataFrame({name: s.set_index("strategy")["aulc_mean"] for name, s in per_dataset.items()})
    lines = ["| strategy | mean rank | mean AULC | datasets >= margin (AULC) | datasets > random (all seeds' mean) |",
             "|---|---|---|---|---|"]
    order = ranks.mean(axis=1).sort_values().index
    for strategy in order:
        ge_margin = int((aulc.loc[strategy] >= aulc.loc["margin"] - 1e-12).sum()) if "margin" in aulc.index else -1
        gt_random = int((aulc.loc[strategy] > aulc.loc["random"]).sum()) if "random" in aulc.index else -1
        lines.append(
            f"| {strategy} | {ranks.loc[strategy].mean():.2f} | {aulc.loc[strategy].mean():.4f} | "
            f"{ge_margin}/{aulc.shape[1]} | {gt_random}/{aulc.shape[1]} |"
        )
    findings = []
    best = aulc.idxmax(axis=0)
    for name in aulc.columns:
        findings.append(f"- {name}: best AULC {best[name]} ({aulc.loc[best[name], name]:.4f}); "
                        + ", ".join(f"{s} {aulc.loc[s, name]:.4f}" for s in ("random", "margin", "dami") if s in aulc.index))
    return "\n".join(lines), findings


def _write_report(args: argparse.Namespace, argv: list[str] | None, per_dataset: dict[str, pd.DataFrame],
                  sections: list[str], started: float) -> None:
    """(Re)write the markdown report with the datasets done so far."""
    overall, findings = _overall(per_dataset)
    total = len([n for n in args.datasets.split(",") if n.strip()])
    partial = "" if len(sections) == total else f" (partial: {len(sections)} of {total} datasets so far)"
    command = "python bench/label_efficiency.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    text = "\n".join([
        "# Label efficiency of the query strategies",
        "",
        f"Made by `{command.strip()}` on {_dt.date.today().isoformat()}, {_machine()}; "
        f"dami-np {dami_np.__version__}; total {time.perf_counter() - started:.0f} s{partial}.",
        "",
        f"Protocol (`dami_np.simulate`): {args.seeds} seeds; per seed one stratified 70/30 split and one random "
        f"initial set of {args.initial} labels shared by all strategies; {args.rounds} rounds of {args.batch} labels; "
        "default `MLPClassifier` retrained each round; AULC = test accuracy averaged over the "
        f"{args.rounds + 1} points of the curve; W/T/L = paired per seed against random on AULC (tie: |diff| < 0.005).",
        "",
        "## Across datasets",
        "",
        overall,
        "",
        "Computed per dataset:",
        "",
        *findings,
        "",
        "## Per dataset",
        "",
        *sections,
    ])
    tmp = args.out.with_suffix(".md.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, args.out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(datasets.names()))
    parser.add_argument("--strategies", default=",".join(DEFAULT_STRATEGIES))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--initial", type=int, default=20)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "label-efficiency.md")
    args = parser.parse_args(argv)

    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    figures = args.out.parent / args.out.stem
    figures.mkdir(parents=True, exist_ok=True)
    per_dataset: dict[str, pd.DataFrame] = {}
    started = time.perf_counter()
    sections = []
    for name in names:
        X, y = datasets.load(name)
        t0 = time.perf_counter()
        result = dami_np.simulate(X, y, strategies, initial=args.initial, batch=args.batch, rounds=args.rounds,
                                  seeds=args.seeds, n_jobs=args.jobs, progress=sys.stderr.isatty())
        seconds = time.perf_counter() - t0
        summary = result.summary()
        per_dataset[name] = summary
        result.curves.to_csv(figures / f"{name}-curves.csv", index=False)
        plot_note = ""
        try:
            result.plot(figures / f"{name}.png")
            plot_note = f"\n\n![{name} learning curves]({figures.name}/{name}.png)"
        except ImportError:
            plot_note = "\n\n(no plot: matplotlib not installed)"
        sections.append(
            f"### {name} ({len(X)} rows, {X.shape[1]} features, {y.nunique()} classes; {seconds:.0f} s)\n\n"
            f"{_dataset_table(summary)}{plot_note}\n"
        )
        print(f"{name}: {seconds:.0f} s\n{summary.to_string(index=False)}\n", flush=True)
        _write_report(args, argv, per_dataset, sections, started)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
