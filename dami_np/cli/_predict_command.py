"""``dami predict TABLE --model FILE.npz``: the saved round's model on every row of a raw table.

Writes one row per table row: ``row`` (the data row of TABLE, 0-based), the id column (``--id``,
default: the one the model was saved with, when TABLE has it), ``predicted``, ``probability``
(of the predicted class), with ``--proba`` one ``probability_<class>`` column per class, and
``explanation`` (the local linear explanation ``select`` reports).  The feature columns and
their preprocessing come from the model file (``dami_np.load_model``); the output is written like
``select``'s (any format, temporary file then rename; 4 significant digits on a terminal).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ._errors import CliError

_EXAMPLES = """examples:
  dami predict table.csv --model round3.npz
  dami predict new_rows.parquet --model round3.npz --out predictions.csv --proba
  dami predict table.csv --model round3.npz --id customer_id --format json
"""


def add_predict(commands: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Register ``dami predict`` (``parent``: the common -q/-v options)."""
    text = "Predict every row of a table with a saved round's model (--save-model of select or merge)."
    sub = commands.add_parser("predict", help=text, description=text, epilog=_EXAMPLES, parents=[parent],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.add_argument("table", metavar="TABLE", help="CSV (optionally compressed), Parquet or JSON file, or '-'")
    sub.add_argument("--model", required=True, metavar="FILE.npz",
                     help="the model file (dami select --save-model or dami merge --save-model)")
    sub.add_argument("--out", metavar="FILE", help="write to FILE (.csv, .tsv, .parquet, .json; .csv.gz) "
                                                   "instead of standard output")
    sub.add_argument("--format", choices=["csv", "tsv", "parquet", "json"],
                     help="output format (default: from --out's name, csv on stdout)")
    sub.add_argument("--id", metavar="COLUMN", help="an id column to copy into the output (default: the id column "
                                                    "the model was saved with, if TABLE has it)")
    sub.add_argument("--proba", action="store_true", help="also write the probability of every class")
    group = sub.add_argument_group("reading the table (as for dami select)")
    group.add_argument("--sep", metavar="CHAR", help="CSV separator (default: sniffed)")
    group.add_argument("--decimal", metavar="CHAR", choices=[".", ","], help="decimal mark of numbers in a CSV")
    group.add_argument("--encoding", metavar="NAME", help="text encoding of a CSV (default: UTF-8)")
    group.add_argument("--na-values", metavar="TEXT,...", action="append",
                       help="extra cell texts that mean missing (give the ones select was given)")
    group.add_argument("--keep-na", metavar="COL,...", action="append",
                       help="columns where only an empty cell is missing (as given to select)")
    sub.set_defaults(handler=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    """Check the model and the output first, read the table, predict, write."""
    from .. import _table_model
    from ._columns import require_column, split_names
    from ._console import note, progress_wanted, release
    from ._table_reader import parse_separator, read_table
    from ._table_writer import prepare_output, write_frame

    target = prepare_output(args.out, args.format, inputs=(args.table, args.model))
    model = _table_model.load_model(args.model)
    table_info = model.info_.get("table") or {}
    features = [str(c) for c in model.feature_names_in_]
    saved_id = table_info.get("id")
    na_values = split_names(args.na_values, "--na-values") if args.na_values else []
    keep_na = split_names(args.keep_na, "--keep-na") if args.keep_na else []
    label = table_info.get("label")
    id_column = args.id if args.id is not None else saved_id
    text_columns = tuple(c for c in (label, id_column) if c) + tuple(keep_na)
    table = read_table(args.table, text_columns=text_columns, sep=parse_separator(args.sep), na_values=na_values,
                       encoding=args.encoding, decimal=args.decimal, named=list(text_columns) + features)
    columns = [str(c) for c in table.frame.columns]
    frame = table.frame.set_axis(columns, axis=1)
    if args.id is not None:
        require_column(args.id, columns, "id", table.source)
    elif id_column is not None and id_column not in columns:
        note(f"{table.source}: has no column {id_column!r} (the id column of {args.model}); rows are named by 'row'")
        id_column = None
    missing = [c for c in features if c not in columns]
    if missing:
        shown = ", ".join(repr(c) for c in missing[:8]) + (", ..." if len(missing) > 8 else "")
        raise CliError(f"{table.source}: lacks feature column(s) {args.model} was trained on: {shown}")
    if len(frame) == 0:
        raise CliError(f"{table.source}: has no data rows to predict")
    release()
    X = frame[features].set_axis(np.asarray(table.rows), axis=0)  # errors name rows as numbered in the file
    report = predictions(model, X, proba=bool(args.proba), progress=progress_wanted())
    report.insert(0, "row", np.asarray(table.rows, dtype=np.int64))
    if id_column is not None:
        from ._columns import report_id_name

        report.insert(1, report_id_name(id_column), frame[id_column].to_numpy())
    write_frame(report, target)
    if target.path is not None:
        note(f"wrote {len(report)} predictions to {target.shown}")
    return 0


def predictions(model: Any, X: Any, *, proba: bool = False, progress: bool = False) -> Any:
    """``predicted``, ``probability`` (of it), per-class probabilities (``proba``) and ``explanation``."""
    import pandas as pd

    from .._table_model import explain_matrix, stable_proba

    matrix = model.transform(X)
    probabilities = stable_proba(model.network_, matrix, progress=progress)
    best = np.argmax(probabilities, axis=1)
    classes = np.asarray(model.classes_)
    out = pd.DataFrame({"predicted": classes[best], "probability": probabilities[np.arange(len(best)), best]})
    if proba:
        for j, name in enumerate(classes.tolist()):
            out[f"probability_{name}"] = probabilities[:, j]
    out["explanation"] = explain_matrix(model.network_, matrix, best, model.preprocessor_)
    return out
