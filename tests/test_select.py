"""``dami_np.select`` owns a labeling round: CLI, ``query`` and ``select`` pick the same rows,
and the report's facts (distance, score) are the ones the strategy had when it picked."""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import sys
from io import StringIO

import numpy as np
import pandas as pd
import pytest

import dami_np
from dami_np import MLPClassifier, datasets, strategies
from dami_np._preprocess import TabularPreprocessor

from pathlib import Path

DAMI = shutil.which("dami", path=str(Path(sys.executable).parent)) or shutil.which("dami")
BUILT_IN = sorted(strategies.available())
K_CENTER_SPACES = {"dami", "dami_nobias", "dami_predicted", "dami_margin", "dami_boundary", "coreset", "kcenter_input"}


def _table(name: str, n_labeled: int) -> tuple[pd.DataFrame, str]:
    """A bundled table with labels kept only on ``n_labeled`` random rows."""
    X, y = datasets.load(name)
    label = str(y.name)
    frame = X.copy()
    labels = y.astype(object).copy()
    blank = np.random.default_rng(0).permutation(len(frame))[n_labeled:]
    labels.iloc[blank] = None
    frame[label] = labels.to_numpy()
    return frame, label


TABLES = {  # categoricals, multi-class, cold start (no label at all)
    "crx": _table("crx", 60),
    "vehicle": _table("vehicle", 80),
    "wdbc-cold": _table("wdbc", 0),
}


def _api_rows(frame: pd.DataFrame, label: str, strategy: str, budget: int) -> tuple[np.ndarray, np.ndarray]:
    X = frame.drop(columns=[label])
    y = frame[label]
    q = dami_np.query(X, y, budget, strategy=strategy, random_state=0)
    s = dami_np.select(X, y, budget, strategy=strategy, random_state=0)
    return q, s["row"].to_numpy()


@pytest.fixture(scope="module")
def csv_tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tables")
    paths = {}
    for key, (frame, label) in TABLES.items():
        path = folder / f"{key}.csv"
        frame.to_csv(path, index=False)
        paths[key] = (path, label)
    return paths


def test_cli_subprocess_query_and_select_pick_the_same_rows(csv_tables):
    """Every built-in strategy, three tables: real `dami select` == query == select["row"]."""
    budget = 6
    env = dict(os.environ, PYTHONHASHSEED="0")
    jobs = {}
    for key, (path, label) in csv_tables.items():
        for strategy in BUILT_IN:
            cmd = [DAMI, "select", str(path), "--label", label,
                   "--budget", str(budget), "--seed", "0", "--strategy", strategy]
            jobs[(key, strategy)] = cmd
    results = _run_parallel(jobs, env)
    for (key, strategy), (code, out, err) in results.items():
        assert code == 0, f"{key}/{strategy}: {err}"
        cli_rows = pd.read_csv(StringIO(out))["row"].to_numpy()
        frame, label = TABLES[key]
        q, s = _api_rows(frame, label, strategy, budget)
        np.testing.assert_array_equal(cli_rows, q, err_msg=f"{key}/{strategy}: CLI vs query")
        np.testing.assert_array_equal(s, q, err_msg=f"{key}/{strategy}: select vs query")


def _run_parallel(jobs: dict, env: dict, width: int = 3) -> dict:
    pending = list(jobs.items())
    running: list = []
    results = {}
    while pending or running:
        while pending and len(running) < width:
            key, cmd = pending.pop(0)
            running.append((key, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)))
        key, proc = running.pop(0)
        out, err = proc.communicate(timeout=300)
        results[key] = (proc.returncode, out, err)
    return results


def test_one_default_strategy_everywhere():
    from dami_np.cli import build_parser

    default = dami_np.DEFAULT_STRATEGY
    assert default in strategies.available()
    assert inspect.signature(dami_np.select).parameters["strategy"].default == default
    assert inspect.signature(dami_np.query).parameters["strategy"].default == default
    args = build_parser().parse_args(["select", "t.csv", "--label", "y", "--budget", "1"])
    assert args.strategy == default


# ---------------------------------------------------------------------- the report's facts
def _numeric_problem(seed: int = 0, n: int = 160, n_labeled: int = 30, classes: int = 3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    X[n_labeled + 5] = X[n_labeled + 2]  # a duplicate row in the pool
    y_true = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (classes > 2) * (X[:, 2] > 0.7)
    y = y_true.astype(float)
    y[n_labeled:] = np.nan
    model = MLPClassifier(hidden_layer_sizes=(16,), max_iter=60, random_state=seed, dtype="float64")
    model.fit(X[:n_labeled], y_true[:n_labeled])
    return X, y, model


def _naive_dami(model, X):
    """[W(x).ravel(), b(x)] per row from the model's local linear maps (the report space)."""
    W, b = model.local_linear(X)
    return np.concatenate([np.asarray(W, np.float64).reshape(len(X), -1), np.asarray(b, np.float64)], axis=1)


def _naive_pick_distances(points, labeled_rows, picks):
    out = []
    centers = list(labeled_rows)
    for p in picks:
        if centers:
            out.append(float(np.sqrt(((points[centers] - points[p]) ** 2).sum(axis=1).min())))
        else:
            out.append(np.nan)
        centers.append(p)
    return np.array(out)


def _space_points(strategy, model, X):
    if strategy in ("coreset",):
        return np.asarray(model.hidden_activations(X, layer=-1), np.float64)
    if strategy == "kcenter_input":
        return X
    if strategy == "dami_nobias":
        W, _ = model.local_linear(X)
        return np.asarray(W, np.float64).reshape(len(X), -1)
    if strategy == "dami_predicted":
        W, b = model.local_linear(X)
        cls = np.argmax(np.asarray(model.predict_proba(X)), axis=1)
        m = np.arange(len(X))
        return np.concatenate([np.asarray(W, np.float64)[m, cls], np.asarray(b, np.float64)[m, cls][:, None]], axis=1)
    return _naive_dami(model, X)


@pytest.mark.parametrize("strategy", BUILT_IN)
def test_reported_distance_is_the_pick_time_distance_in_the_strategy_space(strategy):
    X, y, model = _numeric_problem(seed=1)
    report = dami_np.select(X, y, 7, strategy=strategy, model=model, random_state=3)
    picks = report["row"].to_numpy()
    labeled = np.flatnonzero(~np.isnan(y))
    expected = _naive_pick_distances(_space_points(strategy, model, X), labeled, picks)
    np.testing.assert_allclose(report["distance"].to_numpy(), expected, rtol=1e-6, atol=1e-9)
    if strategy not in K_CENTER_SPACES:
        assert report.attrs["distance_space"] == dami_np._select.REPORT_SPACE


# random draws without replacement, the hybrids filter budget x multiple rows and K-medoids
# clusters into K = budget groups: their picks depend on the budget by design (random: see the
# next test for its distances).
BUDGET_DEPENDENT = ("random", "dami_margin", "dami_boundary", "dami_kmedoids")


@pytest.mark.parametrize("strategy", [s for s in BUILT_IN if s not in BUDGET_DEPENDENT])
def test_a_smaller_budget_is_a_bit_identical_prefix(strategy):
    X, y, model = _numeric_problem(seed=2)
    small = dami_np.select(X, y, 3, strategy=strategy, model=model, random_state=5)
    large = dami_np.select(X, y, 9, strategy=strategy, model=model, random_state=5)
    pd.testing.assert_frame_equal(small, large.iloc[:3], check_exact=True)


def test_random_distances_do_not_depend_on_the_budget_for_the_same_rows():
    X, y, model = _numeric_problem(seed=2)
    small = dami_np.select(X, y, 4, strategy="random", model=model, random_state=5)
    big = dami_np.select(X, y, 30, strategy="random", model=model, random_state=5)
    labeled = np.flatnonzero(~np.isnan(y))
    expected = _naive_pick_distances(_naive_dami(model, X), labeled, big["row"].to_numpy())
    np.testing.assert_allclose(big["distance"].to_numpy(), expected, rtol=1e-6)
    expected_small = _naive_pick_distances(_naive_dami(model, X), labeled, small["row"].to_numpy())
    np.testing.assert_allclose(small["distance"].to_numpy(), expected_small, rtol=1e-6)


def test_report_columns_scores_and_predictions():
    X, y, model = _numeric_problem(seed=4)
    report = dami_np.select(X, y, 5, strategy="margin", model=model)
    assert list(report.columns) == list(dami_np._select.REPORT_COLUMNS)
    rows = report["row"].to_numpy()
    proba = model.predict_proba(X[rows])
    top2 = np.sort(proba, axis=1)[:, -2:]
    np.testing.assert_allclose(report["score"], top2[:, 1] - top2[:, 0])
    np.testing.assert_array_equal(report["predicted"].to_numpy(), model.classes_[np.argmax(proba, axis=1)])
    np.testing.assert_allclose(report["probability"], proba.max(axis=1))
    assert report.attrs["score_name"] == "margin"
    assert report["row"].dtype == np.int64 and report["pick"].tolist() == [1, 2, 3, 4, 5]
    assert dami_np.select(X, y, 5, strategy="dami", model=model)["score"].isna().all()


def test_report_labels_are_the_users_labels_with_the_default_model():
    frame, label = TABLES["crx"]
    report = dami_np.select(frame.drop(columns=[label]), frame[label], 4, strategy="margin", random_state=0)
    assert set(report["predicted"]) <= set(frame[label].dropna())
    assert report["explanation"].str.len().gt(0).all()


def test_cold_start_report():
    frame, label = TABLES["wdbc-cold"]
    X = frame.drop(columns=[label])
    report = dami_np.select(X, frame[label], 4, strategy="dami", random_state=0)
    assert report.attrs["cold_start"] and report["predicted"].isna().all()
    Xp = TabularPreprocessor().fit_transform(X)
    picks = report["row"].to_numpy()
    mean = Xp.mean(axis=0)
    first = np.sqrt(((Xp[picks[0]] - mean) ** 2).sum())  # no centers: the kernel's distance to the mean
    rest = _naive_pick_distances(Xp, [picks[0]], picks[1:])
    np.testing.assert_allclose(report["distance"].to_numpy(), np.concatenate([[first], rest]), rtol=1e-9)


# ---------------------------------------------------------------------- candidates
@pytest.mark.parametrize("strategy", BUILT_IN)
def test_candidates_restrict_the_picks(strategy):
    X, y, model = _numeric_problem(seed=5)
    unlabeled = np.flatnonzero(np.isnan(y))
    allowed = unlabeled[::3]
    picks = dami_np.query(X, y, 6, strategy=strategy, model=model, random_state=0, candidates=allowed)
    assert set(picks) <= set(allowed) and len(set(picks)) == 6
    mask = np.zeros(len(X), bool)
    mask[allowed] = True
    np.testing.assert_array_equal(
        picks, dami_np.query(X, y, 6, strategy=strategy, model=model, random_state=0, candidates=mask)
    )


def test_all_unlabeled_candidates_change_nothing():
    X, y, model = _numeric_problem(seed=6)
    unlabeled = np.flatnonzero(np.isnan(y))
    for strategy in ("dami", "margin", "badge", "coreset"):
        np.testing.assert_array_equal(
            dami_np.query(X, y, 5, strategy=strategy, model=model, random_state=1),
            dami_np.query(X, y, 5, strategy=strategy, model=model, random_state=1, candidates=unlabeled[::-1]),
        )


@pytest.mark.parametrize(
    "bad, message",
    [
        ([0, 40], "row 0, which is labeled"),
        ([40, 1000], "position 1000, outside"),
        ([-1, 40], "position -1, outside"),
        ([40, 40], "more than once"),
        ([40.0, 41.0], "int row positions or a boolean mask"),
        ([[40, 41]], "1-D"),
        (3, "candidate_multiple"),
        (np.array([], dtype=np.int64), "empty"),
        (np.ones(5, dtype=bool), "one entry per row"),
    ],
)
def test_bad_candidates_are_clear_errors(bad, message):
    X, y, model = _numeric_problem(seed=7)
    with pytest.raises(ValueError, match=message):
        dami_np.select(X, y, 1, strategy="margin", model=model, candidates=bad)


def test_budget_above_the_candidates_is_an_error():
    X, y, model = _numeric_problem(seed=7)
    with pytest.raises(ValueError, match=r"budget \(3\) exceeds the number of candidate rows \(2\)"):
        dami_np.select(X, y, 3, strategy="margin", model=model, candidates=[40, 41])


@pytest.mark.parametrize("bad", ["mlp", 3, object()])
def test_a_model_that_is_not_a_classifier_is_a_clear_error(bad):
    X, y, _ = _numeric_problem(seed=8)
    with pytest.raises(ValueError, match="model must be None, a classifier"):
        dami_np.select(X, y, 2, model=bad)


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_bad_random_state_is_a_clear_error(bad):
    X, y, model = _numeric_problem(seed=8)
    with pytest.raises(ValueError, match="random_state must be None, an int >= 0"):
        dami_np.select(X, y, 2, model=model, random_state=bad)


@pytest.mark.parametrize("option", ["bias", "normalize", "dedup"])
def test_dami_flags_must_be_bools(option):
    X, y, model = _numeric_problem(seed=9)
    with pytest.raises(ValueError, match=f"option '{option}' must be True or False"):
        dami_np.select(X, y, 2, strategy="dami", model=model, **{option: "no"})


def test_streamed_dami_reports_the_same_radii_as_in_memory():
    from dami_np.strategies import dami_select

    X, y, model = _numeric_problem(seed=10, n=300)
    labeled = ~np.isnan(y)
    in_memory = dami_select(model, X, labeled, 25)
    streamed = dami_select(model, X, labeled, 25, memory_budget=256)
    np.testing.assert_array_equal(streamed.positions, in_memory.positions)
    np.testing.assert_allclose(streamed.distances, in_memory.distances, rtol=1e-9)
    expected = _naive_pick_distances(_naive_dami(model, X), np.flatnonzero(labeled), in_memory.positions)
    np.testing.assert_allclose(in_memory.distances, expected, rtol=1e-6)


def test_sparse_X_is_densified_or_refused_clearly():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    X, y, _ = _numeric_problem(seed=11)
    dense = dami_np.query(X, y, 4, strategy="margin", random_state=0)
    np.testing.assert_array_equal(
        dami_np.query(scipy_sparse.csr_matrix(X), y, 4, strategy="margin", random_state=0), dense
    )
