"""Where a CSV file can be cut in two so that each half is parsed on its own core.

A newline ends a record unless it is inside quotes; with no quote character and no carriage
return before the cut, every newline there ends exactly one record (blank lines are rows: the
read keeps them), so the record number of the cut is the newline count.  The cut is put on a
record number that is a multiple of ``rows_multiple`` (the chunked read's chunk: the parser's
own internal chunk edges stay where a whole-file read has them), near the middle of the file.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

_BLOCK = 8 << 20


def data_start(path: Path, header_lines: int, sep: str) -> int | None:
    """Byte offset after the first ``header_lines`` physical lines (header, Excel's ``sep=``
    line), or None unless each is one whole record: fields unquoted, or quoted from their first
    character (after spaces) to the separator, no carriage return."""
    record = _whole_record(sep)
    with open(path, "rb") as handle:
        offset = 0
        for _ in range(header_lines):
            line = handle.readline(1 << 24)
            if not record.fullmatch(line):
                return None
            offset += len(line)
    return offset


def _whole_record(sep: str) -> re.Pattern[bytes]:
    separator = re.escape(sep.encode())
    other = b'[^"\r\n' + re.escape(sep.encode()) + b"]"
    field = b' *"(?:[^"\r\n]|"")*" *|' + other + b"*"
    return re.compile(b"(?:" + field + b")(?:" + separator + b"(?:" + field + b"))*\n")


def split_point(path: Path, start: int, rows_multiple: int) -> tuple[int, int] | None:
    """``(rows, offset)``: the first ``rows`` data records (a positive multiple of
    ``rows_multiple``) end at byte ``offset``, near the middle of the data; None when the first
    half holds a quote character or a carriage return, or too few rows."""
    size = os.path.getsize(path)
    middle = start + (size - start) // 2
    counts: list[int] = []
    with open(path, "rb") as handle:
        handle.seek(start)
        position = start
        while position < middle:
            block = handle.read(min(_BLOCK, middle - position))
            if not block:
                return None
            if b'"' in block or b"\r" in block:
                return None
            counts.append(block.count(b"\n"))
            position += len(block)
        rows = sum(counts) // rows_multiple * rows_multiple
        if rows == 0:
            return None
        handle.seek(start)
        seen, position = 0, start
        for count in counts:
            if seen + count >= rows:
                block = handle.read(_BLOCK)
                at = -1
                for _ in range(rows - seen):
                    at = block.index(b"\n", at + 1)
                return rows, position + at + 1
            seen += count
            handle.seek(_BLOCK, io.SEEK_CUR)
            position += _BLOCK
    return None  # pragma: no cover - the counts reach ``rows``
