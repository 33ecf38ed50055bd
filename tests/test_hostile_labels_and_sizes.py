"""Silently wrong no more: a continuous target as labels and a test part too small to measure anything."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dami_np
from dami_np.cli import main
from _cli_checks import assert_one_error_line  # noqa: E402


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def prices(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=list("abc"))
    frame["price"] = pd.Series(np.round(rng.uniform(10, 100, 60), 2), dtype=object)
    frame.loc[40:, "price"] = None
    path = tmp_path / "prices.csv"
    frame.to_csv(path, index=False)
    full = tmp_path / "full.csv"
    frame.iloc[:40].to_csv(full, index=False)
    return path, full


def test_select_refuses_a_continuous_label_column(prices, capsys):
    path, _ = prices
    code, out, err = _run(capsys, "select", path, "--label", "price", "--budget", 2)
    assert_one_error_line(code, err, "'price'", "continuous", "--classes-anyway")
    assert out == ""
    code, out, err = _run(capsys, "select", path, "--label", "price", "--budget", 2, "--strategy", "random",
                          "--classes-anyway")
    assert code == 0, err
    assert len(pd.read_csv(__import__("io").StringIO(out))) == 2


@pytest.mark.parametrize("command", ["simulate", "status"])
def test_simulate_and_status_refuse_a_continuous_label_column(prices, capsys, tmp_path, command):
    path, full = prices
    argv = ["simulate", full, "--label", "price", "--out", tmp_path / "runs"] if command == "simulate" \
        else ["status", path, "--label", "price"]
    code, _, err = _run(capsys, *argv)
    assert_one_error_line(code, err, "continuous", "--classes-anyway")


@pytest.mark.parametrize("labels", [["1", "2", "1.0"], ["a", "1.5"], ["0", "1"], ["1.0", "2.0"], ["-3", "4"]])
def test_integer_numbers_and_texts_stay_classes(tmp_path, capsys, labels):
    rng = np.random.default_rng(1)
    n = 30
    frame = pd.DataFrame(rng.normal(size=(n, 2)), columns=["a", "b"])
    frame["y"] = pd.Series([labels[i % len(labels)] for i in range(n)], dtype=object)
    frame.loc[20:, "y"] = None
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code, _, err = _run(capsys, "select", path, "--label", "y", "--budget", 1, "--strategy", "random")
    assert code == 0, err


def test_python_select_refuses_continuous_floats_with_the_override_named():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=list("abc"))
    y = pd.Series(np.round(rng.uniform(10, 100, 60), 2))
    y[40:] = np.nan
    for call in (dami_np.select, dami_np.query):
        with pytest.raises(ValueError, match="continuous.*classes_anyway=True"):
            call(X, y, budget=2, random_state=0)
    assert len(dami_np.select(X, y, budget=2, random_state=0, strategy="random", classes_anyway=True)) == 2
    assert len(dami_np.query(X, y.round(), budget=2, random_state=0, strategy="random")) == 2
    texts = y.map(lambda v: None if pd.isna(v) else str(v))  # strings are classes in Python (scikit-learn's rule)
    assert len(dami_np.query(X, texts, budget=2, random_state=0, strategy="random")) == 2


@pytest.mark.parametrize("test_size", ["1e-9", "0.001", "0.002"])
def test_simulate_refuses_a_test_part_smaller_than_the_classes(capsys, tmp_path, test_size):
    code, _, err = _run(capsys, "simulate", "segment", "--label", "class", "--test-size", test_size, "--seeds", 1,
                        "--rounds", 1, "--strategies", "random", "--out", tmp_path / "runs")
    assert_one_error_line(code, err, "test part", "7 classes")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_simulate_python_api_checks_sizes():
    X, y = dami_np.datasets.load("segment")
    with pytest.raises(ValueError, match="fewer than the 7 classes"):
        dami_np.simulate(X, y, ["random"], test_size=1e-9, seeds=1, rounds=1)
    with pytest.raises(ValueError, match="training part has only"):
        dami_np.simulate(X, y, ["random"], initial=5000, seeds=1, rounds=0)
    with pytest.raises(ValueError, match="training part has only"):
        dami_np.simulate(X, y, ["random"], batch=800, rounds=2, seeds=1)


def test_merge_save_model_refuses_a_continuous_label_column(prices, capsys, tmp_path):
    path, _ = prices
    sheet = tmp_path / "sheet.csv"
    code, _, err = _run(capsys, "select", path, "--label", "price", "--budget", 2, "--strategy", "random",
                        "--classes-anyway", "--sheet", sheet)
    assert code == 0, err
    filled = pd.read_csv(sheet)
    filled["price"] = [12.25, 13.5]
    filled.to_csv(sheet, index=False)
    before = path.read_bytes()
    code, _, err = _run(capsys, "merge", sheet, "--into", path, "--label", "price", "--save-model", tmp_path / "m.npz")
    assert code == 2 and "looks continuous" in err and "--classes-anyway" in err, err
    assert path.read_bytes() == before and not (tmp_path / "m.npz").exists()
    code, _, err = _run(capsys, "merge", sheet, "--into", path, "--label", "price", "--save-model", tmp_path / "m.npz",
                        "--classes-anyway")
    assert code == 0, err
    assert (tmp_path / "m.npz").exists()
