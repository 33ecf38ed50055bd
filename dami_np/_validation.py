"""Shared input checks: turn user input into clean arrays or fail with a clear message.

Every public entry point of dami-np validates through these helpers so that bad
input (NaN, wrong shape, strings, ...) fails early with a ``ValueError`` that
names the problem and, where it helps, the first offending row/column.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

__all__ = [
    "NotFittedError",
    "check_array",
    "check_labels",
    "check_random_state",
]


class NotFittedError(ValueError, AttributeError):
    """Raised when a model is used before ``fit`` (subclasses ValueError and AttributeError, like scikit-learn)."""


def check_array(X: Any, *, dtype: DTypeLike = np.float64, name: str = "X") -> np.ndarray:
    """Return ``X`` as a C-contiguous 2-D finite array of ``dtype``.

    Accepts anything ``np.asarray`` understands (lists, pandas DataFrames, ...).
    Raises ``ValueError`` when ``X`` is not 2-D, is empty, is not numeric, or holds
    NaN/inf; the message names ``name`` and the first bad row/column.
    """
    target = np.dtype(dtype)
    if target.kind != "f":
        raise ValueError(f"dtype must be a floating point type, got {target}")
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if arr.ndim != 2:
        hint = ""
        if arr.ndim == 1:
            hint = f"; reshape with {name}.reshape(-1, 1) for one feature or {name}.reshape(1, -1) for one row"
        raise ValueError(f"{name} must be 2-D (rows x features), got {arr.ndim}-D array of shape {arr.shape}{hint}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has 0 rows (shape {arr.shape}); at least one row is required")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has 0 columns (shape {arr.shape}); at least one feature is required")
    if arr.dtype.kind == "O":
        arr = _object_to_float(arr, name)
    elif arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf is reported just below
        arr = np.ascontiguousarray(arr, dtype=target)
    _check_finite(arr, name)
    return arr


def _object_to_float(arr: np.ndarray, name: str) -> np.ndarray:
    """Convert an object array holding numbers; report the first non-numeric cell otherwise."""
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        pass
    for (i, j), value in np.ndenumerate(arr):
        try:
            float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be numeric, got dtype object with non-numeric value {value!r} at row {i}, column {j}"
            ) from None
    raise ValueError(f"{name} must be numeric, got dtype object")  # pragma: no cover - astype failed oddly


def _check_finite(arr: np.ndarray, name: str) -> None:
    """Raise naming the first NaN/inf cell (row-major order)."""
    # Fast path: a sum is finite iff no element is NaN/inf (overflow of the sum
    # itself is possible, so fall back to the exact check before complaining).
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(arr.sum(dtype=np.float64)):
            return
    bad = ~np.isfinite(arr)
    if not bad.any():
        return
    flat = int(np.argmax(bad.ravel()))
    i, j = divmod(flat, arr.shape[1])
    what = "NaN" if np.isnan(arr[i, j]) else "infinity"
    raise ValueError(f"{name} contains {what} at row {i}, column {j}")


def check_labels(y: Any, n_rows: int, *, name: str = "y") -> np.ndarray:
    """Return labels as a 1-D array of length ``n_rows``.

    Accepts shape ``(n,)`` or ``(n, 1)``; raises ``ValueError`` on a length
    mismatch, on more than one column, and on missing values (None/NaN).
    """
    try:
        arr = np.asarray(y)
    except Exception as exc:
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per row), got array of shape {arr.shape}")
    if arr.shape[0] != n_rows:
        raise ValueError(f"{name} has {arr.shape[0]} labels but X has {n_rows} rows; they must match")
    missing = _first_missing(arr)
    if missing is not None:
        raise ValueError(f"{name} contains a missing value ({arr[missing:missing + 1].tolist()[0]!r}) at row {missing}")
    return arr


def _first_missing(arr: np.ndarray) -> int | None:
    """Index of the first None/NaN label, or None."""
    if arr.dtype.kind in "fc":
        bad = np.flatnonzero(np.isnan(arr))
        return int(bad[0]) if bad.size else None
    if arr.dtype.kind == "O":
        for i, value in enumerate(arr):
            if value is None or (isinstance(value, float) and value != value):
                return i
            if isinstance(value, np.floating) and np.isnan(value):
                return i
    return None


def check_random_state(seed: Any) -> np.random.Generator:
    """Return a ``np.random.Generator`` for ``seed``.

    ``None`` gives fresh OS entropy, an int or ``SeedSequence`` a reproducible
    generator, and a ``Generator`` is returned unchanged (so it is consumed).
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)):
        if seed < 0:
            raise ValueError(f"random_state must be a non-negative int, got {seed}")
        return np.random.default_rng(int(seed))
    raise ValueError(
        f"random_state must be None, a non-negative int, a numpy SeedSequence or Generator, got {type(seed).__name__}"
    )
