"""DAMI_NP_TIMINGS=1 prints one line per stage of `dami select` (the end-to-end benchmark reads them);
blank rows of a read table are found column by column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dami_np.cli import main
from dami_np.cli._table_reader import blank_rows


def _table(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    frame["label"] = [("yes" if v > 0 else "no") if i < 20 else None for i, v in enumerate(frame["a"])]
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    return path


def _stages(text: str) -> list[str]:
    return [line.split()[1].removeprefix("stage=") for line in text.splitlines() if line.startswith("dami-timing:")]


def test_stage_lines_only_when_asked(tmp_path, monkeypatch, capsys):
    path = _table(tmp_path)
    args = ["select", str(path), "--label", "label", "--budget", "3", "--strategy", "dami", "-q",
            "--out", str(tmp_path / "p.csv")]
    monkeypatch.delenv("DAMI_NP_TIMINGS", raising=False)
    assert main(args) == 0
    assert _stages(capsys.readouterr().err) == []
    monkeypatch.setenv("DAMI_NP_TIMINGS", "1")
    assert main(args) == 0
    err = capsys.readouterr().err
    stages = _stages(err)
    assert {"read", "round", "representations", "kcenter"} <= set(stages), err
    line = next(line for line in err.splitlines() if "stage=read" in line)
    assert {"wall", "cpu", "peak_rss_gib", "start", "end"} <= {f.split("=")[0] for f in line.split()[2:]}


def test_blank_rows_are_rows_with_every_cell_missing_or_whitespace():
    frame = pd.DataFrame({
        "x": [np.nan, 1.0, np.nan, np.nan, np.nan],
        "t": [" ", None, "a", "", "\t"],
        "s": pd.array([None, "b", None, "  ", pd.NA], dtype="string"),
    })
    assert blank_rows(frame).tolist() == [True, False, False, True, True]
    assert blank_rows(frame.iloc[:0]).tolist() == []
    wide = pd.DataFrame({f"c{i}": [np.nan] * 4 for i in range(5)})
    wide.iloc[2, 4] = 0.0  # only the last column says row 2 is not blank
    assert blank_rows(wide).tolist() == [True, True, False, True]
