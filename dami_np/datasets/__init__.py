"""Bundled real tabular classification datasets (KEEL, mostly from UCI).

>>> from dami_np import datasets
>>> X, y = datasets.load("crx")      # X: DataFrame (categoricals as strings), y: Series "class"
>>> datasets.names()[:3]
['australian', 'banana', 'crx']

Files live in ``data/<name>.csv.gz`` (origin and checksums in ``data/SOURCES.md``).
"""

from __future__ import annotations

import pathlib

import pandas as pd

from dami_np.datasets._registry import _DATASETS

__all__ = ["load", "names", "info", "path"]

_DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"
_LABEL = "class"
# KEEL marks missing values with "?" (or "<null>"); nothing else counts as missing, so that a
# category spelled like "NA" or "None" stays a category.
_NA_VALUES = ["", "?", "<null>"]


def names() -> list[str]:
    """Sorted names of the bundled datasets."""
    return sorted(_DATASETS)


def _check_name(name: str) -> str:
    if not isinstance(name, str) or name not in _DATASETS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(names())}")
    return name


def path(name: str) -> pathlib.Path:
    """Path of the bundled ``<name>.csv.gz`` file."""
    return _DATA_DIR / f"{_check_name(name)}.csv.gz"


def load(name: str) -> tuple[pd.DataFrame, pd.Series]:
    """Load a bundled dataset as ``(X, y)``.

    ``X`` keeps the original column names (``x1..xN``) and dtypes: numeric columns are
    int64/float64, categorical columns are strings. ``y`` is a Series named ``"class"``.
    """
    frame = pd.read_csv(path(name), keep_default_na=False, na_values=_NA_VALUES)
    y = frame.pop(_LABEL)
    return frame, y


def info() -> pd.DataFrame:
    """One row per dataset: name, rows, features, classes, kind, source."""
    rows = [{"name": key, **entry._asdict()} for key, entry in sorted(_DATASETS.items())]
    return pd.DataFrame(rows, columns=["name", "rows", "features", "classes", "kind", "source"])
