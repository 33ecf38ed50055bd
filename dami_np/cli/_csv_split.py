"""Where a CSV file can be cut in two so that each half is parsed on its own core.

A newline ends a record unless it is inside quotes; with no carriage return before the cut and
every quote character there in a simply quoted field on one line (``_simple_quotes``), every
newline there ends exactly one record (blank lines are rows: the read keeps them), so the
record number of the cut is the newline count.  The cut is put on a
record number that is a multiple of ``rows_multiple`` (the chunked read's chunk: the parser's
own internal chunk edges stay where a whole-file read has them), near the middle of the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

_BLOCK = 8 << 20
_NEWLINE, _QUOTE, _CARRIAGE_RETURN = ord("\n"), ord('"'), ord("\r")
_BOM = b"\xef\xbb\xbf"


def data_start(path: Path, header_lines: int, sep: str) -> int | None:
    """Byte offset after the first ``header_lines`` physical lines (header, Excel's ``sep=``
    line), or None unless each is one whole record: fields unquoted, or quoted from their first
    character (after spaces) to the separator, no carriage return (a byte-order mark first is
    the parser's to drop)."""
    record = _whole_record(sep)
    with open(path, "rb") as handle:
        offset = 0
        for _ in range(header_lines):
            line = handle.readline(1 << 24)
            text = line[len(_BOM):] if offset == 0 and line.startswith(_BOM) else line
            if not record.fullmatch(text):
                return None
            offset += len(line)
    return offset


def _whole_record(sep: str) -> re.Pattern[bytes]:
    separator = re.escape(sep.encode())
    other = b'[^"\r\n' + re.escape(sep.encode()) + b"]"
    field = b' *"(?:[^"\r\n]|"")*" *|' + other + b"*"
    return re.compile(b"(?:" + field + b")(?:" + separator + b"(?:" + field + b"))*\n")


def split_point(path: Path, start: int, rows_multiple: int, sep: str) -> tuple[int, int] | None:
    """``(rows, offset)``: the first ``rows`` data records (a positive multiple of
    ``rows_multiple``) end at byte ``offset``, near the middle of the data; None when the first
    half is not simply quoted (``_simple_quotes``, block by block), holds a carriage return, or
    there are too few rows."""
    size = os.path.getsize(path)
    middle = start + (size - start) // 2
    buffer = np.empty(min(_BLOCK, max(middle - start, 1)), dtype=np.uint8)
    counts: list[int] = []  # newlines per block
    with open(path, "rb", buffering=0) as handle:
        handle.seek(start)
        position, previous = start, _NEWLINE  # the data starts on a line of its own
        while position < middle:
            length = handle.readinto(memoryview(buffer)[: min(len(buffer), middle - position)])
            if not length:
                return None
            data = buffer[:length]
            newline = data == _NEWLINE
            if (data == _CARRIAGE_RETURN).any() or not _simple_quotes(data, newline, previous, sep):
                return None
            counts.append(int(np.count_nonzero(newline)))
            position, previous = position + length, int(data[-1])
        rows = sum(counts) // rows_multiple * rows_multiple
        if rows == 0:
            return None
        seen, offset = 0, start
        for count in counts:
            if seen + count >= rows:
                handle.seek(offset)
                length = handle.readinto(buffer)
                newlines = np.flatnonzero(buffer[:length] == _NEWLINE)
                return rows, offset + int(newlines[rows - seen - 1]) + 1
            seen, offset = seen + count, offset + len(buffer)
    return None  # pragma: no cover - the counts reach ``rows``


def _simple_quotes(data: np.ndarray, newline: np.ndarray, previous: int, sep: str) -> bool:
    """A block of bytes (``newline`` marks its line ends, ``previous`` is the byte before it) whose
    quote characters pair up inside it on one line each, the first of a pair opening a field
    (after the separator or a line end), the second closing it (before the separator or a line
    end): then no record spans a newline there and no quote is literal.  A pair across the
    block's edge counts as not simple (the cut is then not made)."""
    quotes = np.flatnonzero(data == _QUOTE)
    if quotes.size == 0:
        return True
    if quotes.size % 2 or quotes[-1] == len(data) - 1:
        return False
    opening, closing = quotes[0::2], quotes[1::2]
    before = np.where(opening > 0, data[np.maximum(opening - 1, 0)], previous)
    after = data[closing + 1]
    separator = ord(sep)
    if not np.all((before == separator) | (before == _NEWLINE)):
        return False
    if not np.all((after == separator) | (after == _NEWLINE)):
        return False
    ends = np.flatnonzero(newline)  # no line end inside a pair
    return bool(np.array_equal(np.searchsorted(ends, opening), np.searchsorted(ends, closing)))
