"""Does the stop rule of ``dami_np.stopping`` fire too early?  (issue 16)

Replays the ``dami select --model`` workflow on a few development tables: per seed a stratified
70/30 split and 20 random initial labels (the harness's own split and initial set,
``dami_np._simulate``), then rounds of ``--budget 20`` with the default strategy; each round's
model warm-starts from the previous round's (variant ``warm``, as ``--model`` does) or is trained
from scratch (variant ``cold``, as ``--refit`` does), with the seed ``dami select --seed S`` gives it.  After each round
the agreement of the new model's predictions with the previous model's on the unlabeled rows is
recorded, as ``dami status`` computes it, and the test accuracy of the new model.

For each table and seed: the round at which the rule fires, the test accuracy then, the test
accuracy after all rounds, and the labels it would have saved.  Criterion (issue 16, set before
any result): a rule that fires too early (accuracy at firing more than 0.01 below the final
accuracy) on more than a quarter of the runs that fire needs changing.  Besides the documented
rule (agreement >= 0.99 in each of the last 2 rounds) the report shows a few variants computed
from the same runs, so a change can be chosen from the same evidence.

    python bench/stopping_rule.py                         # writes bench/results/stopping-rule.md
    python bench/stopping_rule.py --tables wdbc --seeds 2 --rounds 6 --out /tmp/x.md   # quick look
"""

from __future__ import annotations

import argparse
import copy
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
from dami_np._preprocess import TabularPreprocessor  # noqa: E402
from dami_np._simulate import _initial_set, _stratified_split  # noqa: E402
from dami_np.strategies._context import model_seed  # noqa: E402

import _machine  # noqa: E402
import _tables  # noqa: E402

RULES = {  # name -> (threshold, rounds)
    "agreement >= 0.99, 2 rounds (documented)": (0.99, 2),
    "agreement >= 0.99, 3 rounds": (0.99, 3),
    "agreement >= 0.995, 2 rounds": (0.995, 2),
    "agreement >= 0.98, 2 rounds": (0.98, 2),
}


def run(table: str, seed: int, rounds: int, batch: int, initial: int, warm: bool, strategy: str,
        observe=None) -> list[dict]:
    """One replayed workflow; ``observe(model, present, Xtr, ytr, labeled, seed)`` (optional) adds
    its dict to each round's record (``bench/status_estimate.py`` measures the status with it)."""
    X, y = _tables.load(table)
    classes, codes = np.unique(y.to_numpy().astype(str), return_inverse=True)
    rng = np.random.default_rng(np.random.SeedSequence([0, seed]))
    train, test = _stratified_split(codes, 0.3, rng)
    start = _initial_set(codes[train], initial, rng)
    pre = TabularPreprocessor().fit(X.iloc[train])
    Xtr, Xte = pre.transform(X.iloc[train]), pre.transform(X.iloc[test])
    ytr, yte = codes[train], codes[test]
    labeled = np.zeros(len(train), dtype=bool)
    labeled[start] = True
    previous = None
    records = []
    for round_ in range(rounds + 1):
        if previous is not None and warm:
            model = copy.deepcopy(previous)
            model.set_params(warm_start=True, random_state=model_seed(seed))
        else:
            model = dami_np.MLPClassifier(random_state=model_seed(seed))
        present = np.unique(ytr[labeled])
        model.fit(Xtr[labeled], np.searchsorted(present, ytr[labeled]))
        predicted_test = present[model.predict(Xte)]
        pool = ~labeled
        agreement = None
        if previous is not None:
            now = present[model.predict(Xtr[pool])]
            then = previous_classes[previous.predict(Xtr[pool])]
            agreement = float(np.mean(now == then))
        records.append({"round": round_, "n_labeled": int(labeled.sum()), "accuracy": float(np.mean(predicted_test == yte)),
                        "agreement": agreement})
        if observe is not None:
            records[-1].update(observe(model, present, Xtr, ytr, labeled, seed))
        previous, previous_classes = model, present
        if round_ == rounds or pool.sum() < batch:
            break
        y_masked = np.where(labeled, ytr, -1).astype(object)
        y_masked[~labeled] = None
        fitted = model if len(present) == len(np.unique(ytr)) else None
        picks = dami_np.query(Xtr, y_masked, batch, strategy=strategy, model=fitted, random_state=seed,
                              preprocess=False) if fitted is not None else dami_np.query(
            Xtr, y_masked, batch, strategy=strategy, random_state=seed, preprocess=False)
        labeled[picks] = True
    return records


def fire_round(records: list[dict], threshold: float, k: int) -> int | None:
    history: list[float] = []
    for record in records:
        if record["agreement"] is not None:
            history.append(record["agreement"])
        if stopping.should_stop(history, threshold, k):
            return int(record["round"])
    return None


def rule_summary(runs: list[tuple[str, int, list[dict]]]) -> list[str]:
    out = ["| rule | runs that fire | too early | share too early | mean labels saved | verdict |",
           "|---|---|---|---|---|---|"]
    for name, (threshold, k) in RULES.items():
        fired = early = 0
        saved = []
        for _, _, records in runs:
            r = fire_round(records, threshold, k)
            if r is None:
                continue
            fired += 1
            then, final = records[r], records[-1]
            early += then["accuracy"] < final["accuracy"] - 0.01
            saved.append(final["n_labeled"] - then["n_labeled"])
        share = early / fired if fired else float("nan")
        verdict = "no run fires" if not fired else ("needs changing" if share > 0.25 else "passes")
        out.append(f"| {name} | {fired} / {len(runs)} | {early} | {share:.2f} | "
                   f"{np.mean(saved) if saved else float('nan'):.1f} | {verdict} |")
    return out


def per_run(runs: list[tuple[str, int, list[dict]]]) -> list[str]:
    lines = ["| table | seed | fires at round | labels then | accuracy then | rounds run | labels at the end "
             "| accuracy at the end | labels saved | too early |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    threshold, k = RULES["agreement >= 0.99, 2 rounds (documented)"]
    for table, seed, records in runs:
        r = fire_round(records, threshold, k)
        final = records[-1]
        if r is None:
            lines.append(f"| {table} | {seed} | never | | | {final['round']} | {final['n_labeled']} | "
                         f"{final['accuracy']:.3f} | 0 | |")
            continue
        then = records[r]
        lines.append(f"| {table} | {seed} | {r} | {then['n_labeled']} | {then['accuracy']:.3f} | {final['round']} | "
                     f"{final['n_labeled']} | {final['accuracy']:.3f} | {final['n_labeled'] - then['n_labeled']} | "
                     f"{'yes' if then['accuracy'] < final['accuracy'] - 0.01 else 'no'} |")
    return lines


def curves(runs: list[tuple[str, int, list[dict]]]) -> list[str]:
    lines = ["| table | seed | agreement per round (from round 1) | accuracy per round (from round 0) |",
             "|---|---|---|---|"]
    for table, seed, records in runs:
        agree = " ".join(f"{r['agreement']:.3f}" for r in records if r["agreement"] is not None)
        acc = " ".join(f"{r['accuracy']:.3f}" for r in records)
        lines.append(f"| {table} | {seed} | {agree} | {acc} |")
    return lines


VARIANTS = {"warm": "each round's model warm-started from the previous round's (`--model`)",
            "cold": "each round's model trained from scratch (`--refit`)"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", default="wdbc,pima,vehicle,australian")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--initial", type=int, default=20)
    parser.add_argument("--strategy", default=dami_np.DEFAULT_STRATEGY)
    parser.add_argument("--variants", default="warm,cold", help="warm (--model), cold (--refit), or both")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "stopping-rule.md"))
    args = parser.parse_args()
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    variants = args.variants.split(",")
    results: dict[str, list[tuple[str, int, list[dict]]]] = {}
    for variant in variants:
        if variant not in VARIANTS:
            parser.error(f"unknown variant {variant!r}")
        results[variant] = []
        for table in args.tables.split(","):
            for seed in range(args.seeds):
                records = run(table, seed, args.rounds, args.batch, args.initial, variant == "warm", args.strategy)
                results[variant].append((table, seed, records))
                print(f"{variant} {table} seed {seed}: {len(records)} rounds, final accuracy "
                      f"{records[-1]['accuracy']:.3f}", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    lines = [
        "# Stop rule on the development tables",
        "",
        f"Generated by `python bench/stopping_rule.py` (`--tables {args.tables} --seeds {args.seeds} --rounds "
        f"{args.rounds} --variants {args.variants}`) on {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; "
        f"machine: {_machine.machine_summary()}; 1-minute load {load_before:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end (other agents' work included); {seconds:.0f} s.",
        "",
        f"Workflow replayed: stratified 70/30 split, {args.initial} random initial labels, up to {args.rounds} "
        f"rounds of {args.batch} picks by `{args.strategy}` (the default strategy), the default `MLPClassifier` "
        "seeded as `dami select --seed S` seeds it. Agreement = share of the unlabeled training rows on which the "
        "round's model and the previous round's model predict the same class (what `dami status` prints). "
        "Accuracy = on the held-out 30%. *Too early* = accuracy when the rule fires more than 0.01 below the "
        "accuracy after all rounds. Criterion (issue 16): too early on more than a quarter of the runs that fire "
        "means the rule needs changing.",
        "",
    ]
    for variant in variants:
        lines += [f"## {variant}: {VARIANTS[variant]}", ""] + rule_summary(results[variant]) + [""]
    if len(variants) > 1:
        lines += ["## Final accuracy (after all rounds), mean over seeds", "",
                  "| table | " + " | ".join(variants) + " |", "|---|" + "---|" * len(variants)]
        for table in args.tables.split(","):
            cells = [f"{np.mean([r[-1]['accuracy'] for t, _, r in results[v] if t == table]):.3f}" for v in variants]
            lines.append(f"| {table} | " + " | ".join(cells) + " |")
        lines.append("")
    for variant in variants:
        lines += [f"## {variant}: documented rule, per run", ""] + per_run(results[variant]) + [""]
        lines += [f"## {variant}: agreement and accuracy by round", ""] + curves(results[variant]) + [""]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines[: lines.index("## Final accuracy (after all rounds), mean over seeds") + 8]
                     if len(variants) > 1 else lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
