"""Labels are never lost or corrupted (issue 24): locked and checked merges, every format written
back as read, numeric classes, sheets saved by spreadsheets, spreadsheet-safe outputs, safe targets."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dami_np.cli._table_writer as table_writer
from test_workflow import DAMI, assert_one_error_line, run


def dami(capsys, *argv):
    """``dami ARGV`` in-process (paths given as Path objects): (exit code, stdout, stderr)."""
    return run(capsys, *[str(a) for a in argv])


def table(n: int = 12) -> pd.DataFrame:
    return pd.DataFrame({"key": [f"k{i}" for i in range(n)], "x": [i * 0.5 for i in range(n)],
                         "label": ["a", "b"] + [None] * (n - 2)})


def sheet(frame: pd.DataFrame, rows: list[int], labels: list[object]) -> pd.DataFrame:
    """A sheet as ``select --sheet`` writes it, with the label column filled in."""
    body = frame.iloc[rows].reset_index(drop=True).copy()
    body["label"] = labels
    body.insert(0, "dami_row", rows)
    body.insert(0, "dami_pick", range(1, len(rows) + 1))
    return body


# ---------------------------------------------------------------------- 1. lock and fingerprint
_SLOW_WRITES = """
import time
import dami_np.cli._table_writer as w
_original = w.write_files
def _slow(*args, **kwargs):
    time.sleep(1.5)
    return _original(*args, **kwargs)
w.write_files = _slow
"""


def test_two_concurrent_merges_keep_both_rows_labels(tmp_path):
    """Two merges of different rows into one table at once: both rows end labeled (or one is refused)."""
    frame = table()
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    sheet(frame, [3], ["a"]).to_csv(tmp_path / "s1.csv", index=False)
    sheet(frame, [4], ["b"]).to_csv(tmp_path / "s2.csv", index=False)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(_SLOW_WRITES)  # both read the table before either writes
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(hooks), os.environ.get("PYTHONPATH")])))
    procs = [subprocess.Popen([DAMI, "merge", str(tmp_path / name), "--into", str(path), "--label", "label"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in ("s1.csv", "s2.csv")]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    merged = pd.read_csv(path, keep_default_na=False, na_values=[""])
    codes = [code for code, _ in results]
    assert all(code in (0, 2) for code in codes), results
    assert merged["label"][3] == "a" or codes[0] == 2, results
    assert merged["label"][4] == "b" or codes[1] == 2, results
    assert codes != [2, 2], results
    assert not list(tmp_path.glob(".t.csv*")), list(tmp_path.iterdir())  # no lock or temporary file left


def test_table_changed_between_read_and_rename_is_refused(tmp_path, capsys, monkeypatch):
    frame = table()
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    sheet(frame, [3], ["a"]).to_csv(tmp_path / "s.csv", index=False)
    original = table_writer.write_files
    saved_by_spreadsheet = path.read_bytes().replace(b"k5,2.5,", b"k5,2.5,b")

    def meanwhile(*args, **kwargs):
        path.write_bytes(saved_by_spreadsheet)  # another program saves the table while the merge runs
        return original(*args, **kwargs)

    monkeypatch.setattr(table_writer, "write_files", meanwhile)
    code, _, err = dami(capsys, "merge", tmp_path / "s.csv", "--into", path, "--label", "label")
    assert_one_error_line(code, err, "changed by another program", "nothing was written")
    assert path.read_bytes() == saved_by_spreadsheet
    assert not list(tmp_path.glob(".t.csv.*"))


# ---------------------------------------------------------------------- 8. stale temporaries
def test_stale_temporaries_of_a_killed_write_are_removed_live_ones_kept(tmp_path, capsys):
    frame = table()
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    sheet(frame, [3], ["a"]).to_csv(tmp_path / "s.csv", index=False)
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from dami_np.cli._table_writer import write_files
        def slow(tmp):
            tmp.write_bytes(b"half")
            print("written", flush=True)
            time.sleep(60)
        write_files([(Path({str(path)!r}), slow)])
    """)
    writers = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        for writer in writers:
            assert writer.stdout.readline().strip() == "written"
        writers[0].send_signal(signal.SIGKILL)
        writers[0].wait(timeout=30)
        temps = sorted(tmp_path.glob(".t.csv.*.tmp.csv"))
        assert len(temps) == 2
        old = time.time() - 60
        for temp in temps:
            os.utime(temp, (old, old))
        code, _, err = dami(capsys, "merge", tmp_path / "s.csv", "--into", path, "--label", "label")
        assert code == 0, err
        left = sorted(tmp_path.glob(".t.csv.*.tmp.csv"))
        assert len(left) == 1  # the live writer's temporary is kept, the killed one's removed
    finally:
        for writer in writers:
            writer.kill()
            writer.wait(timeout=30)
    assert pd.read_csv(path, keep_default_na=False, na_values=[""])["label"][3] == "a"


# ---------------------------------------------------------------------- 3. every format written back as read
def _merge_ok(capsys, sheet_path, into, *extra):
    code, _, err = dami(capsys, "merge", sheet_path, "--into", into, "--label", "label", *extra)
    assert code == 0, err
    assert "could not edit" not in err, err
    return err


def test_parquet_keeps_named_index_empty_rows_and_float_labels(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"x": [0.5, np.nan, 1.5, 2.5, 3.5], "y": [1.0, np.nan, 2.0, 3.0, 4.0],
                          "label": [1.0, np.nan, 0.0, np.nan, np.nan]},
                         index=pd.Index([10, 11, 12, 13, 14], name="patient"))
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    filled = pd.DataFrame({"dami_pick": [1], "dami_row": [3], "x": [2.5], "y": [3.0], "label": ["1"]})
    filled.to_csv(tmp_path / "s.csv", index=False)
    _merge_ok(capsys, tmp_path / "s.csv", path)
    back = pd.read_parquet(path)
    assert back.index.name == "patient" and list(back.index) == [10, 11, 12, 13, 14]
    assert len(back) == 5  # the all-empty row stays
    assert back["label"].dtype == np.float64
    expected = frame.copy()
    expected.loc[13, "label"] = 1.0
    pd.testing.assert_frame_equal(back, expected)


@pytest.mark.parametrize("name", ["t.json", "t.jsonl"])
def test_json_numbers_stay_exact(tmp_path, capsys, name):
    values = [0.1 + 0.2, 1.2345678901234567, 1e-300, 123456789.12345679, 2.5]
    records = [{"x": v, "label": None} for v in values]
    records[0]["label"] = "a"
    path = tmp_path / name
    if name.endswith(".jsonl"):
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    else:
        path.write_text(json.dumps(records))
    pd.DataFrame({"dami_pick": [1], "dami_row": [2], "x": [1e-300], "label": ["b"]}).to_json(
        tmp_path / "s.json", orient="records")
    _merge_ok(capsys, tmp_path / "s.json", path)
    text = path.read_text()
    back = [json.loads(line) for line in text.splitlines()] if name.endswith(".jsonl") else json.loads(text)
    assert [r["x"] for r in back] == values
    assert [r["label"] for r in back] == ["a", None, "b", None, None]


def _excel_csv() -> bytes:
    text = ("sep=;\r\nkey;x;label\r\nk0;0,5;a\r\nk1;1,25;b\r\nk2;2,75;\r\nk3;3,5;\r\nk4;4,125;\r\n")
    return b"\xef\xbb\xbf" + text.encode("utf-8")


def test_excel_csv_keeps_sep_line_decimal_commas_bom_and_crlf(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_bytes(_excel_csv())
    (tmp_path / "s.csv").write_text("dami_pick,dami_row,key,x,label\n1,3,k3,3.5,b\n")
    _merge_ok(capsys, tmp_path / "s.csv", path)
    assert path.read_bytes() == _excel_csv().replace(b"k3;3,5;\r\n", b"k3;3,5;b\r\n")


def test_utf16_table_stays_utf16(tmp_path, capsys):
    path = tmp_path / "t.csv"
    text = "key\tx\tlabel\r\nk0\t0.5\tä\r\nk1\t1.5\tb\r\nk2\t2.5\t\r\n"
    path.write_bytes(text.encode("utf-16"))
    (tmp_path / "s.csv").write_text("dami_pick,dami_row,key,x,label\n1,2,k2,2.5,ä\n", encoding="utf-8")
    _merge_ok(capsys, tmp_path / "s.csv", path)
    assert path.read_bytes() == text.replace("k2\t2.5\t\r\n", "k2\t2.5\tä\r\n").encode("utf-16")


@pytest.mark.parametrize("into, out, opener", [
    ("t.csv.gz", "x.csv", open),
    ("t.csv", "x.csv.bz2", bz2.open),
    ("t.csv.bz2", "x.csv.gz", gzip.open),
])
def test_output_name_decides_compression(tmp_path, capsys, into, out, opener):
    frame = table()
    frame.to_csv(tmp_path / into, index=False)
    sheet(frame, [3], ["a"]).to_csv(tmp_path / "s.csv", index=False)
    _merge_ok(capsys, tmp_path / "s.csv", tmp_path / into, "--out", tmp_path / out)
    with opener(tmp_path / out, "rt") as handle:
        merged = pd.read_csv(handle, keep_default_na=False, na_values=[""])
    assert merged["label"].fillna("").tolist()[:5] == ["a", "b", "", "a", ""]


def test_bz2_table_is_merged_in_place(tmp_path, capsys):
    frame = table()
    frame.to_csv(tmp_path / "t.csv.bz2", index=False)
    sheet(frame, [3], ["a"]).to_csv(tmp_path / "s.csv", index=False)
    _merge_ok(capsys, tmp_path / "s.csv", tmp_path / "t.csv.bz2")
    assert (tmp_path / "t.csv.bz2").read_bytes().startswith(b"BZh")
    assert pd.read_csv(tmp_path / "t.csv.bz2", keep_default_na=False, na_values=[""])["label"][3] == "a"


# ---------------------------------------------------------------------- 4. numeric classes, look-alikes
@pytest.mark.parametrize("classes, typed, stored", [(["1", "0"], "1.0", "1"), (["1.0", "0.0"], "1", "1.0")])
def test_numerically_equal_label_is_that_class(tmp_path, capsys, classes, typed, stored):
    path = tmp_path / "t.csv"
    path.write_text(f"x,label\n1,{classes[0]}\n2,{classes[1]}\n3,\n4,\n")
    (tmp_path / "s.csv").write_text(f"dami_pick,dami_row,x,label\n1,2,3,{typed}\n")
    code, _, err = dami(capsys, "merge", tmp_path / "s.csv", "--into", path, "--label", "label")
    assert code == 0, err
    assert "a typo?" not in err and "same number" in err
    assert path.read_text().splitlines()[3] == f"3,{stored}"


@pytest.mark.parametrize("typed", ["ｃａｔ", "ca\u200bt"])
def test_look_alike_class_is_named(tmp_path, capsys, typed):
    path = tmp_path / "t.csv"
    path.write_text("x,label\n1,cat\n2,dog\n3,\n")
    (tmp_path / "s.csv").write_text(f"dami_pick,dami_row,x,label\n1,2,3,{typed}\n", encoding="utf-8")
    code, _, err = dami(capsys, "merge", tmp_path / "s.csv", "--into", path, "--label", "label")
    assert code == 0, err
    assert "only by case, spaces, Unicode form or invisible characters" in err and "'cat'" in err


# ---------------------------------------------------------------------- 9. formula injection
def test_csv_outputs_defuse_formulas_and_merge_strips_the_prefix(tmp_path, capsys):
    frame = pd.DataFrame({"=name": ["=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0", "@SUM(A1)", "-1.5", "ok",
                                    "\tx", "-"],
                          "n": [-1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]})
    text = table_writer.render(frame, "csv").decode()
    lines = text.splitlines()
    assert lines[0] == "'=name,n"
    assert lines[1].startswith("\"'=HYPERLINK(") and lines[2].startswith("'+cmd") and lines[3] == "'@SUM(A1),3.0"
    assert lines[4] == "-1.5,4.0" and lines[1].endswith(",-1.5")  # numbers stay
    assert "'-," in text
    assert "'=" not in table_writer.render(frame, "json").decode() and "\"'" not in table_writer.render(frame, "json").decode()
    # a sheet with defused cells merges back into the table that holds the formulas
    path = tmp_path / "t.csv"
    pd.DataFrame({"note": ["=1+1", "@x", "plain"], "label": ["=bad", None, None]}).to_csv(path, index=False)
    (tmp_path / "s.csv").write_text("dami_pick,dami_row,note,label\n1,1,'@x,'=bad\n")
    code, _, err = dami(capsys, "merge", tmp_path / "s.csv", "--into", path, "--label", "label")
    assert code == 0, err
    assert pd.read_csv(path)["label"].tolist()[:2] == ["=bad", "=bad"]


# ---------------------------------------------------------------------- 10. sheets saved by a spreadsheet
def test_sheet_saved_by_a_spreadsheet_is_accepted(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("id,x,label\n00110,3.14159265358979,a\n1099,2.718281828459045,\n00007,1.0,\n")
    (tmp_path / "s.csv").write_text("dami_pick,dami_row,id,x,label\n1,1,1099.0,2.718281828,b\n2,2,7,1,a\n")
    code, _, err = dami(capsys, "merge", tmp_path / "s.csv", "--into", path, "--label", "label", "--id", "id")
    assert code == 0, err
    assert path.read_text() == "id,x,label\n00110,3.14159265358979,a\n1099,2.718281828459045,b\n00007,1.0,a\n"


def test_booleans_saved_as_true_false_by_a_spreadsheet_match(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("flag,x,label\ntrue,1,a\nfalse,2,\nmaybe,3,\n")
    (tmp_path / "s.csv").write_text("dami_pick,dami_row,flag,x,label\n1,1,FALSE,2,b\n")
    _merge_ok(capsys, tmp_path / "s.csv", path)
    assert path.read_text() == "flag,x,label\ntrue,1,a\nfalse,2,b\nmaybe,3,\n"


def test_ids_that_still_differ_name_the_way_out(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("id,x,label\nA-0110,3,a\nA-1099,2,\n")
    (tmp_path / "s.csv").write_text("dami_pick,dami_row,id,x,label\n1,1,A-109,2,b\n")
    code, _, err = dami(capsys, "merge", tmp_path / "s.csv", "--into", path, "--label", "label", "--id", "id")
    assert_one_error_line(code, err, "'A-109'", "leading zeros", "match by dami_row")


# ---------------------------------------------------------------------- 11. --sep/--decimal/--encoding are TABLE's
def test_sep_decimal_encoding_apply_to_the_table_only(tmp_path, capsys):
    path = tmp_path / "t.csv"
    raw = "key;x;label\nk0;0,5;é\nk1;1,5;\n".encode("latin-1")
    path.write_bytes(raw)
    (tmp_path / "s.csv").write_text("dami_pick,dami_row,key,x,label\n1,1,k1,1.5,é\n", encoding="utf-8")
    code, _, err = dami(capsys, "merge", tmp_path / "s.csv", "--into", path, "--label", "label", "--sep", ";",
                       "--decimal", ",", "--encoding", "latin-1")
    assert code == 0, err
    assert path.read_bytes() == raw.replace(b"k1;1,5;\n", "k1;1,5;é\n".encode("latin-1"))


# ---------------------------------------------------------------------- 12. protected symlinks
def _planted_link(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A symlink owned by another user in a world-writable sticky directory, and the file it points to."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    victim = tmp_path / "victim.csv"
    victim.write_text("precious\n")
    link = shared / name
    link.symlink_to(victim)
    os.lchown(link, 65534, 65534)
    return link, victim


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to own a link as another user")
def test_symlink_of_someone_else_in_a_sticky_directory_is_refused(tmp_path, capsys):
    frame = table()
    frame.to_csv(tmp_path / "t.csv", index=False)
    sheet(frame, [3], ["a"]).to_csv(tmp_path / "s.csv", index=False)
    link, victim = _planted_link(tmp_path, "out.csv")
    code, _, err = dami(capsys, "merge", tmp_path / "s.csv", "--into", tmp_path / "t.csv", "--label", "label",
                       "--out", link)
    assert_one_error_line(code, err, "symlink owned by someone else")
    assert victim.read_text() == "precious\n"


# ---------------------------------------------------------------------- 7. one group of outputs
def test_writer_error_is_one_line_naming_the_file_and_leaves_the_group_untouched(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.parquet"
    first.write_text("old\n")

    def unwritable(tmp):
        raise TypeError("('Expected bytes, got a \\'int\\' object', 'Conversion failed for column c')")

    with pytest.raises(table_writer.CliError, match="cannot write .*b.parquet: .*Expected bytes"):
        table_writer.write_files([(first, lambda tmp: tmp.write_text("new\n")), (second, unwritable)])
    assert first.read_text() == "old\n" and not second.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


# ---------------------------------------------------------------------- the API the labeling page uses
@pytest.mark.parametrize("name", ["t.csv", "t.json", "t.parquet"])
def test_merge_into_table_writes_and_clears_one_cell(tmp_path, name):
    from dami_np._merge import SheetEntries
    from dami_np.cli._merge_command import merge_into_table

    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    frame = table(5)
    path = tmp_path / name
    {"t.csv": lambda: frame.to_csv(path, index=False), "t.json": lambda: frame.to_json(path, orient="records"),
     "t.parquet": lambda: frame.to_parquet(path, index=False)}[name]()
    before = path.read_bytes()

    def answer(label):
        return lambda table: SheetEntries("row", [3], [label], [{}], ["the page"], source="the page")

    outcome = merge_into_table(str(path), answer("b"), label="label")
    assert outcome.written and outcome.result.added.tolist() == [3]
    merge_into_table(str(path), answer(None), label="label", clear_rows=[3])
    if name == "t.parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(path), frame)
    else:
        assert path.read_bytes() == before or json.loads(path.read_text()) == json.loads(before)
    assert not list(tmp_path.glob(".t.*"))


def _mixed_json_table(path: Path) -> None:
    records = [{"x": i * 0.5, "mixed": i if i % 2 else f"a{i}", "label": ("a" if i % 3 == 0 else "b") if i < 6 else None}
               for i in range(30)]
    path.write_text(json.dumps(records))


def test_select_outputs_are_one_group(tmp_path, capsys):
    """A sheet Parquet cannot hold: one line naming it, and --out (written first before) untouched."""
    pytest.importorskip("pyarrow")
    _mixed_json_table(tmp_path / "t.json")
    (tmp_path / "picks.csv").write_text("old\n")
    code, _, err = dami(capsys, "select", tmp_path / "t.json", "--label", "label", "--budget", "3", "--out",
                       tmp_path / "picks.csv", "--sheet", tmp_path / "s.parquet", "--save-model", tmp_path / "m.npz",
                       "--no-status")
    errors = [line for line in err.splitlines() if not line.startswith("dami: warning: ")]
    assert code == 2 and len(errors) == 1 and "s.parquet" in errors[0] and "Traceback" not in err, err
    assert (tmp_path / "picks.csv").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["picks.csv", "t.json"]


@pytest.mark.parametrize("flag", ["--out", "--sheet"])
def test_output_equal_to_the_model_input_is_refused(tmp_path, capsys, flag):
    frame = table(30)
    frame["label"] = (["a", "b"] * 3) + [None] * 24
    frame.to_csv(tmp_path / "t.csv", index=False)
    code, _, err = dami(capsys, "select", tmp_path / "t.csv", "--label", "label", "--budget", "2", "--save-model",
                       tmp_path / "m.npz", "--no-status", "--out", tmp_path / "picks.csv")
    assert code == 0, err
    model = (tmp_path / "m.npz").read_bytes()
    (tmp_path / "m.csv").symlink_to(tmp_path / "m.npz")
    code, _, err = dami(capsys, "select", tmp_path / "t.csv", "--label", "label", "--budget", "2", "--model",
                       tmp_path / "m.npz", "--no-status", flag, tmp_path / "m.csv")
    assert_one_error_line(code, err, "refusing to overwrite")
    assert (tmp_path / "m.npz").read_bytes() == model


@pytest.mark.parametrize("twin", ["ｃａｔ", "ca\u200bt"])
def test_select_warns_about_look_alike_classes(tmp_path, capsys, twin):
    frame = table(30)
    frame["label"] = ["cat", "dog", twin, "cat", "dog"] + [None] * 25
    frame.to_csv(tmp_path / "t.csv", index=False, encoding="utf-8")
    code, _, err = dami(capsys, "select", tmp_path / "t.csv", "--label", "label", "--budget", "2", "--exclude", "key",
                       "--no-status", "--out", tmp_path / "p.csv")
    assert code == 0, err
    assert "differ only by case, Unicode form or invisible characters" in err and repr(twin) in err


def test_tsv_and_categorical_parquet_tables_are_edited_quietly(tmp_path, capsys):
    (tmp_path / "t.tsv").write_text("key\tx\tlabel\nk0\t0.5\ta\nk1\t1.5\t\n")
    (tmp_path / "s.csv").write_text("dami_pick,dami_row,key,x,label\n1,1,k1,1.5,a\n")
    err = _merge_ok(capsys, tmp_path / "s.csv", tmp_path / "t.tsv")
    assert ".tmp" not in err  # reading the result back says nothing
    assert (tmp_path / "t.tsv").read_text() == "key\tx\tlabel\nk0\t0.5\ta\nk1\t1.5\ta\n"
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"key": ["k0", "k1"], "x": [0.5, 1.5], "label": pd.Categorical(["a", None])})
    frame.to_parquet(tmp_path / "t.parquet")
    _merge_ok(capsys, tmp_path / "s.csv", tmp_path / "t.parquet")
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert isinstance(back["label"].dtype, pd.CategoricalDtype) and back["label"].tolist() == ["a", "a"]


@pytest.mark.parametrize("name", ["t.dat", "misnamed.csv"])
def test_in_place_merge_keeps_the_content_format_whatever_the_name(tmp_path, capsys, name):
    frame = table(5)
    path = tmp_path / name
    if name == "misnamed.csv":
        pytest.importorskip("pyarrow")
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    sheet(frame, [3], ["a"]).to_csv(tmp_path / "s.csv", index=False)
    _merge_ok(capsys, tmp_path / "s.csv", path)
    assert path.read_bytes().startswith(b"PAR1") == (name == "misnamed.csv")
    back = pd.read_parquet(path) if name == "misnamed.csv" else pd.read_csv(path)
    assert back["label"].fillna("").tolist() == ["a", "b", "", "a", ""]


def test_sheet_and_model_targets_follow_the_protected_symlink_rule(tmp_path, capsys):
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("needs root to own a link as another user")
    frame = table(30)
    frame["label"] = (["a", "b"] * 3) + [None] * 24
    frame.to_csv(tmp_path / "t.csv", index=False)
    link, victim = _planted_link(tmp_path, "s.csv")
    code, _, err = dami(capsys, "select", tmp_path / "t.csv", "--label", "label", "--budget", "2", "--no-status",
                        "--sheet", link)
    assert_one_error_line(code, err, "--sheet", "symlink owned by someone else")
    assert victim.read_text() == "precious\n"



def test_simulate_out_directory_follows_the_protected_symlink_rule(tmp_path):
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("needs root to own a link as another user")
    from dami_np.cli._errors import CliError
    from dami_np.cli._simulate_command import check_out_dir

    link, _ = _planted_link(tmp_path, "results")
    with pytest.raises(CliError, match="symlink owned by someone else"):
        check_out_dir(link)


def test_sheet_column_names_with_the_spreadsheet_prefix_match_the_table(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("=x,@label\n1,a\n2,\n")
    (tmp_path / "s.csv").write_text("dami_pick,dami_row,'=x,'@label\n1,1,3,b\n")
    code, _, err = dami(capsys, "merge", tmp_path / "s.csv", "--into", path, "--label", "@label")
    assert_one_error_line(code, err, "'=x'", "3", "2")  # the column is checked, not skipped
    (tmp_path / "s.csv").write_text("dami_pick,dami_row,'=x,'@label\n1,1,2,b\n")
    code, _, err = dami(capsys, "merge", tmp_path / "s.csv", "--into", path, "--label", "@label")
    assert code == 0, err
    assert path.read_text() == "=x,@label\n1,a\n2,b\n"


def test_cr_only_line_ends_are_kept(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_bytes(b"key,x,label\rk0,0.5,a\rk1,1.5,\r")
    (tmp_path / "s.csv").write_text("dami_pick,dami_row,key,x,label\n1,1,k1,1.5,a\n")
    _merge_ok(capsys, tmp_path / "s.csv", path)
    assert path.read_bytes() == b"key,x,label\rk0,0.5,a\rk1,1.5,a\r"


# ---------------------------------------------------------------------- property: only the label cells change
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# (no lone CR: Python's csv writer leaves it unquoted with "\n" line ends, a file no reader reads back)
_cells = st.text(alphabet=st.sampled_from(list("ab ,;\t\"'\n=é1.-")), max_size=6)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_cells, st.booleans()), min_size=1, max_size=6), st.sampled_from([",", ";", "\t"]),
       st.sampled_from(["\n", "\r\n"]), st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
       st.sampled_from([None, "gzip", "bz2"]), st.text(alphabet="xyz ,\"", min_size=1, max_size=4))
def test_edited_csv_changes_only_the_label_cells(rows, sep, line_end, encoding, compression, new_label):
    import csv
    import io

    from dami_np.cli._table_edit import _COMPRESS, edited_table

    frame = pd.DataFrame({"text": [t for t, _ in rows], "label": ["" if empty else "old" for _, empty in rows]})
    raw = frame.to_csv(index=False, sep=sep, lineterminator=line_end, quoting=csv.QUOTE_MINIMAL).encode(encoding)
    raw = _COMPRESS[compression](raw) if compression else raw
    edits = {i: new_label for i, (_, empty) in enumerate(rows) if empty}
    out = edited_table(raw, name="t.csv", label="label", edits=edits, compression=compression, sep=sep)

    def parsed(data: bytes) -> pd.DataFrame:
        return pd.read_csv(io.BytesIO(data), sep=sep, dtype=str, keep_default_na=False, encoding=encoding,
                           compression=compression)

    before, after = parsed(raw), parsed(out)
    assert after["text"].tolist() == before["text"].tolist()
    assert after["label"].tolist() == [edits.get(i, "old") for i in range(len(rows))]
    if not edits:
        assert out == raw


def test_parquet_to_standard_output_that_cannot_hold_a_column_is_one_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"mixed": [1, "a"]})
    target = table_writer.Target(None, "parquet")
    monkeypatch.setattr(table_writer, "check_stdout", lambda **kwargs: None)
    with pytest.raises(table_writer.CliError, match="cannot write standard output: .*mixed"):
        table_writer.write_frame(frame, target)


@pytest.mark.parametrize("into, out, sep", [("t.csv", "x.tsv", "\t"), ("t.tsv", "x.csv", ","), ("t.tsv", "x.tsv", "\t")])
def test_out_name_decides_csv_or_tsv(tmp_path, capsys, into, out, sep):
    frame = table(5)
    frame.to_csv(tmp_path / into, index=False, sep="\t" if into.endswith(".tsv") else ",")
    sheet(frame, [3], ["a"]).to_csv(tmp_path / "s.csv", index=False)
    code, _, err = dami(capsys, "merge", tmp_path / "s.csv", "--into", tmp_path / into, "--label", "label",
                        "--out", tmp_path / out)
    assert code == 0, err
    assert (tmp_path / out).read_text().splitlines()[0] == sep.join(["key", "x", "label"])
    assert pd.read_csv(tmp_path / out, sep=sep)["label"].tolist()[3] == "a"


def test_select_to_standard_output_prints_nothing_when_the_sheet_fails(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    _mixed_json_table(tmp_path / "t.json")
    code, out, err = dami(capsys, "select", tmp_path / "t.json", "--label", "label", "--budget", "3", "--sheet",
                          tmp_path / "s.parquet", "--no-status")
    assert code == 2 and "s.parquet" in err and out == "", (out, err)
    code, out, err = dami(capsys, "select", tmp_path / "t.json", "--label", "label", "--budget", "3", "--sheet",
                          tmp_path / "s.csv", "--no-status")
    assert code == 0 and len(out.strip().splitlines()) == 4, (out, err)


# ---------------------------------------------------------------------- a table rewritten from values is read back
@pytest.mark.parametrize("out", ["x.json", "x.parquet", "x.tsv", "x.jsonl", "x.csv.gz"])
def test_rewritten_output_reads_back_with_the_labels(tmp_path, capsys, out):
    frame = table()
    frame.to_csv(tmp_path / "t.csv", index=False)
    sheet(frame, [3, 5], ["a", "b"]).to_csv(tmp_path / "s.csv", index=False)
    _merge_ok(capsys, tmp_path / "s.csv", tmp_path / "t.csv", "--out", tmp_path / out)
    assert (tmp_path / out).exists()


def test_rewritten_output_that_loses_a_label_is_refused(tmp_path, capsys, monkeypatch):
    """A rendering that drops one label (a writer bug) fails the read-back: one line, nothing written."""
    frame = table()
    frame.to_csv(tmp_path / "t.csv", index=False)
    before = (tmp_path / "t.csv").read_bytes()
    sheet(frame, [3], ["a"]).to_csv(tmp_path / "s.csv", index=False)
    real = table_writer.render

    def lossy(data, *args, **kwargs):
        data = data.copy()
        data.loc[data.index[3], "label"] = None
        return real(data, *args, **kwargs)

    monkeypatch.setattr(table_writer, "render", lossy)
    code, _, err = dami(capsys, "merge", tmp_path / "s.csv", "--into", tmp_path / "t.csv", "--label", "label",
                        "--out", tmp_path / "x.json")
    assert_one_error_line(code, err, "did not read back", "x.json")
    assert not (tmp_path / "x.json").exists() and (tmp_path / "t.csv").read_bytes() == before
    assert not list(tmp_path.glob(".x.json*"))
