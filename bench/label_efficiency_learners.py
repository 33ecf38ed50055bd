"""Learner comparison (issue 29): candidates that learn from the unlabeled pool vs today's default, resumable.

    nice -n 19 python bench/label_efficiency_learners.py --stage screen --no-report   # fill the screening cache
    nice -n 19 python bench/label_efficiency_learners.py --stage full --no-report     # then the full grid
    python bench/label_efficiency_learners.py --report-only                           # the report from the cache

The rule (candidates, budgets, metrics, stages, decision) is ``bench/results/learner-rule.md``,
committed before any result.  Each (budget, table, pipeline, seed) learning curve is computed by
``dami_np.simulate``'s own per-seed runner (``_simulate._run_task``) with an injected model factory
(the pipeline's learner; pool learners get the seed's training part, labels unused, as their pool)
and a query function that hands strategies the network that predicts (``PoolLearner.network_``).
Curves are cached at once in ``bench/results/learners/cache/<budget>/<table>/<pipeline>/seed-NN.json``;
a rerun computes only what is missing.  Every reference is computed in these runs (on 2026-12-04
the working tree's ``dami_margin_c2`` curves no longer matched ``label_efficiency.py``'s cache bit for
bit, so that cache is not reused for curves); the full-data accuracy (labels to 95%) is that cache's
``_ceiling`` (plain ``MLPClassifier`` fits on the same splits).  Writes ``bench/results/learners/report.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import functools
import hashlib
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _label_efficiency_stats as st  # noqa: E402
import _report_sections  # noqa: E402
import _tables  # noqa: E402
import label_efficiency as le  # noqa: E402
from _machine import machine_summary  # noqa: E402

import dami_np  # noqa: E402

BUDGETS = {"today": (20, 20, 10), "small": (30, 10, 20), "medium": (100, 50, 20)}  # initial, batch, rounds
TEST_SIZE, RANDOM_STATE = 0.3, 0
SCREEN_TABLES = ("wdbc", "pima", "titanic", "spambase", "optdigits", "marketing")
SCREEN_SEEDS, FULL_SEEDS = 3, 10
SCREEN_BAR = -0.002  # mean AULC - default over the screening tables a candidate needs to go on
REFERENCES = ("default", "mlp_margin", "hgb_margin", "lr_margin")
CANDIDATES = ("scarf", "self_training", "ensemble")
STRATEGY_CANDIDATES = ("budget_aware",)  # rule amendment 2: no screening, straight to stage 2
PIPELINES = {  # name -> (learner, strategy)
    "default": ("mlp", "dami_margin_c2"), "mlp_margin": ("mlp", "margin"), "hgb_margin": ("hgb", "margin"),
    "lr_margin": ("lr", "margin"), "scarf": ("pretrain", "dami_margin_c2"),
    "self_training": ("self_training", "dami_margin_c2"), "ensemble": ("ensemble", "dami_margin_c2"),
    "budget_aware": ("mlp", "budget_aware_dami_margin"),
}
BUDGET_AWARE_L = 20.0  # amendment 2: the candidate multiple is 1 + min(1, BUDGET_AWARE_L / labels per class)
LEARNERS_VERSION = 1  # bump when a candidate's algorithm or settings change (cached curves then do not count)
HIDDEN = 100  # today's MLP width: the pre-trained layer's size
RESULTS = le.RESULTS
OUT_DIR = RESULTS / "learners"
CACHE = OUT_DIR / "cache"
RULE_FILE = RESULTS / "learner-rule.md"


# ---------------------------------------------------------------------- protocol
def fingerprint(budget: str) -> str:
    """Changes with the budget's protocol, today's MLP defaults or the candidates' version."""
    text = json.dumps({"budget": BUDGETS[budget], "test_size": TEST_SIZE, "random_state": RANDOM_STATE,
                       "mlp": le._mlp_defaults(), "learners": LEARNERS_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rounds_that_fit(budget: str, y_codes: np.ndarray) -> int:
    """The budget's rounds, fewer when the training part cannot hold them (the rule's medium-budget clause)."""
    from dami_np import _simulate as sim

    initial, batch, rounds = BUDGETS[budget]
    train, _ = sim._stratified_split(y_codes, TEST_SIZE, np.random.default_rng(0))  # as _check_sizes does
    return max(0, min(rounds, (len(train) - initial) // batch))


class _SklearnWithClasses:
    """A scikit-learn classifier that takes ``fit(X, y, classes=...)`` and answers with every class's column."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def fit(self, X: np.ndarray, y: np.ndarray, classes: np.ndarray) -> _SklearnWithClasses:
        self.model.fit(X, y)
        self.classes_ = np.asarray(classes)
        self._columns = np.searchsorted(self.classes_, self.model.classes_)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        out = np.zeros((X.shape[0], len(self.classes_)))
        out[:, self._columns] = self.model.predict_proba(X)
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(X)


def _make_learner(learner: str, params: dict[str, Any], seed: int, *, pool: np.ndarray,
                  encoder: tuple[np.ndarray, np.ndarray] | None) -> Any:
    """The round's model (``simulate``'s model-factory signature, with the pool bound)."""
    from dami_np._pool_learner import PoolLearner

    if learner == "mlp":
        return dami_np.MLPClassifier(**params, random_state=seed)
    if learner == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return _SklearnWithClasses(HistGradientBoostingClassifier(random_state=seed))
    if learner == "lr":
        from sklearn.linear_model import LogisticRegression

        return _SklearnWithClasses(LogisticRegression(max_iter=1000))
    if learner == "pretrain":
        return PoolLearner("pretrain", encoder=encoder, mlp_params=params, random_state=seed)
    return PoolLearner(learner, pool=pool, mlp_params=params, random_state=seed)


def _query_network(X: np.ndarray, y: np.ndarray, budget: int, *, strategy: Any, model: Any, random_state: int) -> np.ndarray:
    """``simulate``'s query, given the network that predicts (a ``PoolLearner``'s ``network_``)."""
    from dami_np import _simulate as sim

    return sim._dami_query(X, y, budget, strategy=strategy, model=getattr(model, "network_", model),
                           random_state=random_state)


def budget_aware_multiple(n_labeled: int, n_classes: int) -> float:
    """Amendment 2's candidate multiple: 2 while labels per class <= 20, then towards 1 (margin)."""
    per_class = n_labeled / max(1, n_classes)
    return 1.0 + min(1.0, BUDGET_AWARE_L / per_class) if per_class > 0 else 2.0


def budget_aware_dami_margin(context: Any, budget: int, rng: np.random.Generator) -> Any:
    """``dami_margin`` at the budget-aware candidate multiple (labels per class from the labeled rows)."""
    multiple = budget_aware_multiple(int(context.labeled.sum()), context.n_labeled_classes)
    return dami_np.strategies.get("dami_margin")(context, budget, rng, candidate_multiple=multiple)


budget_aware_dami_margin.needs_model = True  # type: ignore[attr-defined]
budget_aware_dami_margin.strategy_name = "budget_aware_dami_margin"  # type: ignore[attr-defined]


def _strategy_object(name: str) -> Any:
    return budget_aware_dami_margin if name == "budget_aware_dami_margin" else le.strategy_object(name)


# ---------------------------------------------------------------------- one task (in a worker)
def run_task(budget: str, table: str, pipeline: str, seed: int) -> dict[str, Any]:
    """One cached unit: the learning curve of ``pipeline`` on ``table`` at ``seed`` and ``budget``."""
    from threadpoolctl import threadpool_limits

    from dami_np import _simulate as sim
    from dami_np._pretrain import pretrain_hidden_layer

    t0 = time.perf_counter()
    le._setup(table, "random", "random")  # loads the table once per worker, as label_efficiency does
    X, codes, n_classes = le._LOADED[table]
    learner, strategy = PIPELINES[pipeline]
    initial, batch, _ = BUDGETS[budget]
    setup = sim._Setup(X, codes, n_classes, (_strategy_object(strategy),), (pipeline,), initial, batch,
                       rounds_that_fit(budget, codes), TEST_SIZE, RANDOM_STATE)
    pretrain_seconds = 0.0
    with threadpool_limits(1):
        X_train = sim._prepare_seed(setup, seed)[0]
        encoder = None
        if learner == "pretrain":  # once per pool (the seed's training part), like a user's table
            t1 = time.perf_counter()
            W, b, _ = pretrain_hidden_layer(X_train, HIDDEN, seed=sim._derive_seed(RANDOM_STATE, seed, 0, 2))
            encoder, pretrain_seconds = (W, b), time.perf_counter() - t1
        factory = functools.partial(_make_learner, learner, pool=X_train, encoder=encoder)
        setup = dataclasses.replace(setup, model_factory=factory, query_fn=_query_network)
        records = sim._run_task(setup, seed, 0)
    return {"budget": budget, "table": table, "pipeline": pipeline, "seed": seed, "fingerprint": fingerprint(budget),
            "seconds": time.perf_counter() - t0, "pretrain_seconds": pretrain_seconds,
            "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "records": [{k: (v.item() if isinstance(v, (np.floating, np.integer)) else v) for k, v in r.items()
                         if k not in ("strategy", "seed")} for r in records]}


# ---------------------------------------------------------------------- cache
def cache_path(budget: str, table: str, pipeline: str, seed: int) -> Path:
    return CACHE / budget / table / pipeline / f"seed-{seed:02d}.json"


def write_cache(result: dict[str, Any]) -> None:
    path = cache_path(result["budget"], result["table"], result["pipeline"], result["seed"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, separators=(",", ":")) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def is_done(budget: str, table: str, pipeline: str, seed: int) -> bool:
    path = cache_path(budget, table, pipeline, seed)
    try:
        return path.exists() and json.loads(path.read_text())["fingerprint"] == fingerprint(budget)
    except (ValueError, KeyError):
        return False


def load_curves() -> pd.DataFrame:
    """Every valid cached curve point: budget, table, pipeline, seed, round, n_labeled, accuracy, seconds."""
    rows = []
    for budget in BUDGETS:
        fp = fingerprint(budget)
        for path in sorted((CACHE / budget).glob("*/*/seed-*.json")):
            try:
                res = json.loads(path.read_text())
            except ValueError:
                continue
            if res.get("fingerprint") != fp:
                continue
            rows += _points(budget, res["table"], res["pipeline"], res["seed"], res["records"], res["pretrain_seconds"])
    return pd.DataFrame(rows)


def _points(budget: str, table: str, pipeline: str, seed: int, records: list[dict], pretrain: float) -> list[dict]:
    return [{"budget": budget, "table": table, "pipeline": pipeline, "seed": seed, "round": r["round"],
             "n_labeled": r["n_labeled"], "accuracy": r["accuracy"],
             "round_seconds": r["fit_seconds"] + (0.0 if r["select_seconds"] is None or
                                                  math.isnan(r["select_seconds"]) else r["select_seconds"]),
             "pretrain_seconds": pretrain} for r in records]


# ---------------------------------------------------------------------- plan and run
def screening_tasks() -> list[tuple[str, str, str, int]]:
    return [("today", t, p, s) for t in SCREEN_TABLES for s in range(SCREEN_SEEDS) for p in (*REFERENCES, *CANDIDATES)]


def stage_two_candidates(curves: pd.DataFrame) -> list[str] | None:
    """The rule's screening decision (None while the screening is incomplete)."""
    block = _block(curves, "today", list(SCREEN_TABLES), [*REFERENCES, *CANDIDATES], range(SCREEN_SEEDS))
    if block is None or block["table"].nunique() < len(SCREEN_TABLES):
        return None
    diff = _table_means(block).sub(_table_means(block)["default"], axis=0).mean()
    passing = [c for c in CANDIDATES if diff[c] >= SCREEN_BAR]
    return passing or sorted(CANDIDATES, key=lambda c: -diff[c])[:2]


def full_tasks(candidates: list[str]) -> list[tuple[str, str, str, int]]:
    tables = _tables.names()
    return [(b, t, p, s) for b in BUDGETS for t in tables for s in range(FULL_SEEDS) for p in (*REFERENCES, *candidates)]


def run(tasks: list[tuple[str, str, str, int]], jobs: int) -> int:
    """Compute the missing tasks (in ``jobs`` processes), caching each as it finishes; returns how many ran."""
    import concurrent.futures

    todo = [t for t in tasks if not is_done(*t)]
    print(f"{len(todo)} tasks to compute ({len(tasks) - len(todo)} cached), {jobs} workers", flush=True)
    started, done = time.perf_counter(), 0
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_task, *t): t for t in todo}
        for future in concurrent.futures.as_completed(futures):
            task = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # one failing pipeline must not stop the grid: report it
                print(f"FAILED {task}: {type(exc).__name__}: {exc}", flush=True)
                continue
            write_cache(result)
            done += 1
            elapsed = time.perf_counter() - started
            print(f"[{done}/{len(todo)}] {' '.join(map(str, task))}: {result['seconds']:.1f} s "
                  f"(elapsed {elapsed / 60:.1f} min)", flush=True)
    return done


# ---------------------------------------------------------------------- statistics
def _aulc(curves: pd.DataFrame) -> pd.DataFrame:
    g = curves.groupby(["budget", "table", "pipeline", "seed"])
    out = g["accuracy"].mean().rename("aulc").to_frame()
    out["round_seconds"] = g["round_seconds"].mean()
    out["pretrain_seconds"] = g["pretrain_seconds"].first()
    out["rounds"] = g["round"].max()
    return out.reset_index()


def _block(curves: pd.DataFrame, budget: str, tables: list[str], pipelines: list[str], seeds: Any) -> pd.DataFrame | None:
    """AULC rows of the tables where every pipeline has every seed at ``budget``."""
    if curves.empty:
        return None
    a = _aulc(curves[(curves["budget"] == budget) & curves["table"].isin(tables)])
    a = a.rename(columns={"pipeline": "strategy"})
    block = st.complete_block(a, list(pipelines), list(seeds))
    return block if not block.empty else None


def _table_means(block: pd.DataFrame) -> pd.DataFrame:
    return block.groupby(["table", "strategy"])["aulc"].mean().unstack("strategy")


def labels_to_95(curves: pd.DataFrame, ceilings: pd.Series) -> pd.DataFrame:
    """Per (budget, table, pipeline): first labeled count where the seed-mean curve reaches 95% of the
    table's full-data accuracy (inf: never; nan: no ceiling)."""
    mean = curves.groupby(["budget", "table", "pipeline", "n_labeled"])["accuracy"].mean().reset_index()
    out = []
    for (budget, table, pipeline), g in mean.groupby(["budget", "table", "pipeline"]):
        target = 0.95 * ceilings.get(table, math.nan)
        hit = g[g["accuracy"] >= target]["n_labeled"] if not math.isnan(target) else pd.Series(dtype=float)
        value = math.nan if math.isnan(target) else (float(hit.min()) if len(hit) else math.inf)
        out.append({"budget": budget, "table": table, "pipeline": pipeline, "labels_95": value})
    return pd.DataFrame(out)


def _ratio(cand: float, ref: float) -> float:
    if math.isnan(cand) or math.isnan(ref):
        return math.nan
    if math.isinf(cand) and math.isinf(ref):
        return 1.0
    if math.isinf(cand):
        return math.inf
    return cand / ref if not math.isinf(ref) else 0.0


def budget_summary(block: pd.DataFrame, l95: pd.DataFrame, budget: str, pipelines: list[str]) -> pd.DataFrame:
    """Per pipeline over the block's tables: the rule's quantities against ``default``."""
    means = _table_means(block)
    diff = means.sub(means["default"], axis=0)
    secs = block.groupby("strategy").apply(
        lambda g: float((g["round_seconds"] + g["pretrain_seconds"] / g["rounds"].clip(lower=1)).mean()),
        include_groups=False)
    plain = block.groupby("strategy")["round_seconds"].mean()
    l = l95[l95["budget"] == budget].pivot(index="table", columns="pipeline", values="labels_95")
    rows = []
    for p in pipelines:
        if p not in means.columns:
            continue
        ratios = [_ratio(l.at[t, p], l.at[t, "default"]) for t in means.index
                  if t in l.index and p in l.columns and "default" in l.columns]
        ratios = [r for r in ratios if not math.isnan(r)]
        rows.append({"pipeline": p, "mean_aulc": means[p].mean(), "vs_default": diff[p].mean(),
                     "worst_table": diff[p].min(), "tables_ge": int((diff[p] >= -1e-12).sum()),
                     "wilcoxon_p": st._wilcoxon(diff[p].to_numpy()) if p != "default" else math.nan,
                     "median_l95_ratio": float(np.median(ratios)) if ratios else math.nan,
                     "s_round": secs[p], "s_round_plain": plain[p], "time_ratio": secs[p] / secs["default"]})
    return pd.DataFrame(rows).set_index("pipeline")


def reaches_target(r: pd.Series) -> list[str]:
    """The rule's four criteria: the ones ``r`` misses, with the shortfall."""
    missed = []
    if r.vs_default < 0.01:
        missed.append(f"mean ΔAULC {r.vs_default:+.4f} < +0.01 (short by {0.01 - r.vs_default:.4f})")
    if r.worst_table < -0.01:
        missed.append(f"worst table {r.worst_table:+.4f} < -0.01")
    if not r.median_l95_ratio <= 0.75:
        missed.append(f"median labels-to-95% ratio {r.median_l95_ratio:.2f} > 0.75")
    if r.time_ratio > 2.0:
        missed.append(f"time per round {r.time_ratio:.2f}x > 2x")
    return missed


# ---------------------------------------------------------------------- report
def write_report() -> Path:
    """The full report (``learners/report.md``) and its summary section in ``label-efficiency.md``."""
    curves = load_curves()
    _, _, ceil = le.load_cache(le.fingerprint())
    ceilings = ceil.groupby("table")["accuracy"].mean() if not ceil.empty else pd.Series(dtype=float)
    l95 = labels_to_95(curves, ceilings) if not curves.empty else pd.DataFrame(
        columns=["budget", "table", "pipeline", "labels_95"])
    finalists = stage_two_candidates(curves) if not curves.empty else None
    candidates = [*(finalists or []), *STRATEGY_CANDIDATES]
    body: list[str] = ["## Stage 1: screening (budget today, seeds 0-2, 6 tables)", ""]
    screen_lines, _ = _section(curves, l95, "today", list(SCREEN_TABLES), [*REFERENCES, *CANDIDATES], range(SCREEN_SEEDS))
    body += screen_lines
    body += ["", "Screening decision: " + ("incomplete, none yet" if finalists is None else
                                           f"stage 2 candidates: {', '.join(finalists)}") +
             f"; by rule amendment 2 also {', '.join(STRATEGY_CANDIDATES)} (no screening).", ""]
    summaries: dict[str, pd.DataFrame | None] = {}
    for budget in BUDGETS:
        pipes = [*REFERENCES, *candidates]
        done = 0 if curves.empty else len(curves[curves["budget"] == budget][["table", "pipeline", "seed"]].drop_duplicates())
        body += [f"## Stage 2: budget {budget} (initial, per round, rounds = {BUDGETS[budget]})", "",
                 f"Curves cached: {done} of {len(_tables.names()) * FULL_SEEDS * len(pipes)} planned. Summary over the "
                 "tables where every pipeline has all 10 seeds:", ""]
        if not curves.empty:
            last = curves[curves["budget"] == budget].groupby("table")["round"].max()
            short = last[last < BUDGETS[budget][2]]
            if len(short):
                body += ["Fewer rounds (the training part cannot hold the budget): "
                         + ", ".join(f"{t} {int(r)}" for t, r in short.items()) + ".", ""]
        section, summaries[budget] = _section(curves, l95, budget, _tables.names(), pipes, range(FULL_SEEDS),
                                              decide=finalists is not None)
        body += section + [""]
    complete = finalists is not None and all(v is not None for v in summaries.values())
    decision = decision_lines(summaries, candidates) if complete else [
        "Incomplete: the rule decides only when all 18 tables have every pipeline at 10 seeds at all three budgets."]
    load = os.getloadavg()
    head = [f"# Learner comparison (issue 29): {'complete' if complete else 'PARTIAL'}", "",
            f"Written {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on {machine_summary()}, "
            f"Python {platform.python_version()}, numpy {np.__version__}; load average {load[0]:.2f} {load[1]:.2f} "
            f"{load[2]:.2f} (shared machine, runs under `nice`: timings are indicative). Regenerate: "
            "`python bench/label_efficiency_learners.py --report-only`.", "",
            "The rule (`bench/results/learner-rule.md`, committed before any result; amendment 2 before any run of "
            "its candidate) decides only on the complete stage 2 (18 tables x 10 seeds x 3 budgets).", ""]
    out = OUT_DIR / "report.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".md.tmp")
    tmp.write_text("\n".join([*head, "## Decision", "", *decision, "", *body]) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    summary = [f"## Learners and budgets (issue 29): {'complete' if complete else 'PARTIAL'}", "",
               f"From `python bench/label_efficiency_learners.py --report-only` "
               f"({_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}); the rule is "
               "`bench/results/learner-rule.md`, every table per budget and the per-table intervals are in "
               "`bench/results/learners/report.md`.", "", *decision, ""]
    for budget, table in summaries.items():
        summary += [f"Budget {budget} {BUDGETS[budget]} (initial, per round, rounds), 18 tables x 10 seeds:", ""]
        summary += _summary_table(table, len(_tables.names())) if table is not None else ["No table complete yet."]
        summary.append("")
    _report_sections.replace_section(RESULTS / "label-efficiency.md", "learners", "\n".join(summary))
    return out


def decision_lines(summaries: dict[str, pd.DataFrame | None], candidates: list[str]) -> list[str]:
    """The rule over the three budgets: the new default, or each candidate's shortfall per budget."""
    reached = {c: [b for b, t in summaries.items() if t is not None and c in t.index and not reaches_target(t.loc[c])]
               for c in candidates}
    winners = [c for c in candidates if len(reached[c]) == len(BUDGETS)]
    if winners:
        best = max(winners, key=lambda c: np.mean([summaries[b].at[c, "vs_default"] for b in BUDGETS]))
        return [f"**New default: {best}** (reaches the target at all three budgets; "
                f"also reaching it: {', '.join(w for w in winners if w != best) or 'none'})."]
    lines = ["**No candidate reaches the target at all three budgets: no new default** (today's `default`, "
             "`MLPClassifier()` + `dami_margin` at candidate multiple 2, stays).", "",
             "| candidate | budget | Δ mean AULC (target ≥ +0.01) | worst table (≥ -0.01) | "
             "median labels-to-95% ratio (≤ 0.75) | time vs default (≤ 2x) | missed |", "|---|---|---|---|---|---|---|"]
    for c in candidates:
        for b, t in summaries.items():
            r = t.loc[c]
            missed = reaches_target(r)
            lines.append(f"| {c} | {b} | {r.vs_default:+.4f} | {r.worst_table:+.4f} | {r.median_l95_ratio:.2f} | "
                         f"{r.time_ratio:.2f}x | {len(missed)} of 4 |")
    return lines


def _summary_table(summary: pd.DataFrame, n_tables: int) -> list[str]:
    lines = ["| pipeline | mean AULC | Δ vs default | worst table | tables ≥ default | Wilcoxon p | "
             "median labels-to-95% ratio | s / round (amortised) | time vs default |", "|---|---|---|---|---|---|---|---|---|"]
    for p, r in summary.iterrows():
        lines.append(f"| {p} | {r.mean_aulc:.4f} | {r.vs_default:+.4f} | {r.worst_table:+.4f} | {int(r.tables_ge)}/{n_tables} | "
                     f"{'-' if math.isnan(r.wilcoxon_p) else f'{r.wilcoxon_p:.3f}'} | {r.median_l95_ratio:.2f} | "
                     f"{r.s_round:.3f} | {r.time_ratio:.2f}x |")
    return lines


def _section(curves: pd.DataFrame, l95: pd.DataFrame, budget: str, tables: list[str], pipelines: list[str],
             seeds: Any, decide: bool = False) -> tuple[list[str], pd.DataFrame | None]:
    """The report lines of one block, and its summary when every table of ``tables`` is complete."""
    block = _block(curves, budget, tables, pipelines, seeds) if "default" in pipelines else None
    if block is None:
        return ["No table is complete yet."], None
    summary = budget_summary(block, l95, budget, pipelines)
    k = block["table"].nunique()
    lines = [f"Tables complete: {k} of {len(tables)} ({', '.join(sorted(block['table'].unique()))}).", "",
             "| pipeline | mean AULC | Δ vs default | worst table | tables ≥ default | Wilcoxon p | "
             "median labels-to-95% ratio | s / round (amortised) | s / round (no pre-training) | time vs default |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for p, r in summary.iterrows():
        lines.append(f"| {p} | {r.mean_aulc:.4f} | {r.vs_default:+.4f} | {r.worst_table:+.4f} | {int(r.tables_ge)}/{k} | "
                     f"{'-' if math.isnan(r.wilcoxon_p) else f'{r.wilcoxon_p:.3f}'} | {r.median_l95_ratio:.2f} | "
                     f"{r.s_round:.3f} | {r.s_round_plain:.3f} | {r.time_ratio:.2f}x |")
    if decide and k == len(tables):
        lines += ["", "Target (rule): " + "; ".join(
            f"{p}: {'reached' if not reaches_target(r) else ', '.join(reaches_target(r))}"
            for p, r in summary.iterrows() if p in (*CANDIDATES, *STRATEGY_CANDIDATES))]
    lines += ["", "Per table, Δ AULC vs default paired on seeds (95% t interval; bold: excludes 0):", "",
              "| table | " + " | ".join(p for p in pipelines if p != "default") + " |",
              "|---|" + "---|" * (len(pipelines) - 1)]
    for t in sorted(block["table"].unique(), key=_tables.names().index):
        sub = block[block["table"] == t].pivot(index="seed", columns="strategy", values="aulc")
        cells = [le._ci(st.paired_interval((sub[p] - sub["default"]).to_numpy())) for p in pipelines if p != "default"]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return lines, (summary if k == len(tables) else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", choices=("screen", "full"), default="screen")
    parser.add_argument("--budgets", default=",".join(BUDGETS), help="stage full only: budgets to run, in order")
    parser.add_argument("--pipelines", default="", help="stage full only: run only these pipelines (comma-separated)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args(argv)
    # imported before the workers fork: a long run keeps the code it started with while others edit the tree
    import sklearn.ensemble  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import threadpoolctl  # noqa: F401

    from dami_np import _pool_learner, _select, _simulate  # noqa: F401

    if not args.report_only:
        if args.stage == "screen":
            run(screening_tasks(), args.jobs)
        else:
            finalists = stage_two_candidates(load_curves())
            if finalists is None:
                print("the screening is incomplete: run --stage screen first", flush=True)
                return 2
            budgets = [b.strip() for b in args.budgets.split(",") if b.strip()]
            only = {p.strip() for p in args.pipelines.split(",") if p.strip()}
            run([t for t in full_tasks([*finalists, *STRATEGY_CANDIDATES]) if t[0] in budgets and (not only or t[2] in only)],
                args.jobs)
    if not args.no_report:
        print(f"wrote {write_report()}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
