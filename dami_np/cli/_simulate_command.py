"""``dami simulate``: replay active learning on a fully labeled table and compare strategies."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ._columns import (
    check_features,
    check_labels,
    feature_columns,
    identifier_warnings,
    label_series,
    refuse_continuous,
    require_column,
    split_names,
    unusable_columns_message,
)
from ._console import note, release, warn
from ._errors import CliError
from ._select import check_seed
from ._table_reader import parse_separator, read_table
from ._table_writer import probe_directory, refuse_protected_symlink, write_files

OUTPUT_FILES = ("curves.csv", "summary.csv", "curves.png")


def run_simulate(args: argparse.Namespace) -> int:
    """Check arguments and the output directory, load the table, simulate, write all outputs at once."""
    from .. import simulate
    from .._preprocess import UnusableColumnsError

    strategies = [name.strip() for name in args.strategies.split(",") if name.strip()]
    if not strategies:
        raise CliError("--strategies is empty; give comma-separated strategy names")
    duplicated = sorted({name for name in strategies if strategies.count(name) > 1})
    if duplicated:
        raise CliError(f"--strategies names {', '.join(duplicated)} more than once")
    for name, value in (("--initial", args.initial), ("--batch", args.batch), ("--seeds", args.seeds)):
        if value <= 0:
            raise CliError(f"{name} must be positive, got {value}")
    if args.jobs == 0 or args.jobs < -1:
        raise CliError(f"--jobs must be positive (or -1 for all cores), got {args.jobs}")
    if args.rounds < 0:
        raise CliError(f"--rounds must be zero or more, got {args.rounds}")
    if not 0.0 < args.test_size < 1.0:
        raise CliError(f"--test-size must be between 0 and 1, got {args.test_size}")
    check_seed(getattr(args, "seed", 0))
    out_dir = check_out_dir(Path(args.out), table=args.table)
    X, y = load_labeled_table(
        args.table, args.label, id_column=args.id, features=args.features, exclude=args.exclude,
        sep=parse_separator(args.sep), na_values=split_names(args.na_values, "--na-values") if args.na_values else [],
        encoding=args.encoding, decimal=args.decimal,
        keep_na=split_names(args.keep_na, "--keep-na") if getattr(args, "keep_na", None) else [],
        classes_anyway=bool(getattr(args, "classes_anyway", False)),
    )
    check_features(X, args.table)
    release()  # every check passed: print the held notes and warnings, then work
    try:
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
            progress=_stderr_is_terminal(),
            random_state=getattr(args, "seed", 0),
        )
    except UnusableColumnsError as error:
        raise CliError(unusable_columns_message(error, args.table)) from None
    write_simulation_outputs(result, out_dir)
    if sys.stdout is not None:
        print(result.summary().to_string(index=False), flush=True)
    return 0


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (OSError, ValueError):
        return False


def load_labeled_table(
    table: str,
    label: str,
    *,
    id_column: str | None = None,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    sep: str | None = None,
    na_values: Sequence[str] = (),
    encoding: str | None = None,
    decimal: str | None = None,
    keep_na: Sequence[str] = (),
    classes_anyway: bool = False,
) -> tuple[pd.DataFrame, pd.Series]:
    """A file path (or ``-``), or the name of a bundled dataset; every row must carry a label."""
    from .. import datasets

    path = Path(table)
    if table != "-" and not path.exists() and table in datasets.names():
        X, y = datasets.load(table)
        if label != "class" and label != y.name:
            raise CliError(f"bundled dataset {table!r} has label column 'class', not {label!r}")
        source = table
        chosen = feature_columns(list(X.columns), label=None, id_column=id_column, features=features,
                                 exclude=exclude, source=source)
        return X[chosen], y  # the bundled labels as they are: the same curves as dami_np.simulate
    else:
        if table != "-" and not path.exists() and path.suffix == "":
            raise CliError(f"{table}: no such file or bundled dataset (bundled: {', '.join(datasets.names())})")
        named = [label] + ([id_column] if id_column else []) + [v.strip() for v in (features or []) + (exclude or [])]
        read = read_table(table, text_columns=(label,) + ((id_column,) if id_column else ()) + tuple(keep_na),
                          sep=sep, na_values=na_values, encoding=encoding, decimal=decimal, named=named)
        frame, source, rows = read.frame, read.source, read.rows
        for name in keep_na:
            require_column(name, list(frame.columns), "--keep-na", source)
    columns = list(frame.columns)
    require_column(label, columns, "label", source)
    if id_column is not None:
        require_column(id_column, columns, "id", source)
        if id_column == label:
            raise CliError(f"--id and --label both name column {label!r}")
    chosen = feature_columns(columns, label=label, id_column=id_column, features=features, exclude=exclude,
                             source=source)
    y = label_series(frame[label], na_values)
    missing = y.isna().to_numpy()
    if missing.any():
        first = int(missing.nonzero()[0][0])
        first_row = int(rows[first])
        raise CliError(
            f"{source}: simulate needs every row labeled; column {label!r} is empty in {int(missing.sum())} rows "
            f"(first at data row {first_row})"
        )
    refuse_continuous(y, label, source, classes_anyway)
    check_labels(frame[label], y, label, source)
    identifier_warnings(frame, chosen, source, identifiers=features is None)
    index = pd.Index(rows)  # errors name rows as numbered in the file
    return frame[chosen].set_axis(index, axis=0), y.rename(label).set_axis(index)


def check_out_dir(out_dir: Path, *, table: str | None = None) -> Path:
    """DIR may be new (created only once results exist), but it or its parent must be writable now;
    none of its output files may be the input table."""
    refuse_protected_symlink(out_dir)  # H24: the fs.protected_symlinks rule
    if table not in (None, "-") and Path(table).is_file():  # type: ignore[arg-type]
        for name in OUTPUT_FILES:
            target = out_dir / name
            if target.exists() and os.path.samefile(target, table):  # type: ignore[arg-type]
                raise CliError(f"{out_dir}: writing {name} there would overwrite the input table {table}")
    if out_dir.exists():
        if not out_dir.is_dir():
            raise CliError(f"{out_dir}: exists and is not a directory")
        probe_directory(out_dir)
        return out_dir
    parent = out_dir.parent if str(out_dir.parent) else Path(".")
    if not parent.is_dir():
        raise CliError(f"{out_dir}: parent directory {parent} does not exist")
    probe_directory(parent)
    return out_dir


def write_simulation_outputs(result, out_dir: Path) -> list[Path]:
    """curves.csv, summary.csv and (with matplotlib) curves.png: all written to temporary files
    first, then renamed together, so DIR never mixes files of two runs. A DIR this call created
    is removed again if writing fails."""
    created = not out_dir.exists()
    try:
        out_dir.mkdir(exist_ok=True)
    except OSError as error:
        raise CliError(f"cannot create {out_dir}: {error.strerror or error}") from None
    curves = result.curves
    summary = result.summary()
    items = [
        (out_dir / "curves.csv", lambda tmp: curves.to_csv(tmp, index=False, lineterminator="\n")),
        (out_dir / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False, lineterminator="\n")),
    ]
    png = out_dir / "curves.png"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        note("install matplotlib (pip install 'dami-np[plot]') for curves.png")
        if png.exists():
            warn(f"{png} is from an earlier run (this one drew no plot)")
    else:
        items.append((png, lambda tmp: result.plot(tmp)))
    try:
        write_files(items)
    except BaseException:
        if created:
            try:
                os.rmdir(out_dir)
            except OSError:
                pass
        raise
    return [path for path, _ in items]
