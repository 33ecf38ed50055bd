"""``dami status TABLE --label COLUMN [--model FILE]``: should labeling go on?

Prints (to standard output) the labels per class, the cross-validated accuracy estimate with
its interval, the agreement with the previous round's model (``--model``, the file the last
``dami select --save-model`` wrote), the coverage radius and the stop rule's answer
(``dami_np.stopping``).  The round's model is trained as ``dami select`` would train it.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._console import release
from ._errors import CliError

_EXAMPLES = """examples:
  dami status table.csv --label class
  dami status table.csv --label class --model round3.npz
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
    from ._columns import check_features, feature_columns, label_series, require_column, split_names
    from ._select import check_seed
    from ._table_reader import parse_separator, read_table
    from ._table_writer import check_stdout, write_stdout
    from ._workflow import RoundModel, status_for_table

    check_seed(args.seed)
    check_stdout()
    round_model = RoundModel.from_args(args.model, False)
    na_values = split_names(args.na_values, "--na-values") if args.na_values else []
    text_columns = (args.label,) + ((args.id,) if args.id else ())
    table = read_table(args.table, text_columns=text_columns, sep=parse_separator(args.sep), na_values=na_values,
                       encoding=args.encoding, decimal=args.decimal)
    frame = table.frame
    columns = [str(c) for c in frame.columns]
    require_column(args.label, columns, "label", table.source)
    if args.id is not None:
        require_column(args.id, columns, "id", table.source)
        if args.id == args.label:
            raise CliError(f"--id and --label both name column {args.label!r}")
    chosen = feature_columns(columns, label=args.label, id_column=args.id, features=args.features,
                             exclude=args.exclude, source=table.source)
    y = label_series(frame[args.label], na_values)
    check_features(frame[chosen], table.source)
    release()
    result = status_for_table(frame[chosen], y, round_model, int(args.seed))
    lines = list(round_model.notes) + result.lines()
    write_stdout(("\n".join(lines) + "\n").encode("utf-8"))
    return 0
