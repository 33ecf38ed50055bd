"""Label Studio exports from others (issues 24 and 26): told by structure, keyed by (task, row),
every level type-checked (one line naming the task), the loader fuzzed with hypothesis."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dami_np import _label_studio as ls
from test_workflow import assert_one_error_line, run


def _result(choice):
    return [{"from_name": "dami_label", "to_name": "row", "type": "choices", "value": {"choices": [choice]}}]


def dami(capsys, *argv):
    """``dami ARGV`` in-process (paths given as Path objects): (exit code, stdout, stderr)."""
    return run(capsys, *[str(a) for a in argv])


TASKS = [
    {"id": 11, "data": {"row": {"x": 2.0}, "dami_row": 1, "pick": 1, "explanation": ""},
     "annotations": [{"id": 101, "result": _result("cat"), "was_cancelled": False, "created_at": "2026-03-01"}]},
    {"id": 12, "data": {"row": {"x": 3.0}, "dami_row": 2, "pick": 2, "explanation": ""},
     "annotations": [{"id": 102, "result": _result("dog"), "was_cancelled": False, "created_at": "2026-03-01"}]},
]


# ---------------------------------------------------------------------- 2. told by structure
def test_sheet_with_label_studio_like_column_names_is_a_sheet(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("lead_time,annotator,annotation_id,row,label\n1.5,ann,7,3,a\n2.5,bob,8,4,\n3.5,eve,9,5,\n")
    (tmp_path / "s.csv").write_text("dami_pick,dami_row,lead_time,annotator,annotation_id,row,label\n"
                                    "1,1,2.5,bob,8,4,b\n2,2,3.5,eve,9,5,a\n")
    code, _, err = dami(capsys, "merge", tmp_path / "s.csv", "--into", path, "--label", "label")
    assert code == 0, err
    assert "merged 2 label(s)" in err
    assert pd.read_csv(path)["label"].tolist() == ["a", "b", "a"]


def test_json_sheet_with_label_studio_like_keys_is_a_sheet():
    records = [{"dami_pick": 1, "dami_row": 1, "annotator": "bob", "lead_time": 2.0, "label": "b"}]
    assert ls.looks_like_export(records) is None
    assert ls.looks_like_export(pd.DataFrame(records)) is None


# ---------------------------------------------------------------------- 5. (task, row) keys
def test_json_min_task_id_on_two_rows_merges_both(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("x,label\n1,cat\n2,\n3,\n")
    records = [
        {"row": {"x": 2}, "dami_row": 1, "pick": 1, "explanation": "", "id": 7, "dami_label": "dog",
         "annotation_id": 1, "updated_at": "2026-03-01"},
        {"row": {"x": 3}, "dami_row": 2, "pick": 2, "explanation": "", "id": 7, "dami_label": "cat",
         "annotation_id": 2, "updated_at": "2026-03-02"},
    ]
    (tmp_path / "min.json").write_text(json.dumps(records))
    code, _, err = dami(capsys, "merge", tmp_path / "min.json", "--into", path, "--label", "label")
    assert code == 0, err
    assert "merged 2 label(s)" in err
    assert path.read_text() == "x,label\n1,cat\n2,dog\n3,cat\n"


# ---------------------------------------------------------------------- #26 item 4: every level type-checked
@pytest.mark.parametrize("where, value, fragment", [
    (("id",), [1, 2], "'id' is a list"),
    (("annotations",), 5, "'annotations' is the number 5"),
    (("annotations", 0, "result"), 3, "'annotations/result' is the number 3"),
    (("annotations", 0, "result", 0, "value"), ["cat"], "'result/value' is a list"),
    (("annotations", 0, "result", 0, "value", "choices"), 1, "'result/value/choices' is the number 1"),
    (("annotations", 0, "result", 0, "value", "choices"), [["cat"]], "a choice is a list"),
    (("annotations", 0), "text", "an annotation is text"),
    (("data", "dami_row"), {"a": 1}, "'dami_row' is an object"),
    (("data", "row"), [1], "'row' is a list"),
])
def test_wrong_types_are_one_line_naming_the_task(tmp_path, capsys, where, value, fragment):
    tasks = copy.deepcopy(TASKS)
    node = tasks[1]
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    (tmp_path / "t.csv").write_text("x,label\n1,cat\n2,\n3,\n")
    code, _, err = dami(capsys, "merge", tmp_path / "export.json", "--into", tmp_path / "t.csv", "--label", "label")
    assert_one_error_line(code, err, fragment)
    assert "task" in err


def test_nesting_100k_deep_is_one_line(tmp_path, capsys):
    (tmp_path / "export.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "t.csv").write_text("x,label\n1,cat\n2,\n")
    code, _, err = dami(capsys, "merge", tmp_path / "export.json", "--into", tmp_path / "t.csv", "--label", "label")
    assert_one_error_line(code, err, "export.json", "nested too deeply")


def test_json_min_and_csv_wrong_types_are_one_line():
    record = {"row": {"x": 2}, "dami_row": 1, "pick": 1, "id": 7, "dami_label": {"choices": 3}}
    with pytest.raises(ValueError, match="'choices' is the number 3"):
        ls.read_export([record])
    record["dami_label"] = {"choices": [{"a": 1}]}
    with pytest.raises(ValueError, match="a choice is an object"):
        ls.read_export([record])
    frame = pd.DataFrame({"row": ['{"x": 2}'], "dami_row": ["1"], "pick": ["1"], "dami_label": ['{"choices": 5}']})
    with pytest.raises(ValueError, match="task #0"):
        ls.read_export(frame)


# ---------------------------------------------------------------------- fuzzing
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12)
_PATHS = [("id",), ("data",), ("data", "row"), ("data", "dami_row"), ("annotations",), ("annotations", 0),
          ("annotations", 0, "result"), ("annotations", 0, "result", 0), ("annotations", 0, "result", 0, "value"),
          ("annotations", 0, "result", 0, "value", "choices"), ("annotations", 0, "created_at"),
          ("annotations", 0, "was_cancelled"), ("annotations", 0, "id")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_PATHS), _json, st.integers(0, 1))
def test_fuzzed_json_export_reads_or_is_one_value_error(path, value, which):
    tasks = copy.deepcopy(TASKS)
    node = tasks[which]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    _read_or_one_line(tasks)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["id", "row", "dami_row", "pick", "dami_label", "updated_at", "annotation_id"]), _json)
def test_fuzzed_json_min_export_reads_or_is_one_value_error(key, value):
    record = {"row": {"x": 2}, "dami_row": 1, "pick": 1, "explanation": "", "id": 7, "dami_label": "cat",
              "annotation_id": 1, "updated_at": "2026-03-01"}
    record[key] = value
    _read_or_one_line([record])


@settings(max_examples=200, deadline=None)
@given(_json)
def test_fuzzed_anything_reads_or_is_one_value_error(value):
    _read_or_one_line(value if isinstance(value, list) else [value])


def _read_or_one_line(data):
    if ls.looks_like_export(data) is None:
        return
    try:
        export = ls.read_export(data, source="export.json")
    except ValueError as error:
        assert "\n" not in str(error) and str(error).startswith("export.json: ")
        return
    assert list(export.frame.columns) == ["dami_row", "dami_id", "label", "values"]
    assert all(label is None or isinstance(label, str) for label in export.frame["label"])
