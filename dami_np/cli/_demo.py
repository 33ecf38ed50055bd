"""``dami demo``: a short simulation and one ``select`` round, all on bundled data."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from . import DEFAULT_SELECT_STRATEGY
from ._errors import CliError

DEMO_STRATEGIES = ("random", "margin", "dami", "badge")
DEMO_SELECT_DATASET = "crx"


def run_demo(args: argparse.Namespace) -> int:
    """Print a small strategy comparison, then the picks of one labeling round."""
    from .. import datasets, simulate

    if args.dataset not in datasets.names():
        raise CliError(f"unknown dataset {args.dataset!r}; bundled: {', '.join(datasets.names())}")
    started = time.perf_counter()
    X, y = datasets.load(args.dataset)
    print(f"== 1. Simulated active learning on the bundled '{args.dataset}' table "
          f"({len(X)} rows, {X.shape[1]} features, {y.nunique()} classes)")
    print(f"   strategies {', '.join(DEMO_STRATEGIES)}; 20 initial labels, 5 rounds of 20, 3 seeds\n")
    result = simulate(X, y, DEMO_STRATEGIES, initial=20, batch=20, rounds=5, seeds=3,
                      progress=sys.stderr is not None and sys.stderr.isatty())
    print(result.summary().to_string(index=False))
    print("\n   aulc = test accuracy averaged over the rounds (higher = fewer labels for the same accuracy)\n")

    frame, label = _half_labeled_table()
    print(f"== 2. 'dami select' ({DEFAULT_SELECT_STRATEGY}) on the bundled '{DEMO_SELECT_DATASET}' table "
          "with half of its labels blanked")
    print(f"   ({int(frame[label].isna().sum())} unlabeled rows of {len(frame)}); the 5 rows to label next:\n")
    from ._select import pick_from_frame

    picks = pick_from_frame(frame, label=label, budget=5, strategy=DEFAULT_SELECT_STRATEGY, seed=0,
                            source=DEMO_SELECT_DATASET)
    with pd.option_context("display.max_colwidth", 80, "display.width", 200):
        print(picks.to_string(index=False))
    print(f"\n   done in {time.perf_counter() - started:.1f} s. Your own table: "
          "dami select table.csv --label COLUMN --budget N")
    return 0


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
