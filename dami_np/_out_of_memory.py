"""Out of memory as one line: which step ran out, how much it asked for, what to try.

A step that may need much memory runs inside ``step("reading t.csv", size_bytes)`` (every
``_timings.stage`` is one too); a ``MemoryError`` (or an ``OSError`` ENOMEM) escaping it is
tagged with the innermost step, and the command line prints ``out_of_memory_message(error)``
instead of an internal error.
"""

from __future__ import annotations

import contextlib
import errno
import re
from typing import Iterator

__all__ = ["step", "is_out_of_memory", "out_of_memory_message", "human_bytes"]

# The words for ``_timings.stage`` names.
_STAGES = {"read": "reading the table", "preprocessing": "preprocessing the table", "fit": "training the model",
           "round": "choosing the rows", "report": "building the report", "checks": "checking the table"}
_ADVICE = ("close other programs, read fewer rows or columns (--features/--exclude), or run on a machine "
           "with more memory")


@contextlib.contextmanager
def step(what: str, size: int | None = None) -> Iterator[None]:
    """Name the step for an out-of-memory error raised inside it (``size``: the input's bytes)."""
    try:
        yield
    except (MemoryError, OSError, RuntimeError) as error:
        if is_out_of_memory(error):
            inner = getattr(error, "_dami_step", None)  # the innermost step names it, an outer one may size it
            tag = (_STAGES.get(what, what), size) if inner is None else (inner[0], inner[1] if size is None
                                                                           or inner[1] is not None else size)
            try:
                error._dami_step = tag  # type: ignore[union-attr]
            except AttributeError:  # pragma: no cover - a preallocated MemoryError without a __dict__
                pass
        raise


def is_out_of_memory(error: BaseException) -> bool:
    """A ``MemoryError``, an ``OSError`` 'Cannot allocate memory', or Python's ``RuntimeError`` "can't
    start new thread" (no memory for a thread's stack, e.g. under ``ulimit -v``; pyarrow and NumPy's
    pools start threads anywhere)."""
    return (isinstance(error, MemoryError) or (isinstance(error, OSError) and error.errno == errno.ENOMEM)
            or (isinstance(error, RuntimeError) and "can't start new thread" in str(error)))


def out_of_memory_message(error: BaseException, command: str = "") -> str:
    """``out of memory while <step> (<size>); try ...`` for ``error``."""
    what, size = getattr(error, "_dami_step", None) or (f"running dami {command}".rstrip(), None)
    details = []
    if size is not None:
        details.append(f"input {human_bytes(size)}")
    asked = re.search(r"allocate ([0-9.]+ ?[KMGTPE]?i?B)", str(error))
    if asked:
        details.append(f"{asked.group(1)} more was asked for")
    shown = f" ({', '.join(details)})" if details else ""
    return f"out of memory while {what}{shown}; {_ADVICE}"


def human_bytes(size: int) -> str:
    """``1.6 MB``-style size (powers of 1024, two significant decimals)."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.3g} {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover
