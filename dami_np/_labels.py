"""The one label encoder of the library: labels (missing = unlabeled) to int64 codes.

Every path that trains on labels (a round, ``simulate``, ``status``, ``merge --save-model``, the
Dask round) encodes them here, so a label gets the same code everywhere: codes index the distinct
labels sorted (first-appearance order when the labels cannot be ordered, e.g. mixed types).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["encode_labels"]


def encode_labels(y: Any, n: int, *, ordered: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labeled mask, int64 codes with -1 for missing, distinct labels in code order) of ``n`` labels.

    ``ordered``: labels that cannot be sorted are an error (``MLPClassifier``: scikit-learn's
    sorted ``classes_``) instead of coded in first-appearance order.  A NumPy array keeps its
    dtype in the distinct labels."""
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise ValueError(f"y must be 1-D (one label per row), got a DataFrame with {y.shape[1]} columns")
        y = y.iloc[:, 0]
    if isinstance(y, (pd.Series, pd.Index)):
        series = pd.Series(y.array, copy=False)
    else:
        arr = np.asarray(y, dtype=object) if not isinstance(y, np.ndarray) else y
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(f"y must be 1-D (one label per row), got shape {arr.shape}")
        series = pd.Series(arr, copy=False)
    if len(series) != n:
        raise ValueError(f"y has {len(series)} entries but X has {n} rows; they must match")
    missing = series.isna().to_numpy()
    labeled = ~missing
    values = series[labeled]
    try:
        codes, uniques = pd.factorize(values, sort=True)
        if ordered:
            np.sort(np.asarray(uniques, dtype=object))  # pandas orders mixed types; Python cannot
    except TypeError:  # labels of mixed, unorderable types: first-appearance order
        if ordered:
            raise ValueError("y labels must be mutually comparable (e.g. all strings or all numbers)") from None
        codes, uniques = pd.factorize(values, sort=False)
    full = np.full(n, -1, dtype=np.int64)
    full[labeled] = codes
    classes = np.asarray(uniques)
    if isinstance(y, np.ndarray) and y.dtype != object and classes.dtype != y.dtype:
        classes = classes.astype(y.dtype)
    return labeled, full, classes
