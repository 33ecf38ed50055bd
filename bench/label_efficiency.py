"""Label-efficiency benchmark: every candidate strategy on the 18 development tables, resumable.

    python bench/label_efficiency.py --jobs 2          # compute what the cache lacks, then write the report
    python bench/label_efficiency.py --report-only     # the report from the cache as it is
    python bench/label_efficiency.py --tables wdbc,pima --strategies random,margin --screen-seeds 2   # a look

Protocol: ``dami_np.simulate``'s (each (table, strategy, seed) curve is computed by the same
``_simulate._run_task`` that ``simulate`` runs, so it is bit-identical to ``simulate``'s):
per seed one stratified 70/30 split and one random initial set of 20 labels shared by all
strategies, 10 rounds of 20 labels, the default ``MLPClassifier`` retrained each round,
AULC = test accuracy averaged over the 11 points.  Tables: the 11 bundled plus the 7 in
``bench/data`` (``_tables``), smallest first.

Plan (pre-registered in ``bench/results/label-efficiency-rule.md``): screening = every
strategy at seeds 0-4; when the screening is complete on every table, the finalists
(``_label_efficiency_stats.finalists``) get seeds 5-9.  Every finished curve is written at once
to ``bench/results/label-efficiency/cache/<table>/<strategy>/seed-NN.json``; a rerun computes
only what is missing (an interrupted run loses at most the tasks in flight).  Cached curves
whose protocol fingerprint differs (other MLP defaults, rounds, ...) are ignored.

Writes ``bench/results/label-efficiency.md`` and ``bench/results/label-efficiency/<table>.png``
(PNGs only with matplotlib).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as _dt
import functools
import hashlib
import inspect
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
from _machine import machine_summary  # noqa: E402

import dami_np  # noqa: E402

STRATEGIES = (
    "random", "margin", "entropy", "least_confidence", "boundary", "coreset", "kcenter_input", "badge",
    "dami", "dami_nobias", "dami_predicted", "dami_kmedoids", "dami_weighted",
    "dami_margin_c2", "dami_margin_c5", "dami_margin_c10", "dami_boundary_c2", "dami_boundary_c5", "dami_boundary_c10",
)
# benchmark name -> (registered strategy, candidate multiple): every hybrid runs at an explicit multiple,
# so cached curves keep their meaning when the registered default changes (it was 5 for this grid; now 2)
VARIANTS = {f"{base}_c{m}": (base, m) for base in ("dami_margin", "dami_boundary") for m in (2, 5, 10)}
PROTOCOL = {"initial": 20, "batch": 20, "rounds": 10, "test_size": 0.3, "random_state": 0}
RESULTS = Path(__file__).resolve().parent / "results"
OUT_DIR = RESULTS / "label-efficiency"
CACHE = OUT_DIR / "cache"
RULE_FILE = RESULTS / "label-efficiency-rule.md"
CEILING = "_ceiling"  # pseudo-strategy: the default MLP on all training labels


# ---------------------------------------------------------------------- protocol and strategies
def _mlp_defaults() -> dict[str, Any]:
    sig = inspect.signature(dami_np.MLPClassifier.__init__)
    return {k: repr(p.default) for k, p in sig.parameters.items() if k not in ("self", "random_state")}


def fingerprint() -> str:
    """Changes whenever the protocol or the default MLP changes (cached curves then do not count)."""
    text = json.dumps({"protocol": PROTOCOL, "mlp": _mlp_defaults()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def multiple_option() -> str:
    """The hybrids' candidate-multiple keyword in this version of the code."""
    params = inspect.signature(dami_np.strategies.get("dami_margin")).parameters
    return "candidate_multiple" if "candidate_multiple" in params else "candidates"


def strategy_object(name: str) -> Any:
    """A registered name as is; a ``_cN`` variant as a named partial of its strategy."""
    if name not in VARIANTS:
        return name
    base, m = VARIANTS[name]
    func = dami_np.strategies.get(base)
    part = functools.partial(func, **{multiple_option(): m})
    part.strategy_name = name
    part.needs_model = getattr(func, "needs_model", True)
    return part


# ---------------------------------------------------------------------- one task (in a worker)
_LOADED: dict[str, tuple] = {}


def _setup(table: str, strategy: Any, name: str):
    from dami_np import _simulate as sim

    if table not in _LOADED:
        X, y = _tables.load(table)
        X = sim._check_X(X)
        classes, codes = sim._encode_y(y, sim._n_rows(X))
        _LOADED[table] = (X, codes, len(classes))
    X, codes, n_classes = _LOADED[table]
    setup = sim._Setup(X, codes, n_classes, (strategy,), (name,), PROTOCOL["initial"], PROTOCOL["batch"],
                       PROTOCOL["rounds"], PROTOCOL["test_size"], PROTOCOL["random_state"])
    sim._check_sizes(setup)
    return setup


def run_task(table: str, name: str, seed: int) -> dict[str, Any]:
    """One cached unit: the learning curve of ``name`` on ``table`` at ``seed`` (or the ceiling)."""
    from threadpoolctl import threadpool_limits

    from dami_np import _simulate as sim

    t0 = time.perf_counter()
    with threadpool_limits(1):
        if name == CEILING:
            setup = _setup(table, "random", "random")
            X_train, y_train, X_test, y_test, _ = sim._prepare_seed(setup, seed)
            model = sim._mlp_factory({}, sim._derive_seed(setup.random_state, seed, 0, 0))
            model.fit(X_train, y_train, classes=np.arange(setup.n_classes))
            records = [{"accuracy": float(np.mean(np.asarray(model.predict(X_test)) == y_test)),
                        "n_labeled": int(len(y_train))}]
        else:
            setup = _setup(table, strategy_object(name), name)
            records = sim._run_task(setup, seed, 0)
    return {"table": table, "strategy": name, "seed": seed, "fingerprint": fingerprint(),
            "seconds": time.perf_counter() - t0, "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "records": [{k: (v if not isinstance(v, (np.floating, np.integer)) else v.item()) for k, v in r.items()
                         if k != "strategy" and k != "seed"} for r in records]}


# ---------------------------------------------------------------------- cache
def cache_path(table: str, name: str, seed: int) -> Path:
    return CACHE / table / name / f"seed-{seed:02d}.json"


def write_cache(result: dict[str, Any]) -> None:
    path = cache_path(result["table"], result["strategy"], result["seed"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, separators=(",", ":")) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def is_cached(table: str, name: str, seed: int, fp: str) -> bool:
    path = cache_path(table, name, seed)
    if not path.exists():
        return False
    try:
        return json.loads(path.read_text())["fingerprint"] == fp
    except (ValueError, KeyError):
        return False


def load_cache(fp: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(curves, per-task info, ceilings) of every cached result with fingerprint ``fp``."""
    curves, tasks, ceilings = [], [], []
    for path in sorted(CACHE.glob("*/*/seed-*.json")) if CACHE.exists() else []:
        try:
            res = json.loads(path.read_text())
        except ValueError:
            continue
        if res.get("fingerprint") != fp:
            continue
        key = {"table": res["table"], "strategy": res["strategy"], "seed": res["seed"]}
        if res["strategy"] == CEILING:
            ceilings.append({**key, "accuracy": res["records"][0]["accuracy"]})
            continue
        tasks.append({**key, "seconds": res["seconds"], "finished": res["finished"]})
        curves.extend({**key, **r} for r in res["records"])
    return pd.DataFrame(curves), pd.DataFrame(tasks), pd.DataFrame(ceilings)


# ---------------------------------------------------------------------- planning and running
def screening_tasks(tables: list[str], strategies: list[str], seeds: int) -> list[tuple[str, str, int]]:
    out = []
    for table in tables:  # smallest first; per table the ceiling, then seed by seed
        out += [(table, CEILING, s) for s in range(seeds)]
        out += [(table, name, s) for s in range(seeds) for name in strategies]
    return out


def confirmation_plan(aulc: pd.DataFrame, tables: list[str], strategies: list[str], screen: int,
                      confirm: int) -> tuple[list[str] | None, list[tuple[str, str, int]]]:
    """Finalists (None while the screening is incomplete) and their confirmation tasks."""
    block = st.complete_block(aulc, strategies, list(range(screen))) if not aulc.empty else aulc
    if aulc.empty or set(block["table"].unique()) != set(tables) or confirm <= screen:
        return None, []
    summary, _ = st.across(block)
    final = st.finalists(summary)
    tasks = [(t, CEILING, s) for t in tables for s in range(screen, confirm)]
    tasks += [(t, name, s) for t in tables for s in range(screen, confirm) for name in final]
    return final, tasks


def run(tasks: list[tuple[str, str, int]], jobs: int, fp: str, on_table_done) -> int:  # noqa: ANN001
    """Compute the missing tasks in parallel, caching each as it finishes; returns how many ran."""
    todo = [t for t in tasks if not is_cached(*t, fp)]
    if not todo:
        return 0
    remaining = {}
    for t in todo:
        remaining[t[0]] = remaining.get(t[0], 0) + 1
    started, done = time.perf_counter(), 0
    print(f"{len(todo)} tasks to compute ({len(tasks) - len(todo)} cached), {jobs} workers", flush=True)
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_task, *t): t for t in todo}
        for future in concurrent.futures.as_completed(futures):
            table, name, seed = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # a failing strategy must not stop the grid: report it
                print(f"FAILED {table} {name} seed {seed}: {type(exc).__name__}: {exc}", flush=True)
                remaining[table] -= 1
                continue
            write_cache(result)
            done += 1
            remaining[table] -= 1
            elapsed = time.perf_counter() - started
            eta = elapsed / done * (len(todo) - done)
            print(f"[{done}/{len(todo)}] {table} {name} seed {seed}: {result['seconds']:.1f} s "
                  f"(elapsed {elapsed / 60:.1f} min, eta {eta / 60:.0f} min)", flush=True)
            if remaining[table] == 0:
                on_table_done(table)
    return done


# ---------------------------------------------------------------------- report
def aulc_frame(curves: pd.DataFrame) -> pd.DataFrame:
    if curves.empty:
        return pd.DataFrame(columns=["table", "strategy", "seed", "aulc", "final_accuracy"])
    g = curves.sort_values("round").groupby(["table", "strategy", "seed"])
    return g["accuracy"].agg(aulc="mean", final_accuracy="last").reset_index()


def _ci(t: tuple[float, float, float]) -> str:
    mean, lo, hi = t
    if math.isnan(mean):
        return "-"
    if math.isnan(lo):
        return f"{mean:+.4f}"
    mark = "**" if lo > 0 or hi < 0 else ""
    return f"{mark}{mean:+.4f}{mark} [{lo:+.3f}, {hi:+.3f}]"


def plot_table(table: str, curves: pd.DataFrame, ceiling: float | None, path: Path) -> bool:
    """Learning curves of every strategy on ``table`` (mean and 95% band over seeds); False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    from scipy import stats

    sub = curves[curves["table"] == table]
    present = [s for s in STRATEGIES if s in set(sub["strategy"])]
    refs = [s for s in ("random", "margin") if s in present]
    panels = [("baselines and other strategies", refs + [s for s in present if not s.startswith("dami") and s not in refs]),
              ("DAMI family (random, margin repeated)", refs + [s for s in present if s.startswith("dami")])]
    cmap = plt.get_cmap("tab20")
    color = {name: cmap(i % 20) for i, name in enumerate(present)}
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), sharey=True)
    for ax, (label, names) in zip(axes, panels):
        for name in names:
            g = sub[sub["strategy"] == name].groupby("n_labeled")["accuracy"]
            mean, sd, n = g.mean(), g.std(ddof=1).fillna(0.0), g.count()
            half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
            style = {"lw": 2.2, "ls": ":" if name == "random" else "-"} if name in ("margin", "random", "dami") else {"lw": 1.2}
            ax.plot(mean.index, mean.to_numpy(), color=color[name], label=f"{name} ({int(n.min())})", **style)
            ax.fill_between(mean.index, (mean - half).to_numpy(), (mean + half).to_numpy(), color=color[name], alpha=0.10)
        if ceiling is not None:
            ax.axhline(ceiling, color="black", ls="--", lw=1.2, label=f"all labels: {ceiling:.3f}")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("labeled rows")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right", title="strategy (seeds)", title_fontsize=7)
    axes[0].set_ylabel("test accuracy")
    fig.suptitle(f"{table}: test accuracy of the default MLP, mean and 95% band over seeds")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def _across_section(block: pd.DataFrame, curves: pd.DataFrame, title: str, note: str) -> tuple[list[str], str | None, pd.DataFrame | None]:
    if block.empty:
        return [f"### {title}", "", "No table is complete for this block yet.", ""], None, None
    sec = curves.merge(block[["table", "strategy", "seed"]], on=["table", "strategy", "seed"])
    summary, info = st.across(block, sec.groupby("strategy")["select_seconds"].mean())
    chosen, eligible = st.apply_rule(summary)
    lines = [f"### {title}", "", note.format(k=info["n_tables"], s=info["n_strategies"]), "",
             "| strategy | mean rank | mean AULC | mean oracle gap | worst oracle gap | Δ vs margin: mean | worst table | "
             "tables ≥ margin | Wilcoxon p vs margin | Δ vs random: mean | tables > random | s / round | eligible |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in summary.iterrows():
        mark = "**" if name == chosen else ""
        lines.append(
            f"| {mark}{name}{mark} | {r.mean_rank:.2f} | {r.mean_aulc:.4f} | {r.oracle_gap:.4f} | {r.worst_gap:.4f} | "
            f"{r.vs_margin_mean:+.4f} | {r.vs_margin_min:+.4f} | {int(r.tables_ge_margin)}/{info['n_tables']} | "
            f"{'-' if math.isnan(r.wilcoxon_p) else f'{r.wilcoxon_p:.3f}'} | {r.vs_random_mean:+.4f} | "
            f"{int(r.tables_gt_random)}/{info['n_tables']} | {r.select_seconds:.2f} | {'yes' if eligible[name] else 'no'} |")
    chi2, p = info["friedman"]
    lines += ["", f"Friedman test over {info['n_tables']} tables x {info['n_strategies']} strategies: "
              f"chi2 = {chi2:.2f}, p = {p:.2g}. The rule's answer on this block: **{chosen}**.", ""]
    return lines, chosen, summary


def write_report(args: argparse.Namespace, tables: list[str], strategies: list[str], run_wall: float,
                 plot_tables: set[str] | None = None) -> None:
    fp = fingerprint()
    curves, tasks, ceilings = load_cache(fp)
    aulc = aulc_frame(curves)
    screen_seeds = list(range(args.screen_seeds))
    final, _ = confirmation_plan(aulc, tables, strategies, args.screen_seeds, args.confirm_seeds)
    ceil = ceilings.groupby("table")["accuracy"].mean() if not ceilings.empty else pd.Series(dtype=float)

    # completeness
    comp = ["| table | rows | classes | curves cached (strategy x seed) | screening complete (seeds 0-"
            f"{args.screen_seeds - 1}, {len(strategies)} strategies) | confirmation seeds done | compute s |",
            "|---|---|---|---|---|---|---|"]
    for t in tables:
        sub = aulc[aulc["table"] == t]
        screened = sub[sub["seed"].isin(screen_seeds) & sub["strategy"].isin(strategies)]
        conf = "-"
        if final is not None:
            c = sub[sub["strategy"].isin(final) & (sub["seed"] >= args.screen_seeds)]
            conf = f"{len(c)}/{len(final) * (args.confirm_seeds - args.screen_seeds)}"
        secs = tasks[tasks["table"] == t]["seconds"].sum() if not tasks.empty else 0.0
        comp.append(f"| {t} | {_tables.n_rows(t)} | {_classes(t)} | {len(sub)} | {len(screened)}/{len(strategies) * len(screen_seeds)} "
                    f"| {conf} | {secs:.0f} |")

    screen_block = st.complete_block(aulc, strategies, screen_seeds) if not aulc.empty else aulc
    lines_s, chosen_s, summary_s = _across_section(
        screen_block, curves, "Screening: every strategy, seeds 0-%d" % (args.screen_seeds - 1),
        "Over the {k} tables where all {s} strategies have every screening seed (of %d tables)." % len(tables))
    lines_c, chosen_c = [], None
    if final is not None:
        conf_block = st.complete_block(aulc, final, list(range(args.confirm_seeds)))
        lines_c, chosen_c, _ = _across_section(
            conf_block, curves, f"Confirmation: the finalists, seeds 0-{args.confirm_seeds - 1}",
            "Over the {k} tables where all {s} finalists have every seed (oracle = best finalist).")
    complete_conf = final is not None and chosen_c is not None and len(st.complete_block(
        aulc, final, list(range(args.confirm_seeds)))["table"].unique()) == len(tables)
    if complete_conf:
        verdict = f"**{chosen_c}** (final: confirmation complete on all {len(tables)} tables)."
    elif chosen_s is not None:
        n_s = screen_block["table"].nunique()
        verdict = (f"**{chosen_s}**, *preliminary*: screening at {args.screen_seeds} seeds on {n_s} of {len(tables)} "
                   f"tables{'' if final is None else '; confirmation incomplete'}.")
    else:
        verdict = "none yet (no table complete)."

    dami_lines = _dami_statement(summary_s, screen_block) if summary_s is not None else ["No data yet."]
    rule_text = RULE_FILE.read_text().split("\n", 2)[2].strip() if RULE_FILE.exists() else "(rule file missing)"
    total_compute = tasks["seconds"].sum() if not tasks.empty else 0.0
    first = tasks["finished"].min() if not tasks.empty else "-"
    last = tasks["finished"].max() if not tasks.empty else "-"
    load = os.getloadavg()

    per_table = []
    for t in tables:
        sub = aulc[aulc["table"] == t]
        if sub.empty:
            continue
        names = [s for s in STRATEGIES if s in set(sub["strategy"])] + sorted(set(sub["strategy"]) - set(STRATEGIES))
        pt = st.per_table(aulc, t, names)
        c = ceil.get(t)
        rows = ["| strategy | seeds | AULC | Δ vs margin [95% CI] | Δ vs random [95% CI] | final accuracy | rank |",
                "|---|---|---|---|---|---|---|"]
        finals = sub.groupby("strategy")["final_accuracy"].mean()
        for r in pt.itertuples():
            rows.append(f"| {r.strategy} | {r.seeds} | {r.aulc_mean:.4f} ± {0 if math.isnan(r.aulc_std) else r.aulc_std:.4f} | "
                        f"{_ci(r.vs_margin)} | {_ci(r.vs_random)} | {finals[r.strategy]:.4f} | {r.rank:g} |")
        png = OUT_DIR / f"{t}.png"
        if plot_tables is None or t in plot_tables or not png.exists():
            has_plot = plot_table(t, curves, c, png)
        else:
            has_plot = png.exists()
        per_table += [f"### {t} ({_tables.n_rows(t)} rows, {_classes(t)} classes; all-label MLP accuracy "
                      f"{'-' if c is None else f'{c:.4f}'})", "", *rows, "",
                      f"![{t} learning curves](label-efficiency/{t}.png)" if has_plot else "(no plot: matplotlib not installed)", ""]

    text = "\n".join([
        "# Label efficiency of the query strategies on 18 development tables",
        "",
        "Regenerate (computes only what the cache lacks, then rewrites this file): "
        "`python bench/label_efficiency.py --jobs 2` (from the cache alone: add `--report-only`).",
        "",
        f"Written {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on {machine_summary()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}, dami-np {dami_np.__version__}; load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (the machine is shared: timings are indicative). Compute in the "
        f"cache: {total_compute / 3600:.2f} core-hours over {len(tasks)} curves (first finished {first}, last {last}); "
        f"this invocation: {run_wall / 60:.1f} min wall. Protocol fingerprint `{fingerprint()}` (default MLP "
        f"unchanged, see `model-reference.md`); hybrids' multiple option: `{multiple_option()}`.",
        "",
        "Protocol (`dami_np.simulate`'s own per-seed runner): 30% stratified test split; 20 random initial labels "
        "shared by all strategies; 10 rounds of 20 labels; default `MLPClassifier` retrained each round; "
        "AULC = test accuracy averaged over the 11 points of the curve. `dami_margin`/`dami_boundary` run as "
        "`_c2`/`_c5`/`_c10` at candidate multiple 2, 5 (their default during the grid) and 10. Per table the differences are paired on "
        "seeds with a Student t 95% interval (bold: the interval excludes 0).",
        "",
        "## The pre-registered rule",
        "",
        f"(Copied from `bench/results/label-efficiency-rule.md`, committed before any result.)",
        "",
        rule_text,
        "",
        f"**What the rule picks from the data so far:** {verdict}",
        "" if final is None else f"Finalists (from the complete screening): {', '.join(final)}.",
        "",
        "## The paper's `dami`",
        "",
        *dami_lines,
        "",
        "## Completeness",
        "",
        *comp,
        "",
        "## Across tables",
        "",
        "Oracle gap: best mean AULC on the table among the strategies compared minus the strategy's, averaged "
        "over tables. `s / round`: mean selection time per round (model fitting excluded; a shared machine: indicative).",
        "",
        *lines_s,
        *lines_c,
        "## Per table",
        "",
        *per_table,
    ])
    out = RESULTS / "label-efficiency.md"
    if out.exists():  # sections other generators own (the learner comparison) are carried over
        kept = _report_sections.sections(out.read_text(encoding="utf-8"))
        text = "\n".join([text, *("\n" + k.rstrip("\n") for k in kept)])
    tmp = out.with_suffix(".md.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, out)


def _classes(table: str) -> int:
    if not hasattr(_classes, "cache"):
        _classes.cache = {}
    if table not in _classes.cache:
        _classes.cache[table] = int(_tables.load(table)[1].nunique())
    return _classes.cache[table]


def _dami_statement(summary: pd.DataFrame, block: pd.DataFrame) -> list[str]:
    if "dami" not in summary.index:
        return ["`dami` is not in the screening block yet."]
    means = block.groupby(["table", "strategy"])["aulc"].mean().unstack("strategy")
    r = summary.loc["dami"]
    k = means.shape[0]
    ge_random = int((means["dami"] >= means["random"]).sum()) if "random" in means else -1
    position = list(summary.sort_values("mean_rank").index).index("dami") + 1
    return [f"On the screening block ({k} tables, {args_seeds(block)} seeds each): `dami` has mean rank "
            f"{r.mean_rank:.2f} (position {position} of {len(summary)} by mean rank), mean AULC {r.mean_aulc:.4f}, "
            f"{r.vs_random_mean:+.4f} against `random` (at least random's AULC on {ge_random} of {k} tables) and "
            f"{r.vs_margin_mean:+.4f} against `margin` (worst table {r.vs_margin_min:+.4f}, at least margin's on "
            f"{int(r.tables_ge_margin)} of {k}), mean oracle gap {r.oracle_gap:.4f}. It stays available as "
            "`strategy=\"dami\"`."]


def args_seeds(block: pd.DataFrame) -> int:
    return int(block["seed"].nunique())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", default=",".join(_tables.names()), help="comma-separated (default: all 18, smallest first)")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--screen-seeds", type=int, default=5)
    parser.add_argument("--confirm-seeds", type=int, default=10, help="seeds of the finalists in all")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--report-only", action="store_true", help="write the report from the cache, compute nothing")
    parser.add_argument("--no-report", action="store_true",
                        help="only fill the cache (for a long background run; write the report with --report-only)")
    args = parser.parse_args(argv)
    tables = [t.strip() for t in args.tables.split(",") if t.strip()]
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    for s in strategies:
        if s not in VARIANTS:
            dami_np.strategies.get(s)  # unknown names fail here, before any work
    started = time.perf_counter()
    fp = fingerprint()
    import threadpoolctl  # noqa: F401  (imported before the workers fork: a long run keeps the code it started with)

    from dami_np import _mlp, _simulate  # noqa: F401

    if not args.report_only:
        done_tables: set[str] = set()

        def on_table_done(table: str) -> None:
            done_tables.add(table)
            if not args.no_report:
                write_report(args, tables, strategies, time.perf_counter() - started, plot_tables={table})

        run(screening_tasks(tables, strategies, args.screen_seeds), args.jobs, fp, on_table_done)
        curves, _, _ = load_cache(fp)
        final, tasks = confirmation_plan(aulc_frame(curves), tables, strategies, args.screen_seeds, args.confirm_seeds)
        if final is None:
            print("screening incomplete: no confirmation round yet", flush=True)
        else:
            print(f"finalists: {', '.join(final)}", flush=True)
            run(tasks, args.jobs, fp, on_table_done)
    if args.no_report:
        return 0
    write_report(args, tables, strategies, time.perf_counter() - started, plot_tables=None if args.report_only else set())
    print(f"wrote {RESULTS / 'label-efficiency.md'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
