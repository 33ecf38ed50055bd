"""Guarding a table that is read, changed and written back: an advisory lock and a fingerprint.

``table_lock(path)`` holds an exclusive ``fcntl`` lock on a lock file beside the table
(``.NAME.lock``, removed again on release) so that two ``dami merge`` runs (or a merge and the
``dami label`` page) into one table take turns instead of the last rename silently winning.
``Fingerprint.of(path)`` (size, mtime_ns, SHA-256 of the content) taken before the table is read
and ``check_unchanged`` right before the rename catch a table saved meanwhile by a program that
does not take the lock (a spreadsheet): the merge is refused and both files are left as they are.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ._errors import CliError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the fingerprint check still guards the rename
    fcntl = None  # type: ignore[assignment]

LOCK_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Fingerprint:
    """What identifies the content of a file that was read: size, mtime_ns and a content hash."""

    size: int
    mtime_ns: int
    sha256: str

    @classmethod
    def of(cls, path: Path) -> "Fingerprint":
        """The fingerprint of ``path`` now."""
        info = os.stat(path)
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return cls(info.st_size, info.st_mtime_ns, digest.hexdigest())


def check_unchanged(path: Path, before: Fingerprint, shown: str) -> None:
    """Refuse (one line) when ``path`` is no longer the file fingerprinted as ``before``."""
    try:
        now = Fingerprint.of(path)
    except FileNotFoundError:
        raise CliError(f"{shown}: was removed or renamed while dami merged into it; nothing was written") from None
    except OSError as error:
        raise CliError(f"{shown}: cannot read it again before writing: {error.strerror or error}") from None
    if now != before:
        raise CliError(f"{shown}: was changed by another program while dami merged into it (saved in a "
                       "spreadsheet?); nothing was written: run the merge again")


def lock_path(table: Path) -> Path:
    """The lock file of a table: ``.NAME.lock`` beside the file the table's name resolves to."""
    real = Path(os.path.realpath(table))
    return real.with_name(f".{real.name}.lock")


@contextlib.contextmanager
def table_lock(table: Path, *, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the table's advisory lock (waiting up to ``wait`` seconds for another dami to finish)."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    path = lock_path(table)
    deadline = time.monotonic() + wait
    handle = _acquire(path, deadline, str(table))
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # still ours: the others re-check the file after locking
        handle.close()


def _acquire(path: Path, deadline: float, shown: str):  # type: ignore[no-untyped-def]
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as error:
            raise CliError(f"{shown}: cannot create its lock file {path}: {error.strerror or error}") from None
        handle = os.fdopen(fd, "r+b")
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    handle.close()
                    raise CliError(f"{shown}: another dami is writing this table (lock {path} held); "
                                   "nothing was written: try again when it is done") from None
                time.sleep(0.05)
        try:  # the holder before us removed the file on release: lock the new one instead
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return handle
        except FileNotFoundError:
            pass
        handle.close()
