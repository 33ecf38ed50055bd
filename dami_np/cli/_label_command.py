"""``dami label TABLE --label COLUMN``: label the picks in a browser page (``dami_np.cli.label_page``).

Everything is checked before the server starts (the table, the label column, the options, the
port), then the URL is printed; answers are written to TABLE as they are given.  Ctrl-C or
SIGTERM stop the server after the write in progress (exit 130 or 143, as every command).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from .._defaults import DEFAULT_STRATEGY

DEFAULT_PORT = 8765

_EXAMPLES = """examples:
  dami label table.csv --label class
  dami label table.csv --label class --budget 20 --save-model labels.npz
  dami label table.csv --label class --classes yes,no            (a table with no labels yet)
  dami label table.csv --label class --host 0.0.0.0 --port 9000   (others on the network: the URL has a key)

keys on the page: 1-9 and letters answer with a class, s skips, u undoes, n writes a note.
"""


def add_label(commands: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Register ``dami label`` (``parent``: the common -q/-v options)."""
    text = "Label the picked rows in a browser page, batch after batch; answers are written to TABLE at once."
    sub = commands.add_parser("label", help=text, description=text, epilog=_EXAMPLES, parents=[parent],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.add_argument("table", metavar="TABLE", help="CSV (optionally compressed), Parquet or JSON file; "
                                                    "rows with an empty label are the pool")
    sub.add_argument("--label", required=True, metavar="COLUMN", help="the label column")
    sub.add_argument("--budget", type=int, default=10, metavar="N", help="rows per batch (default: 10)")
    sub.add_argument("--strategy", default=DEFAULT_STRATEGY, help=f"query strategy (default: {DEFAULT_STRATEGY})")
    sub.add_argument("--seed", type=int, default=0, help="random seed of every batch (default: 0)")
    sub.add_argument("--classes", metavar="A,B,...", action="append",
                     help="class buttons besides the classes the table already has; repeatable")
    sub.add_argument("--model", metavar="FILE.npz", help="warm-start the first batch from this saved model")
    sub.add_argument("--save-model", metavar="FILE.npz",
                     help="save the model of each batch here (trained on every answer before it)")
    sub.add_argument("--notes", metavar="FILE.csv", help="where the page's notes go (default: TABLE.notes.csv)")
    sub.add_argument("--host", default="127.0.0.1",
                     help="interface to serve on (default: 127.0.0.1, this machine only; any other needs the "
                          "printed URL's key)")
    sub.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0: any free one)")
    sub.add_argument("--open", action="store_true", help="open the page in the default browser")
    group = sub.add_argument_group("reading the table")
    group.add_argument("--id", metavar="COLUMN", help="an id column, shown on each card (not a feature)")
    group.add_argument("--features", metavar="COL,...", action="append", help="feature columns; repeatable")
    group.add_argument("--exclude", metavar="COL,...", action="append", help="columns that are not features")
    group.add_argument("--sep", metavar="CHAR", help="CSV separator (default: sniffed)")
    group.add_argument("--encoding", metavar="NAME", help="text encoding of a CSV (default: UTF-8)")
    group.add_argument("--na-values", metavar="TEXT,...", action="append", help="extra texts that mean unlabeled")
    sub.set_defaults(handler=run_label)


def run_label(args: argparse.Namespace) -> int:
    """Check everything, serve the page until Ctrl-C or SIGTERM."""
    from .label_page import LabelSession
    from .label_page._server import LabelServer, PortInUseError
    from ._console import note, release
    from ._errors import CliError

    options, config = _checked(args)
    session = LabelSession(options, config, log=note)
    try:
        try:
            server = LabelServer(args.host, args.port, session)
        except PortInUseError as error:
            raise CliError(str(error)) from None
        release()
        try:
            print(f"dami label: labeling page at {server.url}  (Ctrl-C stops it)", flush=True)
            if args.open:
                import webbrowser

                webbrowser.open(server.url)
            session.start()
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()
    finally:
        session.close()
    return 0


def _checked(args: argparse.Namespace) -> tuple[Any, Any]:
    """The session's options, every argument and the table checked first (one line on failure)."""
    from .label_page._session import SessionConfig
    from .label_page._table_labels import TableChangedError, TableOptions, read_labels
    from ._columns import feature_columns, split_names
    from ._errors import CliError
    from ._select import check_seed
    from ._table_reader import parse_separator

    if args.budget <= 0:
        raise CliError(f"--budget must be a positive number of rows, got {args.budget}")
    check_seed(args.seed)
    if not 0 <= args.port <= 65535:
        raise CliError(f"--port must be between 0 and 65535, got {args.port}")
    if args.table == "-":
        raise CliError("TABLE must be a file (the answers are written back to it)")
    if not os.path.isfile(args.table):
        raise CliError(f"{args.table}: no such file")
    if not os.access(args.table, os.W_OK):
        raise CliError(f"{args.table}: is read-only; the answers are written back to it")
    parse_separator(args.sep)
    if args.model is not None:
        from ._workflow import RoundModel

        if not os.path.isfile(args.model):
            raise CliError(f"--model {args.model}: no such file")
        RoundModel.from_args(args.model, False)  # a file dami select --model would refuse is refused now
    if args.save_model is not None:
        from ._workflow import check_target

        check_target(args.save_model, "--save-model", suffixes=(".npz",), inputs=(args.table,))
    if args.notes is not None:
        from ._workflow import check_target

        check_target(args.notes, "--notes", inputs=(args.table,))
    options = TableOptions(
        path=args.table, label=args.label, id_column=args.id, features=tuple(args.features or ()),
        exclude=tuple(args.exclude or ()), sep=args.sep, encoding=args.encoding,
        na_values=tuple(split_names(args.na_values, "--na-values") or ()) if args.na_values else (),
    )
    try:
        table = read_labels(options)
    except TableChangedError as error:
        raise CliError(str(error)) from None
    if args.id is not None and args.id == args.label:
        raise CliError(f"--id and --label both name column {args.label!r}")
    feature_columns([str(c) for c in table.frame.columns], label=args.label, id_column=args.id,
                    features=args.features, exclude=args.exclude, source=table.source)
    classes = tuple(split_names(args.classes, "--classes") or ()) if args.classes else ()
    if len(set(table.counts) | set(classes)) < 2:
        have = f"only the class {next(iter(table.counts))!r}" if table.counts else "no labels"
        raise CliError(f"{table.source}: column {args.label!r} has {have} yet: name the classes with "
                       "--classes A,B,... (at least two)")
    config = SessionConfig(budget=args.budget, strategy=args.strategy, seed=args.seed, model=args.model,
                           save_model=args.save_model, classes=classes, notes=args.notes)
    return options, config
