"""Labeling across rounds: select --sheet/--save-model/--model, merge, status (issue 16).

One subprocess test runs three full rounds on a bundled table; the rest call ``main()``
in-process.  Every refusal is one line, exit 2, and leaves every file as it was.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dami_np
import dami_np._model_io  # noqa: F401 - the tests read saved files through it
from dami_np.cli import main
from _cli_checks import assert_one_error_line  # noqa: E402

DAMI = shutil.which("dami", path=str(Path(sys.executable).parent)) or shutil.which("dami")
STRATEGY = ["--strategy", "margin"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def make_table(n: int = 90, labeled: int = 30, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    truth = np.where(a + 0.5 * b > 0, "yes", "no").astype(object)
    label = truth.copy()
    label[labeled:] = None
    frame = pd.DataFrame({"key": [f"k{i:03d}" for i in range(n)], "a": a.round(4), "b": b.round(4),
                          "color": color, "label": label})
    return frame, truth


def snapshot(directory: Path) -> dict[str, tuple[bytes, int, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns, stat.S_IMODE(p.stat().st_mode))
            for p in sorted(directory.iterdir())}


def csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def fill(sheet: Path, truth: np.ndarray, label: str = "label") -> pd.DataFrame:
    frame = pd.read_csv(sheet, keep_default_na=False, na_values=[""])
    frame[label] = truth[frame["dami_row"].to_numpy()]
    frame.to_csv(sheet, index=False)
    return frame


# ---------------------------------------------------------------------- three rounds, real processes
def test_three_rounds_in_subprocesses(tmp_path):
    X, y = dami_np.datasets.load("wdbc")
    truth = y.astype(str).to_numpy(dtype=object)
    table = X.copy()
    table.insert(0, "key", [f"p{i}" for i in range(len(X))])
    label = truth.copy()
    label[40:] = None
    table["diagnosis"] = label
    path = tmp_path / "wdbc.csv"
    table.to_csv(path, index=False)
    original = csv_rows(path)
    env = {k: v for k, v in os.environ.items() if k != "DAMI_DEBUG"}
    picked: list[int] = []
    inodes = []
    for round_ in (1, 2, 3):
        sheet, model = tmp_path / f"sheet{round_}.csv", tmp_path / f"m{round_}.npz"
        argv = [DAMI, "select", str(path), "--label", "diagnosis", "--id", "key", "--budget", "6", *STRATEGY,
                "--seed", "3", "--sheet", str(sheet), "--save-model", str(model), "--out", str(tmp_path / "p.csv")]
        if round_ > 1:
            argv += ["--model", str(tmp_path / f"m{round_ - 1}.npz")]
        result = subprocess.run(["sh", "-c", 'umask 027 && exec "$@"', "sh", *argv], capture_output=True, text=True,
                                env=env, timeout=600)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert ("warm-started from" in result.stderr) == (round_ > 1), result.stderr
        assert "status: labels:" in result.stderr and "stop rule" in result.stderr
        if round_ > 1:
            assert "agreement with the previous round's model" in result.stderr
        for written in (sheet, model, tmp_path / "p.csv"):
            assert stat.S_IMODE(written.stat().st_mode) == 0o640, written  # umask respected
        with np.load(model, allow_pickle=False) as npz:  # no pickle anywhere
            assert all(npz[k].dtype.kind in "biufU" for k in npz.files)
            meta = json.loads(str(npz["meta"]))
            assert len(meta["info"]["history"]) == round_ - 1
        report = pd.read_csv(tmp_path / "p.csv")
        sheet_frame = fill(sheet, truth, "diagnosis")
        assert list(sheet_frame["dami_row"]) == list(report["row"])
        assert list(sheet_frame["key"]) == [f"p{r}" for r in report["row"]]
        picked.extend(int(r) for r in report["row"])
        before_mode = stat.S_IMODE(path.stat().st_mode)
        inode = path.stat().st_ino
        merged = subprocess.run([DAMI, "merge", str(sheet), "--into", str(path), "--label", "diagnosis"],
                                capture_output=True, text=True, env=env, timeout=600)
        assert merged.returncode == 0, merged.stderr
        assert "merged 6 label(s)" in merged.stderr
        assert path.stat().st_ino != inode  # replaced by a rename, not rewritten in place
        assert stat.S_IMODE(path.stat().st_mode) == before_mode
        inodes.append(path.stat().st_ino)
    assert len(set(picked)) == 18 and min(picked) >= 40
    final = csv_rows(path)
    assert len(final) == len(original)
    column = original[0].index("diagnosis")
    for number, (old, new) in enumerate(zip(original, final)):
        if number >= 1 and number - 1 in picked:
            assert new[column] == truth[number - 1] and old[column] == ""
            assert new[:column] + new[column + 1:] == old[:column] + old[column + 1:]
        else:
            assert new == old
    assert path.read_bytes().count(b"\n") == len(original)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    loaded = dami_np.MLPClassifier.load(tmp_path / "m3.npz")
    assert list(loaded.classes_) == ["B", "M"]


# ---------------------------------------------------------------------- select: the same picks
def test_workflow_options_do_not_change_the_picks(tmp_path, capsys):
    frame, _ = make_table()
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    for strategy in ("margin", "badge"):
        base = ["select", str(path), "--label", "label", "--budget", "5", "--strategy", strategy, "--seed", "2"]
        code, plain, err = run(capsys, *base)
        assert code == 0, err
        code, with_sheet, err = run(capsys, *base, "--sheet", str(tmp_path / "s.csv"),
                                    "--save-model", str(tmp_path / "m.npz"))
        assert code == 0, err
        assert plain == with_sheet
        code, refit, err = run(capsys, *base, "--model", str(tmp_path / "m.npz"), "--refit")
        assert code == 0, err
        assert refit == plain  # --refit: a cold fit, the same picks as without --model
        assert "warm-started" not in err


def test_saved_model_equals_the_round_model(tmp_path, capsys):
    frame, _ = make_table()
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, out, err = run(capsys, "select", str(path), "--label", "label", "--budget", "4", *STRATEGY, "--seed", "5",
                         "--save-model", str(tmp_path / "m.npz"))
    assert code == 0, err
    report = pd.read_csv(io.StringIO(out))
    saved = dami_np._model_io.load_model(tmp_path / "m.npz")
    X = frame.drop(columns=["label"])
    proba = saved.model.predict_proba(saved.preprocessor.transform(X))
    best = proba.argmax(axis=1)
    rows = report["row"].to_numpy()
    assert list(saved.model.classes_[best[rows]]) == list(report["predicted"])
    assert np.allclose(proba[rows, best[rows]], report["probability"], rtol=0, atol=1e-6)


def test_warm_start_is_deterministic_and_differs_from_a_cold_fit(tmp_path, capsys):
    frame, truth = make_table(n=100, labeled=30)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    base = ["select", str(path), "--label", "label", "--budget", "5", *STRATEGY]
    code, _, err = run(capsys, *base, "--save-model", str(tmp_path / "m1.npz"), "--sheet", str(tmp_path / "s.csv"))
    assert code == 0, err
    fill(tmp_path / "s.csv", truth)
    code, _, err = run(capsys, "merge", str(tmp_path / "s.csv"), "--into", str(path), "--label", "label")
    assert code == 0, err
    outs = []
    for name in ("a", "b"):
        code, out, err = run(capsys, *base, "--model", str(tmp_path / "m1.npz"), "--save-model",
                             str(tmp_path / f"m2{name}.npz"))
        assert code == 0 and "warm-started" in err, err
        outs.append(out)
    assert outs[0] == outs[1]
    a = dami_np.MLPClassifier.load(tmp_path / "m2a.npz")
    b = dami_np.MLPClassifier.load(tmp_path / "m2b.npz")
    assert np.array_equal(a.coefs_[0], b.coefs_[0])
    first = dami_np.MLPClassifier.load(tmp_path / "m1.npz")
    assert a.n_iter_ > first.n_iter_  # training continued from the saved state


def test_new_class_trains_from_scratch_with_a_note(tmp_path, capsys):
    frame, _ = make_table()
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, _, err = run(capsys, "select", str(path), "--label", "label", "--budget", "3", *STRATEGY,
                       "--save-model", str(tmp_path / "m.npz"))
    assert code == 0, err
    frame.loc[30, "label"] = "maybe"
    frame.to_csv(path, index=False)
    code, _, err = run(capsys, "select", str(path), "--label", "label", "--budget", "3", *STRATEGY,
                       "--model", str(tmp_path / "m.npz"))
    assert code == 0, err
    assert "new class(es) 'maybe'" in err and "trained from scratch" in err


def test_label_studio_sheet_and_config(tmp_path, capsys):
    import xml.etree.ElementTree as ET

    frame, _ = make_table()
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, out, err = run(capsys, "select", str(path), "--label", "label", "--budget", "4", *STRATEGY, "--id", "key",
                         "--sheet", str(tmp_path / "tasks.json"), "--sheet-format", "label-studio")
    assert code == 0, err
    report = pd.read_csv(io.StringIO(out))
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    assert [t["data"]["dami_row"] for t in tasks] == list(report["row"])
    assert [t["data"]["pick"] for t in tasks] == [1, 2, 3, 4]
    assert [t["data"]["key"] for t in tasks] == list(report["key"])
    first = tasks[0]
    assert set(first["data"]["row"]) == {"key", "a", "b", "color"}
    assert first["data"]["row"]["a"] == frame.loc[report["row"][0], "a"]
    prediction = first["predictions"][0]
    assert prediction["score"] == pytest.approx(report["probability"][0])
    assert prediction["result"][0]["value"]["choices"] == [report["predicted"][0]]
    assert prediction["result"][0]["type"] == "choices"
    config = ET.fromstring((tmp_path / "tasks.config.xml").read_text())
    assert [c.get("value") for c in config.iter("Choice")] == ["no", "yes"]
    assert config.find("Table").get("value") == "$row"
    assert config.find("Header").get("value") == "$explanation"
    choices = config.find("Choices")
    assert choices.get("toName") == config.find("Table").get("name")
    assert prediction["result"][0]["from_name"] == choices.get("name")


# ---------------------------------------------------------------------- merge
def _round(tmp_path, capsys, frame, truth, *extra):
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, _, err = run(capsys, "select", str(path), "--label", "label", "--budget", "5", *STRATEGY, *extra,
                       "--sheet", str(tmp_path / "s.csv"))
    assert code == 0, err
    return path, fill(tmp_path / "s.csv", truth)


def test_merge_adds_exactly_the_filled_labels(tmp_path, capsys):
    frame, truth = make_table()
    path, sheet = _round(tmp_path, capsys, frame, truth)
    sheet.loc[1, "label"] = None  # one left empty by the annotator
    sheet.to_csv(tmp_path / "s.csv", index=False)
    before = csv_rows(path)
    code, _, err = run(capsys, "merge", str(tmp_path / "s.csv"), "--into", str(path), "--label", "label")
    assert code == 0, err
    assert "merged 4 label(s)" in err and "1 sheet row(s) still empty" in err
    after = csv_rows(path)
    changed = [i - 1 for i, (a, b) in enumerate(zip(before, after)) if a != b]
    assert sorted(changed) == sorted(int(r) for r in sheet["dami_row"].drop(index=1))
    code, _, err = run(capsys, "merge", str(tmp_path / "s.csv"), "--into", str(path), "--label", "label")
    assert code == 0 and "no new labels" in err and "4 already labeled the same" in err, err


def test_merge_by_id_and_out(tmp_path, capsys):
    frame, truth = make_table()
    path, sheet = _round(tmp_path, capsys, frame, truth, "--id", "key")
    sheet = sheet.drop(columns=["dami_row"]).iloc[::-1]
    sheet.to_csv(tmp_path / "s.csv", index=False)
    original = path.read_bytes()
    code, _, err = run(capsys, "merge", str(tmp_path / "s.csv"), "--into", str(path), "--label", "label", "--id",
                       "key", "--out", str(tmp_path / "new.csv"), "--save-model", str(tmp_path / "m.npz"))
    assert code == 0, err
    assert path.read_bytes() == original
    saved = dami_np._model_io.load_model(tmp_path / "m.npz")
    assert list(saved.model.classes_) == ["no", "yes"] and saved.info["n_labeled"] == 35
    assert saved.columns == ["a", "b", "color"]
    new = pd.read_csv(tmp_path / "new.csv", keep_default_na=False, na_values=[""])
    keyed = dict(zip(sheet["key"], sheet["label"]))
    for key, value in zip(new["key"], new["label"]):
        if key in keyed:
            assert value == keyed[key]
    assert new["label"].notna().sum() == 30 + 5


@pytest.mark.parametrize("case", ["conflict", "other_table", "missing_id", "no_id_column", "row_outside",
                                  "duplicate_conflict"])
def test_merge_refusals_are_one_line_and_change_nothing(tmp_path, capsys, case):
    frame, truth = make_table()
    path, sheet = _round(tmp_path, capsys, frame, truth, "--id", "key")
    extra: list[str] = []
    fragment = ""
    if case == "conflict":
        frame.loc[int(sheet["dami_row"][2]), "label"] = "yes" if sheet["label"][2] == "no" else "no"
        frame.to_csv(path, index=False)
        fragment = f"data row {int(sheet['dami_row'][2])}"
    elif case == "other_table":
        other, _ = make_table(seed=1)
        other.to_csv(path, index=False)
        fragment = "another table"
    elif case == "missing_id":
        sheet.loc[0, "key"] = "nobody"
        extra = ["--id", "key"]
        fragment = "'nobody'"
    elif case == "no_id_column":
        sheet = sheet.drop(columns=["key"])
        extra = ["--id", "key"]
        fragment = "no id column 'key'"
    elif case == "row_outside":
        sheet.loc[0, "dami_row"] = 9999
        fragment = "data row 9999"
    elif case == "duplicate_conflict":
        sheet = pd.concat([sheet, sheet.iloc[[0]].assign(label="yes" if sheet["label"][0] == "no" else "no")])
        fragment = "keep one of them"
    sheet.to_csv(tmp_path / "s.csv", index=False)
    before = snapshot(tmp_path)
    code, out, err = run(capsys, "merge", str(tmp_path / "s.csv"), "--into", str(path), "--label", "label", *extra,
                         "--save-model", str(tmp_path / "m.npz"))
    assert_one_error_line(code, err, fragment)
    assert out == ""
    assert snapshot(tmp_path) == before


def test_merge_keeps_quoting_crlf_and_gzip(tmp_path, capsys):
    frame, truth = make_table(n=60, labeled=20)
    frame["note"] = ['say "hi", ok' if i % 3 == 0 else f"line\nbreak {i}" if i % 3 == 1 else "" for i in range(60)]
    path = tmp_path / "t.csv"
    text = frame.to_csv(index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    path.write_text(text, encoding="utf-8", newline="")
    code, _, err = run(capsys, "select", str(path), "--label", "label", "--budget", "4", *STRATEGY,
                       "--exclude", "note", "--sheet", str(tmp_path / "s.csv"))
    assert code == 0, err
    sheet = fill(tmp_path / "s.csv", truth)
    code, _, err = run(capsys, "merge", str(tmp_path / "s.csv"), "--into", str(path), "--label", "label")
    assert code == 0 and "could not edit" not in err, err
    new_text = path.read_bytes().decode("utf-8")
    old_rows = list(csv.reader(io.StringIO(text, newline="")))
    new_rows = list(csv.reader(io.StringIO(new_text, newline="")))
    li = old_rows[0].index("label")
    for i, (a, b) in enumerate(zip(old_rows, new_rows)):
        if i >= 1 and i - 1 in set(sheet["dami_row"]):
            assert b[li] == truth[i - 1] and b[:li] + b[li + 1:] == a[:li] + a[li + 1:]
        else:
            assert a == b
    # the bytes outside the edited cells are the same: only label text was inserted
    assert len(new_text) == len(text) + sum(len(truth[r]) for r in sheet["dami_row"])
    gz = tmp_path / "g.csv.gz"
    import gzip

    gz.write_bytes(gzip.compress(frame.to_csv(index=False).encode()))
    code, _, err = run(capsys, "merge", str(tmp_path / "s.csv"), "--into", str(gz), "--label", "label")
    assert code == 0, err
    merged = pd.read_csv(gz, keep_default_na=False, na_values=[""])
    assert merged["label"].notna().sum() == 20 + 4


def test_merge_label_studio_export(tmp_path, capsys):
    frame, truth = make_table()
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, _, err = run(capsys, "select", str(path), "--label", "label", "--budget", "3", *STRATEGY,
                       "--sheet", str(tmp_path / "tasks.json"), "--sheet-format", "label-studio")
    assert code == 0, err
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    code, _, err = run(capsys, "merge", str(tmp_path / "tasks.json"), "--into", str(path), "--label", "label")
    assert_one_error_line(code, err, "task list")
    records = []
    for i, task in enumerate(tasks):
        row = task["data"]["dami_row"]
        record = dict(task["data"], id=10 + i, annotator=1, annotation_id=i, created_at="2026-01-01", lead_time=1.0)
        if i < 2:
            record["dami_label"] = truth[row]
        records.append(record)
    (tmp_path / "min.json").write_text(json.dumps(records))
    code, _, err = run(capsys, "merge", str(tmp_path / "min.json"), "--into", str(path), "--label", "label")
    assert code == 0, err
    assert "merged 2 label(s)" in err and "1 sheet row(s) still empty" in err
    merged = pd.read_csv(path, keep_default_na=False, na_values=[""])
    for task in tasks[:2]:
        assert merged["label"][task["data"]["dami_row"]] == truth[task["data"]["dami_row"]]


# ---------------------------------------------------------------------- refusals before any work
def test_select_workflow_refusals(tmp_path, capsys):
    frame, _ = make_table()
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    base = ["select", str(path), "--label", "label", "--budget", "3", *STRATEGY]
    code, _, err = run(capsys, *base, "--refit")
    assert_one_error_line(code, err, "--refit needs --model")
    code, _, err = run(capsys, *base, "--sheet", str(tmp_path / "s.csv"), "--sheet-format", "label-studio")
    assert_one_error_line(code, err, ".json")
    code, _, err = run(capsys, *base, "--save-model", str(tmp_path / "m.pkl"))
    assert_one_error_line(code, err, ".npz")
    code, _, err = run(capsys, *base, "--sheet", str(tmp_path / "no" / "s.csv"))
    assert_one_error_line(code, err, "does not exist")
    code, _, err = run(capsys, *base, "--sheet", str(tmp_path / "s.xlsx"))
    assert_one_error_line(code, err, "unknown output format")
    code, _, err = run(capsys, *base, "--sheet", str(path))
    assert_one_error_line(code, err, "input table")
    code, _, err = run(capsys, *base, "--model", str(tmp_path / "none.npz"))
    assert_one_error_line(code, err, "no such file")
    clash = frame.assign(dami_row=1)
    clash.to_csv(tmp_path / "c.csv", index=False)
    code, _, err = run(capsys, "select", str(tmp_path / "c.csv"), "--label", "label", "--budget", "3", *STRATEGY,
                       "--exclude", "dami_row", "--sheet", str(tmp_path / "s.csv"))
    assert_one_error_line(code, err, "'dami_row'")
    assert not (tmp_path / "s.csv").exists()


def test_model_columns_missing_and_newer_version(tmp_path, capsys):
    frame, _ = make_table()
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, _, err = run(capsys, "select", str(path), "--label", "label", "--budget", "3", *STRATEGY,
                       "--save-model", str(tmp_path / "m.npz"))
    assert code == 0, err
    code, _, err = run(capsys, "select", str(path), "--label", "label", "--budget", "3", *STRATEGY,
                       "--exclude", "color", "--model", str(tmp_path / "m.npz"))
    assert_one_error_line(code, err, "'color'")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["format_version"] = np.array(7)
    with open(tmp_path / "m7.npz", "wb") as handle:
        np.savez(handle, **arrays)
    for command in (["select", str(path), "--label", "label", "--budget", "3", *STRATEGY],
                    ["status", str(path), "--label", "label"]):
        code, _, err = run(capsys, *command, "--model", str(tmp_path / "m7.npz"))
        assert_one_error_line(code, err, "version 7 is newer")


# ---------------------------------------------------------------------- status
def test_status_command(tmp_path, capsys):
    import re

    from dami_np.strategies._context import model_seed

    frame, truth = make_table(n=100, labeled=40)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, out, err = run(capsys, "status", str(path), "--label", "label", "--id", "key")
    assert code == 0, err
    counts = pd.Series(truth[:40]).value_counts()
    assert f"labels: 40 (no {counts['no']}, yes {counts['yes']}); unlabeled rows: 60" in out
    assert "accuracy estimate (5-fold" in out and "coverage radius" in out
    assert "needs the agreement of 2 rounds" in out
    code, _, err = run(capsys, "select", str(path), "--label", "label", "--budget", "5", *STRATEGY, "--id", "key",
                       "--save-model", str(tmp_path / "m.npz"), "-q")
    assert code == 0 and err == "", err
    code, out, err = run(capsys, "status", str(path), "--label", "label", "--id", "key", "--model",
                         str(tmp_path / "m.npz"))
    assert code == 0, err
    found = re.search(r"agreement with the previous round's model on the unlabeled rows: ([0-9.]+)", out)
    assert found, out
    # independently: the saved model's predictions vs a warm start from it on the same labels
    saved = dami_np._model_io.load_model(tmp_path / "m.npz")
    X = frame[["a", "b", "color"]]
    matrix = saved.preprocessor.transform(X)
    before = saved.model.predict(matrix)
    labeled = frame["label"].notna().to_numpy()
    codes = (frame["label"][labeled] == "yes").to_numpy().astype(np.int64)
    warm = dami_np.MLPClassifier.load(tmp_path / "m.npz")
    warm.classes_ = np.arange(2)
    warm.set_params(warm_start=True, random_state=model_seed(0))
    warm.fit(matrix[labeled], codes)
    after = np.array(["no", "yes"], dtype=object)[warm.predict(matrix)]
    expected = float(np.mean(after[~labeled] == before[~labeled]))
    assert float(found.group(1)) == pytest.approx(expected, abs=5e-5)
    assert f"so far: {expected:.4f}" in out


def test_merge_bad_input_is_one_line(tmp_path, capsys):
    frame, truth = make_table()
    path, sheet = _round(tmp_path, capsys, frame, truth)
    before = snapshot(tmp_path)
    base = ["--into", str(path), "--label", "label"]
    code, _, err = run(capsys, "merge", str(tmp_path / "none.csv"), *base)
    assert_one_error_line(code, err, "no such file")
    code, _, err = run(capsys, "merge", str(tmp_path / "s.csv"), "--into", str(tmp_path / "none.csv"), "--label",
                       "label")
    assert_one_error_line(code, err, "no such file")
    code, _, err = run(capsys, "merge", str(tmp_path / "s.csv"), "--into", str(path), "--label", "lable")
    assert_one_error_line(code, err, "label column 'lable' not found", "did you mean 'label'")
    code, _, err = run(capsys, "merge", str(tmp_path / "s.csv"), *base, "--out", str(tmp_path / "no" / "x.csv"))
    assert_one_error_line(code, err, "does not exist")
    code, _, err = run(capsys, "merge", str(tmp_path / "s.csv"), *base, "--out", str(tmp_path / "s.csv"))
    assert_one_error_line(code, err, "input")
    assert snapshot(tmp_path) == before
    for change, fragment in ((lambda s: s.assign(dami_row="abc"), "not a data row number"),
                             (lambda s: s.drop(columns=["label"]), "no label column 'label'"),
                             (lambda s: s.drop(columns=["dami_row"]), "pass --id COLUMN")):
        change(sheet).to_csv(tmp_path / "bad.csv", index=False)
        before = snapshot(tmp_path)
        code, _, err = run(capsys, "merge", str(tmp_path / "bad.csv"), *base)
        assert_one_error_line(code, err, fragment)
        assert snapshot(tmp_path) == before
