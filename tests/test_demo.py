"""``dami demo`` and ``dami simulate`` compare the default strategy, and the demo's ranking says how
uncertain it is (issue 25)."""

from __future__ import annotations

import pandas as pd

from dami_np import DEFAULT_STRATEGY
from dami_np.cli import build_parser
from dami_np.cli._demo import DEMO_STRATEGIES, ranking


def test_demo_and_simulate_include_the_default_strategy():
    assert DEFAULT_STRATEGY in DEMO_STRATEGIES and "random" in DEMO_STRATEGIES
    args = build_parser().parse_args(["simulate", "t.csv", "--out", "d"])
    assert args.strategies.split(",")[0] == DEFAULT_STRATEGY


def test_demo_ranking_reports_intervals_and_paired_differences():
    per_seed = pd.DataFrame({"strategy": ["random"] * 3 + ["a"] * 3 + ["b"] * 3, "seed": [0, 1, 2] * 3,
                             "aulc": [0.80, 0.82, 0.84, 0.85, 0.86, 0.87, 0.81, 0.83, 0.85]})
    table = ranking(per_seed)
    assert table["strategy"].tolist() == ["a", "b", "random"]
    # a: mean 0.86, sd 0.01, t(0.975, 2) = 4.303 -> half 0.0248; paired diff vs random: 0.05, 0.04, 0.03
    assert table.loc[0, "aulc"] == "0.860 [0.835, 0.885]"
    assert table.loc[0, "vs random"] == "+0.040 [+0.015, +0.065]"
    assert table.loc[1, "vs random"] == "+0.010 [+0.010, +0.010]" and table.loc[2, "vs random"] == "-"
