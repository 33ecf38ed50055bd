"""A CSV read in row chunks: the frame ``pd.read_csv`` gives, in about half its memory.

``pd.read_csv`` keeps every parsed piece of a column and the concatenated column at once (the
pieces' freed memory stays with the process), and for a large local file maps the whole file too:
1M x 50 numbers (0.4 GB) peak at 1.5 GB.  Here the same call with the same options reads
``chunksize`` rows at a time; each column is kept as 1-D pieces, then concatenated and its pieces
freed (returned to the system) one column at a time, and the frame holds one block per column
(as the plain read's does).  Peak: the numbers, one column, one chunk.  A plain UTF-8 file of
64 MB or more whose first half is simply quoted (``_csv_split``) is read as two halves at
once, one thread each (pandas' own plain read is parallel too), the second half from a record
edge on a chunk multiple; the halves' pieces join as one read's.

The result is used only when it is surely the plain read's frame, value for value and dtype for
dtype; otherwise ``None`` and the caller reads the plain way (so values, warnings and error
messages stay exactly the plain read's):
- every chunk of a column has the same dtype, one of float64, int64, bool and pandas' ``str``,
  or int64 and float64 (pandas casts the int64 pieces to float64, as here);
- chunk boundaries fall on the plain read's own internal chunk boundaries (pandas parses
  ``low_memory`` chunks of a power of two rows and concatenates them), so a column's pieces are
  unions of the same internal pieces;
- no float64 column holds a finite magnitude >= 2**53 (where an integer parsed as int64 then cast and
  the same text parsed as float can differ: pandas' parallel reader splits the file elsewhere);
- no parse error, no warning, no column left with literal NA markers (a pandas quirk), and at
  least one data row.
"""

from __future__ import annotations

import codecs
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._allocator import release_table_memory
from ._csv_split import data_start, split_point

# Inputs smaller than this are read the plain way: the chunked read takes longer (100k x 51, a
# 97 MB file: 0.42 s against 0.24 s) and the plain read's extra memory is small next to the
# process (0.25 against 0.18 GiB there); from 256 MB on it is what keeps a table's peak near its numbers.
CHUNKED_MIN_BYTES = 256 << 20
# Files of this size or more are read as two halves at once (pandas' plain read is parallel too).
SPLIT_MIN_BYTES = 64 << 20

# A chunk is this many of the parser's internal chunks (about 2**22 cells: 32 MB of float64), so
# that the per-chunk frame costs little next to the parse.
_CHUNK_INTERNAL_CHUNKS = 4
_EXACT_FLOAT_LIMIT = float(2**53)
_NUMPY_DTYPES = (np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.bool_))
_NUMBERS = (np.dtype(np.float64), np.dtype(np.int64))
_STR_DTYPE = pd.api.types.pandas_dtype(str)


def internal_chunk_rows(width: int) -> int:
    """Rows per internal chunk of pandas' C parser (``low_memory``) for a table ``width`` fields
    wide: the largest power of two under half of ``2**20 // width`` (tests check it on pandas)."""
    try:
        from pandas._libs.parsers import DEFAULT_BUFFER_HEURISTIC as heuristic
    except ImportError:  # pragma: no cover - an older pandas names no constant
        heuristic = 1 << 20
    limit = heuristic // max(width, 1)
    rows = 1
    while rows * 2 < limit:
        rows *= 2
    return rows


def read_csv_chunked(source: Any, options: dict[str, Any], *, chunk_rows: int | None = None,
                     split_min_bytes: int = SPLIT_MIN_BYTES) -> pd.DataFrame | None:
    """``pd.read_csv(source, **options)`` read ``chunk_rows`` rows at a time, or ``None`` when the
    result might differ from the plain read in any way (then read the plain way).  ``chunk_rows``
    (tests) must be a power of two, as the parser's internal chunk is, so that one divides the
    other; by default a few internal chunks.  A file of ``split_min_bytes`` or more that can be
    cut safely (``_csv_split``) is read as two halves at once, one per core."""
    names = options.get("names")
    if not names:
        return None
    rows = _CHUNK_INTERNAL_CHUNKS * internal_chunk_rows(len(names)) if chunk_rows is None else chunk_rows
    if rows < 1 or rows & (rows - 1):
        raise ValueError(f"chunk_rows must be a power of two; got {rows}")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            columns = _read_halves(source, options, rows, split_min_bytes)
    except MemoryError:
        raise
    except Exception:  # the plain read raises it again, with today's message
        return None
    if caught or columns is None or any(_large_integers_cast(parts) for parts in columns[1]):
        return None
    return _frame(*columns)


_Columns = tuple[pd.Index, list[list[Any]], int]


def _read_halves(source: Any, options: dict[str, Any], rows: int, split_min_bytes: int) -> _Columns | None:
    """The columns' pieces: of the whole input, or of its two halves read at once and joined."""
    cut = _cut(source, options, rows, split_min_bytes)
    if cut is None:
        return _read_columns(source, options, rows)
    head_rows, offset = cut
    tail_options = {**options, "header": None, "skiprows": None}
    stop = threading.Event()  # one half gave up: the other stops at its next chunk

    def read_half(half: Any, half_options: dict[str, Any]) -> _Columns | None:
        try:
            columns = _read_columns(half, half_options, rows, stop)
        except BaseException:
            stop.set()
            raise
        if columns is None:
            stop.set()
        return columns

    with open(source, "rb") as tail, ThreadPoolExecutor(1) as pool:
        tail.seek(offset)
        later = pool.submit(read_half, tail, tail_options)
        first = read_half(source, {**options, "nrows": head_rows})
        second = later.result()
    if first is None or second is None or first[2] != head_rows or not first[0].equals(second[0]):
        return None
    pieces = first[1]
    for position, parts in enumerate(second[1]):
        if not _same_kind(parts[0], pieces[position]):
            return None
        pieces[position].extend(parts)
    return first[0], pieces, first[2] + second[2]


def _cut(source: Any, options: dict[str, Any], rows: int, split_min_bytes: int) -> tuple[int, int] | None:
    """``(rows, byte offset)`` of a safe cut near the middle of a plain UTF-8 file, or None."""
    if not isinstance(source, (str, os.PathLike)) or options.get("compression") is not None or _cores() < 2:
        return None
    if options.get("header") != 0 or not isinstance(options.get("skiprows", 0), int):
        return None
    try:
        if codecs.lookup(options.get("encoding") or "utf-8").name not in ("utf-8", "utf-8-sig"):
            return None
        if os.path.getsize(source) < split_min_bytes:
            return None
        start = data_start(Path(source), options.get("skiprows", 0) + 1, options["sep"])
        return None if start is None else split_point(Path(source), start, rows, options["sep"])
    except (OSError, LookupError, ValueError):
        return None


def _cores() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _read_columns(source: Any, options: dict[str, Any], rows: int,
                  stop: threading.Event | None = None) -> _Columns | None:
    """The header and, per column, its pieces (1-D, one dtype per column), and the row count;
    None as soon as a chunk disagrees (or ``stop`` is set)."""
    labels: pd.Index | None = None
    pieces: list[list[Any]] = []
    total = 0
    with pd.read_csv(source, **options, chunksize=rows) as reader:
        for chunk in reader:
            if stop is not None and stop.is_set():
                return None
            if labels is None:
                labels = chunk.columns
                pieces = [[] for _ in labels]
            elif not chunk.columns.equals(labels):
                return None
            for position, piece in enumerate(_chunk_columns(chunk)):
                if not _same_kind(piece, pieces[position]):
                    return None
                pieces[position].append(piece)
            total += len(chunk)
            del chunk
        if getattr(getattr(reader._engine, "_reader", None), "na_left_literal", False):
            return None
    if labels is None or total == 0:
        return None
    return labels, pieces, total


def _chunk_columns(chunk: pd.DataFrame) -> list[Any]:
    """Each column of a chunk as its own 1-D array (a copy where it is a row of a shared 2-D block,
    so that freeing one column's pieces frees their memory)."""
    out = []
    for position in range(chunk.shape[1]):
        values = chunk.iloc[:, position].array
        if isinstance(values, pd.arrays.NumpyExtensionArray):
            array = values.to_numpy()
            if array.base is not None and array.base.size != array.size:
                array = array.copy()
            out.append(array)
        else:
            out.append(values)
    return out


def _same_kind(piece: Any, previous: list[Any]) -> bool:
    """The piece has an accepted dtype, that of the column's earlier pieces (int64 and float64 mix),
    and (float) no value whose parse could depend on how the file was split."""
    dtype = piece.dtype
    if not (dtype in _NUMPY_DTYPES or dtype == _STR_DTYPE):
        return False
    if previous and previous[0].dtype != dtype and not (dtype in _NUMBERS and previous[0].dtype in _NUMBERS):
        return False
    if dtype == np.float64 and len(piece):
        high, low = np.fmax.reduce(piece), np.fmin.reduce(piece)
        if (high >= _EXACT_FLOAT_LIMIT or low <= -_EXACT_FLOAT_LIMIT) and bool(
                (np.isfinite(piece) & (np.abs(piece) >= _EXACT_FLOAT_LIMIT)).any()):
            return False
    return True


def _large_integers_cast(parts: list[Any]) -> bool:
    """int64 pieces of a column that becomes float64 hold a magnitude >= 2**53 (see the float check)."""
    if len({part.dtype for part in parts}) < 2:
        return False
    return any(part.dtype == np.int64 and len(part) and max(abs(int(part.max())), abs(int(part.min()))) >= 2**53
               for part in parts)


def _frame(labels: pd.Index, pieces: list[list[Any]], total: int) -> pd.DataFrame:
    """The frame, one block per column, each column built and its pieces freed in turn."""
    data: dict[Any, Any] = {}
    for position, label in enumerate(labels):
        parts, pieces[position] = pieces[position], []
        if isinstance(parts[0], np.ndarray):
            column: Any = parts[0] if len(parts) == 1 else np.concatenate(parts)
        else:
            column = pd.concat([pd.Series(part, copy=False) for part in parts], ignore_index=True).array
        del parts
        data[label] = column
        release_table_memory()
    return pd.DataFrame(data, index=pd.RangeIndex(total), columns=labels, copy=False)
