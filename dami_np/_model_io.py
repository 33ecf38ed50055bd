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
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

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

    Raises ``ValueError`` naming the file for anything that is not such a file, and for a
    newer or unknown format version.
    """
    shown = str(path) if not isinstance(path, io.IOBase) else "model file"
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise ValueError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{shown}: is a directory, not a model file") from None
    except PermissionError as error:
        raise ValueError(f"{shown}: cannot read: {error.strerror}") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{shown}: not a dami-np model file (.npz written by --save-model or "
                         f"MLPClassifier.save): {' '.join(str(error).split())[:120]}") from None
    if not isinstance(arrays, dict) or "format" not in arrays or str(arrays["format"]) != FORMAT:
        raise ValueError(f"{shown}: not a dami-np model file (an .npz without the '{FORMAT}' marker)")
    version = _int(arrays.get("format_version"))
    if version is None or version < 1:
        raise ValueError(f"{shown}: unknown model format version {arrays.get('format_version')!r}")
    if version > FORMAT_VERSION:
        raise ValueError(f"{shown}: model format version {version} is newer than this dami-np reads "
                         f"(version {FORMAT_VERSION}); upgrade dami-np to load it")
    try:
        meta = json.loads(str(arrays["meta"]))
        model = _build_model(arrays, meta)
        preprocessor = None
        if "preprocessor" in arrays:
            preprocessor = preprocessor_from_state(json.loads(str(arrays["preprocessor"])))
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{shown}: damaged or incomplete model file ({' '.join(str(error).split())[:120]})") from None
    return SavedModel(model, preprocessor, dict(meta.get("info") or {}))


def _build_model(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Any:
    from ._mlp import MLPClassifier
    from ._mlp_math import Adam, ParamLayout

    params = dict(meta["params"])
    params["hidden_layer_sizes"] = tuple(int(h) for h in params["hidden_layer_sizes"])
    known = set(MLPClassifier._param_names())
    model = MLPClassifier(**{k: v for k, v in params.items() if k in known})
    dtype = np.dtype(params["dtype"])
    layout = ParamLayout([int(s) for s in meta["layer_sizes"]])
    flat = np.array(arrays["flat"], dtype=dtype, copy=True)
    if flat.shape != (layout.size,):
        raise ValueError(f"weights have shape {flat.shape}, the layer sizes need ({layout.size},)")
    classes = _restore_labels(arrays["classes"], meta.get("classes_kind", "plain"))
    if classes.shape != (layout.layer_sizes[-1],):
        raise ValueError(f"{classes.shape[0]} classes for {layout.layer_sizes[-1]} output units")
    model._dtype = dtype
    model._layout = layout
    model._flat = flat
    model.coefs_, model.intercepts_ = layout.views(flat)
    model.classes_ = classes
    model.n_features_in_ = int(meta["n_features_in"])
    if "feature_names_in" in arrays:
        model.feature_names_in_ = np.asarray(arrays["feature_names_in"].tolist(), dtype=object)
    adam_meta = meta.get("adam")
    if adam_meta is not None and "adam_m" in arrays:
        adam = Adam(layout.size, dtype, float(adam_meta["lr"]), float(adam_meta["beta1"]), float(adam_meta["beta2"]),
                    float(adam_meta["eps"]))
        adam.m[...] = arrays["adam_m"]
        adam.v[...] = arrays["adam_v"]
        adam.t = int(adam_meta["t"])
        model._adam = adam
    else:
        model._adam = None
    model.n_iter_ = int(meta.get("n_iter", 0))
    model.loss_curve_ = [float(v) for v in np.asarray(arrays.get("loss_curve", []), dtype=np.float64)]
    if meta.get("loss") is not None:
        model.loss_ = float(meta["loss"])
    if meta.get("best_loss") is not None:
        model.best_loss_ = float(meta["best_loss"])
    model.validation_scores_ = (
        [float(v) for v in arrays["validation_scores"]] if "validation_scores" in arrays else None
    )
    model.best_validation_score_ = meta.get("best_validation_score")
    return model


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


def _int(value: Any) -> int | None:
    try:
        arr = np.asarray(value)
        if arr.shape != () or arr.dtype.kind not in "iu":
            return None
        return int(arr)
    except (TypeError, ValueError):
        return None


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)
