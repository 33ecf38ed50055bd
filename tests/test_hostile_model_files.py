"""Model files from someone else: damaged, hostile or odd files fail as one ValueError, never worse.

Every case ends as ``damaged model file NAME: <what>`` (or the 'not a model file' / version
messages), costs no more memory than the file's own bytes, runs no pickle and leaves no file open.
"""

from __future__ import annotations

import gc
import io
import json
import os
import subprocess
import sys
import threading
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dami_np
from dami_np import _model_io
from dami_np._preprocess import TabularPreprocessor

DAMI = str(Path(sys.executable).with_name("dami"))
_ACCEPTED = ("damaged model file", "not a dami-np model file", "model format version")


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A small CLI-like model file (with preprocessing state), its members and a table it reads."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40), "c": rng.choice(["x", "y"], 40)})
    y = np.where(frame["a"] > 0, "hi", "lo")
    pre = TabularPreprocessor().fit(frame)
    Xe = pre.transform(frame)
    model = dami_np.MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(Xe, y)
    path = tmp_path_factory.mktemp("model") / "m.npz"
    _model_io.save_model(model, path, preprocessor=pre, info={"history": [0.5], "seed": 0, "strategy": "random",
                                                               "table": {"label": "y", "id": None,
                                                                         "features": ["a", "b", "c"]}})
    with np.load(path, allow_pickle=False) as npz:
        members = {k: npz[k] for k in npz.files}
    return path, members, Xe


def _write(path: Path, members: dict) -> Path:
    with open(path, "wb") as handle:
        np.savez(handle, **members)
    return path


def _with_meta(members: dict, change) -> dict:
    meta = json.loads(str(members["meta"]))
    change(meta)
    return {**members, "meta": np.array(json.dumps(meta))}


def _damaged(path, *needles: str) -> str:
    with pytest.raises(ValueError) as caught:
        _model_io.load_model(path)
    text = str(caught.value)
    assert "\n" not in text and text.startswith(f"damaged model file {path}: "), text
    for needle in needles:
        assert needle in text, text
    return text


def test_the_good_file_loads(good):
    path, _, Xe = good
    saved = _model_io.load_model(path)
    assert saved.info["table"] == {"label": "y", "id": None, "features": ["a", "b", "c"]}
    assert saved.model.predict_proba(Xe).shape == (40, 2)


def test_what_dami_writes_loads(good, tmp_path):
    """An undefined agreement (NaN: no unlabeled rows left) and an audit record are valid metadata."""
    _, members, _ = good
    path = _write(tmp_path / "m.npz", _with_meta(members, lambda m: m["info"].update(
        history=[float("nan"), 0.9], audit={"rows": [3, 1], "ids": ["a", None]})))
    saved = _model_io.load_model(path)
    assert np.isnan(saved.info["history"][0]) and saved.info["audit"]["rows"] == [3, 1]


def test_an_unused_member_is_never_inflated(good, tmp_path):
    path, members, _ = good
    target = tmp_path / "m.npz"
    target.write_bytes(path.read_bytes())
    with zipfile.ZipFile(target, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("junk.npy", "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(64):  # 64 MiB of zeros, a few kB on disk
                member.write(chunk)
    assert target.stat().st_size < 2 * path.stat().st_size + (1 << 20)
    tracemalloc.start()
    try:
        _model_io.load_model(target)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, peak


def _npy_header(shape, descr="<f4") -> bytes:
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    text = repr(header).encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text


def _replace_raw(source: Path, target: Path, name: str, raw: bytes) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, raw if info.filename == name else old.read(info.filename))
    return target


def test_a_declared_huge_shape_is_refused_before_any_allocation(good, tmp_path):
    path, members, _ = good
    target = _replace_raw(path, tmp_path / "huge.npz", "flat.npy", _npy_header((10**12,)) + bytes(64))
    tracemalloc.start()
    try:
        _damaged(target, "flat")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20
    huge_layers = _with_meta(members, lambda m: (m.update(layer_sizes=[m["layer_sizes"][0], 10**6, 10**6, 2]),
                                                  m["params"].update(hidden_layer_sizes=[10**6, 10**6])))
    _damaged(_write(tmp_path / "layers.npz", huge_layers), "flat")


@pytest.mark.parametrize("change, needle", [
    (lambda m: m["params"].update(max_iter=10**9, tol=0), "max_iter"),
    (lambda m: m["params"].update(max_iter=1e9), "max_iter"),
    (lambda m: m["params"].update(n_iter_no_change=10**9), "n_iter_no_change"),
    (lambda m: m["params"].update(batch_size="64"), "batch_size"),
    (lambda m: m["params"].update(hidden_layer_sizes=7), "hidden_layer_sizes"),
    (lambda m: m["params"].update(dtype="float16"), "dtype"),
    (lambda m: m["params"].update(learning_rate_init=float("nan")), "learning_rate_init"),
    (lambda m: m.update(info=[1, 2]), "info"),
    (lambda m: m.update(info={"history": ["x"]}), "history"),
    (lambda m: m.update(info={"table": {"label": 3, "id": None, "features": []}}), "table"),
    (lambda m: m.update(info={"audit": {"rows": ["x"]}}), "audit"),
    (lambda m: m.update(info={"audit": {"rows": [1e30]}}), "audit"),
    (lambda m: m.update(info={"audit": {"rows": [1, 2], "ids": ["a"]}}), "audit"),
    (lambda m: m.update(info={"history": [0.5, 2.0]}), "history"),
    (lambda m: m.update(params=[]), "params"),
    (lambda m: m.update(layer_sizes=[2, 4, "2"]), "layer_sizes"),
    (lambda m: m.update(n_features_in=99), "n_features_in"),
    (lambda m: m.update(adam={"t": -1}), "adam"),
    (lambda m: m.update(loss="low"), "loss"),
    (lambda m: m.update(classes_kind=[1]), "classes_kind"),
])
def test_bad_metadata_is_one_clear_line(good, tmp_path, change, needle):
    _, members, _ = good
    _damaged(_write(tmp_path / "m.npz", _with_meta(members, change)), needle)


def _preprocessor(members: dict, change) -> dict:
    state = json.loads(str(members["preprocessor"]))
    state = change(state)
    return {**members, "preprocessor": np.array(json.dumps(state))}


@pytest.mark.parametrize("change", [
    lambda s: s["specs"],  # stored as a list
    lambda s: (s["specs"][0].update(median="3.5"), s)[1],  # a median given as text
    lambda s: (s["specs"][0].update(scale=0.0), s)[1],
    lambda s: (s["specs"][0].update(kind="pickle"), s)[1],
    lambda s: (s["specs"][2].update(levels=5), s)[1],
    lambda s: (s.update(columns=s["columns"][:1]), s)[1],
])
def test_bad_preprocessing_state_is_one_clear_line(good, tmp_path, change):
    _, members, _ = good
    _damaged(_write(tmp_path / "m.npz", _preprocessor(members, change)), "preprocess")


@pytest.mark.parametrize("member, value, needle", [
    ("flat", lambda f: np.full_like(f, np.nan), "NaN"),
    ("flat", lambda f: np.full_like(f, 1e30), "large"),
    ("flat", lambda f: f.astype(np.float16), "dtype"),
    ("flat", lambda f: np.array(["abcde"] * f.size), "dtype"),
    ("flat", lambda f: f.astype(">f4"), "dtype"),
    ("flat", lambda f: f[:-1], "shape"),
    ("flat", lambda f: f.reshape(1, -1), "shape"),
    ("classes", lambda c: np.array([1.5, np.nan]), "classes"),
    ("classes", lambda c: np.array(["a", "a"]), "classes"),
    ("classes", lambda c: np.array([0.0, 1.0], dtype=np.float16), "dtype"),
    ("adam_v", lambda v: -np.ones_like(v), "adam_v"),
    ("loss_curve", lambda c: np.array([[1.0]]), "loss_curve"),
    ("meta", lambda m: np.array([str(m)]), "meta"),
    ("meta", lambda m: np.array(7), "meta"),
])
def test_bad_arrays_are_one_clear_line(good, tmp_path, member, value, needle):
    _, members, _ = good
    _damaged(_write(tmp_path / "m.npz", {**members, member: value(members[member])}), needle)


def test_a_pickled_member_never_runs(good, tmp_path):
    _, members, _ = good
    marker = tmp_path / "ran"
    payload = np.array([_Payload(str(marker)), 1], dtype=object)
    path = tmp_path / "m.npz"
    with open(path, "wb") as handle:
        np.savez(handle, **{**members, "classes": payload})
    _damaged(path, "classes")
    assert not marker.exists()


class _Payload:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_deeply_nested_metadata(good, tmp_path):
    _, members, _ = good
    deep = _with_meta(members, lambda m: m["info"].update(extra=None))
    text = str(deep["meta"]).replace('"extra": null', '"extra": ' + "[" * 100_000 + "]" * 100_000)
    _damaged(_write(tmp_path / "m.npz", {**members, "meta": np.array(text)}), "nested")


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.3, 0.5, 0.9, 0.999])
def test_a_truncated_file_is_one_line_and_closes_the_file(good, tmp_path, fraction):
    path, _, _ = good
    raw = path.read_bytes()
    target = tmp_path / "m.npz"
    target.write_bytes(raw[: max(1, int(len(raw) * fraction))])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        with pytest.raises(ValueError, match="damaged model file|not a dami-np model file"):
            _model_io.load_model(target)
        gc.collect()


def test_a_file_that_cannot_seek_loads(good, tmp_path):
    path, _, Xe = good
    read_fd, write_fd = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(write_fd, path.read_bytes()), os.close(write_fd)))
    writer.start()
    try:
        saved = _model_io.load_model(f"/dev/fd/{read_fd}")
    finally:
        writer.join()
        os.close(read_fd)
    assert np.array_equal(saved.model.predict_proba(Xe), _model_io.load_model(path).model.predict_proba(Xe))

    class Stream(io.RawIOBase):  # a non-seekable file object
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            return self.inner.readinto(buffer)

    assert _model_io.load_model(Stream(path.read_bytes())).model.n_features_in_ == Xe.shape[1]
    with pytest.raises(ValueError, match="damaged model file"):
        _model_io.load_model(Stream(path.read_bytes()[:-100]))


def test_open_file_objects_load_and_stay_open(good):
    path, _, Xe = good
    with open(path, "rb") as handle:
        assert _model_io.load_model(handle).model.n_features_in_ == Xe.shape[1]
        assert not handle.closed
    buffer = io.BytesIO(path.read_bytes())
    assert dami_np.MLPClassifier.load(buffer).n_features_in_ == Xe.shape[1] and not buffer.closed


def test_save_refuses_what_load_would_refuse(good, tmp_path):
    _, _, Xe = good
    model = dami_np.MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(Xe, np.arange(40) % 2)
    model.set_params(max_iter=10**6)
    with pytest.raises(ValueError, match="max_iter"):
        model.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_cli_prints_one_line_for_a_truncated_model(good, tmp_path):
    path, _, _ = good
    table = tmp_path / "t.csv"
    pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.4], "b": [1.0, 2.0, 3.0, 4.0], "c": ["x", "y", "x", "y"],
                  "y": ["hi", "lo", None, None]}).to_csv(table, index=False)
    cut = tmp_path / "m.npz"
    cut.write_bytes(path.read_bytes()[:-50])
    run = subprocess.run([DAMI, "select", str(table), "--label", "y", "--budget", "1", "--model", str(cut)],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONWARNINGS": "default"})
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2 and len(lines) == 1, run.stderr
    assert lines[0].startswith(f"dami: error: damaged model file {cut}: "), run.stderr


# ---------------------------------------------------------------------- fuzzing
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, prefix + (i,))


def _set(record, path, value):
    for key in path[:-1]:
        record = record[key]
    record[path[-1]] = value


def _check_outcome(path, Xe) -> None:
    try:
        saved = _model_io.load_model(path)
    except ValueError as error:
        text = str(error)
        assert "\n" not in text and any(needle in text for needle in _ACCEPTED), text
        return
    with np.errstate(all="ignore"):
        try:
            saved.model.predict_proba(Xe[:5])
        except ValueError:
            pass


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzz_metadata(good, tmp_path_factory, data):
    _, members, Xe = good
    which = data.draw(st.sampled_from(["meta", "preprocessor"]))
    record = json.loads(str(members[which]))
    paths = [p for p in _paths(record) if p]
    path = data.draw(st.sampled_from(paths))
    _set(record, path, data.draw(_json_values))
    target = tmp_path_factory.mktemp("fuzz") / "m.npz"
    _write(target, {**members, which: np.array(json.dumps(record))})
    _check_outcome(target, Xe)


_ARRAYS = st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.int64, np.bool_, "<U3", ">f8", np.complex64])


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzz_bytes_and_members(good, tmp_path_factory, data):
    path, members, Xe = good
    target = tmp_path_factory.mktemp("fuzz") / "m.npz"
    how = data.draw(st.sampled_from(["flip", "truncate", "swap", "dtype", "shape", "drop"]))
    if how == "flip":
        raw = bytearray(path.read_bytes())
        for _ in range(data.draw(st.integers(1, 6))):
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
        target.write_bytes(bytes(raw))
    elif how == "truncate":
        raw = path.read_bytes()
        target.write_bytes(raw[: data.draw(st.integers(0, len(raw) - 1))])
    else:
        names = sorted(members)
        changed = dict(members)
        first = data.draw(st.sampled_from(names))
        if how == "swap":
            second = data.draw(st.sampled_from(names))
            changed[first], changed[second] = members[second], members[first]
        elif how == "dtype":
            changed[first] = members[first].astype(data.draw(_ARRAYS)) if members[first].dtype.kind != "U" \
                else np.zeros(3, dtype=data.draw(_ARRAYS))
        elif how == "shape":
            changed[first] = np.resize(members[first], data.draw(st.lists(st.integers(0, 4), max_size=3)))
        else:
            del changed[first]
        _write(target, changed)
    _check_outcome(target, Xe)
