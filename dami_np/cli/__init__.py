"""The ``dami`` command: ``select``, ``simulate``, ``demo``, ``datasets``.

Every input problem ends in one line on stderr (``dami: error: ...``) and exit code 2;
no traceback unless ``DAMI_DEBUG=1`` is set.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from .. import __version__
from ._errors import CliError

# The strategy that saved the most labels on the bundled datasets (bench/label_efficiency.py):
# BADGE beat margin on 9 of 11 datasets and random on all 11; the paper's `dami` trailed both.
DEFAULT_SELECT_STRATEGY = "badge"

_EXAMPLES = {
    "select": """examples:
  dami select table.csv --label class --budget 20
  dami select table.csv --label class --budget 20 --id customer_id --out picks.csv
  dami select table.parquet --label y --budget 50 --features age,income,city --seed 7
""",
    "simulate": """examples:
  dami simulate segment --label class --out runs/segment
  dami simulate table.csv --label class --strategies random,margin,dami --seeds 5 --out runs/mine
""",
    "demo": """examples:
  dami demo
  dami demo --dataset vehicle
""",
    "datasets": """examples:
  dami datasets
""",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dami`` command."""
    parser = argparse.ArgumentParser(
        prog="dami",
        description="Active learning for tabular data: which rows should be labeled next?",
        epilog="Run 'dami COMMAND --help' for the options and examples of a command.",
    )
    parser.add_argument("--version", action="version", version=f"dami-np {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    _add_select(commands)
    _add_simulate(commands)
    _add_demo(commands)
    _add_datasets(commands)
    return parser


def _sub(commands: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=_EXAMPLES[name],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _add_select(commands: argparse._SubParsersAction) -> None:
    sub = _sub(commands, "select", "Pick the unlabeled rows of a table to label next.")
    sub.add_argument("table", help="CSV (optionally .gz) or Parquet file; rows with an empty label are the pool")
    sub.add_argument("--label", required=True, metavar="COLUMN", help="the label column")
    sub.add_argument("--budget", required=True, type=int, metavar="N", help="how many rows to pick")
    sub.add_argument(
        "--strategy",
        default=DEFAULT_SELECT_STRATEGY,
        help=f"query strategy (default: {DEFAULT_SELECT_STRATEGY}, the best in bench/results/label-efficiency.md; "
        "also dami, dami_margin, margin, random, ...)",
    )
    sub.add_argument("--seed", type=int, default=0, help="random seed (default: 0); same seed, same picks")
    sub.add_argument("--id", metavar="COLUMN", help="an id column to copy into the output (not a feature)")
    sub.add_argument("--features", metavar="COL,...", help="feature columns (default: all but label and id)")
    sub.add_argument("--out", metavar="FILE", help="write picks to FILE (.csv or .parquet) instead of stdout")
    sub.set_defaults(handler=_run_select)


def _add_simulate(commands: argparse._SubParsersAction) -> None:
    sub = _sub(commands, "simulate", "Replay active learning on a fully labeled table and compare strategies.")
    sub.add_argument("table", help="CSV/Parquet file or the name of a bundled dataset (see 'dami datasets')")
    sub.add_argument("--label", default="class", metavar="COLUMN", help="the label column (default: class)")
    sub.add_argument(
        "--strategies", default="random,margin,dami,badge", help="comma-separated (default: random,margin,dami,badge)"
    )
    sub.add_argument("--initial", type=int, default=20, help="initially labeled rows (default: 20)")
    sub.add_argument("--batch", type=int, default=20, help="rows labeled per round (default: 20)")
    sub.add_argument("--rounds", type=int, default=10, help="query rounds (default: 10)")
    sub.add_argument("--seeds", type=int, default=5, help="repetitions with different splits (default: 5)")
    sub.add_argument("--test-size", type=float, default=0.3, help="held-out fraction (default: 0.3)")
    sub.add_argument("--jobs", type=int, default=1, help="seeds run in parallel processes (default: 1)")
    sub.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    sub.set_defaults(handler=_run_simulate)


def _add_demo(commands: argparse._SubParsersAction) -> None:
    sub = _sub(commands, "demo", "A short simulation and one 'select' round on bundled data.")
    sub.add_argument("--dataset", default="segment", help="bundled dataset for the simulation (default: segment)")
    sub.set_defaults(handler=_run_demo)


def _add_datasets(commands: argparse._SubParsersAction) -> None:
    sub = _sub(commands, "datasets", "List the bundled datasets.")
    sub.set_defaults(handler=_run_datasets)


def _run_select(args: argparse.Namespace) -> int:
    from ._select import run_select

    return run_select(args)


def _run_simulate(args: argparse.Namespace) -> int:
    from ._simulate_command import run_simulate

    return run_simulate(args)


def _run_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(args)


def _run_datasets(args: argparse.Namespace) -> int:
    from .. import datasets

    print(datasets.info().to_string(index=False))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dami`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except (CliError, ValueError) as error:
        if os.environ.get("DAMI_DEBUG"):
            raise
        print(f"dami: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dami: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as error:  # never a traceback for users; DAMI_DEBUG=1 shows it
        if os.environ.get("DAMI_DEBUG"):
            raise
        print(
            f"dami: internal error: {type(error).__name__}: {_one_line(error)} "
            "(set DAMI_DEBUG=1 for a traceback and please report it)",
            file=sys.stderr,
        )
        return 1


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
