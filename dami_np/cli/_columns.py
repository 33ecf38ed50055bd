"""Which columns of a user's table are the label, the id and the features; checks on their values.

Column lists (``--features``, ``--exclude``) are comma-separated; a name holding a comma is
quoted CSV-style (``--features 'age,"income, net"'``) or given whole (``--features "income, net"``
when no split of it names columns), and the options can be repeated.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .._merge import class_key
from ._console import warn
from ._errors import CliError
from ._table_reader import column_hint

# The columns `dami select` writes (dami_np.select's report); an id column may not take one of these names.
REPORT_COLUMNS = ("row", "pick", "distance", "predicted", "probability", "explanation", "score")
_PLACEHOLDERS = {"?", "??", "-", "--", "---", ".", "unknown", "unk", "n/a", "na", "nan", "none", "null", "nil",
                 "missing", "unlabeled", "unlabelled", "tbd", "todo", "#n/a", "<na>", "undefined", "empty", "blank"}
_ID_NAME = re.compile(r"(?:^|[^a-z0-9])(?:id|key|index|idx|uuid|guid)$|^(?:id|index|idx|row|rownum|row_number)$")


def split_names(values: Sequence[str] | None, option: str) -> list[str] | None:
    """The names of a repeatable, comma-separated option (``"`` quotes a name with commas)."""
    if values is None:
        return None
    names: list[str] = []
    for value in values:
        try:
            cells = next(csv.reader([value], skipinitialspace=True), [])
        except csv.Error as error:
            raise CliError(f"{option} {value!r}: {error}") from None
        names.extend(cell.strip() for cell in cells if cell.strip())
    if not names:
        raise CliError(f"{option} is empty; give comma-separated column names")
    return names


def _resolve_list(values: Sequence[str] | None, option: str, columns: Sequence[str], source: str,
                  role: str) -> list[str] | None:
    """Names in ``values`` matched to ``columns``: each value split at commas, or, when that split
    does not name columns, the whole value as one column name."""
    if values is None:
        return None
    names: list[str] = []
    for value in values:
        split = split_names([value], option) or []
        if all(name in columns for name in split):
            names.extend(split)
        elif value.strip() in columns:
            names.append(value.strip())
        else:
            missing = next(name for name in split if name not in columns)
            raise CliError(column_hint(missing, columns, source, role))
    return list(dict.fromkeys(names))


def require_column(name: str, columns: Sequence[str], role: str, source: str) -> None:
    if name not in columns:
        raise CliError(column_hint(name, columns, source, role))


def feature_columns(
    columns: Sequence[str],
    *,
    label: str | None,
    id_column: str | None,
    features: Sequence[str] | None,
    exclude: Sequence[str] | None,
    source: str,
) -> list[str]:
    """The feature columns: ``--features`` (default: all but label and id) minus ``--exclude``."""
    columns = list(columns)
    reserved = {c for c in (label, id_column) if c is not None}
    chosen_features = _resolve_list(features, "--features", columns, source, "feature")
    excluded = _resolve_list(exclude, "--exclude", columns, source, "--exclude")
    if chosen_features is None:
        chosen = [c for c in columns if c not in reserved]
    else:
        for name in chosen_features:
            if name == label:
                raise CliError(f"--features names {name!r}, which is the label column")
            if name == id_column:
                raise CliError(f"--features names {name!r}, which is the --id column (never a feature)")
        chosen = chosen_features
    if excluded:
        if label in excluded:
            raise CliError(f"--exclude names {label!r}, which is the label column")
        chosen = [c for c in chosen if c not in excluded]
    if not chosen:
        raise CliError(f"{source}: no feature columns left besides the label/id columns and --exclude")
    return chosen


def label_series(column: pd.Series, na_values: Sequence[str] = ()) -> pd.Series:
    """Labels as stripped text; empty or whitespace cells (and ``na_values``) are missing (None)."""
    text = column.astype("string").str.strip()
    missing = text.isna() | (text == "")
    if na_values:
        missing |= text.isin(list(na_values))
    missing = missing.fillna(True)
    return text.astype(object).where(~missing.to_numpy(dtype=bool), None)


def refuse_continuous(labels: pd.Series, label: str, source: str, classes_anyway: bool) -> None:
    """A label column whose labels are all numbers, some not integers, is a continuous target (prices...):
    one error line, unless ``--classes-anyway`` (each distinct value is then a class)."""
    if classes_anyway:
        return
    from .._validation import continuous_label_example

    present = labels.dropna()
    example = continuous_label_example(present.to_numpy(dtype=object), texts=True)
    if example is not None:
        raise CliError(f"{source}: label column {label!r} looks continuous (numbers such as {example!r}, "
                       f"{present.nunique()} distinct values): a classifier needs classes; bin or round it, or pass "
                       "--classes-anyway to treat each distinct value as a class")


def check_labels(raw: pd.Series, labels: pd.Series, label: str, source: str) -> None:
    """One warning line per suspicious class: a placeholder (``?``, ``NA``...), or classes that
    differ only by case or surrounding spaces."""
    present = labels.notna().to_numpy(dtype=bool)
    if not present.any():
        return
    stripped = labels[present].astype(str)
    counts = stripped.value_counts(sort=False)
    for value, count in counts.items():
        if str(value).casefold() in _PLACEHOLDERS:
            warn(f"{source}: {count} row(s) of label column {label!r} hold {value!r}, which counts as a class; "
                 f"if it marks unlabeled rows, pass --na-values {_quote_arg(str(value))}")
    raw_text = raw[present].astype("string").fillna("").astype(str)
    spaced = sorted({r for r, s in zip(raw_text, stripped) if r != s})
    if spaced:
        example = spaced[0]
        warn(f"{source}: label column {label!r} has values with surrounding spaces (like {example!r}); "
             f"they count as the class {example.strip()!r}")
    by_case: dict[str, list[str]] = {}
    for value in counts.index:
        by_case.setdefault(class_key(str(value)), []).append(str(value))  # H24: also NFKC, zero-width
    clashes = [sorted(group) for group in by_case.values() if len(group) > 1]
    if clashes:
        shown = "; ".join(" and ".join(repr(v) for v in group) for group in clashes[:3])
        warn(f"{source}: label column {label!r} has classes that differ only by case, Unicode form or invisible "
             f"characters ({shown}); "
             "they count as different classes")
    by_number: dict[float, list[str]] = {}
    for value in counts.index:
        number = pd.to_numeric(pd.Series([str(value)]), errors="coerce").iloc[0]
        if pd.notna(number):
            by_number.setdefault(float(number), []).append(str(value))
    same = [sorted(group) for group in by_number.values() if len(group) > 1]
    if same:
        shown = "; ".join(" and ".join(repr(v) for v in group) for group in same[:3])
        warn(f"{source}: label column {label!r} has classes that are the same number written differently "
             f"({shown}); they count as different classes")


def check_ids(values: pd.Series, id_column: str, rows: np.ndarray, source: str) -> None:
    """Warn (one line each) about duplicate or empty ids: the report's ``row`` stays the key."""
    text = values.astype("string").str.strip().fillna("")
    empty = (text == "").to_numpy(dtype=bool)
    if empty.any():
        warn(f"{source}: id column {id_column!r} is empty in {int(empty.sum())} row(s) (first: data row "
             f"{int(rows[np.flatnonzero(empty)[0]])}); use the report's 'row' column for those")
    duplicated = text.duplicated(keep=False).to_numpy(dtype=bool) & ~empty
    if duplicated.any():
        first = text[duplicated].iloc[0]
        at = rows[np.flatnonzero((text == first).to_numpy(dtype=bool))][:2]
        n_values = int(text[duplicated].nunique())
        warn(f"{source}: id column {id_column!r} has {n_values} duplicated value(s) (like {first!r} in data rows "
             f"{int(at[0])} and {int(at[1])}); the report's 'row' column tells the rows apart")


def report_id_name(id_column: str) -> str:
    """The report column for ``--id``: its own name, or ``<name>_id`` when that is a report column."""
    return f"{id_column}_id" if id_column in REPORT_COLUMNS else id_column


def identifier_warnings(frame: pd.DataFrame, features: Sequence[str], source: str, *,
                        identifiers: bool = True) -> None:
    """Warn about feature columns that look like row numbers or identifiers (they only add noise),
    and text columns of numbers written with %, currency signs or thousands separators."""
    n = len(frame)
    for name in features:
        column = frame[name]
        text_like = column.dtype == object or pd.api.types.is_string_dtype(column.dtype)
        present = column.dropna() if text_like else column
        if text_like:
            _decorated_number_warning(present.astype(str).str.strip(), name, source)
        if not identifiers or n < 20:
            continue
        if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            if not _whole_numbers(values):  # a missing value (NaN) is not whole: not an identifier
                continue
            if np.unique(values).size != n:
                continue
            ordered = np.sort(values)
            row_numbers = ordered[-1] - ordered[0] == n - 1 and ordered[0] in (0.0, 1.0)
            if row_numbers or _ID_NAME.search(name.lower()):
                what = "the row numbers" if row_numbers else "a different whole number in every row"
                warn(f"{source}: column {name!r} holds {what}, like an identifier, and is used as a feature; "
                     f"if it is one, pass --id {_quote_arg(name)} or --exclude {_quote_arg(name)}")
        elif text_like and len(present) == n:
            text = present.astype(str).str.strip()
            distinct = text.nunique()
            if distinct == n and distinct <= 100 and pd.to_numeric(text, errors="coerce").isna().all():
                warn(f"{source}: column {name!r} has a different text in every row, like an identifier, and is "
                     f"used as a feature (it only adds noise); pass --id {_quote_arg(name)} or "
                     f"--exclude {_quote_arg(name)}")


_SAMPLE = 1000


def _whole_numbers(values: np.ndarray) -> bool:
    """Every value finite and whole: decided on the first rows when they already say no (a column of
    measurements, the common case, costs nothing), else confirmed on all of them."""
    for part in (values[:_SAMPLE], values):
        with np.errstate(invalid="ignore"):
            if not (np.isfinite(part).all() and (part == np.round(part)).all()):
                return False
    return True


_DECORATED = re.compile(r"[-+(]?\s*[$€£¥]?\s*[-+]?(?:\d{1,3}(?:[,' ]\d{3})+|\d+)(?:[.,]\d+)?\s*[%$€£¥]?\)?")


def _decorated_number_warning(text: pd.Series, name: str, source: str) -> None:
    """Numbers written with %, currency signs or thousands separators are text, hence categories."""
    if text.empty or not text.iloc[:100].str.contains(r"\d", regex=True).any():
        return
    plain = pd.to_numeric(text, errors="coerce").notna()
    decorated = text.str.fullmatch(_DECORATED).fillna(False) & ~plain
    if decorated.any() and (decorated | plain).mean() >= 0.9:
        example = text[decorated].iloc[0]
        warn(f"{source}: column {name!r} holds numbers written as text (like {example!r}), so each value is a "
             "category; remove the signs and thousands separators to use them as numbers")


class CheckedFeatures(NamedTuple):
    """The feature columns of a round and their preprocessing, fit once (by ``check_features``)."""

    frame: pd.DataFrame
    preprocessor: Any


def check_features(X: pd.DataFrame, source: str) -> CheckedFeatures:
    """Fit the round's preprocessor up front, so that every unusable column is one CLI error line
    before any work (and before any warning is printed); the round then uses this fit."""
    from .._preprocess import TabularPreprocessor, UnusableColumnsError

    try:
        return CheckedFeatures(X, TabularPreprocessor().fit(X))
    except UnusableColumnsError as error:
        raise CliError(unusable_columns_message(error, source)) from None


def unusable_columns_message(error: Exception, source: str) -> str:
    """The CLI version of ``UnusableColumnsError``: every column, its problem, one ``--exclude``."""
    issues = getattr(error, "issues", [])
    names = [issue.column for issue in issues]
    parts = [f"{issue.column!r} ({issue.detail})" for issue in issues]
    kinds = {issue.kind for issue in issues}
    what = "1 column cannot" if len(issues) == 1 else f"{len(issues)} columns cannot"
    advice = f"pass --exclude {_quote_arg(_join_names(names))}"
    if "too_many_levels" in kinds:
        advice += " (an identifier column can be given as --id to copy it into the report)"
    markers = sorted({v for issue in issues for v in getattr(issue, "values", ()) if v.casefold() in _PLACEHOLDERS})
    if markers:
        shown = _quote_arg(",".join(markers))
        advice += f", or pass --na-values {shown} if {' and '.join(repr(m) for m in markers)} mark missing values"
    elif kinds & {"mixed", "infinite"}:
        advice += ", or fix the values"
    return f"{source}: {what} be used as a feature: {', '.join(parts)}; {advice}"


def _join_names(names: Sequence[str]) -> str:
    return ",".join(f'"{n}"' if ("," in n or '"' in n or n != n.strip()) else n for n in names)


def _quote_arg(text: str) -> str:
    """``text`` as a shell word."""
    if re.fullmatch(r"[A-Za-z0-9_.,:/=+@%-]+", text):
        return text
    return "'" + text.replace("'", "'\\''") + "'"
