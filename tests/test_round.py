"""A round is a value: one preprocessing fit, one model, one label encoder, one random_state rule."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import dami_np
from dami_np import _round
from dami_np._preprocess import TabularPreprocessor
from dami_np.cli import main
from dami_np.strategies import QueryContext


def _table(n: int = 80, labeled: int = 24, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    label = np.where(a + 0.5 * b > 0, "yes", "no").astype(object)
    label[labeled:] = None
    return pd.DataFrame({"key": [f"k{i:03d}" for i in range(n)], "a": a.round(4), "b": b.round(4),
                         "color": rng.choice(["red", "green", "blue"], size=n), "label": label})


@pytest.fixture()
def fits(monkeypatch):
    """Count ``TabularPreprocessor.fit`` calls."""
    calls = []
    original = TabularPreprocessor.fit

    def spy(self, X, *args, **kwargs):
        calls.append(len(X))
        return original(self, X, *args, **kwargs)

    monkeypatch.setattr(TabularPreprocessor, "fit", spy)
    return calls


@pytest.mark.parametrize("extra", [[], ["--save-model", "m.npz", "--sheet", "s.csv"]])
def test_dami_select_fits_the_preprocessor_once(tmp_path, capsys, fits, extra):
    path = tmp_path / "t.csv"
    _table().to_csv(path, index=False)
    extra = [str(tmp_path / e) if e.endswith((".npz", ".csv")) else e for e in extra]
    code = main(["select", str(path), "--label", "label", "--id", "key", "--budget", "4", "--strategy", "margin",
                 "--out", str(tmp_path / "picks.csv"), "-q", *extra])
    assert code == 0, capsys.readouterr().err
    assert fits == [80]
    if extra:
        saved = dami_np._model_io.load_model(tmp_path / "m.npz")
        assert saved.preprocessor is not None and (tmp_path / "s.csv").exists()


def test_dami_select_with_a_saved_model_fits_the_preprocessor_once(tmp_path, capsys, fits):
    path = tmp_path / "t.csv"
    _table().to_csv(path, index=False)
    args = ["select", str(path), "--label", "label", "--id", "key", "--budget", "4", "--strategy", "margin", "-q",
            "--out", str(tmp_path / "p.csv")]
    assert main(args + ["--save-model", str(tmp_path / "m.npz")]) == 0
    fits.clear()
    assert main(args + ["--model", str(tmp_path / "m.npz"), "--save-model", str(tmp_path / "m2.npz")]) == 0
    assert fits == [80]
    capsys.readouterr()


def test_a_round_is_a_frozen_value_with_its_model_and_preprocessing():
    frame = _table(seed=1)
    X, y = frame[["a", "b", "color"]], frame["label"]
    done = _round.run_round(X, y, 5, "margin", random_state=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        done.strategy = "other"  # type: ignore[misc]
    np.testing.assert_array_equal(done.positions, dami_np.query(X, y, 5, strategy="margin", random_state=3))
    pd.testing.assert_frame_equal(done.report(), dami_np.select(X, y, 5, strategy="margin", random_state=3))
    assert list(done.classes) == ["no", "yes"]
    matrix = done.preprocessor.transform(X)
    assert done.context.X.dtype == np.float32  # margin reads X only through the default float32 model
    np.testing.assert_array_equal(done.context.X, matrix.astype(np.float32))
    # the round's model is the one the report describes: its probabilities of the picks
    proba = done.model.predict_proba(matrix[done.positions]).max(axis=1)
    np.testing.assert_allclose(done.report()["probability"].to_numpy(), proba, rtol=1e-6)


def test_query_builds_no_report_and_fits_no_model_for_a_model_free_strategy(monkeypatch):
    frame = _table(seed=2)
    X, y = frame[["a", "b", "color"]], frame["label"]
    fitted = []
    original = dami_np.MLPClassifier.fit
    monkeypatch.setattr(dami_np.MLPClassifier, "fit", lambda self, *a, **k: fitted.append(1) or original(self, *a, **k))
    from dami_np import _round_report

    monkeypatch.setattr(_round_report, "round_report", lambda *a: pytest.fail("query built the report"))
    dami_np.query(X, y, 3, strategy="random", random_state=0)
    assert fitted == []
    dami_np.query(X, y, 3, strategy="margin", random_state=0)
    assert fitted == [1]
    with pytest.raises(ValueError, match="without its model"):
        _round.run_round(X, y, 3, "random", random_state=0, fit_model=False).report()


def test_the_strategies_context_is_read_only_and_never_trains():
    X = np.arange(20, dtype=float).reshape(10, 2)
    with pytest.raises(ValueError, match="takes a fitted model"):
        QueryContext(X, np.zeros(10, bool), np.full(10, -1), np.array([]), model=dami_np.MLPClassifier())
    context = QueryContext(X, np.zeros(10, bool), np.full(10, -1), np.array([]))
    assert not context.has_model
    with pytest.raises(ValueError, match="at least two classes"):
        context.model


def test_select_accepts_every_random_state_the_model_accepts():
    """One random_state rule: a legacy RandomState and a SeedSequence are accepted like MLPClassifier
    accepts them (the same fresh RandomState gives the same picks)."""
    frame = _table(seed=3)
    X, y = frame[["a", "b", "color"]], frame["label"]
    first = dami_np.query(X, y, 4, strategy="random", random_state=np.random.RandomState(0))
    again = dami_np.query(X, y, 4, strategy="random", random_state=np.random.RandomState(0))
    np.testing.assert_array_equal(first, again)
    seq = dami_np.query(X, y, 4, strategy="margin", random_state=np.random.SeedSequence(5))
    np.testing.assert_array_equal(seq, dami_np.query(X, y, 4, strategy="margin",
                                                     random_state=np.random.SeedSequence(5)))
    for bad in (-1, 1.5, "0", True):
        with pytest.raises(ValueError, match="random_state must be None, an int >= 0"):
            dami_np.query(X, y, 2, random_state=bad)
        with pytest.raises(ValueError, match="random_state must be"):
            dami_np.MLPClassifier(random_state=bad).fit(np.eye(2), [0, 1])


def test_merge_status_and_select_train_the_same_model(tmp_path, capsys):
    """``merge --save-model`` and ``select --save-model`` fit the round's model by the one recipe:
    on the same labels and seed they save the same weights."""
    frame = _table(seed=4)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code = main(["select", str(path), "--label", "label", "--id", "key", "--budget", "2", "--strategy", "random",
                 "--seed", "7", "--out", str(tmp_path / "p.csv"), "--save-model", str(tmp_path / "a.npz"), "-q"])
    assert code == 0, capsys.readouterr().err
    from dami_np._fit_table import fit_table

    table = fit_table(frame[["a", "b", "color"]], frame["label"], random_state=7)
    saved = dami_np._model_io.load_model(tmp_path / "a.npz")
    for w_saved, w_fit in zip(saved.model.coefs_, table.model.coefs_):
        np.testing.assert_array_equal(w_saved, w_fit)


def test_one_label_encoder_and_one_stratified_split():
    """simulate encodes labels with the round's encoder (so mixed-type labels work as in select)
    and holds out its test part with the split MLPClassifier's early stopping uses."""
    from dami_np import _mlp, _simulate
    from dami_np._labels import encode_labels

    y = np.array(["b", 1, "a", 1, "b"], dtype=object)
    classes, codes = _simulate._encode_y(y, 5)
    _, expected_codes, expected_classes = encode_labels(y, 5)
    np.testing.assert_array_equal(codes, expected_codes)
    assert list(classes) == list(expected_classes)
    assert _mlp._stratified_split is _simulate._stratified_split
    from dami_np import _fit_table

    assert _mlp.encode_labels is encode_labels and _fit_table.encode_labels is encode_labels
    # the MLP's classes_ are the encoder's, in the label array's own dtype (scikit-learn's np.unique)
    model = dami_np.MLPClassifier((3,), max_iter=3, random_state=0).fit(np.eye(4), np.array(["b", "a", "b", "c"]))
    assert model.classes_.dtype == np.dtype("<U1") and list(model.classes_) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="mutually comparable"):
        dami_np.MLPClassifier((3,), max_iter=3).fit(np.eye(2), np.array(["a", 1], dtype=object))
