"""Label Studio files on hand-written fixtures: task list, JSON, JSON_MIN and CSV exports
(cancelled and repeated annotations, skipped tasks, unknown labels)."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from dami_np import _label_studio as ls
from dami_np._merge import entries_from_export, merge_labels

TABLE = pd.DataFrame({
    "key": ["a", "b", "c", "d", "e"],
    "x": [1.5, 2.0, np.nan, 4.25, 5.0],
    "color": ["red", "blue", "red", None, "green"],
    "label": ["cat", None, None, None, None],
})
ROWS = np.arange(5)


def _result(choice, from_name="dami_label"):
    return [{"from_name": from_name, "to_name": "row", "type": "choices", "value": {"choices": [choice]}}]


# A JSON export as Label Studio writes it (trimmed to the fields that matter).
JSON_EXPORT = [
    {   # two annotations: the later one wins
        "id": 11, "data": {"row": {"key": "b", "x": 2.0, "color": "blue"}, "dami_row": 1, "pick": 1,
                           "explanation": "x +1"},
        "annotations": [
            {"id": 101, "result": _result("dog"), "was_cancelled": False,
             "created_at": "2026-03-01T10:00:00.000000Z", "updated_at": "2026-03-01T10:00:00.000000Z"},
            {"id": 102, "result": _result("cat"), "was_cancelled": False,
             "created_at": "2026-03-01T11:00:00.000000Z", "updated_at": "2026-03-01T11:00:00.000000Z"},
        ],
        "predictions": [{"model_version": "dami-np margin", "score": 0.6, "result": _result("dog")}],
    },
    {   # the latest annotation was cancelled: the earlier one wins
        "id": 12, "data": {"row": {"key": "c", "x": None, "color": "red"}, "dami_row": 2, "pick": 2, "explanation": ""},
        "annotations": [
            {"id": 103, "result": _result("dog"), "was_cancelled": False, "created_at": "2026-03-01T10:00:00Z"},
            {"id": 104, "result": [], "was_cancelled": True, "created_at": "2026-03-02T10:00:00Z"},
        ],
    },
    {   # skipped (only a cancelled annotation)
        "id": 13, "data": {"row": {"key": "d", "x": 4.25, "color": None}, "dami_row": 3, "pick": 3, "explanation": ""},
        "annotations": [{"id": 105, "result": [], "was_cancelled": True, "created_at": "2026-03-01T10:00:00Z"}],
    },
    {   # not annotated yet
        "id": 14, "data": {"row": {"key": "e", "x": 5, "color": "green"}, "dami_row": 4, "pick": 4, "explanation": ""},
        "annotations": [],
    },
]

# JSON_MIN: one record per (not cancelled) annotation, task data flattened, the choice under from_name.
JSON_MIN_EXPORT = [
    {"row": {"key": "b", "x": 2.0, "color": "blue"}, "dami_row": 1, "pick": 1, "explanation": "x +1", "id": 11,
     "dami_label": "dog", "annotator": 1, "annotation_id": 101, "created_at": "2026-03-01T10:00:00.000000Z",
     "updated_at": "2026-03-01T10:00:00.000000Z", "lead_time": 3.1},
    {"row": {"key": "b", "x": 2.0, "color": "blue"}, "dami_row": 1, "pick": 1, "explanation": "x +1", "id": 11,
     "dami_label": "cat", "annotator": 2, "annotation_id": 102, "created_at": "2026-03-01T11:00:00.000000Z",
     "updated_at": "2026-03-01T11:00:00.000000Z", "lead_time": 2.0},
    {"row": {"key": "c", "x": None, "color": "red"}, "dami_row": 2, "pick": 2, "explanation": "", "id": 12,
     "dami_label": "dog", "annotator": 1, "annotation_id": 103, "created_at": "2026-03-01T10:00:00Z",
     "updated_at": "2026-03-01T10:00:00Z", "lead_time": 1.0},
    {"row": {"key": "e", "x": 5, "color": "green"}, "dami_row": 4, "pick": 4, "explanation": "", "id": 14,
     "annotator": None, "annotation_id": None, "created_at": None, "updated_at": None, "lead_time": None},
]

# CSV export: the same records, nested data as JSON text, QUOTE_NONNUMERIC, sorted column names.
CSV_EXPORT = (
    '"annotation_id","annotator","created_at","dami_label","dami_row","explanation","id","lead_time","pick",'
    '"row","updated_at"\n'
    '101,1,"2026-03-01T10:00:00.000000Z","dog",1,"x +1",11,3.1,1,"{""key"":""b"",""x"":2.0,""color"":""blue""}",'
    '"2026-03-01T10:00:00.000000Z"\n'
    '102,2,"2026-03-01T11:00:00.000000Z","cat",1,"x +1",11,2.0,1,"{""key"":""b"",""x"":2.0,""color"":""blue""}",'
    '"2026-03-01T11:00:00.000000Z"\n'
    '103,1,"2026-03-01T10:00:00Z","dog",2,"",12,1.0,2,"{""key"":""c"",""x"":null,""color"":""red""}",'
    '"2026-03-01T10:00:00Z"\n'
    '"","","","",4,"",14,"",4,"{""key"":""e"",""x"":5,""color"":""green""}",""\n'
)


def _csv_frame() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(CSV_EXPORT), dtype=str, keep_default_na=False, na_values=[""])


@pytest.mark.parametrize("kind", ["json", "json_min", "csv"])
def test_latest_non_cancelled_annotation_wins(kind):
    data = {"json": JSON_EXPORT, "json_min": JSON_MIN_EXPORT, "csv": _csv_frame()}[kind]
    assert ls.looks_like_export(data) == kind
    export = ls.read_export(data, source="export")
    by_row = {int(r): lab for r, lab in zip(export.frame["dami_row"], export.frame["label"])}
    assert by_row[1] == "cat"  # the later of two annotations
    assert by_row[2] == "dog"  # a later cancelled annotation does not count
    assert by_row[4] is None  # not annotated
    if kind == "json":
        assert by_row[3] is None and export.skipped == ["dami_row 3"]
    else:
        assert 3 not in by_row  # Label Studio leaves cancelled annotations out of these formats


@pytest.mark.parametrize("kind", ["json", "json_min", "csv"])
def test_export_merges_into_the_table(kind):
    data = {"json": JSON_EXPORT, "json_min": JSON_MIN_EXPORT, "csv": _csv_frame()}[kind]
    entries = entries_from_export(ls.read_export(data, source="export"), id_column=None, source="export")
    result = merge_labels(TABLE, ROWS, entries, label="label", id_column=None)
    assert result.labels.tolist() == ["cat", "cat", "dog", None, None]
    assert sorted(result.added.tolist()) == [1, 2]
    assert result.n_empty == 1 + (kind == "json")  # task 4, and the skipped task 3 in JSON
    assert result.new_classes == ["dog"]  # not among the table's classes: reported


def test_export_from_another_table_is_refused():
    changed = json.loads(json.dumps(JSON_EXPORT))
    changed[0]["data"]["row"]["x"] = 2.5
    entries = entries_from_export(ls.read_export(changed), id_column=None, source="export")
    with pytest.raises(ValueError, match=r"column 'x' is 2.5 there but 2.0 in data row 1"):
        merge_labels(TABLE, ROWS, entries, label="label", id_column=None)


def test_conflict_with_the_table_is_refused():
    table = TABLE.assign(label=["cat", "dog", None, None, None])
    entries = entries_from_export(ls.read_export(JSON_EXPORT), id_column=None, source="export")
    with pytest.raises(ValueError, match="data row 1 of the table is already labeled 'dog', the sheet says 'cat'"):
        merge_labels(table, ROWS, entries, label="label", id_column=None)


def test_more_than_one_choice_is_reported_not_merged():
    tasks = json.loads(json.dumps(JSON_EXPORT[:1]))
    tasks[0]["annotations"][1]["result"][0]["value"]["choices"] = ["cat", "dog"]
    export = ls.read_export(tasks)
    assert export.ambiguous == ["dami_row 1"] and export.frame["label"].tolist() == [None]


def test_matching_by_id():
    frame = TABLE.rename(columns={"key": "id"})
    report = pd.DataFrame({"row": [1, 2], "pick": [1, 2], "predicted": ["cat", "dog"], "probability": [0.7, 0.9],
                           "explanation": ["x +1", "x -1"]})
    tasks = ls.tasks(frame, np.array([1, 2]), report, label="label", id_column="id")
    assert [t["data"]["dami_id"] for t in tasks] == ["b", "c"]  # 'id' is Label Studio's own key
    for task in tasks:
        task["annotations"] = [{"id": 1, "result": _result("cat"), "was_cancelled": False}]
        task["data"]["dami_row"] = None
    entries = entries_from_export(ls.read_export(tasks, id_column="id"), id_column="id", source="export")
    result = merge_labels(frame, ROWS, entries, label="label", id_column="id")
    assert result.labels.tolist() == ["cat", "cat", "cat", None, None]


def test_task_list_and_config():
    report = pd.DataFrame({"row": [3, 0], "pick": [1, 2], "predicted": ["cat", None], "probability": [0.8, np.nan],
                           "explanation": ["x +2", None]})
    tasks = ls.tasks(TABLE, np.array([3, 0]), report, label="label", id_column="key", model_version="dami-np t")
    assert ls.looks_like_export(tasks) == "tasks"
    first, second = tasks
    assert first["data"] == {"row": {"key": "d", "x": 4.25, "color": None}, "dami_row": 3, "pick": 1,
                             "explanation": "x +2", "key": "d"}
    assert first["predictions"] == [{"model_version": "dami-np t", "score": 0.8, "result": _result("cat")}]
    assert second["predictions"] == [] and second["data"]["explanation"] == ""
    json.loads(ls.dumps(tasks))  # valid JSON, no NaN
    config = ET.fromstring(ls.labeling_config(["cat", 'dog "big" & <small>']))
    assert [c.get("value") for c in config.iter("Choice")] == ["cat", 'dog "big" & <small>']
    assert config.find("Choices").get("name") == ls.FROM_NAME
    assert config.find("Choices").get("toName") == ls.TO_NAME == config.find("Table").get("name")


def test_not_an_export():
    assert ls.looks_like_export([{"a": 1}]) is None
    assert ls.looks_like_export(pd.DataFrame({"a": [1]})) is None
    with pytest.raises(ValueError, match="not a Label Studio export"):
        ls.read_export([{"a": 1}])


def test_real_label_studio_converter_exports_read_the_same(tmp_path):
    """With Label Studio's own converter installed (label-studio-sdk, optional): our JSON export
    fixture converted by it to JSON_MIN and CSV reads back to the same labels."""
    pytest.importorskip("label_studio_sdk")
    from label_studio_sdk.converter import Converter

    export = json.loads(json.dumps(JSON_EXPORT))
    for task in export:
        for annotation in task["annotations"]:
            annotation.setdefault("updated_at", annotation.get("created_at"))
            annotation.setdefault("completed_by", 1)
            annotation.setdefault("lead_time", 1.0)
    source = tmp_path / "export.json"
    source.write_text(json.dumps(export))
    converter = Converter(ls.labeling_config(["cat", "dog"]), project_dir=str(tmp_path), download_resources=False)
    labels = {}
    for fmt in ("JSON_MIN", "CSV"):
        out = tmp_path / fmt
        converter.convert(str(source), str(out), fmt, is_dir=False)
        if fmt == "JSON_MIN":
            data = json.loads((out / "result.json").read_text())
        else:
            data = pd.read_csv(out / "result.csv", dtype=str, keep_default_na=False, na_values=[""])
        assert ls.looks_like_export(data) == fmt.lower()
        frame = ls.read_export(data).frame
        labels[fmt] = {int(r): lab for r, lab in zip(frame["dami_row"], frame["label"])}
    ours = {int(r): lab for r, lab in zip(*[ls.read_export(export).frame[c] for c in ("dami_row", "label")])}
    expected = {k: v for k, v in ours.items() if k != 3}  # the skipped task is left out by the converter
    assert labels["JSON_MIN"] == expected == labels["CSV"]
