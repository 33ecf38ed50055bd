"""Saved models: .npz without pickle, bit-identical predictions, exact warm start, clear errors."""

from __future__ import annotations

import json
import os
import stat
import zipfile

import numpy as np
import pandas as pd
import pytest

import dami_np
from dami_np import _model_io
from dami_np._preprocess import TabularPreprocessor


@pytest.fixture(scope="module")
def data():
    X, y = dami_np.datasets.load("vehicle")
    pre = TabularPreprocessor()
    return X, y.to_numpy(), pre.fit_transform(X), pre


def _fit(Xe, y, n=150, **params):
    return dami_np.MLPClassifier(hidden_layer_sizes=(16,), max_iter=30, random_state=0, **params).fit(Xe[:n], y[:n])


def test_round_trip_bit_identical(tmp_path, data):
    _, y, Xe, _ = data
    model = _fit(Xe, y)
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = dami_np.MLPClassifier.load(path)
    assert np.array_equal(model.predict_proba(Xe), loaded.predict_proba(Xe))
    assert np.array_equal(model.logits(Xe), loaded.logits(Xe))
    assert list(loaded.classes_) == list(model.classes_)
    assert loaded.classes_.dtype == model.classes_.dtype
    assert loaded.get_params() == model.get_params()
    W, b = model.local_linear(Xe[:5])
    W2, b2 = loaded.local_linear(Xe[:5])
    assert np.array_equal(W, W2) and np.array_equal(b, b2)


def test_loads_without_pickle_and_holds_only_plain_arrays(tmp_path, data):
    _, y, Xe, pre = data
    path = tmp_path / "m.npz"
    _model_io.save_model(_fit(Xe, y), path, preprocessor=pre, info={"history": [0.5]})
    with np.load(path, allow_pickle=False) as npz:
        for key in npz.files:
            assert npz[key].dtype.kind in "biufU", key
        assert str(npz["format"]) == "dami-np-model"
        assert int(npz["format_version"]) == _model_io.FORMAT_VERSION
        json.loads(str(npz["meta"]))


def test_preprocessor_state_round_trip(tmp_path, data):
    X, y, Xe, pre = data
    frame = pd.DataFrame({"num": [1.5, np.nan, 3.0, 1e300], "cat": ["a", None, "b", "a"],
                          "when": ["2024-01-01", "2024-02-01", "2024-03-01", None]})
    pre2 = TabularPreprocessor().fit(frame)
    path = tmp_path / "m.npz"
    _model_io.save_model(_fit(Xe, y), path, preprocessor=pre2)
    saved = _model_io.load_model(path)
    assert np.array_equal(saved.preprocessor.transform(frame), pre2.transform(frame))
    assert saved.preprocessor.feature_names_out_ == pre2.feature_names_out_
    assert saved.columns == ["num", "cat", "when"]
    assert _model_io.same_preprocessing(saved.preprocessor, pre2)
    assert not _model_io.same_preprocessing(saved.preprocessor, TabularPreprocessor().fit(frame.iloc[:3]))


def test_warm_start_continues_exactly(tmp_path, data):
    _, y, Xe, _ = data
    memory = _fit(Xe, y, warm_start=True)
    path = tmp_path / "m.npz"
    memory.save(path)
    loaded = dami_np.MLPClassifier.load(path)
    memory.fit(Xe[:300], y[:300])
    loaded.fit(Xe[:300], y[:300])
    assert loaded.n_iter_ == memory.n_iter_
    assert np.array_equal(loaded.coefs_[0], memory.coefs_[0])
    assert np.array_equal(loaded.predict_proba(Xe), memory.predict_proba(Xe))
    assert loaded.loss_curve_ == memory.loss_curve_


@pytest.mark.parametrize("labels", [
    np.array([3, 7, 9]), np.array(["x", "y", "z"]), np.array(["x", "y", "z"], dtype=object),
    np.array([0.0, 1.0, 2.0]), np.array([True, False, True]),
])
def test_label_kinds(tmp_path, data, labels):
    _, y, Xe, _ = data
    codes = np.searchsorted(np.unique(y), y) % 3
    model = dami_np.MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=1).fit(Xe[:90], labels[codes[:90]])
    model.save(tmp_path / "m.npz")
    loaded = dami_np.MLPClassifier.load(tmp_path / "m.npz")
    assert loaded.classes_.dtype == model.classes_.dtype
    assert np.array_equal(loaded.predict(Xe), model.predict(Xe))


def test_dataframe_feature_names_kept(tmp_path):
    X = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0)[::-1] ** 0.5})
    y = np.arange(40) % 2
    model = dami_np.MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    model.save(tmp_path / "m.npz")
    loaded = dami_np.MLPClassifier.load(tmp_path / "m.npz")
    assert list(loaded.feature_names_in_) == ["a", "b"]
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_unfitted_and_foreign_models_refused(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        dami_np.MLPClassifier().save(tmp_path / "m.npz")
    with pytest.raises(ValueError, match="only a dami_np.MLPClassifier"):
        _model_io.save_model(object(), tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()
    assert os.listdir(tmp_path) == []


def _rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays.update(changes)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def test_newer_or_unknown_version_is_a_clear_error(tmp_path, data):
    _, y, Xe, _ = data
    path = tmp_path / "m.npz"
    _fit(Xe, y).save(path)
    _rewrite(path, format_version=np.array(99))
    with pytest.raises(ValueError, match="version 99 is newer"):
        dami_np.MLPClassifier.load(path)
    _rewrite(path, format_version=np.array("one"))
    with pytest.raises(ValueError, match="unknown model format version"):
        dami_np.MLPClassifier.load(path)


def test_not_a_model_file(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.arange(3))
    with pytest.raises(ValueError, match="not a dami-np model file"):
        dami_np.MLPClassifier.load(tmp_path / "other.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="not a dami-np model file"):
        dami_np.MLPClassifier.load(tmp_path / "text.npz")
    with pytest.raises(ValueError, match="no such file"):
        dami_np.MLPClassifier.load(tmp_path / "missing.npz")


def test_damaged_file_is_a_clear_error(tmp_path, data):
    _, y, Xe, _ = data
    path = tmp_path / "m.npz"
    _fit(Xe, y).save(path)
    _rewrite(path, flat=np.zeros(3, dtype=np.float32))
    with pytest.raises(ValueError, match="damaged"):
        dami_np.MLPClassifier.load(path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="model file"):
        dami_np.MLPClassifier.load(path)


def test_save_is_atomic_and_keeps_mode(tmp_path, data):
    _, y, Xe, _ = data
    path = tmp_path / "m.npz"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    _fit(Xe, y).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]
    assert zipfile.is_zipfile(path)
    new = tmp_path / "new.npz"
    old_mask = os.umask(0o027)
    try:
        _fit(Xe, y).save(new)
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o640


def test_check_columns_names_the_missing(tmp_path, data):
    X, y, Xe, pre = data
    path = tmp_path / "m.npz"
    _model_io.save_model(_fit(Xe, y), path, preprocessor=pre)
    saved = _model_io.load_model(path)
    _model_io.check_columns(saved, list(X.columns))
    with pytest.raises(ValueError, match=f"'{X.columns[0]}'"):
        _model_io.check_columns(saved, list(X.columns[1:]))
