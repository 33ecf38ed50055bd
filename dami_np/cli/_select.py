"""``dami select``: which rows of a user's table to label next."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import DEFAULT_SELECT_STRATEGY
from ._columns import (
    REPORT_COLUMNS,
    CheckedFeatures,
    check_features,
    check_ids,
    check_labels,
    feature_columns,
    identifier_warnings,
    label_series,
    refuse_continuous,
    report_id_name,
    require_column,
    split_names,
)
from .._fit_table import FrameHandoff
from .._timings import stage
from ._console import note, release
from ._errors import CliError
from ._table_reader import blank_rows, parse_separator, read_table, release_table_memory
from ._table_writer import frame_item, prepare_output, write_frame


def run_select(args: argparse.Namespace) -> int:
    """Check the arguments and the output first, read the table, pick, write the report."""
    if args.budget <= 0:
        raise CliError(f"--budget must be a positive number of rows, got {args.budget}")
    check_seed(args.seed)
    target = prepare_output(args.out, args.format,
                            inputs=(args.table,) + ((args.model,) if getattr(args, "model", None) else ()))
    if getattr(args, "dask", None):
        return _run_dask(args, target)
    plan = _workflow_plan(args, target)
    na_values = split_names(args.na_values, "--na-values") if args.na_values else []
    keep_na = split_names(args.keep_na, "--keep-na") if getattr(args, "keep_na", None) else []
    text_columns = (args.label,) + ((args.id,) if args.id else ()) + tuple(keep_na)
    table = read_table(args.table, text_columns=text_columns, sep=parse_separator(args.sep), na_values=na_values,
                       encoding=args.encoding, decimal=args.decimal, named=named_columns(args))
    for name in keep_na:
        require_column(name, list(table.frame.columns), "--keep-na", table.source)
    if plan is not None:
        plan.check_table(table.frame, table.source)  # type: ignore[attr-defined]
    frame: pd.DataFrame | FrameHandoff = table.frame
    if plan is None:  # nothing after the round needs the table's numbers: the round frees them
        frame, table.frame = FrameHandoff(table.frame), None  # type: ignore[assignment]
    report = pick_from_frame(
        frame,
        label=args.label,
        budget=args.budget,
        strategy=args.strategy,
        seed=args.seed,
        id_column=args.id,
        features=args.features,
        exclude=args.exclude,
        source=table.source,
        rows=table.rows,
        classes_anyway=bool(getattr(args, "classes_anyway", False)),
        na_values=na_values,
        plan=plan,
    )
    out_item = frame_item(report, target) if plan is not None else None  # H24: --out, sheet, model: one group
    if plan is None:
        write_frame(report, target)
    else:  # standard output only once the files are in place
        plan.finish(table.frame, table.rows, report, label=args.label, id_column=args.id, source=table.source,
                    extra_items=[out_item] if out_item is not None else [],
                    after_files=None if out_item is not None else (lambda: write_frame(report, target)))
    if target.path is not None:
        note(f"wrote {len(report)} picks to {target.shown}")
    return 0


def _run_dask(args: argparse.Namespace, target: object) -> int:
    """``--dask ADDRESS``: the round on a Dask cluster over Parquet files (``dami_np._dask.select_parquet``)."""
    given = [flag for flag, value in (("--id", args.id), ("--features", args.features), ("--exclude", args.exclude))
             if value]
    if given:
        raise CliError(f"{', '.join(given)} cannot be combined with --dask yet: select the columns in the Parquet files")
    try:
        from .._dask import DaskRoundError, select_parquet
    except ImportError as err:
        raise CliError(f"--dask needs dask and distributed: pip install 'dami-np[dask]' ({err})") from None
    try:
        report = select_parquet(args.table, args.label, args.budget, args.strategy, args.seed, args.dask,
                                timeout=args.dask_timeout, classes_anyway=bool(args.classes_anyway))
    except (ValueError, OSError, DaskRoundError) as err:
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CliError(text.replace("pass classes_anyway=True", "pass --classes-anyway")) from None
    write_frame(report, target)
    if getattr(target, "path", None) is not None:
        note(f"wrote {len(report)} picks to {target.shown}")  # type: ignore[attr-defined]
    return 0


def _workflow_plan(args: argparse.Namespace, target: object) -> object:
    """The sheet / saved-model / status side of the round (``_workflow``), or None when not asked for."""
    from ._workflow import SelectPlan

    if not SelectPlan.wanted(args):
        return None
    return SelectPlan(args, getattr(target, "path", None))


def named_columns(args: argparse.Namespace) -> list[str]:
    """Every column name the user gave (such a column is never dropped as a saved index)."""
    names = [args.label] + ([args.id] if args.id else [])
    for values in (args.features, args.exclude):
        for value in values or []:
            names.append(value.strip())
            names.extend(split_names([value], "--features") or [])
    return names


def check_seed(seed: int) -> None:
    if seed < 0 or seed >= 2**32:
        raise CliError(f"--seed must be between 0 and {2**32 - 1}, got {seed}")


def pick_from_frame(
    frame: pd.DataFrame | FrameHandoff,
    *,
    label: str,
    budget: int,
    strategy: str = DEFAULT_SELECT_STRATEGY,
    seed: int = 0,
    id_column: str | None = None,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    source: str = "table",
    rows: np.ndarray | None = None,
    na_values: Sequence[str] = (),
    plan: object = None,
    classes_anyway: bool = False,
) -> pd.DataFrame:
    """Validate a labeled/unlabeled table and return the pick report as a DataFrame.

    ``features``/``exclude`` are option values (comma-separated names, see ``_columns``);
    ``rows`` the input row number of each frame row (default: its position).  A ``FrameHandoff``
    (``frame`` given for keeps) lets the round free the table's numbers once its matrix is built.
    """
    handed = isinstance(frame, FrameHandoff)
    if handed:
        frame = frame.take()
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    rows = np.arange(len(frame), dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    require_column(label, columns, "label", source)
    if id_column is not None:
        require_column(id_column, columns, "id", source)
        if id_column == label:
            raise CliError(f"--id and --label both name column {label!r}")
    if isinstance(features, str):
        features = [features]
    if isinstance(exclude, str):
        exclude = [exclude]
    chosen = feature_columns(columns, label=label, id_column=id_column, features=features, exclude=exclude,
                             source=source)
    y = label_series(frame[label], na_values)
    refuse_continuous(y, label, source, classes_anyway)
    hollow = blank_rows(frame[chosen]) & y.isna().to_numpy(dtype=bool)
    if hollow.any() and not hollow.all():  # an unlabeled row without any feature value says nothing
        note(f"{source}: {int(hollow.sum())} unlabeled row(s) have no feature value (data row(s) "
             f"{', '.join(str(int(r)) for r in rows[hollow][:5])}{', ...' if hollow.sum() > 5 else ''}); "
             "they are left out of the pool")
        frame = frame.loc[~hollow].reset_index(drop=True)
        y = y.loc[~hollow].reset_index(drop=True)
        rows = rows[~hollow]
    pool = int(y.isna().sum())
    if pool == 0:
        raise CliError(f"{source}: no unlabeled rows: every row of column {label!r} has a label")
    if budget <= 0:
        raise CliError(f"--budget must be a positive number of rows, got {budget}")
    if budget > pool:
        raise CliError(f"--budget {budget} is larger than the pool: only {pool} rows have an empty {label!r}")
    check_labels(frame[label], y, label, source)
    if id_column is not None:
        check_ids(frame[id_column], id_column, rows, source)
    identifier_warnings(frame, chosen, source, identifiers=features is None)
    X = frame[chosen].set_axis(pd.Index(rows), axis=0)  # errors name rows as numbered in the file
    y = y.set_axis(pd.Index(rows))
    features = check_features(X, source)  # the round's one preprocessor fit
    release()  # every check passed: print the held notes and warnings, then work
    ids = frame[id_column].to_numpy() if id_column is not None else None
    if handed and plan is None:  # the round holds the only reference to the features from here on
        features = features._replace(frame=FrameHandoff(features.frame, release_table_memory))
        del frame, X
    with stage("round"):
        table = (plan.select if plan is not None else _select)(features, y, budget, strategy, seed, source)  # type: ignore[attr-defined]
    positions = table["row"].to_numpy(dtype=np.int64)
    report = pd.DataFrame({"row": rows[positions]})
    if id_column is not None:
        name = report_id_name(id_column)
        if name != id_column:
            note(f"the id column {id_column!r} is written as {name!r} ({id_column!r} is a report column)")
        report[name] = ids[positions]  # type: ignore[index]
    for column in REPORT_COLUMNS[1:]:
        if column in table.columns:
            report[column] = table[column].to_numpy()
    return report


def _select(features: CheckedFeatures, y: pd.Series, budget: int, strategy: str, seed: int, source: str) -> pd.DataFrame:
    """One round (``run_round``, as ``dami_np.select`` runs it) on the checked features and their
    preprocessing; its report."""
    from .._round import run_round

    done = run_round(features.frame, y, budget, strategy, random_state=seed, preprocessor=features.preprocessor)
    return done.report()
