"""dami_np.stopping against independent computations; the CSV cell editor; the sheet."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd
import pytest

import dami_np
from dami_np import stopping
from dami_np._merge import edit_csv_cells, same_value
from dami_np._preprocess import TabularPreprocessor
from dami_np._sheet import annotation_sheet


def test_stop_rule():
    assert not stopping.should_stop([])
    assert not stopping.should_stop([0.995])
    assert stopping.should_stop([0.5, 0.99, 0.999])
    assert not stopping.should_stop([0.999, 0.98])
    assert stopping.should_stop([0.9, 0.97], threshold=0.95, rounds=1) is True
    assert not stopping.should_stop([0.99, float("nan")])


def test_agreement_and_kappa_by_hand():
    a = ["x", "x", "y", "y", "x", "z"]
    b = ["x", "y", "y", "y", "x", "x"]
    assert stopping.agreement(a, b) == pytest.approx(4 / 6)
    pa = {"x": 3 / 6, "y": 2 / 6, "z": 1 / 6}
    pb = {"x": 3 / 6, "y": 3 / 6, "z": 0}
    expected = sum(pa[c] * pb[c] for c in pa)
    assert stopping.cohen_kappa(a, b) == pytest.approx((4 / 6 - expected) / (1 - expected))
    assert stopping.cohen_kappa(a, a) == pytest.approx(1.0)


def test_wilson_interval_formula():
    lo, hi = stopping.wilson_interval(45, 50)
    p, n, z = 0.9, 50, 1.959963984540054
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert (lo, hi) == pytest.approx((centre - half, centre + half))
    assert stopping.wilson_interval(10, 10)[1] == pytest.approx(1.0)


def test_coverage_radius_equals_brute_force():
    X, y = dami_np.datasets.load("vehicle")
    Xe = TabularPreprocessor().fit_transform(X)[:300]
    labels = y.to_numpy()[:300]
    labeled = np.zeros(300, dtype=bool)
    labeled[::7] = True
    model = dami_np.MLPClassifier(hidden_layer_sizes=(12,), max_iter=40, random_state=0).fit(Xe[labeled], labels[labeled])
    W, b = model.local_linear(Xe)
    rep = np.concatenate([W.reshape(300, -1), b], axis=1).astype(np.float64)
    d = ((rep[~labeled][:, None, :] - rep[labeled][None, :, :]) ** 2).sum(axis=2).min(axis=1)
    assert stopping.coverage_radius(model, Xe, labeled) == pytest.approx(math.sqrt(d.max()), rel=1e-4)


def test_cv_accuracy_by_hand():
    X, y = dami_np.datasets.load("wdbc")
    Xe = TabularPreprocessor().fit_transform(X)[:120]
    codes = (y.to_numpy()[:120] == "M").astype(np.int64)
    accuracy, (lo, hi), folds = stopping.cv_accuracy(Xe, codes, params={"max_iter": 50}, folds=4, random_state=3)
    assert folds == 4 and lo <= accuracy <= hi
    assert 0.8 < accuracy <= 1.0
    assert stopping.cv_accuracy(Xe[:5], np.array([0, 0, 0, 0, 1])) is None  # one row of class 1


def test_status_lines_and_rule():
    X, y = dami_np.datasets.load("wdbc")
    part = y.astype(object).copy()
    part[part.index[50:]] = None
    before = np.where(np.arange(len(y)) % 2 == 0, "B", "M")
    result = stopping.status(X, part, previous_predictions=before, history=[0.995], random_state=0)
    assert result.n_labeled == 50 and sum(result.labels_per_class.values()) == 50
    assert result.agreement is not None and result.history[0] == 0.995 and len(result.history) == 2
    assert result.stop == (result.agreement >= 0.99)
    text = "\n".join(result.lines())
    assert "labels: 50" in text and "coverage radius" in text and "stop rule" in text


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_edit_csv_cells_changes_only_the_cells(newline):
    rows = [["id", "text", "label", "x"], ["1", 'a, "quoted"', "", "1.50"], ["2", "two\nlines", "", "2"],
            ["3", "", "old", "3"], ["4", "plain", "", "4e0"]]
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator=newline).writerows(rows)
    text = buffer.getvalue()
    out = edit_csv_cells(text, sep=",", column=2, edits={0: "cat", 1: 'a "dog", big', 3: "x"})
    parsed = list(csv.reader(io.StringIO(out, newline="")))
    expected = [r[:] for r in rows]
    expected[1][2], expected[2][2], expected[4][2] = "cat", 'a "dog", big', "x"
    assert parsed == expected
    assert out.replace("cat", "", 1).replace('"a ""dog"", big"', "", 1).replace(",x,", ",,", 1) == text
    with pytest.raises(ValueError, match="not an empty cell"):
        edit_csv_cells(text, sep=",", column=2, edits={2: "cat"})
    with pytest.raises(ValueError, match="no data row 9"):
        edit_csv_cells(text, sep=",", column=2, edits={9: "cat"})


def test_same_value():
    assert same_value(1, "1.0") and same_value(2.5, 2.5) and same_value(np.nan, "") and same_value(None, np.nan)
    assert not same_value(1, 2) and not same_value("a", "b") and not same_value("", "x")
    assert same_value(" red ", "red") and same_value(True, "True")


def test_annotation_sheet_columns():
    frame = pd.DataFrame({"row": [10, 11, 12], "f": [1.0, 2.0, 3.0], "label": ["a", None, None]})
    report = pd.DataFrame({"row": [2, 1], "pick": [1, 2], "distance": [0.5, 0.25], "predicted": ["a", "b"],
                           "probability": [0.6, 0.9], "explanation": ["f +1", "f -1"]})
    sheet = annotation_sheet(frame, np.array([2, 1]), report, label="label")
    assert list(sheet.columns) == ["dami_pick", "dami_row", "row", "f", "label", "dami_predicted",
                                   "dami_probability", "dami_explanation", "dami_distance"]
    assert sheet["row"].tolist() == [12, 11]  # the table's own 'row' column is kept as is
    assert sheet["dami_row"].tolist() == [2, 1] and sheet["label"].isna().all()
    with pytest.raises(ValueError, match="'dami_row'"):
        annotation_sheet(frame.rename(columns={"f": "dami_row"}), np.array([2]), report.iloc[:1], label="label")


def test_status_line_with_many_classes():
    counts = {f"c{i:02d}": 10 + i for i in range(20)}
    line = stopping.Status(sum(counts.values()), 5, counts).lines()[0]
    assert "20 classes; fewest: c00 10, c01 11, c02 12; most: c19 29" in line


def test_cold_start_workflow(tmp_path, capsys):
    from dami_np.cli import main

    frame = pd.DataFrame({"a": np.arange(30.0), "b": np.arange(30.0) % 7, "label": [None] * 30})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code = main(["select", str(path), "--label", "label", "--budget", "4", "--sheet", str(tmp_path / "s.json"),
                 "--sheet-format", "label-studio", "--save-model", str(tmp_path / "m.npz")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "no model saved" in err and "no model yet" in err and "add a <Choice" in err
    assert not (tmp_path / "m.npz").exists()
    tasks = __import__("json").loads((tmp_path / "s.json").read_text())
    assert len(tasks) == 4 and all(t["predictions"] == [] for t in tasks)
