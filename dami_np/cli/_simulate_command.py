"""``dami simulate``: replay active learning on a fully labeled table and compare strategies."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from ._errors import CliError
from ._table import read_table, write_atomic, write_table_atomic


def run_simulate(args: argparse.Namespace) -> int:
    """Load the table (file or bundled name), simulate, write curves/summary/plot, print summary."""
    from .. import simulate

    out_dir = _check_out_dir(Path(args.out))
    strategies = [name.strip() for name in args.strategies.split(",") if name.strip()]
    if not strategies:
        raise CliError("--strategies is empty; give comma-separated strategy names")
    for name, value in (("--initial", args.initial), ("--batch", args.batch), ("--seeds", args.seeds), ("--jobs", args.jobs)):
        if value <= 0:
            raise CliError(f"{name} must be positive, got {value}")
    if args.rounds < 0:
        raise CliError(f"--rounds must be zero or more, got {args.rounds}")
    if not 0.0 < args.test_size < 1.0:
        raise CliError(f"--test-size must be between 0 and 1, got {args.test_size}")
    X, y = load_labeled_table(args.table, args.label)
    result = simulate(
        X,
        y,
        strategies,
        initial=args.initial,
        batch=args.batch,
        rounds=args.rounds,
        seeds=args.seeds,
        test_size=args.test_size,
        n_jobs=args.jobs,
        progress=sys.stderr.isatty() or bool(getattr(args, "progress", False)),
    )
    write_simulation_outputs(result, out_dir)
    print(result.summary().to_string(index=False))
    return 0


def load_labeled_table(table: str, label: str) -> tuple[pd.DataFrame, pd.Series]:
    """A file path, or the name of a bundled dataset; every row must carry a label."""
    from .. import datasets

    path = Path(table)
    if not path.exists() and table in datasets.names():
        X, y = datasets.load(table)
        if label != "class" and label != y.name:
            raise CliError(f"bundled dataset {table!r} has label column 'class', not {label!r}")
        return X, y
    if not path.exists() and path.suffix == "":
        raise CliError(f"{table}: no such file or bundled dataset (bundled: {', '.join(datasets.names())})")
    frame = read_table(path, text_columns=(label,))
    frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    if label not in frame.columns:
        raise CliError(f"{path}: label column {label!r} not found; columns are {', '.join(map(repr, frame.columns[:12]))}")
    y = frame[label].astype("string").str.strip()
    missing = y.isna() | (y == "")
    if missing.any():
        first = int(missing.to_numpy().nonzero()[0][0])
        raise CliError(
            f"{path}: simulate needs every row labeled; column {label!r} is empty in {int(missing.sum())} rows "
            f"(first at data row {first})"
        )
    return frame.drop(columns=[label]), y.astype(object).rename(label)


def _check_out_dir(out_dir: Path) -> Path:
    """The output directory may be new (it is created only once results exist) but its parent must exist."""
    if out_dir.exists() and not out_dir.is_dir():
        raise CliError(f"{out_dir}: exists and is not a directory")
    parent = out_dir.parent if str(out_dir.parent) else Path(".")
    if not parent.is_dir():
        raise CliError(f"{out_dir}: parent directory {parent} does not exist")
    return out_dir


def write_simulation_outputs(result, out_dir: Path) -> list[Path]:
    """curves.csv, summary.csv and (with matplotlib) curves.png, each written atomically."""
    out_dir.mkdir(exist_ok=True)
    written = [out_dir / "curves.csv", out_dir / "summary.csv"]
    write_table_atomic(result.curves, written[0])
    write_table_atomic(result.summary(), written[1])
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("note: install matplotlib (pip install 'dami-np[plot]') for curves.png", file=sys.stderr)
    else:
        png = out_dir / "curves.png"
        write_atomic(png, lambda tmp: result.plot(tmp))
        written.append(png)
    return written
