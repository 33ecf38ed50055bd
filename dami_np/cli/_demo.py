"""``dami demo``: a short simulation and one ``select`` round, all on bundled data."""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from . import DEFAULT_SELECT_STRATEGY
from ._console import progress_wanted
from ._errors import CliError

DEMO_STRATEGIES = (DEFAULT_SELECT_STRATEGY, "margin", "dami", "random")
DEMO_SELECT_DATASET = "crx"
DEMO_SEEDS = 5
DEMO_ROUNDS = 10  # the protocol of bench/results/label-efficiency.md (its seeds 0-4)
_BENCH = "bench/results/label-efficiency.md"


def run_demo(args: argparse.Namespace) -> int:
    """Print a small strategy comparison, then the picks of one labeling round."""
    from .. import datasets, simulate

    if args.dataset not in datasets.names():
        raise CliError(f"unknown dataset {args.dataset!r}; bundled: {', '.join(datasets.names())}")
    started = time.perf_counter()
    X, y = datasets.load(args.dataset)
    print(f"== 1. Simulated active learning on the bundled '{args.dataset}' table "
          f"({len(X)} rows, {X.shape[1]} features, {y.nunique()} classes)")
    print(f"   strategies {', '.join(DEMO_STRATEGIES)} ({DEFAULT_SELECT_STRATEGY}: the default of 'dami select'); "
          f"20 initial labels, {DEMO_ROUNDS} rounds of 20, {DEMO_SEEDS} seeds\n")
    result = simulate(X, y, DEMO_STRATEGIES, initial=20, batch=20, rounds=DEMO_ROUNDS, seeds=DEMO_SEEDS,
                      progress=progress_wanted())
    with pd.option_context("display.width", 200):
        print(ranking(result.per_seed()).to_string(index=False))
    print(f"\n   aulc = test accuracy averaged over the rounds (higher = fewer labels for the same accuracy); "
          f"[95% interval] over the {DEMO_SEEDS} seeds;\n   vs random = paired difference per seed. Intervals that "
          "overlap or differences whose interval holds 0 do not rank\n   the strategies: this is one table and "
          f"{DEMO_SEEDS} seeds. Across 18 tables x 10 seeds ({_BENCH}),\n   {DEFAULT_SELECT_STRATEGY} ranks first and "
          "dami is no better than random on average.\n")

    frame, label = _half_labeled_table()
    print(f"== 2. 'dami select' ({DEFAULT_SELECT_STRATEGY}) on the bundled '{DEMO_SELECT_DATASET}' table "
          "with half of its labels blanked")
    print(f"   ({int(frame[label].isna().sum())} unlabeled rows of {len(frame)}); the 5 rows to label next:\n")
    from ._select import pick_from_frame

    picks = pick_from_frame(frame, label=label, budget=5, strategy=DEFAULT_SELECT_STRATEGY, seed=0,
                            source=DEMO_SELECT_DATASET)
    picks["probability"] = [f"{v:.4g}" for v in picks["probability"].tolist()]  # 4 significant digits to read
    with pd.option_context("display.max_colwidth", 80, "display.width", 200):
        print(picks.to_string(index=False))
    print(f"\n   done in {time.perf_counter() - started:.1f} s. Your own table: "
          "dami select table.csv --label COLUMN --budget N")
    return 0


def ranking(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Mean AULC per strategy with its 95% t-interval over seeds, and the paired difference to ``random``."""
    from scipy import stats

    rows = []
    table = per_seed.pivot(index="seed", columns="strategy", values="aulc")
    n = len(table)
    t = float(stats.t.ppf(0.975, n - 1)) if n > 1 else float("nan")
    for name in table.columns:
        values = table[name].to_numpy(dtype=float)
        diff = values - table["random"].to_numpy(dtype=float) if "random" in table.columns else np.full(n, np.nan)
        rows.append({"strategy": name, "aulc": _interval(values, t), "vs random": _interval(diff, t, signed=True)})
    out = pd.DataFrame(rows)
    order = np.argsort([-table[name].mean() for name in out["strategy"]], kind="stable")
    return out.iloc[order].reset_index(drop=True)


def _interval(values: np.ndarray, t: float, *, signed: bool = False) -> str:
    mean = float(np.mean(values))
    half = t * float(np.std(values, ddof=1)) / np.sqrt(values.size) if values.size > 1 else float("nan")
    sign = "+" if signed else ""
    if signed and not np.any(values):
        return "-"
    return f"{mean:{sign}.3f} [{mean - half:{sign}.3f}, {mean + half:{sign}.3f}]"


def _half_labeled_table() -> tuple[pd.DataFrame, str]:
    from .. import datasets

    X, y = datasets.load(DEMO_SELECT_DATASET)
    label = str(y.name)
    frame = X.copy()
    labels = y.astype(object).copy()
    blank = np.random.default_rng(0).permutation(len(frame))[: len(frame) // 2]
    labels.iloc[blank] = None
    frame[label] = labels.to_numpy()
    return frame, label
