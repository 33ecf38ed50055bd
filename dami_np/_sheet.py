"""Annotation sheets: the picked rows of a table, ready for a person to fill in the labels.

A sheet has, in pick order, every column of the table as it was read, the label column left
empty, and the report of each pick under names that cannot collide with the table's own:
``dami_pick``, ``dami_row`` (the data row of the table, 0-based, what ``dami merge`` matches
on), ``dami_predicted``, ``dami_probability``, ``dami_explanation``, ``dami_distance``.  A table
that already has a column of one of those names is refused (rename it).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

__all__ = ["PREFIX", "SHEET_REPORT_COLUMNS", "annotation_sheet", "sheet_name", "check_sheet_names"]

PREFIX = "dami_"
# report column -> where it goes in the sheet ("first": before the table's columns)
SHEET_REPORT_COLUMNS = (("pick", "first"), ("row", "first"), ("predicted", "last"), ("probability", "last"),
                        ("explanation", "last"), ("distance", "last"))


def sheet_name(column: str) -> str:
    """The sheet's name for a report column (``row`` -> ``dami_row``)."""
    return PREFIX + column


def check_sheet_names(columns: Sequence[str], source: str = "the table") -> None:
    """Refuse a table whose own columns take a name the sheet needs for its report columns."""
    taken = [sheet_name(c) for c, _ in SHEET_REPORT_COLUMNS if sheet_name(c) in set(columns)]
    if taken:
        raise ValueError(f"{source} has column(s) {', '.join(repr(t) for t in taken)}, which the annotation sheet "
                         "needs for its report columns; rename them")


def annotation_sheet(frame: pd.DataFrame, positions: np.ndarray, report: pd.DataFrame, *, label: str,
                     source: str = "the table") -> pd.DataFrame:
    """The sheet of the picks: ``frame.iloc[positions]`` (all columns), ``label`` emptied, report columns
    added (``report`` has one row per pick, in pick order, with the report's column names)."""
    columns = [str(c) for c in frame.columns]
    check_sheet_names(columns, source)
    if label not in columns:
        raise ValueError(f"{source}: label column {label!r} not found")
    positions = np.asarray(positions, dtype=np.int64)
    if len(report) != positions.size:
        raise ValueError(f"the report has {len(report)} picks but {positions.size} positions were given")
    body = frame.iloc[positions].reset_index(drop=True).copy()
    body[label] = pd.Series([None] * len(body), dtype=object)
    first = {sheet_name(c): _column(report, c) for c, where in SHEET_REPORT_COLUMNS if where == "first"}
    last = {sheet_name(c): _column(report, c) for c, where in SHEET_REPORT_COLUMNS if where == "last"}
    parts = [pd.DataFrame(first), body, pd.DataFrame(last)]
    return pd.concat(parts, axis=1)


def _column(report: pd.DataFrame, name: str) -> Any:
    if name in report.columns:
        return report[name].to_numpy()
    return np.full(len(report), np.nan)
