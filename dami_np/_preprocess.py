"""Tabular preprocessing: the one place where a table becomes a float64 matrix.

Rules (decided per column at ``fit``, in input column order):

- bool, category and text columns whose values are not numbers are *categorical*: one-hot,
  one output column per level, levels sorted as strings; missing values get their own level
  ``"<missing>"`` (only if some were missing at fit); a level unseen at fit encodes as all zeros.
- numeric columns are *numeric*: missing values are replaced by the fit median, then the
  column is standardized (mean 0, std 1; a constant column is only centered). The median,
  mean and std are exact and order-free, defined bit for bit in ``_column_stats`` (exactly
  rounded sums, the median by selection): any row order or split into pieces gives them.
  A column with missing values at fit also gets an indicator column ``"<name>=<missing>"``. Standardizing
  first divides by the power of two at or below ``max |x|`` (exact, so ordinary columns give
  the same bits as a plain ``(x - mean) / std``), so columns near +-1e308 or made of
  denormals standardize without overflow or underflow.
- date/time columns (``datetime64``, ``timedelta64``, or text whose every value is an ISO
  date like ``2024-03-01`` / ``2024-03-01 14:30[:00][+02:00]`` or ``2024/03/01``) are
  *datetime*: one numeric feature, days since 1970-01-01 (UTC; a duration in days), then
  treated like a numeric column. Day-first or month-first dates (``03/01/2024``) are used
  when the values decide the order (some day above 12); when they cannot, the column is
  *excluded* (no features) with a ``ColumnWarning``.
- text (object/str) columns whose every value parses as a number are converted to numbers.
  If more than half of the values parse but some do not (e.g. ``"?"`` placeholders), that
  is an error naming the first offending row and value. To force a column of number-like
  codes to be categorical, give it the ``category`` dtype.
- empty or whitespace-only strings count as missing.

``fit`` checks every column before raising, so one ``UnusableColumnsError`` (a ``ValueError``)
lists all the columns that cannot be used (``.issues``, one ``ColumnIssue`` each).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._column_stats import NumericStats, numeric_stats_many
from .kernels import GROUP, standardize_columns

__all__ = ["TabularPreprocessor", "UnusableColumnsError", "ColumnIssue", "ColumnWarning"]

_MISSING_LEVEL = "<missing>"
_NUMERIC_SHARE = 0.5  # a text column is "mostly numeric" above this share of parseable values
_EPOCH = pd.Timestamp("1970-01-01")
_DAY = pd.Timedelta(days=1)
_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?"
_ISO_DATE = re.compile(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}" + _TIME)
_DMY_DATE = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{4}(?: \d{1,2}:\d{2}(?::\d{2})?)?")


@dataclass(frozen=True)
class ColumnIssue:
    """Why one input column cannot be used: ``kind`` is ``empty``, ``too_many_levels``,
    ``mixed`` (mostly numbers or dates, some text), ``infinite`` or ``dtype``; ``message``
    is the full sentence (with advice for the Python API); ``detail`` the short reason."""

    column: str
    kind: str
    message: str
    detail: str
    values: tuple[str, ...] = ()  # for ``mixed``: the first few texts that are not numbers or dates


class UnusableColumnsError(ValueError):
    """Some input columns cannot be used as features; ``issues`` lists every one of them."""

    def __init__(self, issues: list[ColumnIssue]) -> None:
        self.issues = list(issues)
        if len(self.issues) == 1:
            text = self.issues[0].message
        else:
            text = f"{len(self.issues)} columns cannot be used: " + "; ".join(i.message for i in self.issues)
        super().__init__(text)


class ColumnWarning(UserWarning):
    """A column was used in a way the user may not expect (e.g. excluded); ``column`` names it."""

    def __init__(self, message: str, column: str) -> None:
        super().__init__(message)
        self.column = column


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
        issues: list[ColumnIssue] = []
        pending: list[int] = []  # numeric specs whose statistics come in one pass over a group of columns
        for position, name in enumerate(columns):
            try:
                specs.append(self._fit_column(name, frame.iloc[:, position]))
            except _ColumnProblem as problem:
                issues.append(problem.issue)
                continue
            if "values" in specs[-1]:
                pending.append(len(specs) - 1)
            if len(pending) == GROUP or position == len(columns) - 1:
                _fit_numeric(specs, pending)
        if issues:
            raise UnusableColumnsError(issues)
        return self._set_specs(columns, specs)

    def _set_specs(self, columns: list[str], specs: list[dict[str, Any]]) -> TabularPreprocessor:
        """Become the preprocessor fitted with ``specs`` (one per column of ``columns``)."""
        self.columns_ = columns
        self._specs = specs
        self.column_kinds_ = {spec["name"]: spec["kind"] for spec in specs}
        self.feature_names_out_ = [f for spec in specs for f in spec["features"]]
        self.source_columns_ = [spec["name"] for spec in specs for _ in spec["features"]]
        return self

    def transform(self, X: pd.DataFrame | np.ndarray, dtype: Any = np.float64) -> np.ndarray:
        """Encode ``X`` with the fitted rules; returns an array ``(n, p)`` of ``dtype`` (float64, or
        float32 for a float32 model: every value is computed in float64, then rounded once)."""
        if not hasattr(self, "_specs"):
            raise RuntimeError("TabularPreprocessor is not fitted; call fit(X) first")
        dtype = np.dtype(dtype)
        if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError(f"dtype must be float64 or float32, got {dtype}")
        frame = self._align(*_as_frame(X))
        n = len(frame)
        widths = [len(spec["features"]) for spec in self._specs]
        out = np.empty((n, sum(widths)), dtype=dtype)  # filled in place: no per-column blocks
        numeric = []  # (first output column, spec, values, missing): standardized below, by row blocks
        positions = []
        unreadable: ValueError | None = None
        at = 0
        for i, (spec, width) in enumerate(zip(self._specs, widths)):
            column = frame.iloc[:, i]
            if spec["kind"] in ("numeric", "datetime"):
                try:
                    numeric.append((at, spec, *self._numeric_values(spec, column)))
                except ValueError as error:  # raised after any overflow in an earlier column, as column by column
                    unreadable = error
                    break
                positions.append(i)
            elif width:
                out[:, at : at + width] = self._transform_column(spec, column)
            at += width
        if numeric and not _standardize_into(out, numeric):
            for (_, spec, _, _), i in zip(numeric, positions):  # a value overflowed: the first one's message
                self._transform_column(spec, frame.iloc[:, i])
            raise ValueError(f"a standardized value of X is too large for {dtype}; transform with dtype=float64")
        if unreadable is not None:
            raise unreadable
        return out

    def fit_transform(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def __repr__(self) -> str:
        return f"TabularPreprocessor(max_categories={self.max_categories})"

    # ------------------------------------------------------------------ fitting
    def _fit_column(self, name: str, column: pd.Series) -> dict[str, Any]:
        missing = _missing_mask(column)
        if missing.all():
            raise _empty_column(name)
        kind, date_format = _column_kind(name, column, missing)
        if kind == "excluded":
            return {"name": name, "kind": kind, "features": []}
        if kind in ("numeric", "datetime"):
            values = _to_float(name, column, missing, kind, date_format)  # NaN exactly where missing
            return {"name": name, "kind": kind, "date_format": date_format, "values": values,
                    "indicator": bool(missing.any())}  # statistics by _fit_numeric
        levels = sorted(set(_as_text(column[~missing])))
        if len(levels) > self.max_categories:
            raise _ColumnProblem(
                name, "too_many_levels",
                f"column {name!r} has {len(levels)} distinct values, more than max_categories="
                f"{self.max_categories}; it looks like an identifier or free text: exclude it from X "
                f"(e.g. X.drop(columns=[{name!r}])) or raise max_categories",
                f"{len(levels)} distinct text values: an identifier or free text?",
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

    def _numeric_values(self, spec: dict[str, Any], column: pd.Series) -> tuple[np.ndarray, np.ndarray | None]:
        """A numeric or date column's float64 values and its missing mask (None when nothing is missing)."""
        missing = _missing_mask(column)
        try:
            values = _to_float(spec["name"], column, missing, spec["kind"], spec["date_format"])
        except _ColumnProblem as problem:
            raise ValueError(problem.issue.message) from None
        return values, (missing if missing.any() else None)

    def _transform_column(self, spec: dict[str, Any], column: pd.Series) -> np.ndarray:
        name = spec["name"]
        missing = _missing_mask(column)
        n = len(column)
        if spec["kind"] == "excluded":
            return np.empty((n, 0))
        if spec["kind"] in ("numeric", "datetime"):
            try:
                values = _to_float(name, column, missing, spec["kind"], spec["date_format"])
            except _ColumnProblem as problem:
                raise ValueError(problem.issue.message) from None
            filled = np.where(missing, spec["median"], values)
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                scaled = (filled / spec["shift"] - spec["mean"]) / spec["scale"]
            if not np.isfinite(scaled).all():
                first = int(np.flatnonzero(~np.isfinite(scaled))[0])
                raise ValueError(
                    f"column {name!r} has value {float(filled[first])!r} at row {_row(column.index[first])}, "
                    f"too far outside the range seen at fit to be standardized"
                )
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
    from ._validation import SPARSE_DENSE_LIMIT_BYTES, _densify, _is_sparse

    array = _densify(X, np.dtype(np.float64), "X", SPARSE_DENSE_LIMIT_BYTES) if _is_sparse(X) else np.asarray(X)
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


class _ColumnProblem(Exception):
    def __init__(self, column: str, kind: str, message: str, detail: str, values: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.issue = ColumnIssue(column=column, kind=kind, message=message, detail=detail, values=values)


def _column_kind(name: str, column: pd.Series, missing: np.ndarray) -> tuple[str, str | None]:
    """The column's kind, and for text dates the date format (``"iso"``, ``"%d/%m/%Y"``, ...)."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "categorical", None
    if pd.api.types.is_complex_dtype(dtype):
        raise _ColumnProblem(name, "dtype", f"column {name!r} has complex dtype {dtype}; convert it to real numbers",
                             f"complex dtype {dtype}")
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return "datetime", None
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric", None
    present = column[~missing]
    parsed = _parse_numbers(present)
    bad = np.isnan(parsed)
    if not bad.any():
        return "numeric", None
    if (~bad).mean() > _NUMERIC_SHARE:
        first = int(np.flatnonzero(bad)[0])
        raise _ColumnProblem(
            name, "mixed",
            f"column {name!r} has non-numeric value {_row(present.iloc[first])} at row {_row(present.index[first])} "
            f"({int((~bad).sum())} of {len(present)} values are numbers); fix or blank out the text "
            f"values, or give the column the 'category' dtype to treat it as categorical",
            f"non-numeric value {_row(present.iloc[first])} at row {_row(present.index[first])} "
            f"({int((~bad).sum())} of {len(present)} values are numbers)",
            tuple(sorted({str(v).strip() for v in present[bad].tolist()}))[:5],
        )
    date_format = _date_format(name, present)
    if date_format == "ambiguous":
        warnings.warn(ColumnWarning(
            f"column {name!r} holds dates whose day/month order the values do not decide (like "
            f"{_row(present.iloc[0])}); it is left out of the features: write them as YYYY-MM-DD to use them",
            name), stacklevel=4)
        return "excluded", None
    if date_format is not None:
        return "datetime", date_format
    return "categorical", None


def _date_format(name: str, present: pd.Series) -> str | None:
    """``"iso"``, a day/month ``strptime`` format, ``"ambiguous"``, or None if the text is not dates."""
    text = present.astype("string").str.strip()
    head = text.iloc[:100]
    if not (head.str.fullmatch(_ISO_DATE) | head.str.fullmatch(_DMY_DATE)).fillna(False).any():
        return None  # the common case, decided without scanning a long text column
    iso = text.str.fullmatch(_ISO_DATE).fillna(False).to_numpy(dtype=bool)
    dmy = text.str.fullmatch(_DMY_DATE).fillna(False).to_numpy(dtype=bool)
    dates = iso | dmy
    if not dates.any() or dates.mean() <= _NUMERIC_SHARE:
        return None
    if not dates.all() or (iso.any() and dmy.any()):
        first = int(np.flatnonzero(~dates if not dates.all() else dmy)[0])
        raise _ColumnProblem(
            name, "mixed",
            f"column {name!r} has value {_row(present.iloc[first])} at row {_row(present.index[first])} that is not a "
            f"date like the others ({int(dates.sum())} of {len(present)} values are dates); fix or blank it out",
            f"value {_row(present.iloc[first])} at row {_row(present.index[first])} is not a date like the others",
        )
    if iso.all():
        if _parse_dates(text, "iso").isna().any():
            return None  # like dates but not real ones (month 13...): plain text
        return "iso"
    normalized = text.str.replace(r"[.-]", "/", regex=True)
    fitting = [fmt for fmt in ("%d/%m/%Y", "%m/%d/%Y")
               if not _parse_dates(normalized, fmt + (" %H:%M" if normalized.str.contains(" ").any() else "")).isna().any()]
    if len(fitting) == 2:
        return "ambiguous"
    if len(fitting) == 1:
        return fitting[0] + (" %H:%M" if normalized.str.contains(" ").any() else "")
    return None


def _parse_dates(text: pd.Series, date_format: str) -> pd.Series:
    if date_format == "iso":
        return pd.to_datetime(text.str.replace("/", "-", regex=False), format="ISO8601", errors="coerce", utc=True)
    return pd.to_datetime(text.str.replace(r"[.-]", "/", regex=True), format=date_format, errors="coerce",
                          utc=True)


def _numeric_column_floats(name: str, column: pd.Series) -> np.ndarray:
    """A numeric-dtype column's float64 values, NaN where missing (raises ``_ColumnProblem``, e.g. an
    infinite value named by its row label): what ``fit`` reads of a numeric column, for Dask pieces."""
    return _to_float(name, column, _missing_mask(column))


def _fitted_numeric(name: str, stats: NumericStats, has_missing: bool, max_categories: int) -> TabularPreprocessor:
    """A preprocessor of the one numeric column ``name`` fitted elsewhere (Dask: from merged pieces)."""
    spec = _numeric_spec(name, "numeric", None, stats, has_missing)
    return TabularPreprocessor(max_categories=max_categories)._set_specs([name], [spec])


def _empty_column(name: str) -> _ColumnProblem:
    return _ColumnProblem(name, "empty", f"column {name!r} is entirely empty (all values missing); drop it from X",
                          "entirely empty")


def _fit_numeric(specs: list[dict[str, Any]], pending: list[int]) -> None:
    """Replace the pending numeric specs (``specs[i]`` for ``i`` in ``pending``, holding their float
    values) by fitted ones, their statistics computed together; empties ``pending``."""
    stats = numeric_stats_many([specs[i]["values"] for i in pending])
    for i, column_stats in zip(pending, stats):
        spec = specs[i]
        specs[i] = _numeric_spec(spec["name"], spec["kind"], spec["date_format"], column_stats, spec["indicator"])
    pending.clear()


def _numeric_spec(name: str, kind: str, date_format: str | None, stats: NumericStats,
                  has_missing: bool) -> dict[str, Any]:
    """A numeric or date column's fitted spec from its statistics (see ``_column_stats``)."""
    features = [name] + ([f"{name}={_MISSING_LEVEL}"] if has_missing else [])
    return {"name": name, "kind": kind, "median": stats.median, "shift": stats.shift, "mean": stats.mean,
            "scale": stats.scale, "indicator": has_missing, "features": features, "date_format": date_format}


def _standardize_into(out: np.ndarray, numeric: list[tuple[int, dict[str, Any], np.ndarray, np.ndarray | None]]) -> bool:
    """Write each numeric column's ``(filled / shift - mean) / scale`` (and missing indicator) into its
    output column of ``out`` (float64 or float32: computed in float64, stored rounded once), in parallel
    row blocks (``kernels.standardize_columns``); False when some stored value is not finite."""
    return standardize_columns(
        out, [values for _, _, values, _ in numeric], [missing for _, _, _, missing in numeric],
        [at for at, _, _, _ in numeric],
        np.array([[spec["median"], spec["shift"], spec["mean"], spec["scale"]] for _, spec, _, _ in numeric],
                 dtype=np.float64).reshape(len(numeric), 4),
        [bool(spec["indicator"]) for _, spec, _, _ in numeric])


def _parse_numbers(values: pd.Series) -> np.ndarray:
    """Parse each value as a number; NaN where it does not parse (bools do not count as numbers)."""
    if values.dtype == object:
        values = values.map(lambda v: "" if isinstance(v, (bool, np.bool_)) else v)
    text = values.astype("string").str.strip()
    codes, uniques = pd.factorize(text)  # each distinct text parsed once (a few levels: a few parses)
    parsed = pd.to_numeric(pd.Series(np.asarray(uniques, dtype=object), dtype="string"), errors="coerce")
    parsed_uniques = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    out = np.full(len(text), np.nan)
    known = codes >= 0
    out[known] = parsed_uniques[codes[known]]
    return out


def _to_float(name: str, column: pd.Series, missing: np.ndarray, kind: str = "numeric",
              date_format: str | None = None) -> np.ndarray:
    if kind == "datetime":
        return _dates_to_days(name, column, missing, date_format)
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = np.full(len(column), np.nan)
        present = column[~missing]
        parsed = _parse_numbers(present)
        bad = np.isnan(parsed)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            text = f"non-numeric value {_row(present.iloc[first])} at row {_row(present.index[first])}"
            raise _ColumnProblem(name, "mixed", f"column {name!r} has {text}", text)
        values[~missing] = parsed
    infinite = np.isinf(values)
    if infinite.any():
        first = int(np.flatnonzero(infinite)[0])
        written = column.iloc[first]
        if isinstance(written, str) and "inf" not in written.lower():  # like '1e400': too large for a float
            text = f"value {written.strip()!r} at row {_row(column.index[first])}, beyond the float range (+-1.8e308)"
        else:
            text = f"infinite value {float(values[first])!r} at row {_row(column.index[first])}"
        raise _ColumnProblem(name, "infinite",
                             f"column {name!r} has {text}; replace it with a finite number or a missing value", text)
    return values


def _dates_to_days(name: str, column: pd.Series, missing: np.ndarray, date_format: str | None) -> np.ndarray:
    """Dates as days since 1970-01-01 UTC (durations as days); NaN where missing."""
    if pd.api.types.is_timedelta64_dtype(column.dtype):
        return (column / _DAY).to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        stamps = column.dt.tz_convert(None) if getattr(column.dt, "tz", None) is not None else column
        return ((stamps - _EPOCH) / _DAY).to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.full(len(column), np.nan)
    present = column[~missing]
    parsed = _parse_dates(present.astype("string").str.strip(), date_format or "iso")
    bad = parsed.isna().to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        text = f"value {_row(present.iloc[first])} at row {_row(present.index[first])}, which is not a date"
        raise _ColumnProblem(name, "mixed", f"column {name!r} has {text}", text)
    values[~missing] = ((parsed.dt.tz_convert(None) - _EPOCH) / _DAY).to_numpy(dtype=np.float64)
    return values


def _row(label: Any) -> str:
    """A row label or cell value for error messages (``17``, ``'abc'``), numpy scalars unwrapped."""
    return repr(label.item() if isinstance(label, np.generic) else label)


def _as_text(values: pd.Series) -> np.ndarray:
    """Values as strings (object array); categories and bools via ``str``."""
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object or (
            values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) == "string"):
        codes, uniques = pd.factorize(values)  # text already: str() once per distinct value
        text = np.array([str(v) for v in np.asarray(uniques, dtype=object).tolist()] + ["nan"], dtype=object)
        return text[codes]  # (-1, a missing value, maps to the "nan" str() would give)
    return np.array([str(v) for v in values.tolist()], dtype=object)
