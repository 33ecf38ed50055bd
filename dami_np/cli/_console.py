"""One-line messages on stderr: notes (``-q`` hides them), warnings, and verbose details (``-v``).

While the command checks its input, messages are held back (``hold``): if a check then fails,
the error is the only line printed; ``release`` prints them once the real work starts.
"""

from __future__ import annotations

import sys
from typing import Any

QUIET, NORMAL, VERBOSE = 0, 1, 2
_state = {"level": NORMAL, "held": False}
_seen: set[str] = set()
_held: list[str] = []


def set_verbosity(level: int) -> None:
    """0 = quiet (errors and warnings only), 1 = notes too, 2 = verbose."""
    _state["level"] = level
    _seen.clear()
    _held.clear()


def hold() -> None:
    """Keep messages back until ``release`` (or drop them with ``discard``)."""
    _state["held"] = True


def release() -> None:
    """Print the held messages and print the next ones at once."""
    _state["held"] = False
    lines = list(_held)
    _held.clear()
    for line in lines:
        _print(line)


def discard() -> None:
    """Forget the held messages (an error line follows)."""
    _state["held"] = False
    _held.clear()


def verbosity() -> int:
    return _state["level"]


def note(text: str) -> None:
    """``dami: note: ...`` unless quiet."""
    if _state["level"] >= NORMAL:
        _emit(f"dami: note: {text}")


def info(text: str) -> None:
    """``dami: ...`` only with ``-v``."""
    if _state["level"] >= VERBOSE:
        _emit(f"dami: {text}")


def warn(text: str) -> None:
    """``dami: warning: ...`` (once per text), always."""
    _emit(f"dami: warning: {text}")


def _emit(line: str) -> None:
    line = " ".join(line.split())
    if line in _seen:
        return
    _seen.add(line)
    if _state["held"]:
        _held.append(line)
        return
    _print(line)


def _print(line: str) -> None:
    stream = sys.stderr
    if stream is None:
        return
    try:
        print(line, file=stream, flush=True)
    except (OSError, ValueError):
        pass


def stdout_is_terminal() -> bool:
    """Whether standard output is a terminal (not a file, a pipe or an in-memory stream)."""
    try:
        return sys.stdout is not None and sys.stdout.isatty()
    except (OSError, ValueError, AttributeError):
        return False


def terminal_numbers(frame: Any) -> Any:
    """``frame`` with its probability columns as 4 significant digits when standard output is a
    terminal (a person reads it); unchanged otherwise (files and pipes keep full precision)."""
    if not stdout_is_terminal():
        return frame
    columns = [c for c in frame.columns if str(c).startswith(("probability", "dami_probability"))
               and frame[c].dtype.kind == "f"]
    if not columns:
        return frame
    out = frame.copy()
    for column in columns:
        out[column] = [f"{v:.4g}" if v == v else "" for v in out[column].tolist()]
    return out


def progress_wanted() -> bool:
    """Progress bars go to stderr only when it is a terminal, and never with ``-q``."""
    try:
        return _state["level"] >= NORMAL and sys.stderr is not None and sys.stderr.isatty()
    except (OSError, ValueError, AttributeError):
        return False
