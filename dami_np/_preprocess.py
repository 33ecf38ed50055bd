"""Tabular preprocessing: the one place where a table becomes a float64 matrix.

Rules (decided per column at ``fit``, in input column order):

- bool, category and text columns whose values are not numbers are *categorical*: one-hot,
  one output column per level, levels sorted as strings; missing values get their own level
  ``"<missing>"`` (only if some were missing at fit); a level unseen at fit encodes as all zeros.
- numeric columns are *numeric*: missing values are replaced by the fit median, then the
  column is standardized (mean 0, std 1; a constant column is only centered). A column with
  missing values at fit also gets an indicator column ``"<name>=<missing>"``.
- text (object/str) columns whose every value parses as a number are converted to numbers.
  If more than half of the values parse but some do not (e.g. ``"?"`` placeholders), that
  is an error naming the first offending row and value. To force a column of number-like
  codes to be categorical, give it the ``category`` dtype.
- empty or whitespace-only strings count as missing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TabularPreprocessor"]

_MISSING_LEVEL = "<missing>"
_NUMERIC_SHARE = 0.5  # a text column is "mostly numeric" above this share of parseable values


class TabularPreprocessor:
    """Turn a DataFrame (or 2-D array) into a float64 feature matrix.

    Attributes after ``fit``: ``columns_`` (input columns used), ``feature_names_out_``
    (``"x3"``, ``"x4=b"``, ``"x3=<missing>"``), ``source_columns_`` (input column of each
    output feature) and ``column_kinds_`` (``{"x3": "numeric", "x4": "categorical"}``).
    """

    def __init__(self, *, max_categories: int = 100) -> None:
        if int(max_categories) < 1:
            raise ValueError(f"max_categories must be >= 1, got {max_categories!r}")
        self.max_categories = int(max_categories)

    # ------------------------------------------------------------------ public API
    def fit(self, X: pd.DataFrame | np.ndarray) -> TabularPreprocessor:
        """Learn column kinds, medians, scales and category levels from ``X``."""
        frame, _ = _as_frame(X)
        if frame.shape[0] == 0:
            raise ValueError("X has zero rows; need at least one row to fit the preprocessor")
        if frame.shape[1] == 0:
            raise ValueError("X has zero columns; need at least one feature column")
        columns = _column_names(frame)
        specs: list[dict[str, Any]] = []
        for position, name in enumerate(columns):
            specs.append(self._fit_column(name, frame.iloc[:, position]))
        self.columns_ = columns
        self._specs = specs
        self.column_kinds_ = {spec["name"]: spec["kind"] for spec in specs}
        self.feature_names_out_ = [f for spec in specs for f in spec["features"]]
        self.source_columns_ = [spec["name"] for spec in specs for _ in spec["features"]]
        return self

    def transform(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Encode ``X`` with the fitted rules; returns a float64 array ``(n, p)``."""
        if not hasattr(self, "_specs"):
            raise RuntimeError("TabularPreprocessor is not fitted; call fit(X) first")
        frame = self._align(*_as_frame(X))
        blocks = [self._transform_column(spec, frame.iloc[:, i]) for i, spec in enumerate(self._specs)]
        out = np.concatenate(blocks, axis=1) if blocks else np.empty((len(frame), 0))
        return np.ascontiguousarray(out, dtype=np.float64)

    def fit_transform(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def __repr__(self) -> str:
        return f"TabularPreprocessor(max_categories={self.max_categories})"

    # ------------------------------------------------------------------ fitting
    def _fit_column(self, name: str, column: pd.Series) -> dict[str, Any]:
        missing = _missing_mask(column)
        if missing.all():
            raise ValueError(f"column {name!r} is entirely empty (all values missing); drop it from X")
        kind = _column_kind(name, column, missing)
        if kind == "numeric":
            values = _to_float(name, column, missing)
            has_missing = bool(missing.any())
            median = float(np.median(values[~missing]))
            filled = np.sort(np.where(missing, median, values))  # sorted: stats independent of row order
            mean = float(filled.mean())
            scale = float(filled.std()) if np.ptp(filled) > 0 else 1.0
            features = [name] + ([f"{name}={_MISSING_LEVEL}"] if has_missing else [])
            return {"name": name, "kind": kind, "median": median, "mean": mean, "scale": scale,
                    "indicator": has_missing, "features": features}
        levels = sorted(set(_as_text(column[~missing])))
        if len(levels) > self.max_categories:
            raise ValueError(
                f"column {name!r} has {len(levels)} distinct values, more than max_categories="
                f"{self.max_categories}; it looks like an identifier or free text: exclude it from X "
                f"(e.g. X.drop(columns=[{name!r}])) or raise max_categories"
            )
        if missing.any() and _MISSING_LEVEL not in levels:
            levels.append(_MISSING_LEVEL)
        features = [f"{name}={level}" for level in levels]
        return {"name": name, "kind": kind, "levels": levels, "features": features}

    # ------------------------------------------------------------------ transforming
    def _align(self, frame: pd.DataFrame, from_array: bool) -> pd.DataFrame:
        names = _column_names(frame)
        if from_array:  # arrays are matched by position
            if len(names) != len(self.columns_):
                raise ValueError(f"X has {len(names)} columns, but the preprocessor was fitted on {len(self.columns_)}")
            return frame.set_axis(self.columns_, axis=1)
        absent = [c for c in self.columns_ if c not in names]
        if absent:
            raise ValueError(f"X is missing column(s) seen at fit: {absent}")
        return frame.iloc[:, [names.index(c) for c in self.columns_]]

    def _transform_column(self, spec: dict[str, Any], column: pd.Series) -> np.ndarray:
        name = spec["name"]
        missing = _missing_mask(column)
        n = len(column)
        if spec["kind"] == "numeric":
            values = _to_float(name, column, missing)
            filled = np.where(missing, spec["median"], values)
            scaled = (filled - spec["mean"]) / spec["scale"]
            if spec["indicator"]:
                return np.column_stack([scaled, missing.astype(np.float64)])
            return scaled.reshape(n, 1)
        levels = spec["levels"]
        text = np.full(n, _MISSING_LEVEL, dtype=object)
        text[~missing] = _as_text(column[~missing])
        codes = pd.Index(levels, dtype=object).get_indexer(text)  # -1 for unseen levels
        out = np.zeros((n, len(levels)))
        seen = codes >= 0
        out[np.flatnonzero(seen), codes[seen]] = 1.0
        return out


# ---------------------------------------------------------------------- helpers
def _as_frame(X: Any) -> tuple[pd.DataFrame, bool]:
    """``X`` as a DataFrame, and whether it came from an array (columns matched by position)."""
    if isinstance(X, pd.DataFrame):
        return X, False
    if isinstance(X, pd.Series):
        return X.to_frame(), False
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValueError(f"X must be 2-D (rows x columns), got an array of shape {array.shape}")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])]), True


def _column_names(frame: pd.DataFrame) -> list[str]:
    names = [str(c) for c in frame.columns]
    seen: set[str] = set()
    duplicates = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if duplicates:
        raise ValueError(f"duplicate column name(s) in X: {duplicates}; column names must be unique")
    return names


def _missing_mask(column: pd.Series) -> np.ndarray:
    missing = column.isna().to_numpy(dtype=bool, copy=True)
    if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
        stripped = column.astype("string").str.strip()
        missing |= (stripped == "").fillna(False).to_numpy(dtype=bool)
    return missing


def _column_kind(name: str, column: pd.Series, missing: np.ndarray) -> str:
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_complex_dtype(dtype):
        raise ValueError(f"column {name!r} has complex dtype {dtype}; convert it to real numbers")
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise ValueError(
            f"column {name!r} has dtype {dtype}, which cannot be used directly; "
            "convert it to numbers (e.g. days since a date) or drop it"
        )
    present = column[~missing]
    parsed = _parse_numbers(present)
    bad = np.isnan(parsed)
    if not bad.any():
        return "numeric"
    if (~bad).mean() > _NUMERIC_SHARE:
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"column {name!r} has non-numeric value {_row(present.iloc[first])} at row {_row(present.index[first])} "
            f"({int((~bad).sum())} of {len(present)} values are numbers); fix or blank out the text "
            f"values, or give the column the 'category' dtype to treat it as categorical"
        )
    return "categorical"


def _parse_numbers(values: pd.Series) -> np.ndarray:
    """Parse each value as a number; NaN where it does not parse (bools do not count as numbers)."""
    if values.dtype == object:
        values = values.map(lambda v: "" if isinstance(v, (bool, np.bool_)) else v)
    parsed = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
    return parsed.to_numpy(dtype=np.float64, na_value=np.nan)


def _to_float(name: str, column: pd.Series, missing: np.ndarray) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = np.full(len(column), np.nan)
        present = column[~missing]
        parsed = _parse_numbers(present)
        bad = np.isnan(parsed)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"column {name!r} has non-numeric value {_row(present.iloc[first])} at row {_row(present.index[first])}"
            )
        values[~missing] = parsed
    infinite = np.isinf(values)
    if infinite.any():
        first = int(np.flatnonzero(infinite)[0])
        raise ValueError(
            f"column {name!r} has infinite value {float(values[first])!r} at row {_row(column.index[first])}; "
            "replace it with a finite number or a missing value"
        )
    return values


def _row(label: Any) -> str:
    """A row label or cell value for error messages (``17``, ``'abc'``), numpy scalars unwrapped."""
    return repr(label.item() if isinstance(label, np.generic) else label)


def _as_text(values: pd.Series) -> np.ndarray:
    """Values as strings (object array); categories and bools via ``str``."""
    return np.array([str(v) for v in values.tolist()], dtype=object)
