"""Reading a user's table and writing outputs without ever losing a file.

Every problem with the input becomes a ``CliError`` whose message names the file, column,
row or value, so the command line can print one line and exit 2.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Callable

import pandas as pd

from ._errors import CliError

_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv")
_PARQUET_SUFFIXES = (".parquet", ".pq")


def table_format(path: Path) -> str:
    """Return "csv" or "parquet" from a file name; anything else is an error."""
    name = path.name.lower()
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(_CSV_SUFFIXES):
        return "csv"
    raise CliError(
        f"{path}: unknown table format (expected one of {', '.join(_CSV_SUFFIXES + _PARQUET_SUFFIXES)})"
    )


def read_table(path: Path, *, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV (optionally gzipped) or Parquet table; ``text_columns`` are kept as text."""
    if not path.exists():
        raise CliError(f"{path}: no such file")
    if path.is_dir():
        raise CliError(f"{path}: is a directory, not a table")
    fmt = table_format(path)
    try:
        if fmt == "parquet":
            frame = _read_parquet(path)
        else:
            frame = _read_csv(path, text_columns)
    except CliError:
        raise
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, ValueError) as error:
        raise CliError(f"{path}: cannot read table: {_first_line(error)}") from None
    if frame.shape[1] == 0:
        raise CliError(f"{path}: the table has no columns")
    if frame.shape[0] == 0:
        raise CliError(f"{path}: the table has a header but no data rows")
    return frame


def _read_csv(path: Path, text_columns: tuple[str, ...]) -> pd.DataFrame:
    header = _csv_header(path)
    duplicated = sorted(name for name, count in Counter(header).items() if count > 1)
    if duplicated:
        raise CliError(f"{path}: duplicate column name(s): {', '.join(repr(n) for n in duplicated)}")
    dtypes = {name: str for name in text_columns if name in header}
    sep = "\t" if path.name.lower().endswith(".tsv") else ","
    return pd.read_csv(path, sep=sep, dtype=dtypes, skipinitialspace=True, compression="infer")


def _csv_header(path: Path) -> list[str]:
    opener: Callable[..., io.TextIOBase] = gzip.open if path.name.lower().endswith(".gz") else open  # type: ignore[assignment]
    sep = "\t" if path.name.lower().endswith(".tsv") else ","
    with opener(path, "rt", newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter=sep):
            return [cell.strip() for cell in row]
    raise CliError(f"{path}: the file is empty")


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise CliError("reading Parquet needs pyarrow: pip install 'dami-np[parquet]'") from None
    frame = pd.read_parquet(path)
    duplicated = sorted(name for name, count in Counter(map(str, frame.columns)).items() if count > 1)
    if duplicated:
        raise CliError(f"{path}: duplicate column name(s): {', '.join(repr(n) for n in duplicated)}")
    return frame


def check_output_path(out: Path, *, inputs: tuple[Path, ...]) -> None:
    """Refuse outputs that would overwrite an input or go into a missing directory."""
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.exists():
        raise CliError(f"{out}: output directory {parent} does not exist")
    if not parent.is_dir():
        raise CliError(f"{out}: {parent} is not a directory")
    if out.is_dir():
        raise CliError(f"{out}: is a directory; give a file name")
    for source in inputs:
        if source.exists() and out.exists() and os.path.samefile(source, out):
            raise CliError(f"{out}: refusing to overwrite the input table")
        if out.resolve() == source.resolve():
            raise CliError(f"{out}: refusing to overwrite the input table")


def write_table_atomic(frame: pd.DataFrame, out: Path) -> None:
    """Write CSV or Parquet (by extension) to a temporary file, then rename it into place."""
    fmt = table_format(out)
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise CliError("writing Parquet needs pyarrow: pip install 'dami-np[parquet]'") from None

    def write(tmp: Path) -> None:
        if fmt == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False, compression="gzip" if out.name.lower().endswith(".gz") else None)

    write_atomic(out, write)


def write_text_atomic(text: str, out: Path) -> None:
    """Write a text file through a temporary file and a rename."""
    write_atomic(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_atomic(out: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``out`` and rename it to ``out``.

    An interrupted run leaves at most a stray temporary file, never a half-written ``out``.
    """
    parent = out.parent if str(out.parent) else Path(".")
    handle, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=f".tmp{out.suffix}", dir=parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
