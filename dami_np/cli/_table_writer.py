"""Writing outputs without ever losing or half-writing a file.

The output format and a writable target are checked before any work; files are written to a
temporary file beside the target and renamed (``write_files`` renames a group only once all of
it is written), created with the mode the umask gives (an existing file's mode is kept), and any
``OSError`` becomes one ``CliError`` line.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import stat
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from .._json_cells import json_value
from ._errors import CliError, first_line
from ._formats import JSON_SUFFIXES, OUTPUT_FORMATS, PARQUET_SUFFIXES, TSV_SUFFIXES


def output_format(out: Path | None, fmt: str | None) -> str:
    """The output format: ``--format`` if given (it must agree with a known extension), else by name."""
    by_name = format_by_name(out) if out is not None else None
    if fmt is not None:
        fmt = fmt.lower()
        if fmt not in OUTPUT_FORMATS:
            raise CliError(f"--format must be one of {', '.join(OUTPUT_FORMATS)}, got {fmt!r}")
        if by_name is not None and by_name != fmt and not (by_name == "csv" and fmt == "tsv"
                                                           and out is not None and out.suffix.lower() == ".txt"):
            raise CliError(f"--format {fmt} but --out {out} names a {by_name} file; make them agree")
        return fmt
    if out is None:
        return "csv"
    if by_name is None:
        raise CliError(f"{out}: unknown output format (name it .csv, .tsv, .parquet, .json or .jsonl, "
                       "optionally compressed: .csv.gz/.csv.bz2/.csv.xz, or pass --format)")
    return by_name


def format_by_name(out: Path) -> str | None:
    """The output format a file name says (compression suffixes aside), None when it says none."""
    name = plain_name(out.name)
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(JSON_SUFFIXES):
        return "json"
    if name.endswith(TSV_SUFFIXES):
        return "tsv"
    if name.endswith((".csv", ".txt")):
        return "csv"
    return None


def plain_name(name: str) -> str:
    """A file name in lower case without its compression suffix (``t.CSV.bz2`` -> ``t.csv``)."""
    lowered = name.lower()
    for suffix in (".gz", ".bz2", ".xz"):
        if lowered.endswith(suffix):
            return lowered[: -len(suffix)]
    return lowered


@dataclass
class Target:
    """Where a result goes: a path (written atomically), a non-regular file (written in place)
    or standard output (``path`` None)."""

    path: Path | None
    fmt: str
    in_place: bool = False

    @property
    def shown(self) -> str:
        return "standard output" if self.path is None else str(self.path)


def prepare_output(out: str | None, fmt: str | None, *, inputs: Sequence[str] = ()) -> Target:
    """Check everything about the output before any work: format, directory, permissions, inputs."""
    if out not in (None, "-") and str(out).endswith(("/", os.sep)):
        raise CliError(f"--out {out}: names a directory; give a file name")
    path = None if out in (None, "-") else Path(out)  # type: ignore[arg-type]
    device = path is not None and path.exists() and not path.is_dir() and not path.is_file()
    kind = output_format(None if device and format_by_name(path) is None else path, fmt)  # type: ignore[arg-type]
    if kind == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise CliError("writing Parquet needs pyarrow: pip install 'dami-np[parquet]'") from None
    if path is None:
        check_stdout(binary=kind == "parquet")
        return Target(None, kind)
    for source in inputs:
        if source != "-" and Path(source).exists() and path.exists() and os.path.samefile(source, path):
            raise CliError(f"{path}: refusing to overwrite an input file ({source})")
    if path.exists():
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise CliError(f"{path}: is a directory; give a file name")
        if not stat.S_ISREG(info.st_mode):  # /dev/stdout, a FIFO: written in place, no rename
            if not os.access(path, os.W_OK):
                raise CliError(f"{path}: not writable")
            return Target(path, kind, in_place=True)
    refuse_protected_symlink(path)
    real = Path(os.path.realpath(path))  # write through a symlink to its target
    if real.exists():
        if not os.access(real, os.W_OK):
            if _read_only_file_system(real.parent):  # nothing there can be removed or replaced either
                raise CliError(f"{path}: is on a read-only file system; write the result elsewhere with --out FILE")
            raise CliError(f"{path}: exists and is read-only; remove it or choose another --out")
    parent = real.parent
    if not parent.exists():
        if path.is_symlink():  # a dangling link: its target's directory is what is missing
            raise CliError(f"{path}: is a link to {os.readlink(path)}, whose directory {parent} does not exist")
        raise CliError(f"{path}: output directory {_shown_parent(path)} does not exist")
    if not parent.is_dir():
        raise CliError(f"{path}: {_shown_parent(path)} is not a directory")
    probe_directory(parent, shown=_shown_parent(path))
    return Target(real, kind)


def _read_only_file_system(directory: Path) -> bool:
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def refuse_protected_symlink(path: Path, what: str = "--out") -> None:
    """Refuse to write through a symlink that Linux's ``fs.protected_symlinks`` would not follow: one in
    a world-writable sticky directory (like /tmp) owned neither by us nor by the directory's owner
    (someone else may have planted it there to make us overwrite a file of ours)."""
    try:
        link = os.lstat(path)
    except OSError:
        return
    if not stat.S_ISLNK(link.st_mode):
        return
    try:
        directory = os.stat(path.parent if str(path.parent) else ".")
    except OSError:
        return
    sticky_shared = bool(directory.st_mode & stat.S_ISVTX) and bool(directory.st_mode & stat.S_IWOTH)
    if sticky_shared and link.st_uid != os.geteuid() and link.st_uid != directory.st_uid:
        raise CliError(f"{what} {path}: is a symlink owned by someone else in a shared sticky directory; refusing "
                       "to write through it (the fs.protected_symlinks rule): give another file name")


def _shown_parent(path: Path) -> str:
    return str(path.parent) if str(path.parent) else "."


def probe_directory(directory: Path, *, shown: str | None = None) -> None:
    """Create and remove a temporary file in ``directory``: the only sure test that it is writable."""
    try:
        handle, name = tempfile.mkstemp(prefix=".dami-probe.", dir=directory)
    except OSError as error:
        raise CliError(f"cannot write into {shown or directory}: {error.strerror or error}") from None
    os.close(handle)
    os.unlink(name)


def check_stdout(*, binary: bool = False) -> None:
    """Results go to standard output: it must be open (and, for binary output, not a terminal)."""
    stream = sys.stdout
    if stream is None:
        raise CliError("standard output is closed; pass --out FILE")
    if getattr(stream, "closed", False):
        raise CliError("standard output is closed; pass --out FILE")
    try:
        fd = stream.fileno()
    except (AttributeError, io.UnsupportedOperation):  # an in-memory stream (tests, notebooks)
        if binary and not hasattr(stream, "buffer"):
            raise CliError("Parquet output needs --out FILE (standard output is not binary)") from None
        return
    except (OSError, ValueError):
        raise CliError("standard output is closed; pass --out FILE") from None
    try:
        os.fstat(fd)
    except OSError:
        raise CliError("standard output is closed; pass --out FILE") from None
    if binary and stream.isatty():
        raise CliError("refusing to write Parquet to a terminal; pass --out FILE.parquet")


def render(frame: pd.DataFrame, fmt: str, *, compress: bool | str = False, guard_formulas: bool = True,
           lines: bool = False) -> bytes:
    """The bytes of ``frame`` in ``fmt`` (csv, tsv, json, parquet; ``lines``: JSON Lines).

    ``guard_formulas``: CSV/TSV text cells (and column names) a spreadsheet would run as formulas get
    a ``'`` before them (``_spreadsheet_cells``); JSON and Parquet are never changed. ``compress``:
    True or "gzip", "bz2", "xz"."""
    if fmt == "parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        data = buffer.getvalue()
    elif fmt == "json":
        data = (_json_records(frame, lines=lines)).encode("utf-8")
    else:
        if guard_formulas:
            frame = _guarded(frame)
        data = frame.to_csv(index=False, sep="\t" if fmt == "tsv" else ",", lineterminator="\n").encode("utf-8")
    if compress:
        from ._table_edit import _COMPRESS

        data = _COMPRESS["gzip" if compress is True else compress](data)
    return data


def _guarded(frame: pd.DataFrame) -> pd.DataFrame:
    from .._spreadsheet_cells import guard_cell

    names = [guard_cell(str(c)) for c in frame.columns]
    text = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype)]
    if not text and names == [str(c) for c in frame.columns]:
        return frame
    out = frame.copy()
    for column in text:
        out[column] = out[column].map(guard_cell).astype(object)
    return out.set_axis(names, axis=1)


def _json_records(frame: pd.DataFrame, *, lines: bool = False) -> str:
    columns = [str(c) for c in frame.columns]
    records = []
    for values in frame.itertuples(index=False, name=None):
        record = {name: json_value(value) for name, value in zip(columns, values)}
        records.append(json.dumps(record, ensure_ascii=False, allow_nan=False))
    if lines:
        return "".join(line + "\n" for line in records)
    return "[\n" + ",\n".join(records) + "\n]\n" if records else "[]\n"


def frame_item(frame: pd.DataFrame, target: Target) -> tuple[Path, Callable[[Path], None]] | None:
    """``frame`` for its file target as one ``write_files`` item, to be renamed with the command's other
    outputs (None for standard output or a non-regular file: ``write_frame`` writes those at once)."""
    if target.path is None or target.in_place:
        return None
    return target.path, lambda tmp: tmp.write_bytes(_rendered(frame, target))


def _rendered(frame: pd.DataFrame, target: Target) -> bytes:
    from ._table_edit import compression_by_name

    name = target.path.name if target.path is not None else ""
    return render(frame, target.fmt, compress=compression_by_name(name) or False,
                  lines=plain_name(name).endswith((".jsonl", ".ndjson")))


def write_frame(frame: pd.DataFrame, target: Target) -> None:
    """Write ``frame`` to its target; any OSError is one CliError line."""
    item = frame_item(frame, target)
    if item is not None:
        write_files([item])
        return
    if target.path is None and target.fmt in ("csv", "tsv"):
        from ._console import terminal_numbers

        frame = terminal_numbers(frame)  # H25: 4 significant digits on a terminal; files and pipes keep all
    try:
        data = _rendered(frame, target)
    except (ValueError, TypeError, NotImplementedError, OverflowError) as error:  # pyarrow's, one line
        raise CliError(f"cannot write {target.shown}: {first_line(error)}") from None
    if target.path is None:
        write_stdout(data)
    else:
        try:
            with open(target.path, "wb") as handle:
                handle.write(data)
        except OSError as error:
            raise CliError(f"cannot write {target.path}: {error.strerror or error}") from None


def write_stdout(data: bytes) -> None:
    """Write bytes to standard output (text or binary stream) and flush; OSError -> CliError."""
    stream = sys.stdout
    if stream is None:
        raise CliError("standard output is closed; pass --out FILE")
    try:
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            stream.flush()
            _write_all(buffer, data)
            buffer.flush()
        else:
            stream.write(data.decode("utf-8"))
            stream.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        raise CliError(f"cannot write to standard output: {error.strerror or error}") from None


def _write_all(buffer: Any, data: bytes) -> None:
    """Write all of ``data``: an unbuffered stream (``PYTHONUNBUFFERED``, ``python -u``) may take only
    part of it per call, and a reader that closed early must end as a broken pipe, not as success."""
    view = memoryview(data)
    while view:
        written = buffer.write(view)
        if written is None:  # a non-blocking stream that is full: wait until it takes more
            import select

            select.select([], [buffer], [])
            continue
        view = view[written:]


def write_files(items: Sequence[tuple[Path, Callable[[Path], None]]], *,
                before_rename: Callable[[], None] | None = None) -> None:
    """Write every ``(out, write)`` pair through ``write(tmp)`` on a temporary file beside
    ``out``; only when all are written (and ``before_rename()``, a last check, passed) are they
    renamed into place, one after the other: one command's outputs are one group.

    An error or a signal (KeyboardInterrupt, SIGTERM) removes every temporary file; the
    targets are then all old or, once renaming began, all new (but for a failing rename).
    Each temporary file is ``flock``-ed while it exists, so that the next write of the same target
    removes the ones a killed process left (``.NAME.XXXXXXXX.tmp.SUFFIX`` not held by anyone).
    An error of the writer (a column Parquet cannot hold, ...) is one line naming the file.
    A new file gets the mode the umask allows (0666 & ~umask); a replaced file keeps its mode.
    """
    temps: list[tuple[Path, Path]] = []
    held: list[int] = []
    out = Path(".")
    try:
        for out, write in items:
            parent = out.parent if str(out.parent) else Path(".")
            remove_stale_temporaries(out)
            handle, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=f".tmp{out.suffix}", dir=parent)
            tmp = Path(tmp_name)
            temps.append((tmp, out))
            held.append(handle)
            _hold(handle)
            os.chmod(tmp, _mode_for(out))
            write(tmp)
        if before_rename is not None:
            before_rename()
        for tmp, out in temps:
            os.replace(tmp, out)
    except OSError as error:
        _remove(temps)
        target = error.filename if isinstance(error.filename, str) else (temps[-1][1] if temps else "")
        for tmp, out in temps:
            if str(tmp) == str(target):
                target = out
        raise CliError(f"cannot write {target}: {error.strerror or error}") from None
    except (ValueError, TypeError, NotImplementedError, OverflowError) as error:
        _remove(temps)
        raise CliError(f"cannot write {out}: {first_line(error)}") from None
    except BaseException:
        _remove(temps)
        raise
    finally:
        for handle in held:
            with contextlib.suppress(OSError):
                os.close(handle)


_FRESH_SECONDS = 2.0


def _hold(handle: int) -> None:
    try:
        import fcntl

        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (ImportError, OSError):  # not POSIX, or a file system without locks
        pass


def remove_stale_temporaries(out: Path) -> list[Path]:
    """Remove the temporary files of ``out`` that a killed write left behind (no live process holds
    their lock); returns the removed paths."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover
        return []
    parent = out.parent if str(out.parent) else Path(".")
    pattern = re.compile(r"\." + re.escape(out.name) + r"\.[A-Za-z0-9_]{8}\.tmp" + re.escape(out.suffix) + r"\Z")
    removed: list[Path] = []
    try:
        names = [name for name in os.listdir(parent) if pattern.match(name)]
    except OSError:
        return removed
    for name in names:
        path = parent / name
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or time.time() - info.st_mtime < _FRESH_SECONDS:
                continue  # not ours, or just created by a write that is about to lock it
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live write holds it
            os.unlink(path)
            removed.append(path)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def _remove(temps: list[tuple[Path, Path]]) -> None:
    for tmp, _ in temps:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def _mode_for(out: Path) -> int:
    try:
        return stat.S_IMODE(out.stat().st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process umask (read without changing it where /proc tells it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
