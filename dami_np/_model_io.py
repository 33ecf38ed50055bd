"""Saved models: one ``.npz`` file, no pickle (``np.load(path, allow_pickle=False)`` reads it).

A file holds a fitted ``MLPClassifier`` (weights, classes, training parameters, Adam state and
training history, so a warm start continues exactly as it would in memory) and, when it was
saved by ``dami select``/``dami merge``, the preprocessing of the table (columns, kinds,
medians, scales, category levels) and the stopping history (agreement of each round with the
round before).  Every array is numeric or unicode; structured metadata is one JSON string.

Keys: ``format`` ("dami-np-model"), ``format_version`` (int), ``meta`` (JSON), ``flat``
(all weights then all intercepts, the model's dtype), ``adam_m``/``adam_v``, ``classes``,
``loss_curve``, optionally ``feature_names_in``, ``validation_scores`` and ``preprocessor``
(JSON).  A newer or unknown ``format_version`` is refused with a clear error.
"""

from __future__ import annotations

import io
import json
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._model_file_checks import MAX_EPOCHS, check_meta, check_params, check_preprocessor_state, parse_json
from ._npz_reader import NpzArchive, NpzError

__all__ = ["FORMAT", "FORMAT_VERSION", "SavedModel", "save_model", "load_model", "model_arrays",
           "preprocessor_state", "preprocessor_from_state", "check_columns"]

FORMAT = "dami-np-model"
FORMAT_VERSION = 1
_PREPROCESSOR_VERSION = 1


@dataclass
class SavedModel:
    """What a model file holds: the model, the table's preprocessing (or None) and extra metadata."""

    model: Any
    preprocessor: Any = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def columns(self) -> list[str] | None:
        """The input columns the model was trained on (None without preprocessing state)."""
        return None if self.preprocessor is None else list(self.preprocessor.columns_)


# ---------------------------------------------------------------------- writing
def model_arrays(model: Any, *, preprocessor: Any = None, classes: Any = None,
                 info: dict[str, Any] | None = None) -> dict[str, np.ndarray]:
    """The arrays of a model file (see the module docstring); ``classes`` overrides ``classes_``
    (a model fit on label codes is saved with the user's labels)."""
    from ._mlp import MLPClassifier

    if not isinstance(model, MLPClassifier):
        raise ValueError(f"only a dami_np.MLPClassifier can be saved, got {type(model).__name__}")
    if not hasattr(model, "coefs_"):
        raise ValueError("this MLPClassifier is not fitted yet; fit it before saving")
    labels = np.asarray(model.classes_ if classes is None else classes)
    if labels.shape != (len(model.classes_),):
        raise ValueError(f"classes must hold {len(model.classes_)} labels, got shape {labels.shape}")
    labels, labels_kind = _plain_labels(labels)
    params = model.get_params()
    params["hidden_layer_sizes"] = [int(h) for h in np.atleast_1d(params["hidden_layer_sizes"])]
    seed = params.get("random_state")
    if seed is not None and not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        params["random_state"] = None  # a Generator or RandomState cannot be stored; a load gets None
    else:
        params["random_state"] = None if seed is None else int(seed)
    params["dtype"] = np.dtype(model._dtype).name
    try:
        check_params(params)  # what load_model accepts: a file never asks for more than dami writes
    except ValueError as error:
        raise ValueError(f"this model cannot be saved: {error} (a model file holds at most "
                         f"max_iter={MAX_EPOCHS}, see dami_np._model_file_checks)") from None
    adam = model._adam
    meta = {
        "params": params,
        "layer_sizes": [int(s) for s in model._layout.layer_sizes],
        "n_features_in": int(model.n_features_in_),
        "classes_kind": labels_kind,
        "n_iter": int(getattr(model, "n_iter_", 0)),
        "loss": _float_or_none(getattr(model, "loss_", None)),
        "best_loss": _float_or_none(getattr(model, "best_loss_", None)),
        "best_validation_score": _float_or_none(getattr(model, "best_validation_score_", None)),
        "adam": None if adam is None else {"t": int(adam.t), "lr": float(adam.lr), "beta1": float(adam.beta1),
                                            "beta2": float(adam.beta2), "eps": float(adam.eps)},
        "info": dict(info or {}),
    }
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "meta": np.array(json.dumps(meta, allow_nan=True)),
        "flat": np.ascontiguousarray(model._flat),
        "classes": labels,
        "loss_curve": np.asarray(getattr(model, "loss_curve_", []), dtype=np.float64),
    }
    if adam is not None:
        arrays["adam_m"] = np.ascontiguousarray(adam.m)
        arrays["adam_v"] = np.ascontiguousarray(adam.v)
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        arrays["feature_names_in"] = np.asarray([str(n) for n in names], dtype=str)
    scores = getattr(model, "validation_scores_", None)
    if scores is not None:
        arrays["validation_scores"] = np.asarray(scores, dtype=np.float64)
    if preprocessor is not None:
        arrays["preprocessor"] = np.array(json.dumps(preprocessor_state(preprocessor), allow_nan=True))
    return arrays


def write_npz(arrays: dict[str, np.ndarray], path: str | os.PathLike[str]) -> None:
    """Write ``arrays`` as an uncompressed ``.npz`` to ``path`` exactly (no ``.npz`` appended)."""
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def save_model(model: Any, path: str | os.PathLike[str], *, preprocessor: Any = None, classes: Any = None,
               info: dict[str, Any] | None = None) -> None:
    """Save ``model`` (a fitted ``MLPClassifier``) to ``path`` atomically: a temporary file beside
    it, then a rename; a new file gets the mode the umask allows, a replaced one keeps its mode."""
    arrays = model_arrays(model, preprocessor=preprocessor, classes=classes, info=info)
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    os.close(handle)
    try:
        os.chmod(tmp_name, _mode_for(path))
        write_npz(arrays, tmp_name)
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mask = os.umask(0o022)
        os.umask(mask)
        return 0o666 & ~mask


# ---------------------------------------------------------------------- reading
def load_model(path: str | os.PathLike[str] | io.IOBase) -> SavedModel:
    """Read a model file written by ``save_model`` (``MLPClassifier.save``, ``dami select --save-model``).

    Only the members the format defines are read, each after its declared dtype, shape and size
    were checked (``_npz_reader``), and every value is validated (``_model_file_checks``), so a
    hostile file costs no more memory than its own size and fails as one ``ValueError``:
    ``damaged model file NAME: <what>``; a file of another kind or a newer format version is
    refused with its own clear message.
    """
    shown = str(path) if not isinstance(path, io.IOBase) else "model file"
    try:
        with NpzArchive(path) as archive:
            return _read_model(archive, shown)
    except FileNotFoundError:
        raise ValueError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{shown}: is a directory, not a model file") from None
    except PermissionError as error:
        raise ValueError(f"{shown}: cannot read: {error.strerror}") from None
    except NpzError as error:
        if not error.zip_like:
            raise ValueError(f"{shown}: not a dami-np model file (.npz written by --save-model or "
                             f"MLPClassifier.save): {_short(error)}") from None
        raise ValueError(f"damaged model file {shown}: {_short(error)}") from None
    except OSError as error:
        raise ValueError(f"{shown}: cannot read: {error.strerror or _short(error)}") from None
    except MemoryError:
        raise ValueError(f"damaged model file {shown}: it needs more memory than is available") from None


# The largest text member (JSON) a model file may hold, in characters.
_TEXT_LIMIT = 1 << 24
_WEIGHT_DTYPES = {"float32": "<f4", "float64": "<f8"}
# |weight| a model may have outside the first layer (and there too when it reads standardized input):
# training never gets near it; beyond it, predictions and warm starts overflow.
_MAX_WEIGHT = 1e8


def _read_model(archive: NpzArchive, shown: str) -> SavedModel:
    if "format" not in archive.names:
        raise ValueError(f"{shown}: not a dami-np model file (an .npz without the '{FORMAT}' marker)")
    try:
        marker = str(archive.read("format", dtypes=lambda d: d.kind == "U" and d.itemsize <= 256, shape=_scalar))
    except NpzError:
        marker = None
    if marker != FORMAT:
        raise ValueError(f"{shown}: not a dami-np model file (an .npz without the '{FORMAT}' marker)")
    try:
        version_array = archive.read("format_version", shape=_scalar,
                                     dtypes=lambda d: d.kind in "iu" or (d.kind == "U" and d.itemsize <= 256))
    except NpzError as error:
        raise ValueError(f"damaged model file {shown}: {_short(error)}") from None
    version = int(version_array) if version_array.dtype.kind in "iu" else None
    if version is None or version < 1:
        raise ValueError(f"{shown}: unknown model format version {version_array.tolist()!r}")
    if version > FORMAT_VERSION:
        raise ValueError(f"{shown}: model format version {version} is newer than this dami-np reads "
                         f"(version {FORMAT_VERSION}); upgrade dami-np to load it")
    try:
        meta = check_meta(parse_json(_read_text(archive, "meta"), "meta"))
        model = _build_model(archive, meta)
        preprocessor = None
        if "preprocessor" in archive.names:
            state = parse_json(_read_text(archive, "preprocessor"), "preprocessor")
            if isinstance(state, dict) and state.get("version") != _PREPROCESSOR_VERSION:
                raise ValueError(f"unknown preprocessing state version {state.get('version')!r}")
            check_preprocessor_state(state)
            _check_weight_sizes(model, first_layer=True)
            preprocessor = preprocessor_from_state(state)
            model._preprocessed_input = True  # it reads the preprocessed matrix: a raw DataFrame is refused
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"damaged model file {shown}: {_short(error)}") from None
    return SavedModel(model, preprocessor, meta["info"])


def _build_model(archive: NpzArchive, meta: dict[str, Any]) -> Any:
    from ._mlp import MLPClassifier
    from ._mlp_math import Adam, ParamLayout

    params = dict(meta["params"])
    params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    known = set(MLPClassifier._param_names())
    model = MLPClassifier(**{k: v for k, v in params.items() if k in known})
    dtype = np.dtype(params["dtype"])
    layout = ParamLayout(list(meta["layer_sizes"]))
    weights = _WEIGHT_DTYPES[params["dtype"]]
    flat = archive.read("flat", dtypes=lambda d: d.str == weights, shape=_exactly((layout.size,)))
    _require_finite(flat, "flat (the weights)")
    n_classes = layout.layer_sizes[-1]
    kind = meta.get("classes_kind", "plain")
    labels = archive.read("classes", shape=_exactly((n_classes,)), dtypes=_label_dtype(kind))
    if labels.dtype.kind == "f":
        _require_finite(labels, "classes")
    if len(np.unique(labels)) != n_classes:
        raise ValueError("classes holds the same label twice")
    model._dtype = dtype
    model._layout = layout
    model._flat = flat
    model.coefs_, model.intercepts_ = layout.views(flat)
    _check_weight_sizes(model, first_layer=False)
    model.classes_ = _restore_labels(labels, kind)
    model.n_features_in_ = int(meta["n_features_in"])
    if "feature_names_in" in archive.names:
        names = archive.read("feature_names_in", shape=_exactly((model.n_features_in_,)),
                             dtypes=lambda d: d.kind == "U" and d.itemsize <= 4 * 65536)
        model.feature_names_in_ = np.asarray(names.tolist(), dtype=object)
    adam_meta = meta.get("adam")
    if adam_meta is not None and "adam_m" in archive.names:
        moments = [archive.read(name, dtypes=lambda d: d.str == weights, shape=_exactly((layout.size,)))
                   for name in ("adam_m", "adam_v")]
        for name, moment in zip(("adam_m", "adam_v"), moments):
            _require_finite(moment, name)
        if (moments[1] < 0).any():
            raise ValueError("adam_v has negative entries")
        adam = Adam(layout.size, dtype, float(adam_meta["lr"]), float(adam_meta["beta1"]), float(adam_meta["beta2"]),
                    float(adam_meta["eps"]))
        adam.m[...] = moments[0]
        adam.v[...] = moments[1]
        adam.t = int(adam_meta["t"])
        model._adam = adam
    else:
        model._adam = None
    model.n_iter_ = int(meta.get("n_iter", 0))
    curve = _float_member(archive, "loss_curve") if "loss_curve" in archive.names else np.empty(0)
    model.loss_curve_ = [float(v) for v in curve]
    if meta.get("loss") is not None:
        model.loss_ = float(meta["loss"])
    if meta.get("best_loss") is not None:
        model.best_loss_ = float(meta["best_loss"])
    scores = _float_member(archive, "validation_scores") if "validation_scores" in archive.names else None
    if scores is not None and ((scores < 0) | (scores > 1)).any():
        raise ValueError("validation_scores are not accuracies between 0 and 1")
    model.validation_scores_ = None if scores is None else [float(v) for v in scores]
    model.best_validation_score_ = meta.get("best_validation_score")
    return model


def _read_text(archive: NpzArchive, name: str) -> str:
    text = archive.read(name, shape=_scalar, dtypes=lambda d: d.kind == "U" and d.itemsize <= 4 * _TEXT_LIMIT)
    return str(text)


def _float_member(archive: NpzArchive, name: str) -> np.ndarray:
    values = archive.read(name, dtypes=lambda d: d.str == "<f8",
                          shape=lambda s: None if len(s) == 1 and s[0] <= _TEXT_LIMIT else f"has shape {s}, "
                          "not a list of numbers")
    _require_finite(values, name)
    return values


def _label_dtype(kind: str) -> Any:
    def allowed(dtype: np.dtype) -> bool:
        if dtype.byteorder == ">" or (dtype.kind == "U" and dtype.itemsize > 4 * 65536):
            return False
        if kind == "object_str":
            return dtype.kind == "U"
        if kind == "object":
            return dtype.kind in "biuf" and dtype.itemsize in (1, 4, 8)
        return dtype.kind in "biufU" and (dtype.kind == "U" or dtype.itemsize in (1, 2, 4, 8)) and dtype.str != "<f2"
    return allowed


def _scalar(shape: tuple[int, ...]) -> str | None:
    return None if shape == () else f"has shape {shape}, not a single value"


def _exactly(expected: tuple[int, ...]) -> Any:
    def check(shape: tuple[int, ...]) -> str | None:
        return None if shape == expected else f"has shape {shape}; the stored layer sizes need {expected}"
    return check


def _require_finite(values: np.ndarray, name: str) -> None:
    if not np.isfinite(values).all():
        raise ValueError(f"{name} holds NaN or infinite values")


def _check_weight_sizes(model: Any, *, first_layer: bool) -> None:
    """No weight beyond ``_MAX_WEIGHT`` (the first layer only when the model reads standardized input)."""
    arrays = (list(model.coefs_[:1]) if first_layer else list(model.coefs_[1:]) + list(model.intercepts_))
    for array in arrays:
        if array.size and float(np.max(np.abs(array))) > _MAX_WEIGHT:
            raise ValueError(f"weights as large as {float(np.max(np.abs(array))):.3g} (beyond {_MAX_WEIGHT:g}): "
                             "no training writes these")


def _short(error: BaseException) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__


# ---------------------------------------------------------------------- labels
def _plain_labels(labels: np.ndarray) -> tuple[np.ndarray, str]:
    """Labels as a numeric/bool/unicode array (no pickle needed) and how to restore them."""
    if labels.dtype.kind in "biuf":
        return labels, "plain"
    if labels.dtype.kind == "U":
        return labels, "plain"
    values = labels.tolist()
    if all(isinstance(v, str) for v in values):
        return np.asarray(values, dtype=str), "object_str"
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return np.asarray(values, dtype=bool), "object"
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in values):
        return np.asarray(values, dtype=np.int64), "object"
    if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
           for v in values):
        return np.asarray(values, dtype=np.float64), "object"
    kinds = sorted({type(v).__name__ for v in values})
    raise ValueError(f"classes of type {', '.join(kinds)} cannot be saved without pickle; "
                     "use strings or numbers as labels")


def _restore_labels(labels: np.ndarray, kind: str) -> np.ndarray:
    if kind in ("object_str", "object"):
        out = np.empty(labels.shape[0], dtype=object)
        out[:] = labels.tolist()
        return out
    return np.asarray(labels)


# ---------------------------------------------------------------------- preprocessing
def preprocessor_state(preprocessor: Any) -> dict[str, Any]:
    """A fitted ``TabularPreprocessor`` as plain JSON data (floats round-trip exactly)."""
    specs = getattr(preprocessor, "_specs", None)
    if specs is None:
        raise ValueError("the preprocessor is not fitted")
    out_specs = []
    for spec in specs:
        plain = {}
        for key, value in spec.items():
            if isinstance(value, (np.floating, np.integer, np.bool_)):
                value = value.item()
            if isinstance(value, (list, tuple)):
                value = [str(v) for v in value]
            if value is not None and not isinstance(value, (str, int, float, bool, list)):
                raise ValueError(f"cannot store preprocessing value {key}={value!r} of column {spec.get('name')!r}")
            plain[key] = value
        out_specs.append(plain)
    return {"version": _PREPROCESSOR_VERSION, "max_categories": int(preprocessor.max_categories),
            "columns": [str(c) for c in preprocessor.columns_], "specs": out_specs}


def preprocessor_from_state(state: dict[str, Any]) -> Any:
    """A fitted ``TabularPreprocessor`` rebuilt from ``preprocessor_state``'s output."""
    from ._preprocess import TabularPreprocessor

    if int(state.get("version", 0)) != _PREPROCESSOR_VERSION:
        raise ValueError(f"unknown preprocessing state version {state.get('version')!r}")
    pre = TabularPreprocessor(max_categories=int(state["max_categories"]))
    specs = [dict(spec) for spec in state["specs"]]
    for spec in specs:
        spec["features"] = list(spec["features"])
        if "levels" in spec:
            spec["levels"] = list(spec["levels"])
    pre.columns_ = list(state["columns"])
    pre._specs = specs
    pre.column_kinds_ = {spec["name"]: spec["kind"] for spec in specs}
    pre.feature_names_out_ = [f for spec in specs for f in spec["features"]]
    pre.source_columns_ = [spec["name"] for spec in specs for _ in spec["features"]]
    return pre


def same_preprocessing(a: Any, b: Any) -> bool:
    """Whether two fitted preprocessors encode every table the same way (same state, bit for bit)."""
    return json.dumps(preprocessor_state(a), sort_keys=True) == json.dumps(preprocessor_state(b), sort_keys=True)


def check_columns(saved: SavedModel, columns: list[str], shown: str = "the model") -> None:
    """A clear error naming the columns the model was trained on that ``columns`` lacks."""
    trained = saved.columns
    if trained is None:
        return
    missing = [c for c in trained if c not in columns]
    if missing:
        listed = ", ".join(repr(c) for c in missing[:8]) + (", ..." if len(missing) > 8 else "")
        raise ValueError(f"{shown} was trained on column(s) the table does not have (or that are not features "
                         f"here): {listed}")


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)
