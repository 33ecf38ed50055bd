"""Shared input checks: turn user input into clean arrays or fail with a clear message.

Every public entry point of dami-np validates through these helpers so that bad
input (NaN, wrong shape, strings, ...) fails early with a ``ValueError`` that
names the problem and, where it helps, the first offending row/column (by name
when ``X`` is a DataFrame).  Wording follows scikit-learn's where its estimator
checks look for it ("Reshape your data", "Complex data not supported",
"Unknown label type: continuous", "0 feature(s)").
"""

from __future__ import annotations

import numbers
import sys
import warnings
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

__all__ = [
    "DataConversionWarning",
    "NotFittedError",
    "SPARSE_DENSE_LIMIT_BYTES",
    "check_array",
    "check_labels",
    "continuous_label_example",
    "refuse_continuous_classes",
    "check_random_state",
    "model_seed",
    "random_state_value",
    "column_label",
    "not_fitted_error",
    "feature_names",
    "numeric_2d",
]

# scipy.sparse input is densified when the dense copy takes at most this many bytes.
SPARSE_DENSE_LIMIT_BYTES = 1 << 30


class NotFittedError(ValueError, AttributeError):
    """Raised when a model is used before ``fit`` (subclasses ValueError and AttributeError, like scikit-learn)."""


def not_fitted_error(message: str) -> NotFittedError:
    """A ``NotFittedError`` that is also scikit-learn's ``NotFittedError`` when scikit-learn is already imported.

    So ``except sklearn.exceptions.NotFittedError`` (and scikit-learn's estimator checks) catch it,
    without dami-np ever importing scikit-learn itself.
    """
    sk = sys.modules.get("sklearn.exceptions")
    base = getattr(sk, "NotFittedError", None)
    if not isinstance(base, type) or not issubclass(base, Exception):
        return NotFittedError(message)
    cls = _SKLEARN_NOT_FITTED.get(base)
    if cls is None:
        cls = type("SklearnNotFittedError", (NotFittedError, base), {"__module__": __name__})
        _SKLEARN_NOT_FITTED[base] = cls
        globals()["SklearnNotFittedError"] = cls  # picklable by name
    return cls(message)


_SKLEARN_NOT_FITTED: dict[type, type] = {}


class DataConversionWarning(UserWarning):
    """Input was converted (e.g. a column-vector ``y`` raveled); same name and wording as scikit-learn's."""


def _data_conversion_warning(message: str) -> DataConversionWarning:
    """Our ``DataConversionWarning``, also scikit-learn's when scikit-learn is already imported (its filters apply)."""
    sk = sys.modules.get("sklearn.exceptions")
    base = getattr(sk, "DataConversionWarning", None)
    if not isinstance(base, type) or not issubclass(base, Warning):
        return DataConversionWarning(message)
    cls = _SKLEARN_WARNINGS.get(base)
    if cls is None:
        cls = type("DataConversionWarning", (DataConversionWarning, base), {"__module__": __name__,
                                                                              "__qualname__": "SklearnDataConversionWarning"})
        _SKLEARN_WARNINGS[base] = cls
        globals()["SklearnDataConversionWarning"] = cls
    return cls(message)


_SKLEARN_WARNINGS: dict[type, type] = {}


class _NonNumericError(TypeError, ValueError):
    """A cell that is not a number (TypeError as numpy/scikit-learn raise it; ValueError like our other checks)."""


def feature_names(X: Any) -> np.ndarray | None:
    """Column names of a DataFrame-like ``X`` as an object array when all are strings, else None."""
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "iloc"):
        return None
    names = np.asarray(list(columns), dtype=object)
    if names.size == 0 or not all(isinstance(c, str) for c in names):
        return None
    return names


def column_label(j: int, names: Any = None) -> str:
    """``"column 3"`` or ``"column 3 ('income')"`` when names are known."""
    if names is not None and 0 <= j < len(names):
        return f"column {j} ({names[j]!r})"
    return f"column {j}"


def _is_sparse(X: Any) -> bool:
    module = type(X).__module__ or ""
    return module.startswith("scipy.sparse") and hasattr(X, "toarray")


def _densify(X: Any, target: np.dtype, name: str, limit: int) -> np.ndarray:
    shape = tuple(int(s) for s in X.shape)
    if len(shape) != 2:
        raise ValueError(f"{name} is a scipy.sparse array of shape {shape}; a 2-D (rows x features) matrix is required")
    if np.dtype(X.dtype).kind == "c":
        raise ValueError(f"{name} has complex dtype {X.dtype}: Complex data not supported")
    need = shape[0] * shape[1] * max(target.itemsize, np.dtype(X.dtype).itemsize)
    if need > limit:
        raise ValueError(
            f"{name} is a scipy.sparse matrix of shape {shape}; dami-np works on dense arrays and densifying it "
            f"would take {need / 2**30:.1f} GiB, above the {limit / 2**30:.1f} GiB limit for sparse input: "
            f"pass {name}.toarray() yourself if you have the memory, or reduce the columns first"
        )
    return np.asarray(X.toarray())


def numeric_2d(
    X: Any, *, name: str = "X", sparse_limit_bytes: int = SPARSE_DENSE_LIMIT_BYTES, target: DTypeLike = np.float64
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return ``(arr, names)``: ``X`` as a finite 2-D numeric (bool/int/float) array, not yet cast, and its column names.

    scipy.sparse input is densified up to ``sparse_limit_bytes`` (counted in ``target``'s itemsize).
    """
    names = feature_names(X)
    if X is None:
        raise ValueError(f"{name} is None; a 2-D array (rows x features) is required")
    if _is_sparse(X):
        arr = _densify(X, np.dtype(target), name, sparse_limit_bytes)
    else:
        try:
            arr = np.asarray(X)
        except Exception as exc:  # ragged nested lists and the like
            raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if arr.ndim != 2:
        hint = ""
        if arr.ndim == 1:
            hint = (f"; Reshape your data with {name}.reshape(-1, 1) for one feature "
                    f"or {name}.reshape(1, -1) for one row")
        elif arr.ndim == 0:
            hint = f" (a {type(X).__name__})"
        raise ValueError(f"{name} must be 2-D (rows x features), got {arr.ndim}-D array of shape {arr.shape}{hint}")
    if arr.dtype.kind == "c":
        raise ValueError(f"{name} has complex dtype {arr.dtype}: Complex data not supported")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has 0 rows (shape {arr.shape}); at least one row is required")
    if arr.shape[1] == 0:
        raise ValueError(
            f"{name} has 0 columns: found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required."
        )
    if arr.dtype.kind == "O":
        arr = _object_to_float(arr, name, names)
    elif arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        _check_finite(arr, name, names)
    return arr, names


def check_array(
    X: Any, *, dtype: DTypeLike = np.float64, name: str = "X", sparse_limit_bytes: int = SPARSE_DENSE_LIMIT_BYTES
) -> np.ndarray:
    """Return ``X`` as a C-contiguous 2-D finite array of ``dtype``.

    Accepts anything ``np.asarray`` understands (lists, pandas DataFrames, ...) and
    scipy.sparse matrices (densified up to ``sparse_limit_bytes``, else a ValueError).
    Raises ``ValueError`` when ``X`` is not 2-D, is empty, is not numeric, holds
    NaN/inf, or holds values that overflow ``dtype``; the message names ``name``
    and the first bad row/column.
    """
    target = np.dtype(dtype)
    if target.kind != "f":
        raise ValueError(f"dtype must be a floating point type, got {target}")
    arr, names = numeric_2d(X, name=name, sparse_limit_bytes=sparse_limit_bytes, target=target)
    return cast_checked(arr, target, name, names)


def cast_checked(arr: np.ndarray, target: np.dtype, name: str = "X", names: Any = None) -> np.ndarray:
    """``arr`` (finite) as C-contiguous ``target``; a value that overflows ``target`` is an error naming its cell."""
    with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf is reported just below
        out = np.ascontiguousarray(arr, dtype=target)
    if out.dtype.itemsize < arr.dtype.itemsize and arr.dtype.kind == "f":
        with np.errstate(over="ignore", invalid="ignore"):
            finite = np.isfinite(out.sum(dtype=np.float64))
        if not finite:
            bad = ~np.isfinite(out)
            if bad.any():
                i, j = divmod(int(np.argmax(bad.ravel())), out.shape[1])
                big = float(np.finfo(target).max)
                raise ValueError(
                    f"{name} has value {float(arr[i, j])!r} at row {i}, {column_label(j, names)}, which overflows to "
                    f"infinity in {target} (largest {big:.3g}); use dtype='float64' or rescale that column"
                )
    return out


def _object_to_float(arr: np.ndarray, name: str, names: Any = None) -> np.ndarray:
    """Convert an object array holding numbers; report the first non-numeric cell otherwise."""
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        pass
    for (i, j), value in np.ndenumerate(arr):
        if value is None or type(value).__name__ == "NAType":
            raise ValueError(f"{name} contains a missing value ({value!r}) at row {i}, {column_label(j, names)}")
        if isinstance(value, (complex, np.complexfloating)):
            raise ValueError(f"{name} has a complex value {value!r} at row {i}, {column_label(j, names)}: "
                             "Complex data not supported")
        try:
            float(value)
        except TypeError as exc:
            raise _NonNumericError(
                f"{name} must be numeric, got dtype object with non-numeric value {value!r} at row {i}, "
                f"{column_label(j, names)} ({exc})"
            ) from None
        except ValueError:
            raise ValueError(
                f"{name} must be numeric, got dtype object with non-numeric value {value!r} at row {i}, "
                f"{column_label(j, names)}"
            ) from None
    raise ValueError(f"{name} must be numeric, got dtype object")  # pragma: no cover - astype failed oddly


def _check_finite(arr: np.ndarray, name: str, names: Any = None) -> None:
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
    raise ValueError(f"{name} contains {what} at row {i}, {column_label(j, names)}")


def check_labels(y: Any, n_rows: int, *, name: str = "y", allow_continuous: bool = False) -> np.ndarray:
    """Return class labels as a 1-D array of length ``n_rows``.

    Accepts shape ``(n,)`` or ``(n, 1)`` (the latter with a ``DataConversionWarning``, as
    scikit-learn does); raises ``ValueError`` on a length mismatch, on more than one
    column, on missing values (None/NaN), on complex values and (unless
    ``allow_continuous``) on non-integer floats ("Unknown label type: continuous").
    """
    if y is None:
        raise ValueError(f"{name} is None: this model requires y to be passed, but the target y is None")
    if _is_sparse(y):
        raise ValueError(f"{name} is a scipy.sparse matrix; labels must be a dense 1-D array (one label per row)")
    try:
        arr = np.asarray(y)
    except Exception as exc:
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        warnings.warn(
            _data_conversion_warning(
                "A column-vector y was passed when a 1d array was expected. Please change the shape of y to "
                "(n_samples, ), for example using ravel()."
            ),
            stacklevel=3,
        )
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one label per row): y should be a 1d array, got an array of shape {arr.shape} instead"
        )
    if arr.shape[0] != n_rows:
        raise ValueError(f"{name} has {arr.shape[0]} labels but X has {n_rows} rows; they must match")
    if arr.dtype.kind == "c":
        raise ValueError(f"{name} has complex dtype {arr.dtype}: Complex data not supported")
    missing = _first_missing(arr)
    if missing is not None:
        raise ValueError(f"{name} contains a missing value ({arr[missing:missing + 1].tolist()[0]!r}) at row {missing}")
    if not allow_continuous:
        _check_not_continuous(arr, name)
    return arr


def _check_not_continuous(arr: np.ndarray, name: str) -> None:
    """Refuse non-integer float labels with scikit-learn's wording."""
    if arr.dtype.kind == "f":
        values = arr
    elif arr.dtype.kind == "O":
        floats = np.fromiter((isinstance(v, (float, np.floating)) for v in arr), dtype=bool, count=arr.shape[0])
        if not floats.any():
            return
        values = arr[floats].astype(np.float64)
    else:
        return
    infinite = np.flatnonzero(np.isinf(values))
    if infinite.size:
        raise ValueError(f"{name} contains infinity ({float(values[infinite[0]])!r}); labels must be classes")
    bad = np.flatnonzero(values != np.round(values))
    if bad.size:
        value = values[bad[0]]
        raise ValueError(
            f"Unknown label type: continuous. {name} holds non-integer numbers (e.g. {float(value)!r}); a classifier "
            "needs discrete classes: bin or round a regression target, or pass the labels as ints or strings"
        )


def continuous_label_example(labels: Any, *, texts: bool = False) -> float | None:
    """A non-integer number among ``labels`` (the labeled values) when they look like a continuous
    target by scikit-learn's rule (numbers, some not integers), else None.  With ``texts`` (a CSV's
    label column, which has no other way to hold floats) texts count as numbers when every one of
    them reads as a finite number; otherwise a text label makes the labels classes."""
    values = labels.ravel() if isinstance(labels, np.ndarray) else np.asarray(list(labels), dtype=object)
    if values.size == 0 or values.dtype.kind in "biu" or (values.dtype.kind == "U" and not texts):
        return None
    if values.dtype.kind == "O" and not texts and any(isinstance(v, str) for v in values.tolist()):
        return None
    if values.dtype.kind == "f":
        numbers_ = values.astype(np.float64)
    else:
        import pandas as pd

        parsed = pd.to_numeric(pd.Series(values.astype(object), copy=False), errors="coerce")
        numbers_ = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(numbers_).all():
        return None  # a text that is not a number (or inf/NaN): classes
    fractional = np.flatnonzero(numbers_ != np.round(numbers_))
    return float(numbers_[fractional[0]]) if fractional.size else None


def refuse_continuous_classes(classes: Any) -> None:
    """The round's rule (``select``/``query``, on one machine and on Dask): distinct labels that are
    non-integer floats are a continuous target, refused unless ``classes_anyway=True``."""
    example = continuous_label_example(classes)
    if example is not None:
        raise ValueError(f"y looks continuous (non-integer numbers such as {example!r}, {len(classes)} distinct "
                         "values): a classifier needs classes; bin or round it, or pass classes_anyway=True to "
                         "treat each distinct value as a class")


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
            if type(value).__name__ == "NAType":  # pandas.NA
                return i
    return None


def random_state_value(seed: Any) -> int | np.random.Generator | None:
    """The one ``random_state`` rule of the library (``MLPClassifier``, ``select``, ``query``):
    ``None`` (fresh OS entropy) or an int >= 0 are kept as they are; a ``Generator`` is kept (and
    consumed by its user); a ``SeedSequence`` becomes its generator; a legacy
    ``np.random.RandomState`` (what scikit-learn also accepts) seeds a new generator with draws
    from it (so it is consumed, and the same fresh ``RandomState(s)`` gives the same result).
    Anything else is a ``ValueError`` saying what is accepted.
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(0, 2**31 - 1, size=4).tolist())
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)):
        if seed < 0:
            raise ValueError(f"random_state must be a non-negative int, got {seed}")
        return int(seed)
    raise ValueError(
        "random_state must be None, a non-negative int, a numpy RandomState, SeedSequence or Generator; "
        f"got {seed!r} ({type(seed).__name__})"
    )


def check_random_state(seed: Any) -> np.random.Generator:
    """A ``np.random.Generator`` for ``seed`` (accepted values: ``random_state_value``)."""
    return np.random.default_rng(random_state_value(seed))


def model_seed(random_state: int | np.random.Generator | None) -> int | None:
    """Seed of a round's model, derived from the round's ``random_state`` (a value of
    ``random_state_value``), independent of the strategy's generator."""
    if random_state is None:
        return None
    if isinstance(random_state, np.random.Generator):
        seed_seq = getattr(random_state.bit_generator, "seed_seq", None)
        if seed_seq is not None:
            return int(seed_seq.generate_state(1)[0])
        return int(random_state.integers(2**32))
    return int(np.random.SeedSequence([int(random_state), 0x4D4C50]).generate_state(1)[0])
