"""A table written back with only its label cells changed, in the format it was read in.

``edited_table(raw, ...)`` takes the bytes of the table as read and the new labels by data row
and returns the new bytes: a CSV/TSV is edited cell by cell (an Excel ``sep=;`` line, decimal
commas, a UTF-8 or UTF-16 BOM, CRLF line ends and the encoding stay as they were); a Parquet
file has its label column replaced (named index, empty rows, other columns, schema and codec
kept; a float label column stays float while the labels are numbers); a JSON list or JSON Lines
file has its records' label set (numbers parsed and written exactly, other lines of JSON Lines
byte for byte). Compression follows ``compression`` (the output's name; None: none).
Raises ``ValueError`` when the bytes cannot be edited so (the caller then rewrites the table).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
import math
import re
from typing import Any, Callable

from .._merge import edit_csv_cells
from ._formats import COMPRESSED

_COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda data: gzip.compress(data, mtime=0), "bz2": bz2.compress, "xz": lzma.compress}
_DECOMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress, "bz2": bz2.decompress, "xz": lzma.decompress}
_SUFFIX_COMPRESSION = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".xz": "xz"}
_EXCEL_SEP = re.compile(r'\s*"?sep=(.)"?\s*\Z')


def compression_by_name(name: str) -> str | None:
    """The compression a file name asks for (``.gz``, ``.bz2``, ``.xz``), else None."""
    lowered = name.lower()
    return next((kind for suffix, kind in _SUFFIX_COMPRESSION.items() if lowered.endswith(suffix)), None)


def compression_of(raw: bytes) -> str | None:
    """The compression of bytes, by their magic number."""
    return next((kind for magic, kind in COMPRESSED.items() if raw.startswith(magic)), None)


def content_kind(raw: bytes, name: str) -> str:
    """"parquet", "json", "jsonl" or "csv" for the (decompressed) bytes of a table named ``name``."""
    if raw.startswith(b"PAR1"):
        return "parquet"
    lowered = name.lower()
    for suffix in _SUFFIX_COMPRESSION:
        if lowered.endswith(suffix):
            lowered = lowered[: -len(suffix)]
    first = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if lowered.endswith(".json"):  # as the reader tells them: JSON by name, one record per line if it starts so
        return "jsonl" if first == b"{" else "json"
    return "csv"


def edited_table(raw: bytes, *, name: str, label: str, edits: dict[int, str | None], compression: str | None,
                 sep: str | None = None, encoding: str | None = None) -> bytes:
    """The table ``raw`` (named ``name``) with data row ``r``'s label set to ``edits[r]`` (None: emptied)."""
    kind_in = compression_of(raw)
    data = _DECOMPRESS[kind_in](raw) if kind_in else raw
    kind = content_kind(data, name)
    if kind == "parquet":
        out = _edited_parquet(data, label, edits)
    elif kind in ("json", "jsonl"):
        out = _edited_json(data, label, edits, lines=kind == "jsonl")
    else:
        out = _edited_csv(data, label, edits, sep=sep, encoding=encoding)
    return _COMPRESS[compression](out) if compression else out


# ---------------------------------------------------------------------- CSV
def _edited_csv(data: bytes, label: str, edits: dict[int, str], *, sep: str | None, encoding: str | None) -> bytes:
    if data.startswith(b"\xff\xfe"):
        bom, codec = data[:2], "utf-16-le"
    elif data.startswith(b"\xfe\xff"):
        bom, codec = data[:2], "utf-16-be"
    elif data.startswith(b"\xef\xbb\xbf"):
        bom, codec = data[:3], "utf-8"
    else:
        bom, codec = b"", encoding or "utf-8"
    text = data[len(bom):].decode(codec)
    prefix = ""
    first = _first_line(text)
    excel = _EXCEL_SEP.match(first)
    if excel:  # Excel's "sep=;" line: kept, the header is the next line
        sep = sep or excel.group(1)
        end = len(first)
        end += 2 if text[end:end + 2] == "\r\n" else (1 if end < len(text) else 0)
        prefix, text = text[:end], text[end:]
        first = _first_line(text)
    if sep is None:
        from ._table_reader import _sniff_separator

        sep = _sniff_separator(first, "")
    header = [cell.strip() for cell in next(csv.reader([first], delimiter=sep), [])]
    if label not in header:
        raise ValueError("label column not in the raw header")
    edited = edit_csv_cells(text, sep=sep, column=header.index(label), edits=edits)
    return bom + (prefix + edited).encode(codec)


def _first_line(text: str) -> str:
    """The first line, whatever ends it (LF, CRLF or a lone CR)."""
    return re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]


# ---------------------------------------------------------------------- Parquet
def _edited_parquet(data: bytes, label: str, edits: dict[int, str]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(io.BytesIO(data))
    codec = parquet.metadata.row_group(0).column(0).compression.lower() if parquet.metadata.num_row_groups else None
    table = parquet.read()
    if label not in table.column_names:
        raise ValueError("label column not in the Parquet schema")
    index = table.column_names.index(label)
    field = table.schema.field(index)
    values = table.column(index).to_pylist()
    for row, text in edits.items():
        if row >= len(values):
            raise ValueError(f"the Parquet file has no data row {row}")
        if text is not None and values[row] is not None and str(values[row]).strip() not in ("", "nan"):
            raise ValueError(f"data row {row}: the label cell is not empty")
        values[row] = text
    if pa.types.is_floating(field.type) or pa.types.is_integer(field.type):
        numbers = [_as_number(v) for v in values]
        if any(v is not None and n is None for v, n in zip(values, numbers)):
            raise ValueError("a text label in a numeric label column")
        if pa.types.is_integer(field.type) and any(n is not None and not float(n).is_integer() for n in numbers):
            raise ValueError("a fractional label in an integer label column")
        if pa.types.is_integer(field.type):
            numbers = [None if n is None else int(n) for n in numbers]
        array = pa.array(numbers, type=field.type)
    elif pa.types.is_string(field.type) or pa.types.is_large_string(field.type) or pa.types.is_null(field.type):
        kind = pa.string() if pa.types.is_null(field.type) else field.type
        array = pa.array([None if v is None else str(v) for v in values], type=kind)
        field = field.with_type(kind)
    elif pa.types.is_dictionary(field.type) and pa.types.is_string(field.type.value_type):  # a pandas category
        array = pa.array([None if v is None else str(v) for v in values], type=pa.string()).dictionary_encode()
        array = array.cast(field.type)
    else:
        raise ValueError(f"label column of Parquet type {field.type}")
    table = table.set_column(index, field, array)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression=codec if codec and codec != "uncompressed" else "none")
    return buffer.getvalue()


def _as_number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return None if isinstance(value, float) and math.isnan(value) else value
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() and re.fullmatch(r"\s*[+-]?\d+\s*", str(value)) else number


# ---------------------------------------------------------------------- JSON
def _edited_json(data: bytes, label: str, edits: dict[int, str], *, lines: bool) -> bytes:
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    text = data[len(bom):].decode("utf-8")
    if lines:
        parts = re.split(r"(\r?\n)", text)
        records = [(i, json.loads(part)) for i, part in enumerate(parts) if i % 2 == 0 and part.strip()]
        numeric = _numeric_labels([record for _, record in records], label)
        for row, text_value in edits.items():
            if row >= len(records):
                raise ValueError(f"the JSON has no data row {row}")
            i, record = records[row]
            _set_label(record, label, text_value, numeric, row)
            parts[i] = json.dumps(record, ensure_ascii=False, allow_nan=False)
        return bom + "".join(parts).encode("utf-8")
    loaded = json.loads(text)
    if not isinstance(loaded, list) or not all(isinstance(record, dict) for record in loaded):
        raise ValueError("the JSON is not a list of records")
    numeric = _numeric_labels(loaded, label)
    for row, text_value in edits.items():
        if row >= len(loaded):
            raise ValueError(f"the JSON has no data row {row}")
        _set_label(loaded[row], label, text_value, numeric, row)
    body = ",\n".join(json.dumps(record, ensure_ascii=False, allow_nan=False) for record in loaded)
    return bom + ("[\n" + body + "\n]\n" if loaded else "[]\n").encode("utf-8")


def _numeric_labels(records: list[dict[str, Any]], label: str) -> str | None:
    """"int" or "float" when every present label is a JSON number of that kind (any float: "float")."""
    present = [r.get(label) for r in records if r.get(label) not in (None, "")]
    if not present or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return None
    return "float" if any(isinstance(v, float) for v in present) else "int"


def _set_label(record: dict[str, Any], label: str, value: str | None, numeric: str | None, row: int) -> None:
    have = record.get(label)
    if value is None:
        record[label] = None
        return
    if have not in (None, "") and not (isinstance(have, str) and have.strip() == ""):
        raise ValueError(f"data row {row}: the label cell is not empty")
    number = _as_number(value) if numeric else None
    if number is not None and numeric == "float":
        number = float(number)
    record[label] = number if number is not None else value
