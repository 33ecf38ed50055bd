"""A saved round as a model that serves (issue 25): ``dami predict``, ``dami_np.load_model``,
and the feature selection a model file remembers (issue 24 item 6)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import dami_np
from test_workflow import assert_one_error_line as one_error_line  # the suite's CLI helpers
from test_workflow import run


def make_table(n: int = 120, labeled: int = 40, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b, noise = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    truth = np.where(a + 0.5 * b + (color == "red") > 0.3, "yes", "no").astype(object)
    label = truth.copy()
    label[labeled:] = None
    frame = pd.DataFrame({"key": [f"k{i:03d}" for i in range(n)], "a": a.round(4), "b": b.round(4),
                          "noise": noise.round(4), "color": color, "label": label})
    return frame, truth


def saved_round(tmp_path, capsys, *extra: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A round with --save-model (features chosen with --id/--exclude); returns (table, picks report)."""
    frame, _ = make_table()
    frame.to_csv(tmp_path / "t.csv", index=False)
    code, _, err = run(capsys, "select", str(tmp_path / "t.csv"), "--label", "label", "--budget", "6", "--id", "key",
                       "--exclude", "noise", "--save-model", str(tmp_path / "m.npz"), "--out",
                       str(tmp_path / "picks.json"), "-q", *extra)
    assert code == 0, err
    return frame, pd.DataFrame(json.loads((tmp_path / "picks.json").read_text()))


def test_predict_gives_the_rounds_own_numbers_bit_for_bit(tmp_path, capsys):
    frame, picks = saved_round(tmp_path, capsys)
    code, _, err = run(capsys, "predict", str(tmp_path / "t.csv"), "--model", str(tmp_path / "m.npz"), "--out",
                       str(tmp_path / "p.json"), "--proba", "-q")
    assert code == 0, err
    out = pd.DataFrame(json.loads((tmp_path / "p.json").read_text()))
    assert list(out.columns) == ["row", "key", "predicted", "probability", "probability_no", "probability_yes",
                                 "explanation"]  # the id column comes from the model file
    assert out["row"].tolist() == list(range(len(frame))) and out["key"].tolist() == frame["key"].tolist()
    mine = out.set_index("row").loc[picks["row"]]
    assert mine["predicted"].tolist() == picks["predicted"].tolist()
    assert mine["probability"].tolist() == picks["probability"].tolist()  # bit for bit (JSON keeps every digit)
    assert mine["explanation"].tolist() == picks["explanation"].tolist()
    assert "noise" not in " ".join(out["explanation"])  # the excluded column is no feature
    model = dami_np.load_model(tmp_path / "m.npz")
    proba = model.predict_proba(frame)
    assert proba[:, 1].tolist() == out["probability_yes"].tolist()
    assert model.predict(frame).tolist() == out["predicted"].tolist()
    assert model.explain(frame) == out["explanation"].tolist()
    assert model.feature_names_in_.tolist() == ["a", "b", "color"] and model.info_["table"]["id"] == "key"


def test_round_model_file_refuses_raw_dataframes(tmp_path, capsys):
    frame, _ = saved_round(tmp_path, capsys)
    network = dami_np.MLPClassifier.load(tmp_path / "m.npz")
    raw = pd.DataFrame({"a": frame["a"], "b": frame["b"], "c1": 0.0, "c2": 0.0, "c3": 0.0})  # five numbers a row
    with pytest.raises(ValueError, match="preprocessed table"):
        network.predict(raw)
    model = dami_np.load_model(tmp_path / "m.npz")
    with pytest.raises(ValueError, match="lacks feature column.*'color'"):
        model.predict(frame.drop(columns=["color"]))
    assert network.predict(model.transform(frame)).tolist() == model.predict(frame).tolist()


def test_table_model_is_a_scikit_learn_estimator(tmp_path, capsys):
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    frame, _ = saved_round(tmp_path, capsys)
    _, truth = make_table()
    model = dami_np.load_model(tmp_path / "m.npz")
    fresh = clone(model)
    assert not hasattr(fresh, "network_") and fresh.get_params()["model"].get_params() == model.model.get_params()
    X = frame[["a", "b", "color"]]
    fitted = fresh.fit(X, truth)
    assert fitted.feature_names_in_.tolist() == ["a", "b", "color"] and fitted.score(X, truth) > 0.8
    pipe = Pipeline([("model", clone(model).set_params(model__max_iter=50))]).fit(X, truth)
    assert pipe.predict(X).shape == (len(X),) and sklearn.base.is_classifier(model)
    as_is = Pipeline([("model", model)])  # the loaded, fitted model as a pipeline step, without refitting
    assert as_is.predict(frame).tolist() == model.predict(frame).tolist()
    with pytest.raises(Exception, match="not fitted"):
        clone(model).predict(X)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet"])
def test_predict_writes_every_format(tmp_path, capsys, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    frame, _ = saved_round(tmp_path, capsys)
    out = tmp_path / f"p.{fmt}"
    code, _, err = run(capsys, "predict", str(tmp_path / "t.csv"), "--model", str(tmp_path / "m.npz"), "--out",
                       str(out), "-q")
    assert code == 0, err
    back = pd.read_parquet(out) if fmt == "parquet" else pd.read_csv(out, sep="\t" if fmt == "tsv" else ",")
    assert len(back) == len(frame) and set(back["predicted"]) <= {"yes", "no"}


def test_predict_bad_input_is_one_line(tmp_path, capsys):
    frame, _ = saved_round(tmp_path, capsys)
    table, model = str(tmp_path / "t.csv"), str(tmp_path / "m.npz")
    one_error_line(*run(capsys, "predict", table, "--model", str(tmp_path / "none.npz"))[::2], "none.npz")
    frame.drop(columns=["color"]).to_csv(tmp_path / "less.csv", index=False)
    one_error_line(*run(capsys, "predict", str(tmp_path / "less.csv"), "--model", model)[::2], "'color'")
    bad = frame.astype({"a": object})
    bad.loc[7, "a"] = "abc"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    one_error_line(*run(capsys, "predict", str(tmp_path / "bad.csv"), "--model", model)[::2], "'a'", "abc")
    net = dami_np.MLPClassifier(max_iter=5, random_state=0).fit(np.eye(3), [0, 1, 1])
    net.save(tmp_path / "bare.npz")
    one_error_line(*run(capsys, "predict", table, "--model", str(tmp_path / "bare.npz"))[::2], "preprocessing")
    one_error_line(*run(capsys, "predict", table, "--model", model, "--id", "nope")[::2], "nope")
    before = (tmp_path / "t.csv").read_bytes()
    one_error_line(*run(capsys, "predict", table, "--model", model, "--out", table)[::2], "input")
    assert (tmp_path / "t.csv").read_bytes() == before


def test_status_and_merge_take_the_columns_from_the_model_file(tmp_path, capsys):
    saved_round(tmp_path, capsys, "--sheet", str(tmp_path / "s.csv"))
    code, out, err = run(capsys, "status", str(tmp_path / "t.csv"), "--label", "label", "--model",
                         str(tmp_path / "m.npz"))
    assert code == 0, err  # without --id/--exclude: they come from m.npz (before: 'key' refused as a feature)
    assert "agreement with the previous round's model" in out and "trained from scratch" not in out
    sheet = pd.read_csv(tmp_path / "s.csv")
    _, truth = make_table()
    sheet["label"] = truth[sheet["dami_row"].to_numpy()]
    sheet.to_csv(tmp_path / "s.csv", index=False)
    code, _, err = run(capsys, "merge", str(tmp_path / "s.csv"), "--into", str(tmp_path / "t.csv"), "--label",
                       "label", "--model", str(tmp_path / "m.npz"), "--save-model", str(tmp_path / "m2.npz"), "-q")
    assert code == 0, err
    merged = dami_np.load_model(tmp_path / "m2.npz")
    assert merged.feature_names_in_.tolist() == ["a", "b", "color"]
    assert merged.info_["table"] == {"label": "label", "id": "key", "features": ["a", "b", "color"]}
    code, _, err = run(capsys, "select", str(tmp_path / "t.csv"), "--label", "label", "--budget", "3", "--id", "key",
                       "--exclude", "noise", "--model", str(tmp_path / "m2.npz"), "-q")
    assert code == 0, err  # the next round accepts merge's model (before: refused, trained on 'noise' too)


def test_probabilities_on_a_terminal_have_4_significant_digits(tmp_path, capsys, monkeypatch):
    saved_round(tmp_path, capsys)
    argv = ("predict", str(tmp_path / "t.csv"), "--model", str(tmp_path / "m.npz"), "--proba")
    code, piped, err = run(capsys, *argv)
    assert code == 0, err
    full = pd.read_csv(__import__("io").StringIO(piped))
    monkeypatch.setattr("dami_np.cli._console.stdout_is_terminal", lambda: True)
    code, shown, err = run(capsys, *argv)
    assert code == 0, err
    lines = shown.splitlines()
    first = dict(zip(lines[0].split(","), next(__import__("csv").reader([lines[1]]))))
    assert first["probability"] == f"{full['probability'][0]:.4g}" and len(first["probability"]) <= 6
    assert first["probability_yes"] == f"{full['probability_yes'][0]:.4g}"
    assert len(str(full["probability"][0])) > 8  # a pipe or a file keeps every digit
