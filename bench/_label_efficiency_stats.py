"""Statistics of the label-efficiency benchmark (scipy): paired intervals, ranks, tests, oracle gap, rule.

Input everywhere: a long DataFrame ``aulc`` with columns ``table, strategy, seed, aulc``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

RULE_TOLERANCE = 0.01  # worst-table AULC loss against margin an eligible strategy may have
TIE_GAP = 0.001  # oracle gaps this close are ties (broken by selection time)
N_FINALISTS = 4  # by oracle gap, on top of the fixed ones
FIXED_FINALISTS = ("margin", "random", "badge", "dami")


def paired_interval(diff: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of a paired difference over seeds: Student t interval (nan with < 2 seeds)."""
    diff = np.asarray(diff, dtype=np.float64)
    mean = float(diff.mean()) if diff.size else math.nan
    if diff.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, diff.size - 1) * diff.std(ddof=1) / math.sqrt(diff.size))
    return mean, mean - half, mean + half


def complete_block(aulc: pd.DataFrame, strategies: list[str], seeds: list[int]) -> pd.DataFrame:
    """Rows of the tables where every strategy has every seed (the rest is left out)."""
    sub = aulc[aulc["strategy"].isin(strategies) & aulc["seed"].isin(seeds)]
    counts = sub.groupby("table").size()
    full = counts.index[counts == len(strategies) * len(seeds)]
    return sub[sub["table"].isin(full)]


def per_table(aulc: pd.DataFrame, table: str, strategies: list[str]) -> pd.DataFrame:
    """One row per strategy on ``table``: AULC mean/std and paired differences vs margin and random.

    Differences are paired on the seeds both strategies have.
    """
    sub = aulc[aulc["table"] == table].pivot(index="seed", columns="strategy", values="aulc")
    rows = []
    for s in strategies:
        if s not in sub.columns:
            continue
        rec = {"strategy": s, "seeds": int(sub[s].notna().sum()), "aulc_mean": sub[s].mean(),
               "aulc_std": sub[s].std(ddof=1)}
        for ref in ("margin", "random"):
            if ref in sub.columns and ref != s:
                both = sub[[s, ref]].dropna()
                rec[f"vs_{ref}"] = paired_interval((both[s] - both[ref]).to_numpy())
            else:
                rec[f"vs_{ref}"] = (math.nan, math.nan, math.nan)
        rows.append(rec)
    out = pd.DataFrame(rows)
    out["rank"] = out["aulc_mean"].rank(ascending=False, method="min")
    return out.sort_values("aulc_mean", ascending=False, kind="stable").reset_index(drop=True)


def across(block: pd.DataFrame, seconds: pd.Series | None = None) -> tuple[pd.DataFrame, dict]:
    """Across-table summary of a complete block (every table has every strategy and seed).

    Returns (per-strategy table, {"friedman": (chi2, p), "n_tables": k}).  Columns: mean rank,
    mean AULC, mean/min difference to margin, tables >= margin, mean difference to random,
    Wilcoxon signed-rank p against margin (two-sided, on the per-table means), mean oracle gap.
    """
    means = block.groupby(["table", "strategy"])["aulc"].mean().unstack("strategy")  # tables x strategies
    ranks = means.rank(axis=1, ascending=False, method="average")
    oracle = means.max(axis=1)
    out = pd.DataFrame(index=means.columns)
    out["mean_rank"] = ranks.mean()
    out["mean_aulc"] = means.mean()
    out["oracle_gap"] = (oracle.to_numpy()[:, None] - means).mean()
    out["worst_gap"] = (oracle.to_numpy()[:, None] - means).max()
    if "margin" in means.columns:
        diff = means.sub(means["margin"], axis=0)
        out["vs_margin_mean"] = diff.mean()
        out["vs_margin_min"] = diff.min()
        out["tables_ge_margin"] = (diff >= -1e-12).sum()
        out["wilcoxon_p"] = [_wilcoxon(diff[s].to_numpy()) for s in means.columns]
    if "random" in means.columns:
        out["vs_random_mean"] = means.sub(means["random"], axis=0).mean()
        out["tables_gt_random"] = (means.sub(means["random"], axis=0) > 0).sum()
    if seconds is not None:
        out["select_seconds"] = seconds.reindex(out.index)
    friedman = (math.nan, math.nan)
    if means.shape[0] >= 2 and means.shape[1] >= 3:
        res = stats.friedmanchisquare(*[means[s].to_numpy() for s in means.columns])
        friedman = (float(res.statistic), float(res.pvalue))
    out = out.sort_values(["oracle_gap", "mean_rank"], kind="stable")
    return out, {"friedman": friedman, "n_tables": int(means.shape[0]), "n_strategies": int(means.shape[1])}


def _wilcoxon(diff: np.ndarray) -> float:
    nonzero = diff[np.abs(diff) > 1e-12]
    if nonzero.size == 0:
        return math.nan
    return float(stats.wilcoxon(nonzero, alternative="two-sided").pvalue)


def apply_rule(summary: pd.DataFrame) -> tuple[str, pd.Series]:
    """The pre-registered rule on an ``across`` table: (chosen strategy, eligibility per strategy)."""
    eligible = (summary["vs_margin_mean"] >= -1e-12) & (summary["vs_margin_min"] >= -RULE_TOLERANCE - 1e-12)
    eligible.loc["margin"] = True
    cand = summary[eligible]
    best_gap = cand["oracle_gap"].min()
    near = cand[cand["oracle_gap"] <= best_gap + TIE_GAP]
    if "select_seconds" in near.columns and near["select_seconds"].notna().all() and len(near) > 1:
        near = near.sort_values(["select_seconds", "oracle_gap"], kind="stable")
    else:
        near = near.sort_values("oracle_gap", kind="stable")
    return str(near.index[0]), eligible


def finalists(summary: pd.DataFrame) -> list[str]:
    """The pre-registered finalists: the N_FINALISTS smallest oracle gaps plus the fixed ones."""
    top = [s for s in summary.sort_values("oracle_gap", kind="stable").index if s not in FIXED_FINALISTS][:N_FINALISTS]
    return [*top, *[s for s in FIXED_FINALISTS if s in summary.index]]
