"""One-line messages on stderr: notes (``-q`` hides them), warnings, and verbose details (``-v``).

While the command checks its input, messages are held back (``hold``): if a check then fails,
the error is the only line printed; ``release`` prints them once the real work starts.
"""

from __future__ import annotations

import sys

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
