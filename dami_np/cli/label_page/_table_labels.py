"""The table on disk: its labels as read, and one answer written into it (or taken back).

An answer goes through ``dami merge``'s own ``merge_into_table``: the table's lock, the same
checks, the same writer (only the label cell changes, every format written back as read,
temporary file + rename, refused when the table changed while it was read).  Taking an answer
back (undo) empties that one label cell the same way.  A fingerprint (size, mtime, content hash) of the file after
each read or write tells when another program changed the table meanwhile.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class TableOptions:
    """Which table, which columns, how to read it (the options ``dami label`` passes on)."""

    path: str
    label: str
    id_column: str | None = None
    features: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    sep: str | None = None
    encoding: str | None = None
    na_values: tuple[str, ...] = ()

    def reading_args(self) -> list[str]:
        """The reading options as ``dami`` arguments (merge and select take the same ones)."""
        out: list[str] = []
        if self.sep is not None:
            out += ["--sep", self.sep]
        if self.encoding is not None:
            out += ["--encoding", self.encoding]
        for value in self.na_values:
            out += ["--na-values", value]
        return out


@dataclass
class TableLabels:
    """The table as read: frame, data-row numbers, labels (text or None) and the file's fingerprint."""

    frame: pd.DataFrame
    rows: np.ndarray
    labels: list[str | None]
    fingerprint: tuple[int, int, str]
    source: str
    counts: dict[str, int] = field(default_factory=dict)

    def position(self, data_row: int) -> int | None:
        """The frame position of a data row (None: no such row)."""
        at = int(np.searchsorted(self.rows, data_row))
        return at if at < len(self.rows) and int(self.rows[at]) == data_row else None


class TableChangedError(Exception):
    """The table on disk is not the one last read or written (another program saved it)."""


def fingerprint(path: str) -> tuple[int, int, str]:
    """(size, mtime_ns, sha256) of a file: equal fingerprints, same file content."""
    info = os.stat(path)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return int(info.st_size), int(info.st_mtime_ns), digest.hexdigest()


def read_labels(options: TableOptions) -> TableLabels:
    """Read the table as ``dami select`` does; a file changing while read is read again."""
    from .._columns import label_series, require_column
    from .._table_reader import parse_separator, read_table

    text_columns = (options.label,) + ((options.id_column,) if options.id_column else ())
    for _ in range(3):
        before = fingerprint(options.path)
        table = read_table(options.path, text_columns=text_columns, sep=parse_separator(options.sep),
                           na_values=list(options.na_values), encoding=options.encoding,
                           named=list(text_columns))
        if fingerprint(options.path) == before:
            break
    else:
        raise TableChangedError(f"{options.path}: keeps changing while being read")
    columns = [str(c) for c in table.frame.columns]
    require_column(options.label, columns, "label", table.source)
    if options.id_column is not None:
        require_column(options.id_column, columns, "id", table.source)
    series = label_series(table.frame[options.label], list(options.na_values))
    labels = [None if pd.isna(v) else str(v) for v in series.tolist()]
    counts: dict[str, int] = {}
    for value in labels:
        if value is not None:
            counts[value] = counts.get(value, 0) + 1
    return TableLabels(table.frame, np.asarray(table.rows, dtype=np.int64), labels, before, table.source,
                       dict(sorted(counts.items())))


def check_unchanged(options: TableOptions, expected: tuple[int, int, str]) -> None:
    """Raise ``TableChangedError`` when the file is not the one last read or written."""
    try:
        now = fingerprint(options.path)
    except OSError as error:
        raise TableChangedError(f"{options.path}: cannot be read any more ({error.strerror or error})") from None
    if now != expected:
        raise TableChangedError(f"{options.path} was changed on disk by another program since the page read it; "
                                "nothing was written: reload the page to continue with the table as it is now")


def write_answer(options: TableOptions, data_row: int, answer: str | None,
                 expected: tuple[int, int, str] | None = None) -> None:
    """Write one label into the table through ``dami merge``'s ``merge_into_table`` (under its lock, only
    that cell changed); ``answer`` None empties the cell again (undo).  ``expected``: the fingerprint the
    page last saw; checked under the lock, a different file raises ``TableChangedError``."""
    from ..._merge import SheetEntries
    from .._merge_command import merge_into_table
    from .._table_reader import parse_separator

    def entries_for(table: Any) -> SheetEntries:
        if expected is not None:
            check_unchanged(options, expected)
        if answer is None:
            return SheetEntries("row", [], [], [], [], source="the labeling page")
        return SheetEntries("row", [int(data_row)], [answer], [{}], ["the labeling page"], source="the labeling page")

    merge_into_table(options.path, entries_for, label=options.label, sep=parse_separator(options.sep),
                     encoding=options.encoding, na_values=list(options.na_values),
                     clear_rows=[int(data_row)] if answer is None else [])


def display_value(value: Any) -> str:
    """A cell as the page shows it: empty for missing, numbers without float noise."""
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, (float, np.floating)):
        return format(float(value), ".10g")
    return str(value)
