"""The ``dami`` command: ``select``, ``simulate``, ``demo``, ``datasets``, ``merge``, ``status``, ``predict``.

Every input problem ends in one line on stderr (``dami: error: ...``) and exit code 2 (usage
errors too); no traceback unless ``DAMI_DEBUG=1`` is set. Warnings are one line each
(``dami: warning: ...``), notes too (``dami: note: ...``, hidden by ``-q``). Ctrl-C, SIGTERM
and SIGHUP stop the command without leaving a temporary file (exit 130, 143, 129); a broken
pipe on standard output exits 141.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import sys
import warnings
from typing import Any, NoReturn, Sequence

from .. import __version__
from .._defaults import DEFAULT_STRATEGY
from ._console import NORMAL, QUIET, VERBOSE, discard, hold, release, set_verbosity, warn
from ._errors import CliError

# One default for `dami select`, `dami_np.select` and `dami_np.query` (issue 15 picks its value).
DEFAULT_SELECT_STRATEGY = DEFAULT_STRATEGY

_EXAMPLES = {
    "select": """examples:
  dami select table.csv --label class --budget 20
  dami select table.csv --label class --budget 20 --id customer_id --out picks.csv
  dami select table.parquet --label y --budget 50 --features age,income,city --seed 7
  dami select export.csv --label y --budget 10 --sep ';' --exclude comment,created_at
  cat table.csv | dami select - --label y --budget 5 --format json

column names with commas: --features 'age,"income, net"' (CSV quoting), or repeat --features.
""",
    "simulate": """examples:
  dami simulate segment --label class --out runs/segment
  dami simulate table.csv --label class --strategies random,margin,dami --seeds 5 --out runs/mine
  dami simulate table.csv --label class --id customer_id --exclude notes --out runs/mine
""",
    "demo": """examples:
  dami demo
  dami demo --dataset vehicle
""",
    "datasets": """examples:
  dami datasets
""",
}


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (``dami: error: ...``), exit code 2."""

    def error(self, message: str) -> NoReturn:
        print(f"dami: error: {' '.join(message.split())} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(2)


def _seconds(text: str) -> float:
    """A positive, finite number of seconds (an argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < 1e6:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dami`` command."""
    parser = _Parser(
        prog="dami",
        description="Active learning for tabular data: which rows should be labeled next?",
        epilog="Run 'dami COMMAND --help' for the options and examples of a command.",
    )
    parser.add_argument("--version", action="version", version=f"dami-np {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    _add_select(commands)
    _add_simulate(commands)
    _add_demo(commands)
    _add_datasets(commands)
    from ._workflow_options import add_commands

    add_commands(commands, _common, _input_options)
    from ._predict_command import add_predict

    add_predict(commands, _common())
    from ._label_command import add_label

    add_label(commands, _common())
    return parser


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_const", dest="verbosity", const=QUIET, default=NORMAL,
                       help="print errors and warnings only")
    group.add_argument("-v", "--verbose", action="store_const", dest="verbosity", const=VERBOSE,
                       help="say more (e.g. while kernels compile)")
    return common


def _input_options(sub: argparse.ArgumentParser, *, id_help: str) -> None:
    group = sub.add_argument_group("reading the table")
    group.add_argument("--id", metavar="COLUMN", help=id_help)
    group.add_argument("--features", metavar="COL,...", action="append",
                       help="feature columns (default: all but label and id); repeatable")
    group.add_argument("--exclude", metavar="COL,...", action="append",
                       help="columns that are not features (free text, dates you do not want...); repeatable")
    group.add_argument("--sep", metavar="CHAR",
                       help="CSV separator: a character or tab, semicolon, comma, pipe (default: sniffed from "
                            "the header; tab for .tsv)")
    group.add_argument("--decimal", metavar="CHAR", choices=[".", ","],
                       help="decimal mark of numbers in a CSV (default: ',' when the separator is ';', else '.')")
    group.add_argument("--na-values", metavar="TEXT,...", action="append",
                       help="extra cell texts that mean missing (and unlabeled in the label column), e.g. '?,unknown'; "
                            "by default only an empty cell is an unlabeled row")
    group.add_argument("--keep-na", metavar="COL,...", action="append",
                       help="feature columns where only an empty cell is missing (like the label and id): "
                            "'NA', 'None', 'null'... stay values; repeatable")
    group.add_argument("--encoding", metavar="NAME", help="text encoding of a CSV (default: UTF-8)")
    group.add_argument("--classes-anyway", action="store_true",
                       help="accept a label column of non-integer numbers (refused as a continuous target): "
                            "each distinct value is a class")


def _sub(commands: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=_EXAMPLES[name],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common()],
    )


def _add_select(commands: argparse._SubParsersAction) -> None:
    sub = _sub(commands, "select", "Pick the unlabeled rows of a table to label next.")
    sub.add_argument("table", metavar="TABLE",
                     help="CSV (optionally gzip/bz2/xz), Parquet or JSON file, or '-' for standard input; "
                          "rows with an empty label are the pool")
    sub.add_argument("--label", required=True, metavar="COLUMN", help="the label column")
    sub.add_argument("--budget", required=True, type=int, metavar="N", help="how many rows to pick")
    sub.add_argument(
        "--strategy",
        default=DEFAULT_SELECT_STRATEGY,
        help=f"query strategy (default: {DEFAULT_SELECT_STRATEGY}, the best in bench/results/label-efficiency.md; "
        "also dami, dami_margin, margin, random, ...)",
    )
    sub.add_argument("--seed", type=int, default=0, help="random seed (default: 0); same seed, same picks")
    sub.add_argument("--out", metavar="FILE",
                     help="write picks to FILE (.csv, .tsv, .parquet, .json; .csv.gz/.tsv.gz) instead of stdout")
    sub.add_argument("--format", choices=["csv", "tsv", "parquet", "json"],
                     help="output format (default: from --out's name, csv on stdout)")
    sub.add_argument("--dask", metavar="ADDRESS",
                     help="run the round on a Dask cluster (scheduler address, or local:N for N local worker "
                          "processes); TABLE is then a Parquet file, directory or glob; needs dami-np[dask]")
    sub.add_argument("--dask-timeout", type=_seconds, default=10.0, metavar="SECONDS",
                     help="seconds to connect to the --dask scheduler and for a first worker to join (default: 10)")
    _input_options(sub, id_help="an id column to copy into the output (not a feature)")
    from ._workflow_options import add_select_options

    add_select_options(sub)
    sub.set_defaults(handler=_run_select)


def _add_simulate(commands: argparse._SubParsersAction) -> None:
    sub = _sub(commands, "simulate", "Replay active learning on a fully labeled table and compare strategies.")
    sub.add_argument("table", metavar="TABLE",
                     help="CSV/Parquet/JSON file, '-' for standard input, or a bundled dataset (see 'dami datasets')")
    sub.add_argument("--label", default="class", metavar="COLUMN", help="the label column (default: class)")
    sub.add_argument(
        "--strategies", default=f"{DEFAULT_STRATEGY},random,margin,dami,badge",
        help=f"comma-separated (default: {DEFAULT_STRATEGY},random,margin,dami,badge; {DEFAULT_STRATEGY} is select's default)"
    )
    sub.add_argument("--initial", type=int, default=20, help="initially labeled rows (default: 20)")
    sub.add_argument("--batch", type=int, default=20, help="rows labeled per round (default: 20)")
    sub.add_argument("--rounds", type=int, default=10, help="query rounds (default: 10)")
    sub.add_argument("--seeds", type=int, default=5, help="repetitions with different splits (default: 5)")
    sub.add_argument("--seed", type=int, default=0, help="root random seed (default: 0)")
    sub.add_argument("--test-size", type=float, default=0.3, help="held-out fraction (default: 0.3)")
    sub.add_argument("--jobs", type=int, default=1, help="seeds run in parallel processes (default: 1; -1: all cores)")
    sub.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    _input_options(sub, id_help="an id column, left out of the features")
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
    from ._table_writer import check_stdout

    check_stdout()
    from ._demo import run_demo

    return run_demo(args)


def _run_datasets(args: argparse.Namespace) -> int:
    from .. import datasets
    from ._table_writer import check_stdout, write_stdout

    check_stdout()
    write_stdout((datasets.info().to_string(index=False) + "\n").encode("utf-8"))
    return 0


_NOTICE_ENV = "DAMI_NP_COMPILE_NOTICE"


class _Signal(BaseException):
    """SIGTERM/SIGHUP, raised in the main thread so that ``finally`` and cleanup run."""

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


_OWNER = {"pid": -1}


def _raise_signal(number: int, frame: Any) -> None:
    if os.getpid() != _OWNER["pid"]:  # a forked worker inherited this handler: just die
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        return
    _stop_workers()
    if number == signal.SIGINT:
        raise KeyboardInterrupt
    raise _Signal(number)


def _stop_workers() -> None:
    """Terminate worker processes (``simulate --jobs``): a pool would otherwise wait for them."""
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is None:
        return
    try:
        children = multiprocessing.active_children()
    except Exception:  # noqa: BLE001 - best effort while stopping
        return
    for child in children:
        try:
            child.kill()  # workers write no files; SIGKILL cannot be caught by an inherited handler
        except Exception:  # noqa: BLE001
            pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dami`` console script; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, usage errors
        return exit_.code if isinstance(exit_.code, int) else 2
    set_verbosity(args.verbosity)
    from .._progress import show_activity
    from ._console import progress_wanted

    show_activity(progress_wanted())  # long steps shown on a terminal (stderr), never with -q or in a pipe
    notice_env = os.environ.get(_NOTICE_ENV)
    _compile_notice(args.verbosity)
    previous = _install_signal_handlers()
    restore_stdout = _whole_writes_to_stdout()
    _reserve_blas_buffers()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning
            return _run(args)
    finally:
        restore_stdout()
        _restore_signal_handlers(previous)
        if notice_env is None:
            os.environ.pop(_NOTICE_ENV, None)
        else:
            os.environ[_NOTICE_ENV] = notice_env


def console_main() -> None:
    """The ``dami`` console script: :func:`main`, then a fast exit.

    When ``main`` returns, the command's work is done (files renamed, standard output flushed); the
    interpreter's own teardown (freeing every module and array: 0.2-0.4 s after a large round,
    ``bench/end_to_end.py``'s "exit" column) changes nothing the user can see, so it is skipped:
    the exit handlers run (``atexit``: Dask clusters, temporary directories, logging), the
    standard streams are flushed and the process ends with the command's code. With another
    Python thread still alive (it could still be writing) the normal exit is kept."""
    _exit_now(main())


def _exit_now(code: int) -> None:
    import atexit
    import threading

    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()  # what the normal exit would run, in the same order
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BrokenPipeError:
            code = code or 141
        except (OSError, ValueError):
            pass
    os._exit(code)


def _reserve_blas_buffers() -> None:
    """Under a memory limit (``ulimit -v``), have OpenBLAS allocate its per-thread work buffers now:
    allocated later, when the data fills the limit, a failure aborts the process ("OpenBLAS error:
    Memory allocation still failed") instead of raising the ``MemoryError`` we report in one line."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        return
    if soft == resource.RLIM_INFINITY:
        return
    import numpy as np

    try:
        square = np.ones((512, 512))
        square @ square  # large enough to run on every BLAS thread
    except MemoryError:
        pass


def _whole_writes_to_stdout() -> Any:
    """Under ``PYTHONUNBUFFERED``/``python -u`` standard output's text layer sits on the raw file,
    which may take part of a write to a pipe and drop the rest without an error (so a reader that
    closed early looked like success): put a buffered writer between them for this command (it
    writes everything or raises ``BrokenPipeError``); returns the function that undoes it."""
    stream = sys.stdout
    raw = getattr(stream, "buffer", None)
    if not isinstance(raw, io.RawIOBase) or not isinstance(stream, io.TextIOWrapper):
        return lambda: None
    try:
        stream.flush()
        own = io.FileIO(raw.fileno(), "w", closefd=False)  # closing it never closes file descriptor 1
        wrapper = io.TextIOWrapper(io.BufferedWriter(own), encoding=stream.encoding, errors=stream.errors,
                                   line_buffering=stream.line_buffering or stream.isatty(), write_through=True)
    except (ValueError, OSError, AttributeError):
        return lambda: None
    sys.stdout = wrapper

    def restore() -> None:
        try:
            wrapper.close()  # flushes (into /dev/null after a broken pipe, see _silence_stdout)
        except (OSError, ValueError):
            pass
        sys.stdout = stream

    return restore


def _run(args: argparse.Namespace) -> int:
    hold()
    try:
        code = int(args.handler(args))
        release()
        _flush_stdout()
        return code
    except (CliError, ValueError) as error:
        discard()
        if os.environ.get("DAMI_DEBUG"):
            raise
        _error_line(f"dami: error: {_one_line(error)}")
        return 2
    except BrokenPipeError:
        release()
        _silence_stdout()
        return 141
    except KeyboardInterrupt:
        release()
        _error_line("dami: interrupted")
        return 130
    except _Signal as caught:
        release()
        _error_line(f"dami: stopped by {signal.Signals(caught.number).name}")
        return 128 + caught.number
    except MemoryError as error:
        return _out_of_memory(args, error)
    except OSError as error:  # writing stdout/stderr, or a file the checks could not foresee
        from .._out_of_memory import is_out_of_memory

        if is_out_of_memory(error):
            return _out_of_memory(args, error)
        discard()
        if os.environ.get("DAMI_DEBUG"):
            raise
        where = f" {error.filename}" if getattr(error, "filename", None) else ""
        _error_line(f"dami: error: cannot read or write{where}: {error.strerror or _one_line(error)}")
        return 2
    except Exception as error:  # never a traceback for users; DAMI_DEBUG=1 shows it
        from .._out_of_memory import is_out_of_memory

        if is_out_of_memory(error):  # a thread that could not start: memory for its stack
            return _out_of_memory(args, error)
        release()
        if os.environ.get("DAMI_DEBUG"):
            raise
        _error_line(
            f"dami: internal error: {type(error).__name__}: {_one_line(error)} "
            "(set DAMI_DEBUG=1 for a traceback and please report it)"
        )
        return 1


def _out_of_memory(args: argparse.Namespace, error: BaseException) -> int:
    """One line naming the step that ran out of memory and what to try; exit 2."""
    discard()
    if os.environ.get("DAMI_DEBUG"):
        raise error
    from .._out_of_memory import out_of_memory_message

    _error_line(f"dami: error: {out_of_memory_message(error, getattr(args, 'command', '') or '')}")
    return 2


def _flush_stdout() -> None:
    stream = sys.stdout
    if stream is None:
        return
    try:
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        _silence_stdout()
        raise CliError(f"cannot write to standard output: {error.strerror or error}") from None
    except ValueError:  # closed
        pass


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _error_line(text: str) -> None:
    if sys.stderr is None:
        return
    try:
        print(text, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _install_signal_handlers() -> dict[int, Any]:
    _OWNER["pid"] = os.getpid()
    previous: dict[int, Any] = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is None:
            continue
        try:
            current = signal.getsignal(number)
            if current is signal.SIG_IGN or current is None:  # nohup, background jobs: keep ignoring
                continue
            previous[number] = signal.signal(number, _raise_signal)
        except (ValueError, OSError):  # not the main thread
            pass
    return previous


def _restore_signal_handlers(previous: dict[int, Any]) -> None:
    for number, handler in previous.items():
        try:
            signal.signal(number, handler)
        except (ValueError, OSError, TypeError):
            pass


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """Python warnings as one ``dami: warning:`` line, without file paths."""
    text = str(message)
    if issubclass(category, RuntimeWarning) and "encountered" in text:
        text = f"numerical problem ({text}); the result may be affected"
    warn(text)


def _compile_notice(verbosity: int) -> None:
    """Turn on the kernels' 'compiling kernels (first run only)...' line for a terminal or -v."""
    try:
        terminal = sys.stderr is not None and sys.stderr.isatty()
    except (OSError, ValueError):
        terminal = False
    if verbosity <= QUIET or not (terminal or verbosity >= VERBOSE):
        return
    os.environ[_NOTICE_ENV] = "1"  # read when the kernels are first imported (lazily, only if needed)
    kernels = sys.modules.get("dami_np.kernels")
    if kernels is not None and hasattr(kernels, "set_compile_notice"):
        kernels.set_compile_notice(True)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
