"""``dami merge SHEET --into TABLE --label COLUMN``: the labels of a filled sheet into the table.

SHEET is a sheet written by ``dami select --sheet`` (CSV, Parquet or JSON records) or a Label
Studio export (JSON, JSON_MIN or CSV) of the task list ``--sheet-format label-studio`` wrote.
Rows are matched by ``--id`` when given, else by the sheet's ``dami_row``; each is checked
against the table's values; a conflict (a row already labeled differently), a row that is not
in the table or one whose values differ stops the merge with one line, and nothing is written.

TABLE is rewritten in place (or ``--out FILE`` is written) atomically, keeping the file's mode.
A CSV table is edited cell by cell: only the label cells of the merged rows change, every other
byte of the file stays as it was (checked by reading the result back before the rename).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

_EXAMPLES = """examples:
  dami merge picks.csv --into table.csv --label class
  dami merge picks.csv --into table.csv --label class --id customer_id --out labeled.csv
  dami merge export.json --into table.csv --label class      (a Label Studio JSON, JSON_MIN or CSV export)
"""


def add_merge(commands: argparse._SubParsersAction, parent: argparse.ArgumentParser, parser_class: Any) -> None:
    """Register ``dami merge`` (``parent``: the common -q/-v options)."""
    text = "Merge the labels of a filled annotation sheet (or a Label Studio export) into the table."
    sub = commands.add_parser("merge", help=text, description=text, epilog=_EXAMPLES, parents=[parent],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.add_argument("sheet", metavar="SHEET", help="the filled sheet (--sheet of dami select) or a Label Studio export")
    sub.add_argument("--into", required=True, metavar="TABLE", help="the table to add the labels to")
    sub.add_argument("--label", required=True, metavar="COLUMN", help="the label column")
    sub.add_argument("--id", metavar="COLUMN", help="match rows by this id column (default: the sheet's dami_row)")
    sub.add_argument("--out", metavar="FILE", help="write the labeled table to FILE instead of rewriting TABLE")
    sub.add_argument("--save-model", metavar="FILE.npz", help="then train the model on the merged labels and save it")
    sub.add_argument("--seed", type=int, default=0, help="random seed of --save-model's training (default: 0)")
    sub.add_argument("--model", metavar="FILE.npz", help="with --save-model: the previous round's model file, whose "
                     "feature and id columns the new model uses (default: those of an existing --save-model file)")
    sub.add_argument("--features", metavar="COL,...", action="append",
                     help="with --save-model: the feature columns (as for dami select)")
    sub.add_argument("--exclude", metavar="COL,...", action="append",
                     help="with --save-model: columns that are not features (as for dami select)")
    sub.add_argument("--classes-anyway", action="store_true",
                     help="with --save-model: accept a label column of non-integer numbers (as for dami select)")
    sub.add_argument("--sep", metavar="CHAR", help="CSV separator of TABLE (default: sniffed; the sheet's is sniffed)")
    sub.add_argument("--decimal", metavar="CHAR", help="decimal mark of TABLE's numbers (default: ',' with --sep ';')")
    sub.add_argument("--encoding", metavar="NAME", help="text encoding of TABLE (default: UTF-8; the sheet's is "
                     "UTF-8 or UTF-16 by its BOM)")
    sub.add_argument("--na-values", metavar="TEXT,...", action="append",
                     help="extra cell texts that mean unlabeled (as for dami select)")
    sub.set_defaults(handler=run_merge)


def run_merge(args: argparse.Namespace) -> int:
    """Read SHEET and TABLE, check every row, write the labeled table (and model) atomically."""
    import pandas as pd

    from ._console import note
    from ._errors import CliError
    from ._table_reader import parse_separator
    from .._label_studio import looks_like_export, read_export
    from .._merge import entries_from_export, entries_from_sheet
    from ._columns import split_names

    from ._select import check_seed

    check_seed(args.seed)
    if args.into == "-":
        raise CliError("--into must be a file (the table the labels are written back to)")
    na_values = split_names(args.na_values, "--na-values") if args.na_values else []
    sep = parse_separator(args.sep)
    decimal = _decimal(getattr(args, "decimal", None))
    model_target = None
    if args.save_model:
        from ._workflow import check_target

        model_target = check_target(args.save_model, "--save-model", suffixes=(".npz",), inputs=(args.into,))
    text_columns = (args.label,) + ((args.id,) if args.id else ())

    def entries_for(table: Any) -> Any:
        records = _read_sheet(args.sheet, text_columns + ("dami_row", "dami_label"), na_values, args.encoding)
        kind = looks_like_export(records)
        if kind == "tasks":
            raise CliError(f"{args.sheet}: is the task list dami select wrote (no annotations); import it into "
                           "Label Studio, label, then export (JSON, JSON_MIN or CSV) and merge the export")
        if kind is not None:
            export = read_export(records, id_column=args.id, source=args.sheet)
            return entries_from_export(export, id_column=args.id, source=args.sheet, na_values=na_values)
        frame = records if isinstance(records, pd.DataFrame) else pd.DataFrame(records)
        return entries_from_sheet(frame, label=args.label, id_column=args.id, source=args.sheet, na_values=na_values)

    saved: list[str] = []

    def model_items(new_frame: Any) -> list[tuple[Path, Any]]:
        if model_target is None:
            return []
        items, saved_note = _model_item(new_frame, args, model_target)
        if saved_note:
            saved.append(saved_note)
        return items

    outcome = merge_into_table(args.into, entries_for, label=args.label, id_column=args.id, out=args.out,
                               inputs=(args.sheet,), sep=sep, decimal=decimal, encoding=args.encoding,
                               na_values=na_values, extra_items=model_items)
    result = outcome.result
    for text in saved:
        note(text)
    shown = outcome.shown
    rest = f"; {result.n_empty} sheet row(s) still empty" + (f", {result.n_same} already labeled the same"
                                                              if result.n_same else "")
    if result.added.size:
        note(f"merged {result.added.size} label(s) into {shown}{rest}")
    else:
        note(f"no new labels to merge{rest}" + ("" if args.out is not None else f"; {shown} left unchanged"))
    return 0


def _decimal(value: str | None) -> str | None:
    from ._errors import CliError

    if value is not None and (len(value) != 1 or value in "\"\r\n"):
        raise CliError(f"--decimal must be one character, got {value!r}")
    return value


@dataclass
class MergeOutcome:
    """What ``merge_into_table`` did: the merge result, the table as read, and where it wrote."""

    result: Any  # _merge.MergeResult
    table: Any  # _table_reader.Table
    shown: str
    written: bool


def merge_into_table(into: str, entries_for: Callable[[Any], Any], *, label: str, id_column: str | None = None,
                     out: str | None = None, inputs: Sequence[str] = (), sep: str | None = None,
                     decimal: str | None = None, encoding: str | None = None, na_values: Sequence[str] = (),
                     extra_items: Callable[[Any], list[tuple[Path, Any]]] | None = None,
                     clear_rows: Sequence[int] = ()) -> MergeOutcome:
    """Merge the labels ``entries_for(table)`` gives (a ``_merge.SheetEntries``) into the table ``into``
    (or write the labeled table to ``out``), safely: under the target's advisory lock, checked row by
    row, only the label cells changed, and refused when the table changed since it was read.

    ``extra_items(new_frame)`` adds files written in the same group (``--save-model``); ``clear_rows``:
    data rows whose label cell is emptied (the labeling page's undo). Every problem is one
    ``CliError`` line and leaves every file as it was.
    """
    from ._console import release, warn
    from ._errors import CliError
    from ._table_guard import Fingerprint, check_unchanged, table_lock
    from ._table_reader import column_hint, read_table
    from ._table_writer import format_by_name, prepare_output, write_files
    from .._merge import merge_labels

    content = _content_format(into) if out is None else None  # rewritten in place: the format it has
    named = format_by_name(Path(into)) is not None
    target = prepare_output(out if out is not None else into, None if named else content,
                            inputs=tuple(inputs) + ((into,) if out is not None else ()))
    if content is not None and target.fmt != content:
        target = replace(target, fmt=content)
    if target.path is None:
        raise CliError("--out - is not supported by merge; give a file")
    in_place = out is None or (Path(into).exists() and target.path.exists()
                               and os.path.samefile(into, target.path))
    text_columns = (label,) + ((id_column,) if id_column else ())
    with table_lock(target.path):
        before = Fingerprint.of(Path(into)) if in_place and Path(into).is_file() else None
        table = read_table(into, text_columns=text_columns, sep=sep, na_values=na_values, encoding=encoding,
                           decimal=decimal)
        columns = list(table.frame.columns)
        if label not in columns:
            raise CliError(column_hint(label, columns, table.source, "label"))
        if id_column is not None and id_column not in columns:
            raise CliError(column_hint(id_column, columns, table.source, "id"))
        entries = entries_for(table)
        result = merge_labels(table.frame, table.rows, entries, label=label, id_column=id_column,
                              na_values=na_values, source=table.source)
        release()
        _warn_about(result, str(getattr(entries, "source", "")) or "the sheet", warn)
        new_frame = table.frame.copy()
        new_frame[label] = result.labels
        cleared = _positions(table, clear_rows)
        for position in cleared:
            new_frame.iloc[position, columns.index(label)] = None
        items: list[tuple[Path, Any]] = []
        if result.added.size or cleared or out is not None:
            items.append((target.path, _label_writer(into, table, new_frame, result, cleared, label=label,
                                                     id_column=id_column, fmt=target.fmt, out_name=target.path.name,
                                                     in_place=in_place, sep=sep, decimal=decimal, encoding=encoding,
                                                     na_values=na_values)))
        if extra_items is not None:
            items.extend(extra_items(new_frame))
        if items:
            check = (lambda: check_unchanged(Path(into), before, str(into))) if before is not None else None
            write_files(items, before_rename=check)
    return MergeOutcome(result, table, target.shown, bool(items))


def _positions(table: Any, data_rows: Sequence[int]) -> list[int]:
    """The frame positions of data rows (one line naming a data row the table does not have)."""
    import numpy as np

    from ._errors import CliError

    rows = np.asarray(table.rows, dtype=np.int64)
    positions = []
    for data_row in data_rows:
        at = int(np.searchsorted(rows, int(data_row)))
        if at >= len(rows) or int(rows[at]) != int(data_row):
            raise CliError(f"{table.source}: has no data row {data_row} to clear")
        positions.append(at)
    return positions


def _warn_about(result: Any, source: str, warn: Callable[[str], None]) -> None:
    if result.skipped:
        warn(f"{source}: {len(result.skipped)} task(s) skipped in Label Studio (every annotation cancelled): "
             f"{', '.join(result.skipped[:5])}{', ...' if len(result.skipped) > 5 else ''}")
    if result.ambiguous:
        warn(f"{source}: {len(result.ambiguous)} task(s) with more than one choice, not merged: "
             f"{', '.join(result.ambiguous[:5])}{', ...' if len(result.ambiguous) > 5 else ''}")
    for line in result.notes:
        warn(f"{source}: {line}")
    if result.new_classes and result.known_classes:
        warn(f"{source}: label(s) {', '.join(repr(c) for c in result.new_classes[:5])} are not among the "
             "table's classes yet; merged as new classes (a typo?)")


def _read_sheet(spec: str, text_columns: tuple[str, ...], na_values: list[str], encoding: str | None) -> Any:
    """A JSON sheet as its parsed JSON (records or a Label Studio export), anything else as a Table frame.

    The sheet's separator is sniffed and its encoding is UTF-8 or UTF-16 by its BOM (``--sep``,
    ``--decimal`` and ``--encoding`` are TABLE's); ``--encoding`` is tried when UTF-8 fails."""
    import json

    from ._errors import CliError
    from ._table_reader import read_table

    path = Path(spec)
    if spec != "-" and path.is_file():
        with open(path, "rb") as handle:
            head = handle.read(64)
        if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{") and not head.startswith(b"PAR1"):
            try:
                raw = path.read_bytes()
                try:
                    text = raw.decode("utf-8-sig")
                except UnicodeDecodeError:
                    if encoding is None:
                        raise
                    text = raw.decode(encoding)
                data = json.loads(text)
            except RecursionError:
                raise CliError(f"{spec}: cannot read JSON: nested too deeply") from None
            except (ValueError, UnicodeDecodeError, LookupError) as error:
                raise CliError(f"{spec}: cannot read JSON: {' '.join(str(error).split())[:100]}") from None
            if isinstance(data, dict):
                data = [data]
            if not isinstance(data, list):
                raise CliError(f"{spec}: expected a list of records or tasks")
            return data
    try:
        sheet = read_table(spec, text_columns=text_columns, na_values=na_values)
    except CliError as error:
        if encoding is None or "--encoding" not in str(error):
            raise
        sheet = read_table(spec, text_columns=text_columns, na_values=na_values, encoding=encoding)
    return sheet.frame


def _label_writer(into: str, table: Any, new_frame: Any, result: Any, cleared: Sequence[int], *, label: str,
                  id_column: str | None, fmt: str, out_name: str, in_place: bool, sep: str | None,
                  decimal: str | None, encoding: str | None, na_values: Sequence[str]) -> Callable[[Path], None]:
    """Edit the label cells of the table's own bytes when the output is of its format (verified by
    reading the result back), else render the frame; the output's name decides its compression."""
    from ._console import warn
    from ._errors import CliError
    from ._table_edit import compression_by_name, compression_of, content_kind, edited_table
    from ._table_writer import format_by_name, render

    source = Path(into)
    edits: dict[int, str | None] = {int(table.rows[p]): str(result.labels.iloc[p]) for p in result.added.tolist()}
    edits.update({int(table.rows[p]): None for p in cleared})
    raw = source.read_bytes() if source.is_file() else None
    compression = compression_by_name(out_name)
    if raw is not None and in_place:
        compression = compression_of(raw)  # the table keeps its own compression
    in_kind = content_kind(_plain(raw), into) if raw is not None else None
    if in_kind == "csv" and format_by_name(Path(into)) == "tsv":
        in_kind = "tsv"
    same_kind = raw is not None and (in_place or _kind_of(fmt, out_name) == in_kind)  # else: as --out's name says

    def write(tmp: Path) -> None:
        if same_kind:
            try:
                tmp.write_bytes(edited_table(raw, name=into, label=label, edits=edits, compression=compression,
                                             sep=sep, encoding=encoding))
                if _reads_back(tmp, new_frame, table, label=label, id_column=id_column, sep=sep, decimal=decimal,
                               encoding=encoding, na_values=na_values):
                    return
            except OSError as error:
                if error.errno is not None:  # a real write error (disk full, quota...): say that, not a fallback
                    raise
            except Exception:  # noqa: BLE001 - any other failure of the in-place edit: rewrite (and say so)
                pass
            warn(f"{into}: could not edit the label cells in place; the table is rewritten from its values "
                 "(number formatting may differ)")
        data = render(new_frame, fmt, guard_formulas=False, lines=_kind_of(fmt, out_name) == "jsonl")
        tmp.write_bytes(_compress(data, compression))
        if not _labels_read_back(tmp, new_frame, label=label, id_column=id_column, na_values=na_values):
            raise CliError(f"{out_name}: the rewritten table did not read back with the same rows and labels; "
                           "nothing was written (please report this)")

    return write


def _labels_read_back(tmp: Path, expected: Any, *, label: str, id_column: str | None,
                      na_values: Sequence[str]) -> bool:
    """Whether a table rendered from values reads back with ``expected``'s rows, labels and ids
    (the other cells may be formatted differently, as the warning says; the labels may not)."""
    from .._merge import label_text
    from ._console import discard, hold
    from ._table_reader import read_table

    columns = [c for c in (label, id_column) if c]
    hold()
    try:
        again = read_table(str(tmp), text_columns=tuple(columns), na_values=na_values).frame
    except Exception:  # noqa: BLE001 - unreadable is "did not read back"
        return False
    finally:
        discard()
    if len(again) != len(expected) or any(c not in again.columns for c in columns):
        return False
    return all([label_text(v, na_values) for v in again[c].tolist()] ==
               [label_text(v, na_values) for v in expected[c].tolist()] for c in columns)


def _content_format(into: str) -> str | None:
    """The output format of a table rewritten in place: that of its content (a Parquet file named
    .csv stays Parquet, a CSV named .dat stays CSV); None when it cannot be read (the reader says why)."""
    from ._table_edit import content_kind

    try:
        with open(into, "rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return None
    kind = content_kind(_plain(head, partial=True), into)
    return {"jsonl": "json", "tsv": "csv"}.get(kind, kind)


def _kind_of(fmt: str, name: str) -> str:
    if fmt == "json":
        from ._table_edit import content_kind

        return "jsonl" if content_kind(b"", name) == "jsonl" else "json"
    return fmt


def _plain(raw: bytes, *, partial: bool = False) -> bytes:
    """``raw`` decompressed (``partial``: the first bytes of a file, as far as they go)."""
    import lzma

    from ._table_edit import _DECOMPRESS, compression_of
    from ._formats import OPENERS

    kind = compression_of(raw)
    if not kind:
        return raw
    try:
        if partial:
            import io

            with OPENERS[kind](io.BytesIO(raw), "rb") as stream:
                return stream.read(4096)
        return _DECOMPRESS[kind](raw)
    except (OSError, EOFError, ValueError, lzma.LZMAError):
        return b""


def _compress(data: bytes, compression: str | None) -> bytes:
    from ._table_edit import _COMPRESS

    return _COMPRESS[compression](data) if compression else data


def _reads_back(tmp: Path, expected: Any, table: Any, *, label: str, id_column: str | None, sep: str | None,
                decimal: str | None, encoding: str | None, na_values: Sequence[str]) -> bool:
    """Whether ``tmp`` reads as ``expected``: the same rows and columns, every cell but the labels equal."""
    import numpy as np

    from .._merge import label_text
    from ._table_reader import read_table

    from ._console import discard, hold

    text_columns = (label,) + ((id_column,) if id_column else ())
    hold()  # the notes of reading the temporary file back are not the user's business
    try:
        again = read_table(str(tmp), text_columns=text_columns, sep=sep, na_values=na_values, encoding=encoding,
                           decimal=decimal)
    finally:
        discard()
    if list(again.frame.columns) != list(expected.columns) or not np.array_equal(again.rows, table.rows):
        return False
    for column in expected.columns:
        a, b = again.frame[column], expected[column]
        if column == label:
            if [label_text(v, na_values) for v in a.tolist()] != [label_text(v, na_values) for v in b.tolist()]:
                return False
        elif not a.equals(table.frame[column]):
            return False
    return True


def _model_item(frame: Any, args: argparse.Namespace, target: Path) -> tuple[list[tuple[Path, Any]], str | None]:
    """Train the default model on the merged labels (features: every column but label and id) and save it."""
    import numpy as np

    from .._fit_table import fit_table
    from .._model_io import model_arrays, write_npz
    from ._columns import label_series
    from ._console import warn

    y = label_series(frame[args.label])
    from ._columns import refuse_continuous

    refuse_continuous(y, args.label, str(args.into), bool(getattr(args, "classes_anyway", False)))
    from ._model_columns import merge_columns, table_record

    features, id_column = merge_columns(frame, args, target)  # H25: the feature selection of the model file
    from .._preprocess import UnusableColumnsError
    from ._columns import unusable_columns_message
    from ._errors import CliError

    try:
        fitted = fit_table(frame[features], y, random_state=int(args.seed))  # the round's model recipe (H23a)
    except UnusableColumnsError as error:  # the CLI's advice (--exclude), not the Python API's
        raise CliError(unusable_columns_message(error, str(args.into))) from None
    if fitted.model is None:
        warn(f"no model saved to {target}: a model needs labeled rows of at least two classes")
        return [], None
    model, pre, classes, labeled = fitted.model, fitted.preprocessor, fitted.classes, fitted.labeled
    arrays = model_arrays(model, preprocessor=pre, classes=np.asarray([str(c) for c in classes]),
                          info={"history": [], "seed": int(args.seed), "n_labeled": int(labeled.sum()),
                                "table": table_record(args.label, id_column, features)})
    return [(target, lambda tmp: write_npz(arrays, tmp))], f"saved the model (trained on {int(labeled.sum())} labels) to {target}"

