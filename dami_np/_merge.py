"""Merging filled labels (an annotation sheet or a Label Studio export) back into a table.

Rows are matched by id (``id_column``) when given, else by the table's data row recorded in the
sheet (``dami_row``).  Each matched row is checked against the table: every column the sheet and
the table share (but the label and id) must hold the same value, so a sheet made from another
table is refused.  A row already labeled differently is a conflict (refused, naming the row); a
row labeled the same is left as is.  Nothing is written unless every row passes.

``edit_csv_cells`` changes the label cells of a CSV text in place, byte for byte everything else.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ._spreadsheet_cells import unguard_cell

__all__ = ["SheetEntries", "MergeResult", "entries_from_sheet", "entries_from_export", "merge_labels",
           "edit_csv_cells", "same_value", "label_text", "class_key"]

_RELATIVE_TOLERANCE = 1e-9  # a spreadsheet saves numbers to 15 (some to 10) significant digits
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


@dataclass
class SheetEntries:
    """What a filled sheet says: for entry i, its key (a data row number or an id), label (None: empty),
    the row's values to check (dict) and a name for messages."""

    by: str  # "row" or "id"
    keys: list[Any]
    labels: list[str | None]
    values: list[dict[str, Any]]
    names: list[str]
    skipped: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    source: str = ""


@dataclass
class MergeResult:
    labels: pd.Series  # the table's new label column (text; None = unlabeled)
    added: np.ndarray  # positions (into the frame) that got a label
    n_empty: int  # sheet rows still without a label
    n_same: int  # sheet rows whose label the table already had
    new_classes: list[str]  # added labels the table had no row of before
    skipped: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # one line each: labels taken as a class, look-alikes
    known_classes: list[str] = field(default_factory=list)  # the table's classes before the merge


def class_key(text: str) -> str:
    """What two class names that only differ by case, spaces, Unicode form (NFKC) or invisible
    characters (zero-width spaces, soft hyphens, BOM) have in common."""
    folded = unicodedata.normalize("NFKC", _INVISIBLE.sub("", str(text))).casefold()
    return " ".join(folded.split())


def label_text(value: Any, na_values: Sequence[str] = ()) -> str | None:
    """A label cell as the text of its class (None: unlabeled); a float that is a whole number
    is the integer's text (``1.0`` -> ``1``, as pandas writes an integer column with gaps)."""
    return _clean_label(value, na_values)


def _clean_label(value: Any, na_values: Sequence[str]) -> str | None:
    if value is None or _missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if text == "" or text in set(na_values):
        return None
    return text


def entries_from_sheet(sheet: pd.DataFrame, *, label: str, id_column: str | None, source: str,
                       na_values: Sequence[str] = ()) -> SheetEntries:
    """The entries of a plain sheet (CSV/Parquet/JSON records as written by ``--sheet``)."""
    columns = [str(c) for c in sheet.columns]
    plain = [unguard_cell(c) for c in columns]  # a column name starting with = got a ' in a CSV sheet
    if plain != columns and len(set(plain)) == len(plain):
        sheet, columns = sheet.set_axis(plain, axis=1), plain
    if label not in columns:
        raise ValueError(f"{source}: the sheet has no label column {label!r}")
    if id_column is not None:
        if id_column not in columns:
            raise ValueError(f"{source}: the sheet has no id column {id_column!r} (--id)")
        by, raw_keys = "id", sheet[id_column].tolist()
    elif "dami_row" in columns:
        by, raw_keys = "row", sheet["dami_row"].tolist()
    else:
        raise ValueError(f"{source}: the sheet has no 'dami_row' column; pass --id COLUMN to match rows by an id")
    check = [c for c in columns if c not in (label, id_column) and not c.startswith("dami_")]
    keys, names = [], []
    for i, key in enumerate(raw_keys):
        names.append(f"{source} data row {i}")
        key = unguard_cell(key)
        keys.append(_row_number(key, names[-1]) if by == "row" else _id_text(key, names[-1], id_column))
    values = sheet[check].to_dict(orient="records") if check else [{} for _ in raw_keys]
    labels = [_clean_label(unguard_cell(v), na_values) for v in sheet[label].tolist()]
    return SheetEntries(by, keys, labels, values, names, source=source)


def entries_from_export(export: Any, *, id_column: str | None, source: str,
                        na_values: Sequence[str] = ()) -> SheetEntries:
    """The entries of a Label Studio export (``_label_studio.read_export``)."""
    frame = export.frame
    if id_column is not None:
        by, raw_keys = "id", frame["dami_id"].tolist()
        if all(k is None or _missing(k) for k in raw_keys):
            raise ValueError(f"{source}: the tasks have no id {id_column!r} (--id); they were not written with it")
    else:
        by, raw_keys = "row", frame["dami_row"].tolist()
        if all(k is None or _missing(k) for k in raw_keys):
            raise ValueError(f"{source}: the tasks have no 'dami_row'; pass --id COLUMN to match rows by an id")
    keys, names = [], []
    for i, key in enumerate(raw_keys):
        row = frame["dami_row"].iloc[i]
        names.append(f"{source} task {i}" + (f" (dami_row {row})" if row is not None and not _missing(row) else ""))
        keys.append(_row_number(key, names[-1]) if by == "row" else _id_text(key, names[-1], id_column))
    values = [v if isinstance(v, dict) else {} for v in frame["values"].tolist()]
    labels = [_clean_label(v, na_values) for v in frame["label"].tolist()]
    return SheetEntries(by, keys, labels, values, names, list(export.skipped), list(export.ambiguous), source)


def merge_labels(frame: pd.DataFrame, rows: np.ndarray, entries: SheetEntries, *, label: str,
                 id_column: str | None, na_values: Sequence[str] = (), source: str = "the table") -> MergeResult:
    """Check every entry against ``frame`` (data row numbers ``rows``) and return the new label column.

    Raises ``ValueError`` (one line, naming the row) for an entry that matches no row, matches a row
    whose values differ, or conflicts with a label the table (or another entry) already has.
    """
    columns = [str(c) for c in frame.columns]
    if label not in columns:
        raise ValueError(f"{source}: label column {label!r} not found")
    current = [_clean_label(v, na_values) for v in frame[label].tolist()]
    rows = np.asarray(rows, dtype=np.int64)
    duplicated: dict[str, list[int]] = {}
    if entries.by == "row":
        index = {int(r): i for i, r in enumerate(rows)}
        lookup = lambda key: index.get(int(key))  # noqa: E731
    else:
        if id_column is None or id_column not in columns:
            raise ValueError(f"{source}: id column {id_column!r} not found")
        index: dict[str, int] = {}  # type: ignore[no-redef]
        loose: dict[str, int] = {}  # numeric ids as a spreadsheet may save them (00110 -> 110, 1099 -> 1099.0)
        for i, value in enumerate(frame[id_column].tolist()):
            text = _id_text(value, "", id_column, allow_missing=True)
            if text is None:
                continue
            if text in index:
                duplicated.setdefault(text, [int(rows[index[text]])]).append(int(rows[i]))
            else:
                index[text] = i
            number = _numeric_id(text)
            if number is not None:
                loose[number] = -1 if number in loose and loose[number] != i else i

        def lookup(key: str) -> int | None:
            if key in index:
                return index[key]
            number = _numeric_id(key)
            found = loose.get(number, -1) if number is not None else -1
            return None if found < 0 else found

    new = list(current)
    chosen: dict[int, tuple[str, str]] = {}
    added: list[int] = []
    n_empty = n_same = 0
    known_list = list(dict.fromkeys(c for c in current if c is not None))
    known = set(known_list)
    as_class = _numeric_classes(known_list)
    taken_as: dict[str, str] = {}
    new_classes: list[str] = []
    for key, value, values, name in zip(entries.keys, entries.labels, entries.values, entries.names):
        position = lookup(key)
        if position is None:
            raise ValueError(_not_found(key, name, entries.by, id_column, rows, source))
        if entries.by == "id" and key in duplicated:
            raise ValueError(f"{name}: id {key!r} is in several rows of {source} (data rows "
                             f"{', '.join(str(r) for r in duplicated[key][:3])}); match by dami_row instead (no --id)")
        row_number = int(rows[position])
        _check_values(frame, position, values, columns, label, id_column, name, row_number, source)
        if value is None:
            n_empty += 1
            continue
        if value not in known and as_class:
            number = _number(value)
            if number is not None and number in as_class:
                taken_as[value] = as_class[number]
                value = as_class[number]
        if position in chosen and chosen[position][0] != value:
            raise ValueError(f"{name}: data row {row_number} is labeled {value!r} here but {chosen[position][0]!r} "
                             f"in {chosen[position][1]}; keep one of them")
        have = current[position]
        if have is not None and have != value:
            raise ValueError(f"{name}: data row {row_number} of {source} is already labeled {have!r}, the sheet says "
                             f"{value!r}; fix one of them (nothing was merged)")
        if have == value or position in chosen:
            n_same += 1
            continue
        chosen[position] = (value, name)
        new[position] = value
        added.append(position)
        if value not in known and value not in new_classes:
            new_classes.append(value)
    notes = _class_notes(taken_as, new_classes, known_list)
    look_alike = {c for c in new_classes if any(class_key(c) == class_key(k) for k in known_list)}
    series = pd.Series(new, index=frame.index, dtype=object, name=label)
    return MergeResult(series, np.asarray(added, dtype=np.int64), n_empty, n_same,
                       [c for c in new_classes if c not in look_alike], list(entries.skipped),
                       list(entries.ambiguous), notes, known_list)


def _numeric_classes(known: list[str]) -> dict[float, str]:
    """number -> class text, when every class of the table is a number (else empty)."""
    numbers = {}
    for text in known:
        number = _number(text)
        if number is None:
            return {}
        numbers.setdefault(number, text)
    return numbers


def _class_notes(taken_as: dict[str, str], new_classes: list[str], known: list[str]) -> list[str]:
    notes = []
    if taken_as:
        shown = ", ".join(f"{given!r} as {cls!r}" for given, cls in list(taken_as.items())[:5])
        notes.append(f"label(s) taken as the table's class of the same number ({shown}): every class of the "
                     "table is a number")
    for cls in new_classes:
        twins = [k for k in known if class_key(k) == class_key(cls)]
        if twins:
            notes.append(f"label {cls!r} differs from the table's class {twins[0]!r} only by case, spaces, Unicode "
                         "form or invisible characters; merged as a new class (fix the sheet if it is the same)")
    return notes


def _not_found(key: Any, name: str, by: str, id_column: str | None, rows: np.ndarray, source: str) -> str:
    if by == "row":
        extent = f" (it has data rows {int(rows[0])}..{int(rows[-1])})" if len(rows) else ""
        return f"{name}: data row {key} is not in {source}{extent}; is the sheet from another table?"
    return (f"{name}: id {key!r} (column {id_column!r}) is not in {source}; is the sheet from another table? If a "
            "spreadsheet changed the ids (dropped leading zeros, wrote 1099 as 1099.0 or 1.1E+3), match by "
            "dami_row instead (leave out --id)")


def _numeric_id(text: str) -> str | None:
    """A whole-number id as its digits without leading zeros or ``.0`` (None for other ids)."""
    match = re.fullmatch(r"\s*([+-]?)0*(\d+?)(?:\.0*)?\s*", text)
    if not match:
        return None
    return ("-" if match.group(1) == "-" and match.group(2) != "0" else "") + match.group(2)


def _check_values(frame: pd.DataFrame, position: int, values: dict[str, Any], columns: list[str], label: str,
                  id_column: str | None, name: str, row_number: int, source: str) -> None:
    for column, value in values.items():
        column = str(column)
        if column in (label, id_column) or column.startswith("dami_") or column not in columns:
            continue
        have = frame[column].iloc[position]
        if not same_value(have, value):
            raise ValueError(
                f"{name}: column {column!r} is {_shown(value)} there but {_shown(have)} in data row {row_number} "
                f"of {source}; is the sheet from another table (or was the table changed)?"
            )


def same_value(a: Any, b: Any) -> bool:
    """Whether two cells hold the same value, whatever types the two files gave them
    (numbers compared as numbers to a relative 1e-9, as a spreadsheet may round them; text
    stripped, a spreadsheet-safety prefix ``'`` ignored; all kinds of missing alike)."""
    ma, mb = _missing(a), _missing(b)
    if ma or mb:
        return ma and mb
    fa, fb = _number(a), _number(b)
    if fa is not None and fb is not None:
        return math.isclose(fa, fb, rel_tol=_RELATIVE_TOLERANCE)
    ta, tb = _plain_text(a), _plain_text(b)
    if ta == tb or (ta.casefold() == tb.casefold() and ta.casefold() in ("true", "false")):  # a spreadsheet's TRUE
        return True
    return _plain_text(unguard_cell(a)) == _plain_text(unguard_cell(b))


def _plain_text(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    return str(value).strip()


def _number(value: Any) -> float | None:
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _shown(value: Any) -> str:
    if _missing(value):
        return "empty"
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _row_number(value: Any, name: str) -> int:
    number = _number(value)
    if number is None or not float(number).is_integer() or number < 0:
        raise ValueError(f"{name}: dami_row is {_shown(value)}, not a data row number")
    return int(number)


def _id_text(value: Any, name: str, id_column: str | None, *, allow_missing: bool = False) -> Any:
    if _missing(value):
        if allow_missing:
            return None
        raise ValueError(f"{name}: the id (column {id_column!r}) is empty")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, np.generic):
        value = value.item()
    return str(value).strip()


# ---------------------------------------------------------------------- CSV text, edited in place
def edit_csv_cells(text: str, *, sep: str, column: int, edits: dict[int, str | None]) -> str:
    """``text`` (a CSV with a header line) with field ``column`` of data row ``r`` set to ``edits[r]``
    (None: emptied, whatever it holds).

    Only those fields change (quoted when needed); every other byte stays as it was.  Data row
    ``r`` is record ``r + 1`` (RFC 4180 records: quoted fields may hold separators, quotes and line
    breaks; a blank line is a record).  Raises ``ValueError`` when a row to edit does not exist,
    lacks the field or does not have it empty.
    """
    wanted = {r + 1: value for r, value in edits.items()}
    spans: dict[int, tuple[int, int]] = {}
    record = 0
    pos = 0
    n = len(text)
    last = max(wanted) if wanted else -1
    while pos < n and record <= last:
        end, fields = _record(text, pos, sep)
        if record in wanted:
            if column >= len(fields):
                raise ValueError(f"data row {record - 1} has {len(fields)} fields, no field {column + 1}")
            spans[record] = fields[column]
        record += 1
        pos = end
    missing = [r - 1 for r in wanted if r not in spans]
    if missing:
        raise ValueError(f"the CSV has no data row {missing[0]}")
    out: list[str] = []
    cursor = 0
    for rec in sorted(spans):
        start, stop = spans[rec]
        cell = text[start:stop]
        if wanted[rec] is not None and cell.strip().strip('"').strip() != "":
            raise ValueError(f"data row {rec - 1}: the label cell holds {cell!r}, not an empty cell")
        out.append(text[cursor:start])
        out.append(_quoted(wanted[rec] or "", sep))
        cursor = stop
    out.append(text[cursor:])
    return "".join(out)


def _quoted(value: str, sep: str) -> str:
    if any(ch in value for ch in (sep, '"', "\n", "\r")) or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


def _record(text: str, pos: int, sep: str) -> tuple[int, list[tuple[int, int]]]:
    """(end of the record including its line break, [(start, stop) of each field])."""
    n = len(text)
    line_end = _line_end(text, pos)
    line = text[pos:line_end]
    if '"' not in line:
        fields = []
        start = pos
        for piece in line.split(sep):
            fields.append((start, start + len(piece)))
            start += len(piece) + len(sep)
        return _after_break(text, line_end), fields
    fields = []
    start = pos
    i = pos
    in_quotes = False
    while i < n:
        ch = text[i]
        if in_quotes:
            if ch == '"':
                if i + 1 < n and text[i + 1] == '"':
                    i += 2
                    continue
                in_quotes = False
            i += 1
            continue
        if ch == '"':
            in_quotes = True
            i += 1
        elif ch == sep:
            fields.append((start, i))
            start = i + 1
            i += 1
        elif ch in "\r\n":
            fields.append((start, i))
            return _after_break(text, i), fields
        else:
            i += 1
    fields.append((start, n))
    return n, fields


def _line_end(text: str, pos: int) -> int:
    """Index of the first CR or LF at or after ``pos`` (``len(text)`` if none); a CR is looked for only
    before the LF, so a file without CRs costs one scan per line, not one scan of the rest of the file."""
    nl = text.find("\n", pos)
    stop = len(text) if nl < 0 else nl
    cr = text.find("\r", pos, stop)
    return stop if cr < 0 else cr


def _after_break(text: str, i: int) -> int:
    if i < len(text) and text[i] == "\r":
        i += 1
        if i < len(text) and text[i] == "\n":
            i += 1
        return i
    if i < len(text) and text[i] == "\n":
        return i + 1
    return i
