"""Label Studio files: a task list of the picks with its labeling config, and readers for exports.

No dependency on Label Studio: files only.

- ``tasks(...)``: one task per pick, ``data`` = ``{"row": {column: value, ...}, "dami_row": n,
  "pick": k, "explanation": "...", <id column>: id}`` and ``predictions`` = ``[{"model_version",
  "score", "result"}]``, the model's class as a ``choices`` result and its probability as score.
- ``labeling_config(classes)``: ``<Header>`` for the explanation, ``<Table>`` for the row,
  ``<Choices>`` (``name="dami_label"``) from the label column's classes.
- ``read_export(data)``: Label Studio's JSON, JSON_MIN and CSV exports to one row per task
  (``dami_row``, the id, the label, the row's values); for each task the latest non-cancelled
  annotation wins (by ``updated_at``, then ``created_at``, then annotation id), tasks whose
  annotations were all cancelled are reported as skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Sequence
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
from ._json_cells import json_value
from ._sheet import sheet_name

__all__ = ["FROM_NAME", "TO_NAME", "tasks", "labeling_config", "read_export", "Export", "id_key", "looks_like_export"]

FROM_NAME = "dami_label"
TO_NAME = "row"
_LS_RESERVED = {"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "agreement", "history",
                "row", "dami_row", "pick", "explanation", FROM_NAME, "annotations", "predictions", "data",
                "completions", "drafts", "meta"}
_TASK_FIELDS = {"row", "dami_row", "pick"}  # the task fields dami wrote, flattened by JSON_MIN and CSV
SHEET_MARK = sheet_name("pick")  # a column of every sheet dami writes, never of a Label Studio export


def id_key(id_column: str | None) -> str | None:
    """The key of the id in a task's ``data``: the id column's own name, ``dami_id`` when that is taken."""
    if id_column is None:
        return None
    return "dami_id" if id_column in _LS_RESERVED else id_column


def tasks(frame: pd.DataFrame, positions: np.ndarray, report: pd.DataFrame, *, label: str,
          id_column: str | None = None, model_version: str = "dami-np") -> list[dict[str, Any]]:
    """The task list of the picks (see the module docstring); ``report`` in pick order."""
    positions = np.asarray(positions, dtype=np.int64)
    columns = [str(c) for c in frame.columns if str(c) != label]
    rows = frame.iloc[positions][columns]
    out = []
    key = id_key(id_column)
    for i, values in enumerate(rows.itertuples(index=False, name=None)):
        pick = report.iloc[i]
        data: dict[str, Any] = {
            "row": {name: json_value(v) for name, v in zip(columns, values)},
            "dami_row": int(pick["row"]),
            "pick": int(pick["pick"]),
            "explanation": _text(pick.get("explanation")),
        }
        if key is not None:
            data[key] = json_value(frame[id_column].iloc[int(positions[i])])
        task: dict[str, Any] = {"data": data, "predictions": []}
        predicted = pick.get("predicted")
        if predicted is not None and not _missing(predicted):
            probability = json_value(pick.get("probability"))
            task["predictions"] = [{
                "model_version": model_version,
                "score": probability,
                "result": [{"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices",
                            "value": {"choices": [str(predicted)]}}],
            }]
        out.append(task)
    return out


def labeling_config(classes: Sequence[Any]) -> str:
    """The labeling config (XML) for the task list: explanation, row table, one choice per class."""
    choices = "\n".join(f"    <Choice value={quoteattr(str(c))}/>" for c in classes)
    return (
        "<View>\n"
        "  <Header value=\"$explanation\"/>\n"
        f"  <Table name={quoteattr(TO_NAME)} value=\"$row\"/>\n"
        f"  <Choices name={quoteattr(FROM_NAME)} toName={quoteattr(TO_NAME)} choice=\"single\" showInline=\"true\">\n"
        f"{choices}\n"
        "  </Choices>\n"
        "</View>\n"
    )


# ---------------------------------------------------------------------- exports
@dataclass
class Export:
    """A Label Studio export read into one row per task: ``frame`` has ``dami_row`` (or None),
    ``dami_id`` (the id, or None), ``label`` (None when unlabeled) and ``values`` (the row's
    values as a dict, or None); ``skipped`` are the tasks whose annotations were all cancelled,
    ``ambiguous`` those whose latest annotation picked more than one choice."""

    kind: str
    frame: pd.DataFrame
    skipped: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)


def looks_like_export(records: list[Any] | pd.DataFrame) -> str | None:
    """``"json"``, ``"json_min"``, ``"csv"`` when ``records`` is a Label Studio export of the task list
    dami wrote (``"tasks"``: that task list itself), else None.

    Told by structure, never by a column name a table can have: a JSON export is a list of tasks,
    each a ``data`` object (``"annotations"`` present: an export); JSON_MIN and CSV records carry the
    task fields dami wrote (``row`` as an object or its JSON text, ``dami_row``, ``pick``), and not the
    ``dami_pick`` of a sheet."""
    if isinstance(records, pd.DataFrame):
        cols = {str(c) for c in records.columns}
        if not _TASK_FIELDS <= cols or SHEET_MARK in cols:
            return None
        cells = [v for v in records["row"].tolist() if not _missing(v)]
        return "csv" if cells and all(isinstance(v, str) and v.lstrip().startswith("{") for v in cells) else None
    if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
        return None
    if any(SHEET_MARK in r for r in records):
        return None
    if all(isinstance(r.get("data"), dict) for r in records):
        return "json" if any("annotations" in r or "completions" in r for r in records) else "tasks"
    if all(_TASK_FIELDS <= set(r) and isinstance(r["row"], dict) for r in records):
        return "json_min"
    return None


def read_export(data: list[Any] | pd.DataFrame, *, id_column: str | None = None, source: str = "export") -> Export:
    """One row per task of a Label Studio export (JSON list of tasks, JSON_MIN records, or a CSV
    export as a DataFrame of text cells). Every level is type-checked: a wrong one is a
    ``ValueError`` of one line naming the task."""
    kind = looks_like_export(data)
    if kind is None:
        raise ValueError(f"{source}: not a Label Studio export (JSON, JSON_MIN or CSV)")
    key = id_key(id_column)
    if kind in ("json", "tasks"):
        return _read_json(data, key, source, kind)  # type: ignore[arg-type]
    if kind == "json_min":
        return _read_records(data, key, source, "json_min")  # type: ignore[arg-type]
    records = []
    for number, record in enumerate(data.to_dict(orient="records")):  # type: ignore[union-attr]
        record = {str(k): (None if _missing(v) else v) for k, v in record.items()}
        if isinstance(record.get("row"), str):
            try:
                record["row"] = json.loads(record["row"])
            except (ValueError, RecursionError):
                raise ValueError(f"{source}: task #{number}: column 'row' holds {record['row'][:40]!r}, not the JSON "
                                 "of a row") from None
        value = record.get(FROM_NAME)
        if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
            try:
                record[FROM_NAME] = json.loads(value)
            except (ValueError, RecursionError):
                pass
        records.append(record)
    return _read_records(records, key, source, "csv")


def _read_json(tasks_: list[dict[str, Any]], key: str | None, source: str, kind: str) -> Export:
    rows, skipped, ambiguous = [], [], []
    for number, task in enumerate(tasks_):
        data = task.get("data")
        if not isinstance(data, dict):
            raise ValueError(f"{source}: task #{number} has no 'data' object")
        _check_task_fields(task, data, key, f"{source}: task #{number}")
        name = _task_name(task, data, number)
        where = f"{source}: {_task_where(task, data, number)}"
        annotations = _expect(task.get("annotations", task.get("completions")), list, "annotations", where) or []
        for annotation in annotations:
            _check_annotation(annotation, where)
        kept = [a for a in annotations if not (a.get("was_cancelled") or a.get("skipped"))]
        label = None
        if annotations and not kept:
            skipped.append(name)
        elif kept:
            latest = max(enumerate(kept), key=lambda item: _annotation_order(item[1], item[0]))[1]
            choices = _choices(latest.get("result") or [])
            if len(choices) > 1:
                ambiguous.append(name)
            elif choices:
                label = choices[0]
        rows.append(_row(data, key, label))
    return Export(kind, _frame(rows), skipped, ambiguous)


def _read_records(records: list[dict[str, Any]], key: str | None, source: str, kind: str) -> Export:
    """JSON_MIN / CSV: one record per annotation (cancelled ones are left out by Label Studio);
    the latest annotation of each (task, data row) wins, so one task id on two rows merges both."""
    best: dict[Any, tuple[tuple[Any, ...], dict[str, Any], Any]] = {}
    ambiguous = []
    for number, record in enumerate(records):
        _check_task_fields(record, record, key, f"{source}: task #{number}")
        where = f"{source}: {_task_where(record, record, number)}"
        task = (_hashable(record.get("id")), _hashable(record.get("dami_row")),
                number if record.get("id") is None and record.get("dami_row") is None else None)
        value = record.get(FROM_NAME)
        label = None
        if isinstance(value, dict):
            choices = [_choice_text(c, where) for c in _expect(value.get("choices"), list, "choices", where) or []]
            if len(choices) > 1:
                ambiguous.append(_task_name(record, record, number))
            elif choices:
                label = choices[0]
        elif isinstance(value, list):
            if len(value) > 1:
                ambiguous.append(_task_name(record, record, number))
            elif value:
                label = _choice_text(value[0], where)
        elif value is not None and str(value).strip() != "":
            label = _label_text(_choice_text(value, where) if not isinstance(value, (int, float)) else value)
        order = _annotation_order(record, number)
        if task not in best or order >= best[task][0]:
            best[task] = (order, record, label)
    rows = [_row(record, key, label) for _, record, label in best.values()]
    return Export(kind, _frame(rows), [], ambiguous)


# ---------------------------------------------------------------------- type checks (files from others)
_SCALAR = (str, int, float, type(None))


def _expect(value: Any, kind: type, what: str, where: str) -> Any:
    """``value`` when it is None or of ``kind``, else a one-line ValueError naming the task."""
    if value is None or (isinstance(value, kind) and not isinstance(value, bool)):
        return value
    raise ValueError(f"{where}: {what!r} is {_kind(value)}, expected {_KIND_NAMES.get(kind, kind.__name__)}")


_KIND_NAMES = {list: "a list", dict: "an object", str: "text"}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _scalar(value: Any, what: str, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, _SCALAR):
        raise ValueError(f"{where}: {what!r} is {_kind(value)}, expected a number or text")


def _check_task_fields(task: dict[str, Any], data: dict[str, Any], key: str | None, where: str) -> None:
    _scalar(task.get("id"), "id", where)
    _scalar(data.get("dami_row"), "dami_row", where)
    if key is not None:
        _scalar(data.get(key), key, where)
    _expect(data.get("row"), dict, "row", where)
    for name in ("updated_at", "created_at", "annotation_id"):
        _scalar(task.get(name), name, where)


def _check_annotation(annotation: Any, where: str) -> None:
    if not isinstance(annotation, dict):
        raise ValueError(f"{where}: an annotation is {_kind(annotation)}, expected an object")
    for name in ("id", "updated_at", "created_at"):
        _scalar(annotation.get(name), f"annotations/{name}", where)
    for result in _expect(annotation.get("result"), list, "annotations/result", where) or []:
        if not isinstance(result, dict):
            raise ValueError(f"{where}: an annotation result is {_kind(result)}, expected an object")
        _scalar(result.get("from_name"), "result/from_name", where)
        _scalar(result.get("type"), "result/type", where)
        value = _expect(result.get("value"), dict, "result/value", where) or {}
        for choice in _expect(value.get("choices"), list, "result/value/choices", where) or []:
            _choice_text(choice, where)


def _choice_text(choice: Any, where: str) -> str:
    if isinstance(choice, bool) or not isinstance(choice, (str, int, float)):
        raise ValueError(f"{where}: a choice is {_kind(choice)}, expected text")
    return _label_text(choice) if isinstance(choice, float) else str(choice)


def _hashable(value: Any) -> Any:
    return None if value is None or _missing(value) else str(value)


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per task; object columns, so that a missing value stays None."""
    names = ["dami_row", "dami_id", "label", "values"]
    return pd.DataFrame({name: pd.Series([r[name] for r in rows], dtype=object) for name in names})


def _row(data: dict[str, Any], key: str | None, label: Any) -> dict[str, Any]:
    row_values = data.get("row")
    return {
        "dami_row": data.get("dami_row"),
        "dami_id": None if key is None else data.get(key),
        "label": label,
        "values": row_values if isinstance(row_values, dict) else None,
    }


def _choices(result: list[Any]) -> list[str]:
    """The choices of the ``dami_label`` result (or of the only choices result there is)."""
    found = [r for r in result if isinstance(r, dict) and r.get("type", "choices") == "choices"]
    ours = [r for r in found if r.get("from_name") == FROM_NAME]
    chosen = ours or (found if len(found) == 1 else [])
    out: list[str] = []
    for r in chosen:
        out.extend(_choice_text(c, "") for c in (r.get("value") or {}).get("choices") or [])
    return out


def _annotation_order(annotation: dict[str, Any], position: int) -> tuple[Any, ...]:
    stamp = annotation.get("updated_at") or annotation.get("created_at") or ""
    ident = annotation.get("annotation_id", annotation.get("id"))
    try:
        ident = float(ident)
    except (TypeError, ValueError):
        ident = float("-inf")
    return (str(stamp), ident, position)


def _task_name(task: dict[str, Any], data: dict[str, Any], number: int) -> str:
    if data.get("dami_row") is not None:
        return f"dami_row {data['dami_row']}"
    if task.get("id") is not None:
        return f"task {task['id']}"
    return f"task #{number}"


def _task_where(task: dict[str, Any], data: dict[str, Any], number: int) -> str:
    """The task in an error message: its id (or its place in the file), and its data row."""
    ident = task.get("id")
    name = f"task {ident}" if isinstance(ident, (str, int)) and not isinstance(ident, bool) else f"task #{number}"
    row = data.get("dami_row")
    return name + (f" (dami_row {row})" if isinstance(row, (str, int, float)) and not isinstance(row, bool) else "")


def _label_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _text(value: Any) -> str:
    return "" if value is None or _missing(value) else str(value)


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def dumps(obj: Any) -> str:
    """JSON text of a task list (UTF-8, no NaN)."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, indent=1) + "\n"

