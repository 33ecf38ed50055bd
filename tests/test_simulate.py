"""simulate: split, initial set, metrics, summary arithmetic, determinism, n_jobs, end to end."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

import dami_np
from dami_np._metrics import accuracy, aulc, macro_f1
from dami_np._progress import Progress
from dami_np._simulate import _allocate, _initial_set, _simulate, _stratified_split
from dami_np._simulation_result import SimulationResult

TIMING = ["fit_seconds", "select_seconds"]


# ---------------------------------------------------------------------- fakes (top level: picklable)
class _NearestCentroid:
    """A deterministic stand-in for MLPClassifier: nearest class mean (seed-dependent tie noise)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray, classes: np.ndarray) -> _NearestCentroid:
        self.classes_ = np.asarray(classes)
        self.centers_ = np.array([X[y == c].mean(axis=0) if (y == c).any() else np.full(X.shape[1], 1e6)
                                  for c in self.classes_])
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        distances = ((X[:, None, :] - self.centers_[None, :, :]) ** 2).sum(axis=2)
        return self.classes_[distances.argmin(axis=1)]


def _fake_factory(params: dict, seed: int) -> _NearestCentroid:
    assert "random_state" not in params
    return _NearestCentroid(seed)


def _fake_query(X, y, budget, *, strategy, model, random_state):
    unlabeled = np.flatnonzero(np.isnan(y))
    if strategy == "first":
        return unlabeled[:budget]
    return np.random.default_rng(random_state).choice(unlabeled, size=budget, replace=False)


def _blobs(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.choice(np.array(["a", "b", "c"]), size=n, p=[0.5, 0.3, 0.2])
    centers = {"a": (0.0, 0.0), "b": (2.0, 0.0), "c": (0.0, 2.0)}
    X = np.array([centers[label] for label in y]) + rng.normal(scale=1.0, size=(n, 2))
    frame = pd.DataFrame({"u": X[:, 0], "v": X[:, 1], "tag": rng.choice(["p", "q"], size=n)})
    return frame, y


def _fake_run(X, y, strategies=("random", "first"), **kw):
    args = dict(initial=10, batch=10, rounds=4, seeds=3, test_size=0.3, model_params=None, n_jobs=1,
                progress=False, random_state=0, model_factory=_fake_factory, query_fn=_fake_query)
    args.update(kw)
    return _simulate(X, y, strategies, **args)


# ---------------------------------------------------------------------- split and initial set
def test_allocate_is_proportional_and_capped():
    np.testing.assert_array_equal(_allocate(10, np.array([50, 30, 20]), np.array([50, 30, 20])), [5, 3, 2])
    np.testing.assert_array_equal(_allocate(3, np.array([1, 1, 1]), np.array([1, 1, 1])), [1, 1, 1])
    counts = _allocate(7, np.array([10, 1]), np.array([9, 0]))
    np.testing.assert_array_equal(counts, [7, 0])


def test_stratified_split_keeps_class_shares_and_every_class_in_train():
    y = np.repeat([0, 1, 2, 3], [100, 50, 7, 1])
    train, test = _stratified_split(y, 0.3, np.random.default_rng(1))
    assert len(test) == 47 and len(train) == 111  # round(0.3 * 158)
    assert np.intersect1d(train, test).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(len(y)))
    test_counts = np.bincount(y[test], minlength=4)
    np.testing.assert_array_equal(test_counts, [30, 15, 2, 0])  # 29.7, 14.9, 2.1, 0.3 -> largest remainder
    assert set(y[train]) == {0, 1, 2, 3}  # the single-row class stays in train
    again = _stratified_split(y, 0.3, np.random.default_rng(1))
    np.testing.assert_array_equal(train, again[0])
    assert not np.array_equal(test, _stratified_split(y, 0.3, np.random.default_rng(2))[1])


def test_initial_set_is_stratified_and_covers_two_classes():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    start = _initial_set(y, 10, np.random.default_rng(0))
    assert len(np.unique(start)) == 10
    np.testing.assert_array_equal(np.bincount(y[start], minlength=3), [6, 3, 1])
    skewed = np.repeat([0, 1], [198, 2])  # proportional allocation would give 5 + 0
    start = _initial_set(skewed, 5, np.random.default_rng(0))
    np.testing.assert_array_equal(np.bincount(skewed[start], minlength=2), [4, 1])
    np.testing.assert_array_equal(start, _initial_set(skewed, 5, np.random.default_rng(0)))


# ---------------------------------------------------------------------- metrics
def test_metrics_against_hand_computation():
    y_true = np.array([0, 0, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0])
    assert accuracy(y_true, y_pred) == pytest.approx(3 / 5)
    # F1 = 2TP / (2TP + FP + FN): class 0: 2/(2+1+1); class 1: 4/(4+1+0); class 2: 0/(0+0+1)
    assert macro_f1(y_true, y_pred) == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    # string labels; a class only predicted counts (F1 0), a class neither true nor predicted does not
    assert macro_f1(np.array(["a", "a", "b"]), np.array(["a", "c", "b"])) == pytest.approx((2 / 3 + 1.0 + 0.0) / 3)
    assert macro_f1(y_true, y_true) == 1.0
    assert aulc([0.5, 0.7, 0.9]) == pytest.approx(0.7)
    with pytest.raises(ValueError, match="same length"):
        accuracy(np.array([1, 2]), np.array([1]))


# ---------------------------------------------------------------------- summary arithmetic
def _hand_built() -> SimulationResult:
    accuracies = {  # strategy -> seed -> accuracy per round (3 rounds)
        "random": {0: [0.50, 0.60, 0.70], 1: [0.40, 0.50, 0.60]},
        "margin": {0: [0.50, 0.70, 0.90], 1: [0.40, 0.50, 0.61]},  # AULC 0.70 / 0.5033
        "dami": {0: [0.50, 0.55, 0.65], 1: [0.40, 0.50, 0.60]},  # AULC 0.5667 / 0.50
    }
    records = [
        {"strategy": s, "seed": seed, "round": r, "n_labeled": 10 + 5 * r, "accuracy": acc, "macro_f1": acc / 2,
         "fit_seconds": 0.1, "select_seconds": 0.01 if r < 2 else np.nan}
        for s, per_seed in accuracies.items() for seed, curve in per_seed.items() for r, acc in enumerate(curve)
    ]
    return SimulationResult(records)


def test_summary_arithmetic_on_a_hand_built_result():
    summary = _hand_built().summary().set_index("strategy")
    assert list(summary.index) == ["margin", "random", "dami"]  # best mean AULC first
    aulc_random = [0.6, 0.5]
    aulc_margin = [0.7, (0.40 + 0.50 + 0.61) / 3]
    aulc_dami = [(0.50 + 0.55 + 0.65) / 3, 0.5]
    for name, values in (("random", aulc_random), ("margin", aulc_margin), ("dami", aulc_dami)):
        assert summary.loc[name, "aulc_mean"] == pytest.approx(np.mean(values))
        assert summary.loc[name, "aulc_std"] == pytest.approx(np.std(values, ddof=1))
    assert summary.loc["margin", "final_accuracy_mean"] == pytest.approx((0.90 + 0.61) / 2)
    assert summary.loc["margin", "final_accuracy_std"] == pytest.approx(np.std([0.90, 0.61], ddof=1))
    # paired per seed vs random: margin +0.10 (win), +0.0033 (tie); dami -0.0333 (loss), 0.0 (tie)
    assert tuple(summary.loc["margin", ["wins", "ties", "losses"]]) == (1, 1, 0)
    assert tuple(summary.loc["dami", ["wins", "ties", "losses"]]) == (0, 1, 1)
    assert tuple(summary.loc["random", ["wins", "ties", "losses"]]) == (0, 2, 0)
    assert summary["rank"].tolist() == [1.0, 2.0, 3.0]
    assert list(_hand_built().summary().columns) == [
        "strategy", "aulc_mean", "aulc_std", "final_accuracy_mean", "final_accuracy_std", "wins", "ties", "losses", "rank"]


def test_summary_without_random_has_no_win_counts():
    curves = _hand_built().curves
    summary = SimulationResult(curves[curves["strategy"] != "random"]).summary()
    assert summary["wins"].isna().all() and summary["ties"].isna().all()
    assert summary["strategy"].tolist() == ["margin", "dami"]


def test_curves_columns_and_per_seed():
    result = _hand_built()
    curves = result.curves
    assert list(curves.columns) == ["strategy", "seed", "round", "n_labeled", "accuracy", "macro_f1",
                                    "fit_seconds", "select_seconds"]
    per_seed = result.per_seed().set_index(["strategy", "seed"])
    assert per_seed.loc[("margin", 0), "aulc"] == pytest.approx(0.7)
    assert per_seed.loc[("margin", 0), "final_accuracy"] == pytest.approx(0.9)


def test_plot_without_matplotlib_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match=r"pip install dami-np\[plot\]"):
        _hand_built().plot(tmp_path / "curves.png")
    assert not (tmp_path / "curves.png").exists()


def test_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "curves.tmp"  # the suffix does not decide the format
    _hand_built().plot(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------- protocol with a fake model
def test_protocol_shapes_shared_start_and_revealed_labels():
    X, y = _blobs()
    result = _fake_run(X, y)
    curves = result.curves
    assert len(curves) == 2 * 3 * 5
    assert curves.groupby(["strategy", "seed"])["n_labeled"].apply(list).map(lambda v: v == [10, 20, 30, 40, 50]).all()
    round0 = curves[curves["round"] == 0].pivot(index="seed", columns="strategy", values="accuracy")
    np.testing.assert_array_equal(round0["random"], round0["first"])  # same split, start set and model seed
    assert curves.loc[curves["round"] == 4, "select_seconds"].isna().all()
    assert (curves.loc[curves["round"] < 4, "select_seconds"] >= 0).all()
    assert not curves[["accuracy", "macro_f1"]].isna().any().any()
    assert result.config["classes"] == ["a", "b", "c"]
    # different seeds use different splits
    assert curves[(curves["strategy"] == "random") & (curves["round"] == 0)]["accuracy"].nunique() > 1


def test_same_inputs_same_results_bit_for_bit():
    X, y = _blobs()
    first = _fake_run(X, y).curves.drop(columns=TIMING)
    second = _fake_run(X, y).curves.drop(columns=TIMING)
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    other = _fake_run(X, y, random_state=1).curves.drop(columns=TIMING)
    assert not first.equals(other)


def test_n_jobs_2_equals_n_jobs_1():
    X, y = _blobs()
    serial = _fake_run(X, y, n_jobs=1).curves.drop(columns=TIMING)
    parallel = _fake_run(X, y, n_jobs=2).curves.drop(columns=TIMING)
    pd.testing.assert_frame_equal(serial, parallel, check_exact=True)


def test_ndarray_input_and_progress_bar(capsys):
    X, y = _blobs()
    result = _fake_run(X[["u", "v"]].to_numpy(), y, strategies=("random",), seeds=1, progress=True)
    assert len(result.curves) == 5
    err = capsys.readouterr().err
    assert "simulate [" in err and "5/5" in err


def test_progress_bar_counts():
    class Stream:
        text = ""

        def write(self, s: str) -> None:
            self.text += s

        def flush(self) -> None:
            pass

    stream = Stream()
    with Progress(4, "run", stream=stream, min_interval=0.0) as bar:
        bar.update()
        bar.update(3)
    assert "run [" in stream.text and "1/4" in stream.text and stream.text.endswith("4/4 0:00\n")
    silent = Stream()
    with Progress(2, enabled=False, stream=silent) as bar:
        bar.update(2)
    assert silent.text == ""


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"rounds": 30}, r"initial \+ batch \* rounds = 310 labels, but the training part has only 210 rows"),
        ({"model_params": {"random_state": 3}}, r"must not contain 'random_state'"),
        ({"strategies": ()}, r"strategies is empty"),
        ({"strategies": ("random", "random")}, r"duplicate strategy"),
        ({"test_size": 1.5}, r"test_size must be"),
        ({"n_jobs": 0}, r"n_jobs must be"),
        ({"initial": 0}, r"initial must be an int >= 1"),
    ],
)
def test_argument_errors(kwargs, pattern):
    X, y = _blobs()
    with pytest.raises(ValueError, match=pattern):
        _fake_run(X, y, **kwargs)


def test_label_errors():
    X, y = _blobs()
    y = y.astype(object)
    y[7] = None
    with pytest.raises(ValueError, match=r"1 missing labels \(first at row 7\)"):
        _fake_run(X, y)
    with pytest.raises(ValueError, match="single class"):
        _fake_run(X, np.zeros(len(X)))


# ---------------------------------------------------------------------- end to end (real model and query)
def test_end_to_end_real_model_and_query():
    X, y = dami_np.datasets.load("vehicle")
    kwargs = dict(initial=20, batch=20, rounds=3, seeds=2, model_params={"hidden_layer_sizes": (32,), "max_iter": 60})
    result = dami_np.simulate(X, y, ("random", "margin"), **kwargs)
    curves = result.curves
    assert len(curves) == 2 * 2 * 4
    assert curves["n_labeled"].max() == 80
    assert curves["accuracy"].between(0.0, 1.0).all()
    assert curves["accuracy"].mean() > 0.4  # 4 balanced classes: chance is 0.25
    summary = result.summary()
    assert set(summary["strategy"]) == {"random", "margin"}
    parallel = dami_np.simulate(X, y, ("random", "margin"), n_jobs=2, **kwargs)
    pd.testing.assert_frame_equal(curves.drop(columns=TIMING), parallel.curves.drop(columns=TIMING), check_exact=True)


def test_one_seed_and_strategy_alone_equals_its_rows_in_the_full_run():
    # bench/label_efficiency.py caches curves per (table, strategy, seed) by running _run_task on a
    # setup that holds only that strategy: it must give exactly the rows of the full run
    from dami_np._simulate import _check_X, _encode_y, _run_task, _Setup

    X, y = _blobs()
    full = _fake_run(X, y).curves.drop(columns=TIMING)
    classes, codes = _encode_y(y, len(y))
    for seed, name in [(2, "first"), (1, "random")]:
        setup = _Setup(_check_X(X), codes, len(classes), (name,), (name,), 10, 10, 4, 0.3, 0, {},
                       _fake_factory, _fake_query)
        alone = pd.DataFrame(_run_task(setup, seed, 0)).drop(columns=TIMING)
        expected = full[(full["strategy"] == name) & (full["seed"] == seed)].reset_index(drop=True)
        pd.testing.assert_frame_equal(alone[expected.columns], expected, check_exact=True)
