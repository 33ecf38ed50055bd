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
from pathlib import Path
from typing import Any, Callable

_EXAMPLES = """examples:
  dami merge picks.csv --into table.csv --label class
  dami merge picks.csv --into table.csv --label class --id customer_id --out labeled.csv
  dami merge export.json --into table.csv --label class      (a Label Studio JSON, JSON_MIN or CSV export)
"""


def _compressors() -> tuple[dict[str, Callable[[bytes], bytes]], dict[str, Callable[[bytes], bytes]]]:
    import bz2
    import gzip
    import lzma

    return ({"gzip": lambda data: gzip.compress(data, mtime=0), "bz2": bz2.compress, "xz": lzma.compress},
            {"gzip": gzip.decompress, "bz2": bz2.decompress, "xz": lzma.decompress})


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
    sub.add_argument("--sep", metavar="CHAR", help="CSV separator of TABLE and SHEET (default: sniffed)")
    sub.add_argument("--encoding", metavar="NAME", help="text encoding of CSV files (default: UTF-8)")
    sub.add_argument("--na-values", metavar="TEXT,...", action="append",
                     help="extra cell texts that mean unlabeled (as for dami select)")
    sub.set_defaults(handler=run_merge)


def run_merge(args: argparse.Namespace) -> int:
    """Read SHEET and TABLE, check every row, write the labeled table (and model) atomically."""
    import pandas as pd

    from ._console import note, release, warn
    from ._errors import CliError
    from ._table_reader import parse_separator, read_table
    from ._table_writer import prepare_output, write_files
    from .._label_studio import looks_like_export, read_export
    from .._merge import entries_from_export, entries_from_sheet, merge_labels
    from ._columns import split_names

    from ._select import check_seed

    check_seed(args.seed)
    if args.into == "-":
        raise CliError("--into must be a file (the table the labels are written back to)")
    na_values = split_names(args.na_values, "--na-values") if args.na_values else []
    sep = parse_separator(args.sep)
    out_spec = args.out if args.out is not None else args.into
    target = prepare_output(out_spec, None, inputs=(args.sheet,) + ((args.into,) if args.out is not None else ()))
    if target.path is None:
        raise CliError("--out - is not supported by merge; give a file")
    model_target = None
    if args.save_model:
        from ._workflow import check_target

        model_target = check_target(args.save_model, "--save-model", suffixes=(".npz",), inputs=(args.into,))
    text_columns = (args.label,) + ((args.id,) if args.id else ())
    table = read_table(args.into, text_columns=text_columns, sep=sep, na_values=na_values, encoding=args.encoding)
    columns = list(table.frame.columns)
    if args.label not in columns:
        from ._table_reader import column_hint

        raise CliError(column_hint(args.label, columns, table.source, "label"))
    if args.id is not None and args.id not in columns:
        from ._table_reader import column_hint

        raise CliError(column_hint(args.id, columns, table.source, "id"))
    records = _read_sheet(args.sheet, text_columns + ("dami_row", "dami_label"), sep, na_values, args.encoding)
    kind = looks_like_export(records)
    if kind is not None and kind != "tasks":
        entries = entries_from_export(read_export(records, id_column=args.id, source=args.sheet), id_column=args.id,
                                      source=args.sheet, na_values=na_values)
    elif kind == "tasks":
        raise CliError(f"{args.sheet}: is the task list dami select wrote (no annotations); import it into Label "
                       "Studio, label, then export (JSON, JSON_MIN or CSV) and merge the export")
    else:
        frame = records if isinstance(records, pd.DataFrame) else pd.DataFrame(records)
        entries = entries_from_sheet(frame, label=args.label, id_column=args.id, source=args.sheet,
                                     na_values=na_values)
    result = merge_labels(table.frame, table.rows, entries, label=args.label, id_column=args.id,
                          na_values=na_values, source=table.source)
    release()
    if result.skipped:
        warn(f"{args.sheet}: {len(result.skipped)} task(s) skipped in Label Studio (every annotation cancelled): "
             f"{', '.join(result.skipped[:5])}{', ...' if len(result.skipped) > 5 else ''}")
    if result.ambiguous:
        warn(f"{args.sheet}: {len(result.ambiguous)} task(s) with more than one choice, not merged: "
             f"{', '.join(result.ambiguous[:5])}{', ...' if len(result.ambiguous) > 5 else ''}")
    known = {str(v) for v in table.frame[args.label].dropna().tolist() if str(v).strip()}
    if result.new_classes and known:
        warn(f"{args.sheet}: label(s) {', '.join(repr(c) for c in result.new_classes[:5])} are not among the "
             "table's classes yet; merged as new classes (a typo?)")
    new_frame = table.frame.copy()
    new_frame[args.label] = result.labels
    items: list[tuple[Path, Any]] = []
    if result.added.size or args.out is not None:
        items.append((target.path, _table_writer(args, table, new_frame, result, sep, target.fmt)))
    saved_note = None
    if model_target is not None:
        model_items, saved_note = _model_item(new_frame, args, model_target)
        items.extend(model_items)
    if items:
        write_files(items)
    if saved_note:
        note(saved_note)
    shown = target.shown
    rest = f"; {result.n_empty} sheet row(s) still empty" + (f", {result.n_same} already labeled the same"
                                                              if result.n_same else "")
    if result.added.size:
        note(f"merged {result.added.size} label(s) into {shown}{rest}")
    else:
        note(f"no new labels to merge{rest}" + ("" if args.out is not None else f"; {shown} left unchanged"))
    return 0


def _read_sheet(spec: str, text_columns: tuple[str, ...], sep: str | None, na_values: list[str],
                encoding: str | None) -> Any:
    """A JSON sheet as its parsed JSON (records or a Label Studio export), anything else as a Table frame."""
    import json

    from ._errors import CliError
    from ._table_reader import read_table

    path = Path(spec)
    if spec != "-" and path.is_file():
        with open(path, "rb") as handle:
            head = handle.read(64)
        if head.lstrip()[:1] in (b"[", b"{") and not head.startswith(b"PAR1"):
            try:
                data = json.loads(path.read_bytes().decode(encoding or "utf-8-sig"))
            except (ValueError, UnicodeDecodeError) as error:
                raise CliError(f"{spec}: cannot read JSON: {' '.join(str(error).split())[:100]}") from None
            if isinstance(data, dict):
                data = [data]
            if not isinstance(data, list):
                raise CliError(f"{spec}: expected a list of records or tasks")
            return data
    sheet = read_table(spec, text_columns=text_columns, sep=sep, na_values=na_values, encoding=encoding)
    return sheet.frame


def _table_writer(args: argparse.Namespace, table: Any, new_frame: Any, result: Any, sep: str | None,
                  fmt: str) -> Callable[[Path], None]:
    """Edit the CSV text in place when possible (verified by reading it back), else render the frame."""
    import lzma

    from ._console import warn
    from ._errors import CliError
    from ._table_writer import render

    source = Path(args.into)
    edits = {int(table.rows[p]): str(result.labels.iloc[p]) for p in result.added.tolist()}
    raw = source.read_bytes() if source.is_file() else None
    same_kind = raw is not None and fmt in ("csv", "tsv") and not raw.startswith(b"PAR1")

    def write(tmp: Path) -> None:
        if same_kind:
            try:
                data = _edited_csv(raw, args, edits, sep)
                tmp.write_bytes(data)
                if _reads_back(tmp, args, new_frame, table):
                    return
            except (ValueError, UnicodeError, OSError, EOFError, lzma.LZMAError, CliError):
                pass
            warn(f"{args.into}: could not edit the label cells in place; the table is rewritten from its values "
                 "(number formatting may differ)")
        compress = tmp.name.lower().endswith(".gz") or str(args.out or args.into).lower().endswith(".gz")
        tmp.write_bytes(render(new_frame, fmt, compress=compress))

    return write


def _edited_csv(raw: bytes, args: argparse.Namespace, edits: dict[int, str], sep: str | None) -> bytes:
    import csv

    from .._merge import edit_csv_cells
    from ._formats import COMPRESSED
    from ._table_reader import _sniff_separator

    compress, decompress = _compressors()

    kind = next((k for magic, k in COMPRESSED.items() if raw.startswith(magic)), None)
    data = decompress[kind](raw) if kind else raw
    encoding = args.encoding or "utf-8"
    bom = b"\xef\xbb\xbf" if encoding.lower().replace("-", "") in ("utf8", "utf8sig") and data.startswith(
        b"\xef\xbb\xbf") else b""
    text = data[len(bom):].decode("utf-8" if bom else encoding)
    first = text.split("\n", 1)[0].rstrip("\r")
    if sep is None:
        sep = _sniff_separator(first, args.into)
    header = [name.strip() for name in next(csv.reader([first], delimiter=sep), [])]
    if args.label not in header:
        raise ValueError("label column not in the raw header")
    edited = edit_csv_cells(text, sep=sep, column=header.index(args.label), edits=edits)
    out = bom + edited.encode("utf-8" if bom else encoding)
    return compress[kind](out) if kind else out


def _reads_back(tmp: Path, args: argparse.Namespace, expected: Any, table: Any) -> bool:
    import numpy as np
    import pandas as pd

    from ._table_reader import parse_separator, read_table

    text_columns = (args.label,) + ((args.id,) if args.id else ())
    na_values = []
    if args.na_values:
        from ._columns import split_names

        na_values = split_names(args.na_values, "--na-values") or []
    again = read_table(str(tmp), text_columns=text_columns, sep=parse_separator(args.sep), na_values=na_values,
                       encoding=args.encoding)
    if list(again.frame.columns) != list(expected.columns) or not np.array_equal(again.rows, table.rows):
        return False
    for column in expected.columns:
        a, b = again.frame[column], expected[column]
        if column == args.label:
            left = [None if pd.isna(v) or str(v).strip() == "" else str(v).strip() for v in a.tolist()]
            right = [None if v is None or pd.isna(v) or str(v).strip() == "" else str(v).strip() for v in b.tolist()]
            if left != right:
                return False
        elif not a.equals(table.frame[column]):
            return False
    return True


def _model_item(frame: Any, args: argparse.Namespace, target: Path) -> tuple[list[tuple[Path, Any]], str | None]:
    """Train the default model on the merged labels (features: every column but label and id) and save it."""
    import numpy as np

    from .._mlp import MLPClassifier
    from .._model_io import model_arrays, write_npz
    from .._preprocess import TabularPreprocessor
    from ..strategies._context import encode_labels, model_seed
    from ._columns import label_series
    from ._console import warn

    y = label_series(frame[args.label])
    features = [c for c in frame.columns if c not in (args.label, args.id)]
    labeled, codes, classes = encode_labels(y, len(y))
    if len(classes) < 2:
        warn(f"no model saved to {target}: a model needs labeled rows of at least two classes")
        return [], None
    pre = TabularPreprocessor().fit(frame[features])
    matrix = pre.transform(frame[features])
    model = MLPClassifier(random_state=model_seed(int(args.seed))).fit(matrix[labeled], codes[labeled])
    arrays = model_arrays(model, preprocessor=pre, classes=np.asarray([str(c) for c in classes]),
                          info={"history": [], "seed": int(args.seed), "n_labeled": int(labeled.sum())})
    return [(target, lambda tmp: write_npz(arrays, tmp))], f"saved the model (trained on {int(labeled.sum())} labels) to {target}"

