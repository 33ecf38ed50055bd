"""``dami select``: which rows of a user's table to label next."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from . import DEFAULT_SELECT_STRATEGY
from ._errors import CliError
from ._table import check_output_path, read_table, write_table_atomic


def run_select(args: argparse.Namespace) -> int:
    """Read the table, validate everything cheap first, pick, write the report."""
    table_path = Path(args.table)
    out = Path(args.out) if args.out else None
    if out is not None:
        check_output_path(out, inputs=(table_path,))
    text_columns = (args.label,) + ((args.id,) if args.id else ())
    frame = read_table(table_path, text_columns=text_columns)
    report = pick_from_frame(
        frame,
        label=args.label,
        budget=args.budget,
        strategy=args.strategy,
        seed=args.seed,
        id_column=args.id,
        features=_split_names(args.features),
        source=str(table_path),
    )
    if out is None:
        report.to_csv(sys.stdout, index=False)
    else:
        write_table_atomic(report, out)
        print(f"wrote {len(report)} picks to {out}", file=sys.stderr)
    return 0


def pick_from_frame(
    frame: pd.DataFrame,
    *,
    label: str,
    budget: int,
    strategy: str = DEFAULT_SELECT_STRATEGY,
    seed: int = 0,
    id_column: str | None = None,
    features: list[str] | None = None,
    source: str = "table",
) -> pd.DataFrame:
    """Validate a labeled/unlabeled table and return the pick report as a DataFrame."""
    from .._pick_report import select_and_report

    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    _require_column(label, columns, "label", source)
    if id_column is not None:
        _require_column(id_column, columns, "id", source)
        if id_column == label:
            raise CliError(f"--id and --label both name column {label!r}")
    feature_columns = _feature_columns(columns, label, id_column, features, source)
    y = _label_series(frame[label])
    pool = int(y.isna().sum())
    if pool == 0:
        raise CliError(f"{source}: no unlabeled rows: every row of column {label!r} has a label")
    if budget <= 0:
        raise CliError(f"--budget must be a positive number of rows, got {budget}")
    if budget > pool:
        raise CliError(f"--budget {budget} is larger than the pool: only {pool} rows have an empty {label!r}")
    result = select_and_report(frame[feature_columns], y, budget, strategy=strategy, random_state=seed)
    report = pd.DataFrame({"row": result.table["row"].to_numpy()})
    if id_column is not None:
        report[id_column] = frame[id_column].to_numpy()[result.positions]
    for column in ("pick", "distance", "predicted", "probability", "explanation"):
        report[column] = result.table[column].to_numpy()
    return report


def _require_column(name: str, columns: list[str], role: str, source: str) -> None:
    if name not in columns:
        shown = ", ".join(repr(c) for c in columns[:12]) + (", ..." if len(columns) > 12 else "")
        raise CliError(f"{source}: {role} column {name!r} not found; columns are {shown}")


def _feature_columns(
    columns: list[str], label: str, id_column: str | None, features: list[str] | None, source: str
) -> list[str]:
    reserved = {label} | ({id_column} if id_column else set())
    if features is None:
        chosen = [c for c in columns if c not in reserved]
    else:
        for name in features:
            _require_column(name, columns, "feature", source)
            if name in reserved:
                raise CliError(f"--features names {name!r}, which is the label or id column")
        chosen = list(dict.fromkeys(features))
    if not chosen:
        raise CliError(f"{source}: no feature columns left besides the label/id columns")
    return chosen


def _label_series(column: pd.Series) -> pd.Series:
    """Labels as text with every blank cell (empty or whitespace) as missing."""
    text = column.astype("string").str.strip()
    return text.where(text.notna() & (text != ""), None).astype(object)


def _split_names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise CliError("--features is empty; give comma-separated column names")
    return names
