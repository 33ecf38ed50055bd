"""Reading a user's table: the format by first bytes, the separator sniffed, every problem one line.

The format is told by the file's first bytes (gzip, bz2, xz, Parquet, zip/Excel, UTF-16 text)
before its name, so a gzip file named ``.csv`` still reads; ``-`` is standard input; a FIFO is
read exactly once; the separator of a CSV is ``--sep`` or sniffed from the header line. The
label and id columns keep every text but the empty cell (``NA`` is a class); ``--na-values``
adds markers of missing cells. A pandas-written index column (empty header first) and all-empty
rows are dropped with a one-line note, rows keeping their numbering.

Every problem becomes a ``CliError`` whose message names the file, column, row or value.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import io
import lzma
import os
import re
import stat
import sys
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from .._out_of_memory import is_out_of_memory, step
from .._timings import stage
from ._allocator import large_blocks_mapped, release_table_memory, system_memory_pool
from ._console import note, warn
from ._csv_chunks import CHUNKED_MIN_BYTES, read_csv_chunked
from ._errors import CliError, first_line
from ._formats import COMPRESSED, COMPRESSED_SUFFIX, JSON_SUFFIXES, OPENERS, PARQUET_SUFFIXES

try:  # pandas' default missing-value strings: used for feature columns only
    from pandas._libs.parsers import STR_NA_VALUES as _PANDAS_NA
except ImportError:  # pragma: no cover - moved in some pandas version
    _PANDAS_NA = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                  "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
_DEFAULT_NA = sorted(_PANDAS_NA)
_SEPARATORS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}


@dataclass
class Table:
    """A table read from a file: the frame, the 0-based data-row number of each of its rows
    in the input (rows dropped as empty keep the others' numbers) and a display name."""

    frame: pd.DataFrame
    rows: np.ndarray
    source: str
    notes: list[str] = field(default_factory=list)


@dataclass
class _Input:
    source: str  # display name
    path: Path | None  # a regular file pandas may open itself
    data: bytes | None  # the whole input, for stdin and FIFOs (read exactly once)
    head: bytes  # the first bytes

    def open_binary(self) -> io.BufferedIOBase:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return open(self.path, "rb")

    def pandas_source(self) -> Any:
        return self.path if self.data is None else io.BytesIO(self.data)


def parse_separator(value: str | None) -> str | None:
    """``--sep``: one character, or a name (``tab``, ``semicolon``, ``comma``, ``pipe``, ``space``)."""
    if value is None:
        return None
    sep = _SEPARATORS.get(value.lower(), value)
    if len(sep) != 1:
        raise CliError(f"--sep must be one character or one of {', '.join(_SEPARATORS)}; got {value!r}")
    if sep in "\"\r\n":
        raise CliError(f"--sep cannot be {value!r}")
    return sep


def read_table(
    spec: str,
    *,
    text_columns: Sequence[str] = (),
    named: Sequence[str] = (),
    sep: str | None = None,
    na_values: Sequence[str] = (),
    encoding: str | None = None,
    decimal: str | None = None,
) -> Table:
    """Read TABLE (a path or ``-``); ``text_columns`` keep all text but the empty cell (and ``na_values``);
    a column in ``named`` (the user named it) is never dropped as an index or empty column."""
    with stage("read"):
        return _read_table(spec, text_columns, named, sep, na_values, encoding, decimal)


def _read_table(spec: str, text_columns: Sequence[str], named: Sequence[str], sep: str | None,
                na_values: Sequence[str], encoding: str | None, decimal: str | None) -> Table:
    source = _open_input(spec)
    with step(f"reading {source.source}", _input_size(source)):
        return _read_source(source, text_columns=text_columns, named=named, sep=sep, na_values=na_values,
                            encoding=encoding, decimal=decimal)


def _reraise_out_of_memory(error: BaseException) -> None:
    """An ENOMEM ``OSError`` is running out of memory, not an unreadable file: let it reach ``step``."""
    if is_out_of_memory(error):
        raise error


def _input_size(source: _Input) -> int | None:
    if source.data is not None:
        return len(source.data)
    try:
        return source.path.stat().st_size  # type: ignore[union-attr]
    except OSError:
        return None


def _read_source(source: _Input, *, text_columns: Sequence[str], named: Sequence[str], sep: str | None,
                 na_values: Sequence[str], encoding: str | None, decimal: str | None) -> Table:
    fmt = _content_format(source)
    notes: list[str] = []
    if fmt == "parquet":
        frame = _read_parquet(source)
    elif fmt == "json":
        frame = _read_json(source)
    else:
        frame = _read_csv(source, fmt, text_columns=text_columns, sep=sep, na_values=na_values,
                          encoding=encoding, decimal=decimal, notes=notes)
    if fmt in ("parquet", "json") and na_values:
        frame = _apply_na_values(frame, na_values)
    frame = _clean_names(frame, source.source)
    frame, rows = _drop_index_and_empty(frame, source.source, notes, set(named) | set(text_columns))
    return Table(frame=frame, rows=rows, source=source.source, notes=notes)


def _open_input(spec: str) -> _Input:
    if spec == "-":
        if sys.stdin is None:
            raise CliError("TABLE '-' reads standard input, which is closed")
        if sys.stdin.isatty():
            raise CliError("TABLE '-' reads standard input, which is a terminal: pipe a table in (dami select - ... < table.csv)")
        try:
            data = sys.stdin.buffer.read()
        except OSError as error:
            _reraise_out_of_memory(error)
            raise CliError(f"cannot read standard input: {error.strerror or error}") from None
        if not data:
            raise CliError("<stdin>: the input is empty")
        return _Input("<stdin>", None, data, data[:16])
    path = Path(spec)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except OSError as error:
        _reraise_out_of_memory(error)
        raise CliError(f"{path}: cannot read: {error.strerror or error}") from None
    if stat.S_ISDIR(info.st_mode):
        raise CliError(f"{path}: is a directory, not a table")
    try:
        if stat.S_ISREG(info.st_mode):
            with open(path, "rb") as handle:
                head = handle.read(16)
            if not head:
                raise CliError(f"{path}: the file is empty")
            return _Input(str(path), path, None, head)
        if stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode):
            with open(path, "rb") as handle:  # a pipe can be read only once: keep all of it
                data = handle.read()
            if not data:
                raise CliError(f"{path}: the input is empty")
            return _Input(str(path), None, data, data[:16])
    except PermissionError as error:
        raise CliError(f"{path}: cannot read: {error.strerror}") from None
    except OSError as error:
        _reraise_out_of_memory(error)
        raise CliError(f"{path}: cannot read: {error.strerror or error}") from None
    raise CliError(f"{path}: is not a regular file (a device?); give a CSV or Parquet file, or '-' for standard input")


def _content_format(source: _Input) -> str:
    """"parquet", "json", or a CSV flavour: "csv", "csv+gzip", "csv+bz2", "csv+xz", "csv+utf-16"."""
    head = source.head
    name = source.source.lower()
    if head.startswith(b"PAR1"):
        return "parquet"
    for magic, kind in COMPRESSED.items():
        if head.startswith(magic):
            suffix = COMPRESSED_SUFFIX[kind]
            if source.path is not None and not name.endswith(suffix):
                note(f"{source.source} is {kind}-compressed (its name does not end in {suffix}): reading it as such")
            return f"csv+{kind}"
    if head.startswith(b"PK\x03\x04"):
        raise CliError(f"{source.source}: is a zip archive (an Excel .xlsx workbook?); save or extract it as CSV")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise CliError(f"{source.source}: is an old Excel (.xls) or other Office file; save it as CSV")
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        raise CliError(f"{source.source}: is zstd-compressed; decompress it first (zstd -d)")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "csv+utf-16"
    if b"\x00" in head:
        raise CliError(f"{source.source}: is a binary file, not a CSV, Parquet or JSON table")
    if name.endswith(PARQUET_SUFFIXES):
        raise CliError(f"{source.source}: is not a Parquet file (it does not start with PAR1)")
    if name.endswith(JSON_SUFFIXES) or (source.data is not None and head.lstrip()[:1] in (b"[", b"{")):
        return "json"
    return "csv"


def _lean_parquet_options() -> dict[str, Any]:
    """Options of ``pd.read_parquet`` that keep its peak near the size of the numbers (1M x 50
    float64: 0.65 GB instead of 1.15 GB, same frame): column chunks read one at a time in 1 MB
    buffers instead of the whole row group at once (``pre_buffer``), and each Arrow column freed
    as soon as pandas has it, one block per column (no consolidating copy).  ``to_pandas_kwargs``
    needs pandas >= 3; older pandas reads as before."""
    import inspect

    if "to_pandas_kwargs" not in inspect.signature(pd.read_parquet).parameters:
        return {}
    return {"pre_buffer": False, "buffer_size": 1 << 20,
            "to_pandas_kwargs": {"self_destruct": True, "split_blocks": True}}


_LEAN_PARQUET = _lean_parquet_options()


def _read_parquet(source: _Input) -> pd.DataFrame:
    try:
        import pyarrow
    except ImportError:
        raise CliError(f"{source.source}: is a Parquet file; reading Parquet needs pyarrow: "
                       "pip install 'dami-np[parquet]'") from None
    try:
        with system_memory_pool(pyarrow), large_blocks_mapped():
            frame = pd.read_parquet(source.pandas_source(), **_LEAN_PARQUET)
    except (OSError, ValueError) as error:
        _reraise_out_of_memory(error)
        raise CliError(f"{source.source}: cannot read Parquet: {first_line(error)}") from None
    finally:  # allocators keep the decoded table's memory (as much as the numbers again) unless asked
        release_table_memory()
    frame = frame.reset_index(drop=True)
    _refuse_duplicates([str(c) for c in frame.columns], source.source)
    return frame


def _read_json(source: _Input) -> pd.DataFrame:
    lines = source.source.lower().endswith((".jsonl", ".ndjson")) or source.head.lstrip()[:1] == b"{"
    try:
        with warnings.catch_warnings():  # pandas 3 deprecates convert_dates; False keeps date-like names as text
            warnings.filterwarnings("ignore", message=".*convert_dates", category=Warning)
            frame = pd.read_json(source.pandas_source(), orient="records", lines=lines, dtype=False,
                                 convert_dates=False, precise_float=True)
    except (ValueError, OSError) as error:
        _reraise_out_of_memory(error)
        raise CliError(f"{source.source}: cannot read JSON (expected a list of records, or one record "
                       f"per line): {first_line(error)}") from None
    if not isinstance(frame, pd.DataFrame):
        raise CliError(f"{source.source}: the JSON is not a list of records")
    return frame


def _read_csv(source: _Input, fmt: str, *, text_columns: Sequence[str], sep: str | None,
              na_values: Sequence[str], encoding: str | None, decimal: str | None,
              notes: list[str]) -> pd.DataFrame:
    compression = fmt.split("+", 1)[1] if "+" in fmt and fmt != "csv+utf-16" else None
    if encoding is None:
        encoding = "utf-16" if fmt == "csv+utf-16" else "utf-8"
    prefix = _text_prefix(source, compression, encoding)
    skip = 0
    first = re.split(r"\r\n|\r|\n", prefix, maxsplit=2)
    excel = re.fullmatch(r'\s*"?sep=(.)"?\s*', first[0])
    if excel:  # Excel's "sep=;" line before the header
        sep = sep or excel.group(1)
        skip = 1
    header_line = first[skip] if len(first) > skip else ""
    if not header_line.strip():
        raise CliError(f"{source.source}: the first line (the header) is empty")
    if sep is None:
        sep = _sniff_separator(header_line, source.source)
        if sep != ",":
            shown = {"\t": "tabs", ";": "';'", "|": "'|'"}[sep]
            note(f"{source.source}: columns are separated by {shown} (pass --sep to choose)")
    if decimal is None:
        decimal = "," if sep == ";" else "."
    header = _header_record(source, compression, encoding, sep, skip)
    names = _header_names(header)
    _refuse_duplicates(names, source.source)
    user_na = [v for v in na_values]
    text = set(text_columns)
    na = {name: ([""] + user_na if name in text else _DEFAULT_NA + user_na) for name in names}
    dtypes = {name: str for name in names if name in text}
    options: dict[str, Any] = dict(
        sep=sep, header=0, skiprows=skip, names=names, index_col=False, dtype=dtypes,
        keep_default_na=False, na_values=na, skipinitialspace=True, skip_blank_lines=False,
        compression=compression, encoding=encoding, decimal=decimal, encoding_errors="strict",
    )
    try:
        frame = _csv_frame(source, options)
    except UnicodeDecodeError as error:
        raise CliError(_decode_message(source.source, error, encoding)) from None
    except pd.errors.ParserError as error:
        raise CliError(f"{source.source}: {_parser_message(error, len(names))}") from None
    except pd.errors.EmptyDataError:
        raise CliError(f"{source.source}: the file is empty") from None
    except (OSError, EOFError, ValueError, lzma.LZMAError) as error:
        _reraise_out_of_memory(error)
        raise CliError(f"{source.source}: cannot read table: {first_line(error)}") from None
    _warn_short_last_line(source, compression, encoding, sep, len(names))
    _warn_default_na(frame, source, text, dict(sep=sep, header=0, skiprows=skip, names=names, index_col=False,
                                                skipinitialspace=True, skip_blank_lines=False,
                                                compression=compression, encoding=encoding))
    return frame


def _csv_frame(source: _Input, options: dict[str, Any]) -> pd.DataFrame:
    """``pd.read_csv`` with ``options``: a large input in row chunks (about half the memory, the same
    frame), anything the chunked read cannot vouch for the plain way (its values, warnings, errors)."""
    size = _input_size(source)
    if size is not None and size >= CHUNKED_MIN_BYTES:
        frame = read_csv_chunked(source.pandas_source(), options)
        if frame is not None:
            return frame
    return pd.read_csv(source.pandas_source(), **options)


def _warn_short_last_line(source: _Input, compression: str | None, encoding: str, sep: str, n_fields: int) -> None:
    """A last line with fewer fields than the header is what an interrupted write leaves behind."""
    if compression is not None or not encoding.lower().replace("-", "").startswith("utf8"):
        return
    try:
        if source.data is not None:
            tail = source.data[-65536:]
        else:
            with open(source.path, "rb") as handle:  # type: ignore[arg-type]
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - 65536))
                tail = handle.read()
    except OSError:
        return
    lines = [line for line in tail.decode("utf-8", errors="replace").splitlines() if line.strip()]
    if len(lines) < 2 or '"' in lines[-1]:
        return
    fields = len(lines[-1].split(sep))
    if 1 <= fields < n_fields and not tail.endswith((b"\n", b"\r")):
        warn(f"{source.source}: the last line has {fields} of the header's {n_fields} fields and no line end: "
             "was the file cut off?")


def _warn_default_na(frame: pd.DataFrame, source: _Input, text: set[str], options: dict[str, Any]) -> None:
    """A text feature column where pandas' default markers (``NA``, ``None``, ``null``...) became
    missing values: say so, since ``NA`` may be a real value there (North America, sodium...)."""
    suspects = [name for name in frame.columns if name not in text
                and (frame[name].dtype == object or pd.api.types.is_string_dtype(frame[name].dtype))
                and bool(frame[name].isna().any())]
    if not suspects:
        return
    try:
        raw = pd.read_csv(source.pandas_source(), usecols=suspects, dtype=str, keep_default_na=False,
                          na_values=[""], **options)
    except (ValueError, OSError, pd.errors.ParserError):
        return
    markers = set(_DEFAULT_NA) - {""}
    for name in suspects:
        cells = raw[name].dropna().str.strip()
        hits = cells[cells.isin(markers)]
        if len(hits):
            counts = hits.value_counts()
            shown = ", ".join(f"{count} {value!r}" for value, count in counts.items())
            warn(f"{source.source}: column {name!r} has cells read as missing values ({shown}); if that is a "
                 f"real value there, pass --keep-na {_shell_word(name)}")


def _shell_word(text: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_.,:/=+@%-]+", text):
        return text
    return "'" + text.replace("'", "'\\''") + "'"


# The header's separator is sniffed on at most this many characters of the file.
_SNIFF_CHARS = 1 << 16


def _text_encoding(encoding: str) -> str:
    """``encoding`` for Python's text layer: known, and a text encoding (not base64, rot13, hex...)."""
    if encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig"):
        return "utf-8-sig"
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise CliError(f"--encoding {encoding!r} is not an encoding Python knows") from None
    if not getattr(info, "_is_text_encoding", True):
        raise CliError(f"--encoding {encoding!r} is not a text encoding (it turns bytes into bytes); give the "
                       "table's character encoding, e.g. utf-8, latin-1, cp1252")
    return encoding


@contextlib.contextmanager
def _text_stream(source: _Input, compression: str | None, encoding: str) -> Iterator[io.TextIOWrapper]:
    """The table as text (decompressed), every read error one ``CliError`` line."""
    shown = encoding
    encoding = _text_encoding(encoding)
    try:
        raw = source.open_binary()
        with raw:
            stream = OPENERS[compression](raw, "rb") if compression else raw
            with io.TextIOWrapper(stream, encoding=encoding, newline="") as text_stream:
                yield text_stream
    except UnicodeDecodeError as error:
        raise CliError(_decode_message(source.source, error, shown)) from None
    except (OSError, EOFError, lzma.LZMAError) as error:
        _reraise_out_of_memory(error)
        raise CliError(f"{source.source}: cannot read table: {first_line(error)}") from None


def _text_prefix(source: _Input, compression: str | None, encoding: str) -> str:
    """The first ``_SNIFF_CHARS`` characters (no byte-order mark): enough to sniff, bounded."""
    with _text_stream(source, compression, encoding) as stream:
        prefix = stream.read(_SNIFF_CHARS)
    prefix = prefix.lstrip("\ufeff")
    if not prefix:
        raise CliError(f"{source.source}: the file is empty")
    return prefix


def _header_record(source: _Input, compression: str | None, encoding: str, sep: str, skip: int) -> list[str]:
    """The header as one CSV record of any length (quoted line breaks in names included)."""
    previous = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    try:
        with _text_stream(source, compression, encoding) as stream:
            records = csv.reader(stream, delimiter=sep)
            try:
                for _ in range(skip):
                    next(records)
                header = next(records)
            except StopIteration:
                header = []
            except csv.Error as error:
                raise CliError(f"{source.source}: cannot read the header: {first_line(error)}") from None
    finally:
        csv.field_size_limit(previous)
    if header and skip == 0:
        header[0] = header[0].lstrip("\ufeff")
    if not any(cell.strip() for cell in header):
        raise CliError(f"{source.source}: the first line (the header) is empty")
    return header


def _sniff_separator(line: str, source: str) -> str:
    """The candidate that splits the header line into the most fields (ties: comma)."""
    best, best_fields = ",", 1
    for candidate in (",", ";", "\t", "|"):
        fields = len(next(csv.reader([line], delimiter=candidate), []))
        if fields > best_fields:
            best, best_fields = candidate, fields
    return best


def _header_names(header: list[str]) -> list[str]:
    names = [cell.strip() for cell in header]
    return [name if name else f"Unnamed: {i}" for i, name in enumerate(names)]


def _refuse_duplicates(names: list[str], source: str) -> None:
    duplicated = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicated:
        raise CliError(f"{source}: duplicate column name(s): {', '.join(repr(n) for n in duplicated)}")


def _clean_names(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    names = [str(c).strip() for c in frame.columns]
    names = [name if name else f"Unnamed: {i}" for i, name in enumerate(names)]
    _refuse_duplicates(names, source)
    return frame.set_axis(names, axis=1)


def _apply_na_values(frame: pd.DataFrame, na_values: Sequence[str]) -> pd.DataFrame:
    markers = set(na_values)
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            hit = column.astype("string").str.strip().isin(markers).fillna(False).to_numpy(dtype=bool)
            if hit.any():
                out[name] = column.astype(object).where(~hit, None)
    return out


def blank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Bool per row: every cell missing or whitespace-only.  Each column is looked at only on the
    rows still blank in the columns before it (after a column or two, usually none)."""
    rows = np.arange(len(frame), dtype=np.int64)
    for position in range(frame.shape[1]):
        if rows.size == 0:
            break
        column = frame.iloc[:, position]
        rows = rows[_blank_mask(column if rows.size == len(frame) else column.iloc[rows])]
    blank = np.zeros(len(frame), dtype=bool)
    blank[rows] = True
    return blank


def _blank_mask(column: pd.Series) -> np.ndarray:
    """Bool per cell of one column: missing or whitespace-only."""
    blank = column.isna().to_numpy(dtype=bool, copy=True)
    if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
        blank |= column.astype("string").str.strip().eq("").fillna(False).to_numpy(dtype=bool)
    return blank


def _drop_index_and_empty(frame: pd.DataFrame, source: str, notes: list[str],
                          named: set[str]) -> tuple[pd.DataFrame, np.ndarray]:
    if frame.shape[1] == 0:
        raise CliError(f"{source}: the table has no columns")
    names = list(frame.columns)
    first = names[0]
    if (first == "Unnamed: 0" or first.startswith("__index_level_")) and frame.shape[1] > 1 and first not in named:
        frame = frame.drop(columns=[first])
        _note(notes, f"{source}: dropped the first column, which has no name (a saved row index, "
                     "like pandas' to_csv writes)")
    empty_columns = [c for c in frame.columns
                     if c.startswith("Unnamed: ") and c not in named and bool(_blank_mask(frame[c]).all())]
    if empty_columns and len(empty_columns) < frame.shape[1]:
        frame = frame.drop(columns=empty_columns)
        _note(notes, f"{source}: dropped {len(empty_columns)} empty column(s) without a name "
                     "(trailing separators?)")
    rows = np.arange(len(frame), dtype=np.int64)
    empty_rows = blank_rows(frame)
    if empty_rows.any() and not empty_rows.all():
        dropped = rows[empty_rows]
        frame = frame.loc[~empty_rows].reset_index(drop=True)
        rows = rows[~empty_rows]
        _note(notes, f"{source}: ignored {dropped.size} empty row(s) (data row{'s' if dropped.size > 1 else ''} "
                     f"{_ranges(dropped)}); the other rows keep their numbers")
    if len(frame) == 0 or empty_rows.all():
        raise CliError(f"{source}: the table has a header but no data rows")
    return frame, rows


def _note(notes: list[str], text: str) -> None:
    notes.append(text)
    note(text)


def _ranges(values: np.ndarray, limit: int = 5) -> str:
    parts: list[str] = []
    start = prev = int(values[0])
    for value in [int(v) for v in values[1:]] + [None]:  # type: ignore[list-item]
        if value is not None and value == prev + 1:
            prev = value
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if value is not None:
            start = prev = value
    return ", ".join(parts[:limit]) + (", ..." if len(parts) > limit else "")


def _decode_message(source: str, error: UnicodeDecodeError, encoding: str) -> str:
    byte = error.object[error.start:error.start + 1] if isinstance(error.object, (bytes, bytearray)) else b""
    what = f"byte 0x{byte.hex()}" if byte else "a byte"
    return (f"{source}: is not {encoding} text ({what} near offset {error.start}); save it as UTF-8, "
            "or pass --encoding with its encoding (e.g. --encoding latin-1)")


def _parser_message(error: Exception, n_names: int) -> str:
    text = first_line(error)
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if match:
        return (f"line {match.group(2)} has {match.group(3)} fields but the header has {n_names} "
                "(a separator inside an unquoted value, or the wrong --sep?)")
    return f"cannot parse the table: {text}"


def column_hint(name: str, columns: Sequence[str], source: str, role: str) -> str:
    """The 'column not found' message, with a close match or a separator hint."""
    shown = ", ".join(repr(c) for c in columns[:12]) + (", ..." if len(columns) > 12 else "")
    text = f"{source}: {role} column {name!r} not found; columns are {shown}"
    close = difflib.get_close_matches(name, list(columns), n=1, cutoff=0.6)
    folded = [c for c in columns if c.casefold().strip() == name.casefold().strip()]
    if len(columns) > 1 and all(_is_number(c) or c.startswith("Unnamed: ") for c in columns):
        text += " (the first line looks like data, not a header: add a header line with the column names)"
    elif folded:
        text += f" (did you mean {folded[0]!r}?)"
    elif close:
        text += f" (did you mean {close[0]!r}?)"
    elif len(columns) == 1:
        for sep, label in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe"), (",", "comma")):
            if sep in columns[0]:
                text += f" (the header looks {label}-separated: pass --sep {label})"
                break
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
