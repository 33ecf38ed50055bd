"""Messages that said the wrong thing: each case is now one true line (or no line at all)."""

from __future__ import annotations

import errno
import os
import pathlib

import numpy as np
import pandas as pd
import pytest

from dami_np.cli import main


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


@pytest.mark.parametrize("name, text", [
    ("t.json", '[{"a": 1.5, "when_at": "2024-01-01", "y": "p"}, {"a": 2.5, "when_at": "2024-01-02", "y": null},'
               ' {"a": 0.5, "when_at": "2024-01-03", "y": "q"}]'),
    ("t.jsonl", '{"a": 1.5, "y": "p"}\n{"a": 2.5, "y": null}\n{"a": 0.5, "y": "q"}\n'),
])
def test_json_tables_print_no_pandas_deprecation(tmp_path, capsys, name, text):
    path = tmp_path / name
    path.write_text(text)
    code, out, err = _run(capsys, "select", path, "--label", "y", "--budget", 1, "--strategy", "random")
    assert code == 0, err
    assert "convert_dates" not in err and "deprecated" not in err, err


@pytest.fixture()
def table(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(30, 2)), columns=["a", "b"])
    frame["y"] = pd.Series(np.where(frame["a"] > 0, "p", "q"), dtype=object)
    frame.loc[10:, "y"] = None
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_dangling_out_link_names_the_missing_directory(tmp_path, capsys, table):
    link = tmp_path / "picks.csv"
    link.symlink_to(tmp_path / "gone" / "picks.csv")
    code, _, err = _run(capsys, "select", table, "--label", "y", "--budget", 1, "--out", link)
    lines = _lines(err)
    assert code == 2 and len(lines) == 1, err
    assert "is a link to" in lines[0] and str(tmp_path / "gone") in lines[0], err
    assert f"output directory {tmp_path} does not exist" not in err


def _read_only(monkeypatch, file, directory) -> None:
    """``file`` is not writable and ``directory`` reports a read-only file system (``ST_RDONLY``)."""
    real_access, real_statvfs = os.access, os.statvfs

    class _ReadOnly:
        f_flag = os.ST_RDONLY

    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(file) and mode == os.W_OK
                        else real_access(p, mode, **kw))
    monkeypatch.setattr(os, "statvfs", lambda p: _ReadOnly() if str(p) == str(directory) else real_statvfs(p))


def test_a_read_only_file_system_does_not_advise_removing_the_file(tmp_path, capsys, table, monkeypatch):
    out = tmp_path / "picks.csv"
    out.write_text("old\n")
    _read_only(monkeypatch, out, tmp_path)
    code, _, err = _run(capsys, "select", table, "--label", "y", "--budget", 1, "--out", out)
    lines = _lines(err)
    assert code == 2 and len(lines) == 1 and "read-only file system" in lines[0], err
    assert "remove it" not in err
    assert out.read_text() == "old\n"


def _labeled_round(tmp_path, capsys, frame: pd.DataFrame, **select_args) -> tuple[pathlib.Path, pathlib.Path]:
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    sheet = tmp_path / "sheet.csv"
    extra = [a for k, v in select_args.items() for a in (f"--{k}", v)]
    code, _, err = _run(capsys, "select", path, "--label", "y", "--budget", 2, "--strategy", "random",
                        "--sheet", sheet, *extra)
    assert code == 0, err
    filled = pd.read_csv(sheet, keep_default_na=False, na_values=[""])
    filled["y"] = "p"
    filled.to_csv(sheet, index=False)
    return path, sheet


def test_merge_on_a_full_disk_says_so_without_a_false_warning(tmp_path, capsys, table, monkeypatch):
    frame = pd.read_csv(table, keep_default_na=False, na_values=[""])
    path, sheet = _labeled_round(tmp_path, capsys, frame)
    before = path.read_bytes()
    real_write = pathlib.Path.write_bytes

    def full(self, data):
        if ".tmp" in self.name:
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real_write(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", full)
    code, _, err = _run(capsys, "merge", sheet, "--into", path, "--label", "y")
    lines = _lines(err)
    assert code == 2 and len(lines) == 1, err
    assert "No space left on device" in lines[0] and "could not edit" not in err
    assert path.read_bytes() == before


def test_merge_on_a_free_text_column_advises_exclude(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 150
    frame = pd.DataFrame(rng.normal(size=(n, 2)), columns=["a", "b"])
    frame["note"] = [f"free text {i}" for i in range(n)]
    frame["y"] = pd.Series(np.where(frame["a"] > 0, "p", "q"), dtype=object)
    frame.loc[60:, "y"] = None
    path, sheet = _labeled_round(tmp_path, capsys, frame, exclude="note")
    before = path.read_bytes()
    code, _, err = _run(capsys, "merge", sheet, "--into", path, "--label", "y", "--save-model", tmp_path / "m.npz")
    lines = _lines(err)
    assert code == 2 and len(lines) == 1, err
    assert "--exclude note" in lines[0] and "X.drop" not in err
    assert path.read_bytes() == before and not (tmp_path / "m.npz").exists()


def test_merge_into_a_table_on_a_read_only_file_system(tmp_path, capsys, table, monkeypatch):
    frame = pd.read_csv(table, keep_default_na=False, na_values=[""])
    path, sheet = _labeled_round(tmp_path, capsys, frame)
    before = path.read_bytes()
    _read_only(monkeypatch, path, tmp_path)
    code, _, err = _run(capsys, "merge", sheet, "--into", path, "--label", "y")
    lines = _lines(err)
    assert code == 2 and len(lines) == 1 and "read-only file system" in lines[0] and "--out" in lines[0], err
    assert "remove it" not in err and path.read_bytes() == before
