"""What a model file may hold: every value ``load_model`` reads, checked before it is used.

A model file can come from someone else, so its JSON (``meta``, ``preprocessor``) is parsed
with a nesting bound and every field is checked for type, range and consistency with the
others; training parameters are bounded by what ``save_model`` itself accepts (``max_iter``
and ``n_iter_no_change`` at most ``MAX_EPOCHS``), so a file cannot make a warm start or
``--refit`` run for days.  Problems raise ``ValueError`` with a short reason (the caller adds
the file's name).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

__all__ = ["MAX_EPOCHS", "MAX_JSON_DEPTH", "parse_json", "check_params", "check_meta", "check_preprocessor_state",
           "check_info"]

# The most epochs (max_iter, n_iter_no_change) a model file may ask for: 10x the default max_iter.
MAX_EPOCHS = 2000
# Deepest JSON nesting a model file's metadata may have (dami writes at most 4).
MAX_JSON_DEPTH = 32
# The largest layer width and hidden-layer count a file may declare.
_MAX_WIDTH = 1 << 24
_MAX_LAYERS = 64
_SPEC_KINDS = ("numeric", "datetime", "categorical", "excluded")
_MISSING_LEVEL = "<missing>"
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def parse_json(text: str, what: str) -> Any:
    """``text`` as JSON, refusing nesting deeper than ``MAX_JSON_DEPTH`` before parsing it."""
    brackets = np.frombuffer(_STRINGS.sub("", text).encode("utf-8", "surrogatepass"), dtype=np.uint8)
    steps = np.isin(brackets, (ord("["), ord("{"))).astype(np.int64) - np.isin(brackets, (ord("]"), ord("}")))
    if steps.size and int(np.cumsum(steps).max()) > MAX_JSON_DEPTH:
        raise ValueError(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text, parse_constant=float)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"{what} is not valid JSON ({' '.join(str(error).split())[:80]})") from None


def check_params(params: Any) -> dict[str, Any]:
    """The MLP training parameters of a model file, type- and range-checked (saving uses it too)."""
    _require(isinstance(params, dict), "params is not a mapping")
    out: dict[str, Any] = {}
    hidden = params.get("hidden_layer_sizes")
    _require(isinstance(hidden, list) and 1 <= len(hidden) <= _MAX_LAYERS
             and all(_is_int(h) and 1 <= h <= _MAX_WIDTH for h in hidden),
             f"hidden_layer_sizes {_shown(hidden)} is not a list of 1 to {_MAX_LAYERS} positive widths")
    out["hidden_layer_sizes"] = [int(h) for h in hidden]
    out["alpha"] = _number(params, "alpha", 0.0, 1e6)
    out["batch_size"] = _integer(params, "batch_size", 1, 1 << 31)
    out["learning_rate_init"] = _number(params, "learning_rate_init", 0.0, 10.0, low_open=True)
    out["max_iter"] = _integer(params, "max_iter", 1, MAX_EPOCHS)
    out["n_iter_no_change"] = _integer(params, "n_iter_no_change", 1, MAX_EPOCHS)
    out["tol"] = _number(params, "tol", 0.0, 1e6)
    out["validation_fraction"] = _number(params, "validation_fraction", 0.0, 1.0, low_open=True, high_open=True)
    for name in ("shuffle", "early_stopping", "warm_start"):
        _require(isinstance(params.get(name), bool), f"{name} {_shown(params.get(name))} is not true or false")
        out[name] = params[name]
    seed = params.get("random_state")
    _require(seed is None or (_is_int(seed) and 0 <= seed < 1 << 63),
             f"random_state {_shown(seed)} is not empty or a non-negative integer")
    out["random_state"] = seed
    _require(params.get("dtype") in ("float32", "float64"), f"dtype {_shown(params.get('dtype'))} is not "
             "float32 or float64")
    out["dtype"] = params["dtype"]
    return out


def check_meta(meta: Any) -> dict[str, Any]:
    """The ``meta`` record: parameters, layer sizes, labels kind, training state and ``info``."""
    _require(isinstance(meta, dict), "meta is not a mapping")
    out = dict(meta)
    out["params"] = check_params(meta.get("params"))
    sizes = meta.get("layer_sizes")
    _require(isinstance(sizes, list) and 3 <= len(sizes) <= _MAX_LAYERS + 2
             and all(_is_int(s) and 1 <= s <= _MAX_WIDTH for s in sizes),
             f"layer_sizes {_shown(sizes)} is not a list of positive layer widths")
    _require(sizes[1:-1] == out["params"]["hidden_layer_sizes"],
             f"layer_sizes {sizes} disagree with hidden_layer_sizes {out['params']['hidden_layer_sizes']}")
    _require(sizes[-1] >= 2, f"the output layer has {sizes[-1]} unit(s); a classifier has at least 2")
    _require(meta.get("n_features_in") == sizes[0] and _is_int(meta.get("n_features_in")),
             f"n_features_in {_shown(meta.get('n_features_in'))} disagrees with the input layer ({sizes[0]})")
    _require(meta.get("classes_kind", "plain") in ("plain", "object_str", "object"),
             f"classes_kind {_shown(meta.get('classes_kind'))} is unknown")
    _require(_is_int(meta.get("n_iter", 0)) and 0 <= meta.get("n_iter", 0) <= 1 << 40,
             f"n_iter {_shown(meta.get('n_iter'))} is not a count of epochs")
    for name in ("loss", "best_loss"):
        value = meta.get(name)
        _require(value is None or (_is_real(value) and math.isfinite(value) and value >= 0),
                 f"{name} {_shown(value)} is not a finite loss")
    score = meta.get("best_validation_score")
    _require(score is None or (_is_real(score) and 0.0 <= score <= 1.0),
             f"best_validation_score {_shown(score)} is not an accuracy")
    adam = meta.get("adam")
    if adam is not None:
        _require(isinstance(adam, dict), "adam is not a mapping")
        _require(_is_int(adam.get("t")) and 0 <= adam["t"] <= 1 << 53, f"adam step {_shown(adam.get('t'))} is "
                 "not a count")
        _number(adam, "lr", 0.0, 10.0, low_open=True)
        _number(adam, "beta1", 0.0, 1.0, high_open=True)
        _number(adam, "beta2", 0.0, 1.0, high_open=True)
        _number(adam, "eps", 0.0, 1.0, low_open=True)
    out["info"] = check_info(meta.get("info"))
    return out


def check_info(info: Any) -> dict[str, Any]:
    """The ``info`` record (round history, seed, strategy, the table's columns): the keys dami reads."""
    if info is None:
        return {}
    _require(isinstance(info, dict), "info is not a mapping")
    history = info.get("history", [])
    _require(isinstance(history, list) and all(_is_real(h) and (math.isnan(h) or 0.0 <= h <= 1.0) for h in history),
             "info.history is not a list of agreements between 0 and 1")
    for name in ("seed", "n_labeled"):
        if name in info:
            _require(info[name] is None or (_is_int(info[name]) and info[name] >= 0),
                     f"info.{name} {_shown(info[name])} is not a non-negative integer")
    if "strategy" in info:
        _require(info["strategy"] is None or isinstance(info["strategy"], str), "info.strategy is not text")
    audit = info.get("audit")
    if audit is not None:
        _require(isinstance(audit, dict), "info.audit is not a mapping")
        rows = audit.get("rows", [])
        _require(isinstance(rows, list) and all(_is_int(r) and 0 <= r < 1 << 62 for r in rows),
                 "info.audit.rows is not a list of data row numbers")
        ids = audit.get("ids")
        _require(ids is None or (isinstance(ids, list) and len(ids) == len(rows)
                                 and all(i is None or isinstance(i, (str, int, float)) for i in ids)),
                 "info.audit.ids is not one id per audit row")
    table = info.get("table")
    if table is not None:
        _require(isinstance(table, dict), "info.table is not a mapping")
        _require(isinstance(table.get("label"), str), "info.table.label is not a column name")
        _require(table.get("id") is None or isinstance(table.get("id"), str), "info.table.id is not a column name")
        features = table.get("features")
        _require(isinstance(features, list) and all(isinstance(f, str) for f in features)
                 and len(set(features)) == len(features), "info.table.features is not a list of distinct column names")
    return dict(info)


def check_preprocessor_state(state: Any) -> None:
    """The preprocessing record: one spec per column, each with finite numbers of the right kind
    and the feature names its kind makes."""
    _require(isinstance(state, dict), "preprocessor is not a mapping")
    _require(_is_int(state.get("max_categories")) and 1 <= state["max_categories"] <= 1 << 31,
             f"preprocessor max_categories {_shown(state.get('max_categories'))} is not a positive integer")
    columns, specs = state.get("columns"), state.get("specs")
    _require(isinstance(columns, list) and all(isinstance(c, str) for c in columns) and len(set(columns)) == len(columns),
             "preprocessor columns are not a list of distinct names")
    _require(isinstance(specs, list) and len(specs) == len(columns),
             "preprocessor specs are not one record per column")
    for name, spec in zip(columns, specs):
        _require(isinstance(spec, dict) and spec.get("name") == name,
                 f"preprocessor spec of column {name!r} is not a record naming that column")
        kind = spec.get("kind")
        _require(kind in _SPEC_KINDS, f"column {name!r} has an unknown kind {_shown(kind)}")
        features = spec.get("features")
        _require(isinstance(features, list) and all(isinstance(f, str) for f in features),
                 f"column {name!r}: features are not a list of names")
        if kind in ("numeric", "datetime"):
            for key in ("median", "mean"):
                _require(_is_real(spec.get(key)) and math.isfinite(spec[key]),
                         f"column {name!r}: {key} {_shown(spec.get(key))} is not a finite number")
            for key in ("shift", "scale"):
                _require(_is_real(spec.get(key)) and math.isfinite(spec[key]) and spec[key] > 0,
                         f"column {name!r}: {key} {_shown(spec.get(key))} is not a positive finite number")
            _require(isinstance(spec.get("indicator"), bool), f"column {name!r}: indicator is not true or false")
            date_format = spec.get("date_format")
            _require(date_format is None or (isinstance(date_format, str) and len(date_format) <= 64),
                     f"column {name!r}: date_format {_shown(date_format)} is not a date format")
            expected = [name] + ([f"{name}={_MISSING_LEVEL}"] if spec["indicator"] else [])
        elif kind == "categorical":
            levels = spec.get("levels")
            _require(isinstance(levels, list) and all(isinstance(v, str) for v in levels)
                     and len(set(levels)) == len(levels), f"column {name!r}: levels are not a list of distinct texts")
            expected = [f"{name}={level}" for level in levels]
        else:
            expected = []
        _require(features == expected, f"column {name!r}: its feature names do not match its kind")


def _number(record: dict[str, Any], name: str, low: float, high: float, *, low_open: bool = False,
            high_open: bool = False) -> float:
    value = record.get(name)
    ok = _is_real(value) and math.isfinite(value) and (value > low if low_open else value >= low) \
        and (value < high if high_open else value <= high)
    _require(ok, f"{name} {_shown(value)} is not a number in {'(' if low_open else '['}{low:g}, {high:g}"
                 f"{')' if high_open else ']'}")
    return float(value)


def _integer(record: dict[str, Any], name: str, low: int, high: int) -> int:
    value = record.get(name)
    _require(_is_int(value) and low <= value <= high, f"{name} {_shown(value)} is not an integer in [{low}, {high}]")
    return int(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        float(value)
    except OverflowError:  # an integer too large for a float
        return False
    return True


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)
