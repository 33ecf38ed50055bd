"""``dami status TABLE --label COLUMN [--model FILE]``: should labeling go on?

Prints (to standard output) the labels per class, the cross-validated accuracy on the rows chosen
for labeling (pessimistic), the audit estimate (``--model`` saved with ``select --audit N``: that
model's accuracy on the audit rows, an unbiased estimate), the agreement with the previous
round's model (``--model``, the file the last ``dami select --save-model`` wrote), the coverage
radius and the stop rule's answer (``dami_np.stopping``).  The round's model is trained as ``dami
select`` would train it.  With ``--model``, the id and feature columns are the model file's unless
``--id``/``--features``/``--exclude`` are given.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._console import release
from ._errors import CliError

_EXAMPLES = """examples:
  dami status table.csv --label class
  dami status table.csv --label class --model round3.npz      (id, features and audit rows from the file)
"""


def add_status(commands: argparse._SubParsersAction, parent: argparse.ArgumentParser,
               input_options: Any) -> None:
    """Register ``dami status`` (``parent``: -q/-v; ``input_options``: the table-reading options)."""
    text = "How far labeling has come: labels per class, accuracy estimate, agreement, coverage, stop rule."
    sub = commands.add_parser("status", help=text, description=text, epilog=_EXAMPLES, parents=[parent],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.add_argument("table", metavar="TABLE", help="CSV, Parquet or JSON file, or '-' for standard input")
    sub.add_argument("--label", required=True, metavar="COLUMN", help="the label column")
    sub.add_argument("--model", metavar="FILE.npz", help="the previous round's model (--save-model of dami select)")
    sub.add_argument("--seed", type=int, default=0, help="random seed, as given to dami select (default: 0)")
    input_options(sub, id_help="an id column (not a feature)")
    sub.set_defaults(handler=run_status)


def run_status(args: argparse.Namespace) -> int:
    from ._columns import check_features, label_series, refuse_continuous, require_column, split_names
    from ._model_columns import chosen_features, model_id_column, table_info
    from ._select import check_seed
    from ._table_reader import parse_separator, read_table
    from ._table_writer import check_stdout, write_stdout
    from ._workflow import RoundModel, status_for_table

    check_seed(args.seed)
    check_stdout()
    round_model = RoundModel.from_args(args.model, False)
    saved = table_info(round_model.saved) if round_model.saved is not None else {}
    na_values = split_names(args.na_values, "--na-values") if args.na_values else []
    keep_na = split_names(args.keep_na, "--keep-na") if getattr(args, "keep_na", None) else []
    id_hint = args.id if args.id is not None else saved.get("id")
    text_columns = (args.label,) + ((id_hint,) if id_hint else ()) + tuple(keep_na)
    table = read_table(args.table, text_columns=text_columns, sep=parse_separator(args.sep), na_values=na_values,
                       encoding=args.encoding, decimal=args.decimal,
                       named=list(text_columns) + [str(c) for c in saved.get("features") or []])
    frame = table.frame
    columns = [str(c) for c in frame.columns]
    require_column(args.label, columns, "label", table.source)
    id_column = model_id_column(args.id, saved, columns)
    if id_column is not None:
        require_column(id_column, columns, "id", table.source)
        if id_column == args.label:
            raise CliError(f"--id and --label both name column {args.label!r}")
    chosen = chosen_features(columns, label=args.label, id_column=id_column, features=args.features,
                             exclude=args.exclude, saved=saved, source=table.source, model_path=args.model)
    y = label_series(frame[args.label], na_values)
    refuse_continuous(y, args.label, table.source, bool(args.classes_anyway))
    checked = check_features(frame[chosen], table.source)
    audit = _audit_positions(round_model, frame, table.rows, id_column, args.model, table.source)
    release()
    result = status_for_table(checked.frame, y, round_model, int(args.seed), checked.preprocessor)
    if audit is not None:
        from ._audit import add_audit_estimate

        add_audit_estimate(result, round_model.saved, str(args.model), frame.iloc[audit], y.iloc[audit])
    lines = list(round_model.notes) + result.lines()
    write_stdout(("\n".join(lines) + "\n").encode("utf-8"))
    return 0


def _audit_positions(round_model: Any, frame: Any, rows: Any, id_column: str | None, model_path: str | None,
                     source: str) -> Any:
    if round_model.saved is None:
        return None
    from ._audit import audit_positions

    return audit_positions(round_model.saved.info.get("audit"), frame, rows, id_column, str(model_path), source)

