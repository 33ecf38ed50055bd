"""The real ``dami`` console script, run in a subprocess, on good and bad input."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DAMI = shutil.which("dami", path=str(Path(sys.executable).parent)) or shutil.which("dami")


def run_dami(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    assert DAMI is not None, "the dami console script is not installed"
    env = {k: v for k, v in os.environ.items() if k != "DAMI_DEBUG"}
    return subprocess.run([DAMI, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def make_table(n: int = 80, labeled: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    label = np.where(a + 0.5 * b > 0, "yes", "no").astype(object)
    label[labeled:] = None
    return pd.DataFrame({"key": [f"k{i:03d}" for i in range(n)], "a": a, "b": b, "color": color, "label": label})


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def table(tmp_path: Path) -> Path:
    path = tmp_path / "table.csv"
    make_table().to_csv(path, index=False)
    return path


def assert_clean_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dami: error:"), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_version_and_help():
    version = run_dami("--version")
    assert version.returncode == 0 and version.stdout.startswith("dami-np ")
    for command in ("select", "simulate", "demo", "datasets"):
        result = run_dami(command, "--help")
        assert result.returncode == 0, result.stderr
        assert "examples:" in result.stdout


def test_datasets_lists_bundled_tables():
    result = run_dami("datasets")
    assert result.returncode == 0, result.stderr
    for name in ("segment", "crx", "vehicle"):
        assert name in result.stdout


def test_select_writes_report_of_unlabeled_rows_deterministically(table: Path, tmp_path: Path):
    before = digest(table)
    first = run_dami("select", str(table), "--label", "label", "--budget", "7", "--id", "key", "--seed", "3")
    second = run_dami("select", str(table), "--label", "label", "--budget", "7", "--id", "key", "--seed", "3")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    report = pd.read_csv(io.StringIO(first.stdout))
    assert list(report.columns) == ["row", "key", "pick", "distance", "predicted", "probability", "explanation", "score"]
    assert len(report) == 7 and report["row"].is_unique
    assert (report["row"] >= 40).all(), "picked a labeled row"
    assert list(report["pick"]) == list(range(1, 8))
    assert list(report["key"]) == [f"k{r:03d}" for r in report["row"]]
    assert set(report["predicted"]) <= {"yes", "no"}
    assert ((report["probability"] >= 0.5) & (report["probability"] <= 1.0)).all()
    assert (report["distance"] >= 0).all()
    assert report["explanation"].str.contains(r"[+-]\d").all()
    assert digest(table) == before

    out = tmp_path / "picks.csv"
    to_file = run_dami("select", str(table), "--label", "label", "--budget", "7", "--id", "key", "--seed", "3",
                       "--out", str(out))
    assert to_file.returncode == 0, to_file.stderr
    assert out.read_text() == first.stdout
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp.csv")], "temporary file left behind"


def test_select_cold_start_answers(tmp_path: Path):
    path = tmp_path / "cold.csv"
    frame = make_table(labeled=0)
    frame.to_csv(path, index=False)
    result = run_dami("select", str(path), "--label", "label", "--budget", "4", "--features", "a,b")
    assert result.returncode == 0, result.stderr
    report = pd.read_csv(io.StringIO(result.stdout))
    assert len(report) == 4 and report["row"].is_unique


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bad_inputs_fail_cleanly_without_touching_files(tmp_path: Path, table: Path):
    good = make_table()
    cases: list[tuple[list[str], tuple[str, ...]]] = []
    cases.append((["select", str(tmp_path / "missing.csv"), "--label", "label", "--budget", "2"], ("no such file",)))
    empty = _write(tmp_path, "empty.csv", "")
    cases.append((["select", str(empty), "--label", "label", "--budget", "2"], ("empty",)))
    header_only = _write(tmp_path, "header.csv", "a,b,label\n")
    cases.append((["select", str(header_only), "--label", "label", "--budget", "2"], ("no data rows",)))
    cases.append((["select", str(table), "--label", "target", "--budget", "2"], ("'target'", "not found")))
    all_labeled = tmp_path / "all_labeled.csv"
    good.assign(label="yes").to_csv(all_labeled, index=False)
    cases.append((["select", str(all_labeled), "--label", "label", "--budget", "2"], ("no unlabeled rows",)))
    cases.append((["select", str(table), "--label", "label", "--budget", "0"], ("--budget", "0")))
    cases.append((["select", str(table), "--label", "label", "--budget", "41"], ("41", "40")))
    empty_column = tmp_path / "empty_column.csv"
    good.assign(b=np.nan).to_csv(empty_column, index=False)
    cases.append((["select", str(empty_column), "--label", "label", "--budget", "2"], ("'b'", "empty")))
    text_in_numbers = tmp_path / "text.csv"
    broken = good.astype({"a": object})
    broken.loc[17, "a"] = "abc"
    broken.to_csv(text_in_numbers, index=False)
    cases.append((["select", str(text_in_numbers), "--label", "label", "--budget", "2"], ("'a'", "abc")))
    infinite = tmp_path / "inf.csv"
    with_inf = good.copy()
    with_inf.loc[5, "b"] = np.inf
    with_inf.to_csv(infinite, index=False)
    cases.append((["select", str(infinite), "--label", "label", "--budget", "2"], ("'b'", "inf")))
    duplicate = _write(tmp_path, "dup.csv", "a,a,label\n1,2,x\n3,4,\n")
    cases.append((["select", str(duplicate), "--label", "label", "--budget", "1"], ("duplicate", "'a'")))
    cases.append((["select", str(table), "--label", "label", "--budget", "2", "--out", str(tmp_path / "nope" / "o.csv")],
                  ("does not exist",)))
    cases.append((["select", str(table), "--label", "label", "--budget", "2", "--out", str(table)],
                  ("refusing to overwrite",)))
    cases.append((["simulate", "no_such_dataset", "--out", str(tmp_path / "sim")], ("no such file or bundled dataset",)))

    snapshot = {p: digest(p) for p in tmp_path.iterdir() if p.is_file()}
    for argv, fragments in cases:
        assert_clean_error(run_dami(*argv), *fragments)
    assert {p: digest(p) for p in tmp_path.iterdir() if p.is_file()} == snapshot
    assert not (tmp_path / "sim").exists()


def test_simulate_writes_curves_and_summary(tmp_path: Path):
    rng = np.random.default_rng(1)
    n = 240
    a, b = rng.normal(size=n), rng.normal(size=n)
    frame = pd.DataFrame({"a": a, "b": b, "label": np.where(a * b > 0, "p", "q")})
    path = tmp_path / "full.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "run"
    result = run_dami("simulate", str(path), "--label", "label", "--strategies", "random,margin",
                      "--initial", "10", "--batch", "10", "--rounds", "2", "--seeds", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    curves = pd.read_csv(out / "curves.csv")
    summary = pd.read_csv(out / "summary.csv")
    assert {"strategy", "seed", "round", "n_labeled", "accuracy", "macro_f1"} <= set(curves.columns)
    assert len(curves) == 2 * 2 * 3
    assert sorted(curves["n_labeled"].unique()) == [10, 20, 30]
    assert set(summary["strategy"]) == {"random", "margin"}
    assert "aulc_mean" in result.stdout
