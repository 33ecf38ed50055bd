"""Model reference: test accuracy of the default MLP vs scikit-learn at 20, 120, 220 and all labels.

    python bench/model_reference.py --seeds 3 --jobs 2 > bench/results/model-reference.md

Per table and seed: ``dami_np.simulate``'s stratified 70/30 split and preprocessing and its
initial set of 20 labels, extended by random training rows to 120 and 220 (nested sets, as
the ``random`` strategy grows them), and all training rows.  Models: ``dami_np.MLPClassifier``
with its defaults (plus any ``--mlp key=value,...`` variants), scikit-learn's
``LogisticRegression(max_iter=2000)`` and ``HistGradientBoostingClassifier()`` with their
defaults.  scikit-learn is needed here only (a reference, never a test dependency).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as _dt
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _tables  # noqa: E402
from _machine import machine_summary  # noqa: E402

from dami_np import MLPClassifier  # noqa: E402
from dami_np._simulate import _Setup, _derive_seed, _encode_y, _prepare_seed  # noqa: E402

SIZES = (20, 120, 220)


def _parse_mlp(spec: str) -> dict:
    """``"alpha=0.01,max_iter=500"`` -> kwargs (values parsed as Python literals)."""
    import ast

    if spec in ("", "default"):
        return {}
    out = {}
    for part in spec.split(";" if ";" in spec else ","):
        key, value = part.split("=", 1)
        out[key.strip()] = ast.literal_eval(value.strip())
    return out


def _models(mlp_specs: list[str], seed: int) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    models = {f"mlp[{s}]" if s != "default" else "mlp": (lambda s=s: MLPClassifier(**_parse_mlp(s), random_state=seed))
              for s in mlp_specs}
    models["logreg"] = lambda: LogisticRegression(max_iter=2000)
    models["hgb"] = lambda: HistGradientBoostingClassifier(random_state=seed)
    return models


def run_one(name: str, seed: int, mlp_specs: list[str]) -> list[dict]:
    from threadpoolctl import threadpool_limits

    X, y = _tables.load(name)
    classes, codes = _encode_y(y, len(X))
    setup = _Setup(X, codes, len(classes), ("random",), ("random",), 20, 20, 10, 0.3, 0)
    X_train, y_train, X_test, y_test, start = _prepare_seed(setup, seed)
    rng = np.random.default_rng(np.random.SeedSequence([0, seed, 99]))
    rest = rng.permutation(np.setdiff1d(np.arange(len(y_train)), start))
    order = np.concatenate([start, rest])
    records = []
    with threadpool_limits(1):
        for size in (*SIZES, len(order)):
            rows = order[:size]
            for model_name, make in _models(mlp_specs, _derive_seed(0, seed, 0, 0)).items():
                model = make()
                t0 = time.perf_counter()
                if model_name.startswith("mlp"):
                    model.fit(X_train[rows], y_train[rows], classes=np.arange(len(classes)))
                    pred = model.predict(X_test)
                elif len(np.unique(y_train[rows])) < 2:
                    pred = np.full(len(y_test), y_train[rows][0])
                else:
                    model.fit(X_train[rows], y_train[rows])
                    pred = model.predict(X_test)
                records.append({"table": name, "seed": seed, "labels": "all" if size == len(order) else str(size),
                                "model": model_name, "accuracy": float(np.mean(pred == y_test)),
                                "seconds": time.perf_counter() - t0})
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", default=",".join(_tables.names()))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--mlp", action="append", default=None,
                        help="an MLPClassifier variant, e.g. 'alpha=0.01,max_iter=500' (repeatable; 'default')")
    parser.add_argument("--csv", type=Path, default=None, help="also write the raw records here")
    args = parser.parse_args(argv)
    specs = args.mlp or ["default"]
    names = [n for n in args.tables.split(",") if n]
    started = time.perf_counter()
    tasks = [(n, s) for n in names for s in range(args.seeds)]
    records: list[dict] = []
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_one, n, s, specs): (n, s) for n, s in tasks}
        for i, future in enumerate(concurrent.futures.as_completed(futures), 1):
            records.extend(future.result())
            print(f"[{i}/{len(tasks)}] {futures[future]}", file=sys.stderr, flush=True)
    frame = pd.DataFrame(records)
    if args.csv:
        frame.to_csv(args.csv, index=False)
    table = frame.groupby(["table", "labels", "model"], sort=False)["accuracy"].mean().unstack("model")
    cols = [c for c in frame["model"].unique()]
    label_order = [str(s) for s in SIZES] + ["all"]
    print("# Model reference: test accuracy at 20, 120, 220 random labels and all training labels\n")
    print(f"Made by `python bench/model_reference.py {' '.join(sys.argv[1:] if argv is None else argv)}` on "
          f"{_dt.date.today().isoformat()}, {machine_summary()}, Python {platform.python_version()}; "
          f"{args.seeds} seeds (mean test accuracy); {time.perf_counter() - started:.0f} s.\n")
    print("Split, preprocessing and the first 20 labels as in `dami_np.simulate` (seed s), then random "
          "training rows (nested). `mlp` = `dami_np.MLPClassifier()` defaults; `logreg` = "
          "`LogisticRegression(max_iter=2000)`; `hgb` = `HistGradientBoostingClassifier()`.\n")
    print("| table | labels | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for name in names:
        for lab in label_order:
            if (name, lab) in table.index:
                row = table.loc[(name, lab)]
                best = row.max()
                cells = [f"**{row[c]:.3f}**" if row[c] == best else f"{row[c]:.3f}" for c in cols]
                print(f"| {name} | {lab} | " + " | ".join(cells) + " |")
    print("\nMean over tables (bold above: best per row):\n")
    mean = frame.groupby(["labels", "model"])["accuracy"].mean().unstack("model").loc[label_order, cols]
    print("| labels | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for lab in label_order:
        print(f"| {lab} | " + " | ".join(f"{mean.loc[lab, c]:.4f}" for c in cols) + " |")
    seconds = frame.groupby("model")["seconds"].sum()
    print("\nTotal fit+predict seconds per model: " + ", ".join(f"{c} {seconds[c]:.0f}" for c in cols))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
