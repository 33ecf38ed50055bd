"""Standardize numeric columns into their output columns of a matrix, in parallel row blocks.

For each column ``c`` and row ``i``: ``filled = median[c]`` where ``masks[c][i]`` (missing),
else ``columns[c][i]``; ``out[i, at[c]] = ((filled / shift[c]) - mean[c]) / scale[c]``, three
IEEE float64 operations in that order (no fastmath: the bits of NumPy's element-wise ops; the
division by a power-of-two shift is a multiplication by its exact reciprocal, the same bits), then
stored in ``out``'s dtype (float32: rounded once, as ``astype`` rounds). With ``indicator[c]``,
``out[i, at[c] + 1]`` is 1.0 where missing, else 0.0. Returns whether every stored value is finite
(a float32 store can overflow where the float64 value did not).

The columns are separate 1-D arrays (views of a table's columns), given to the kernel as a
tuple of :data:`GROUP` arrays at a time, so one compiled signature (per ``out`` dtype) serves
any number of columns; each call writes its group's columns into one block of rows after
another, while the block is in cache. :func:`standardize_columns` is the entry point; its NumPy
twin (:func:`_standardize_numpy`) gives the same bits without Numba or for small tables.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import _numba_policy as _policy
from ._exact_sum import GROUP, exact_reciprocal, kernel_input, padded
from ._numba_policy import kernel, prange

__all__ = ["standardize_columns"]

_ROWS = 2048  # rows per block
_KERNEL_MIN = 1 << 16  # below this many values the NumPy twin finishes before a kernel's first call


@kernel(parallel=True)
def _standardize_kernel(out, columns, masks, count, at, numbers, indicator):  # pragma: no cover - compiled
    n = out.shape[0]
    blocks = (n + _ROWS - 1) // _ROWS
    bad = 0
    for block in prange(blocks):
        start = block * _ROWS
        stop = min(n, start + _ROWS)
        not_finite = 0
        for c in range(count):
            values = columns[c]
            mask = masks[c]
            has_mask = mask.shape[0] > 0
            j = at[c]
            median = numbers[c, 0]
            shift = numbers[c, 1]
            mean = numbers[c, 2]
            scale = numbers[c, 3]
            reciprocal = numbers[c, 4]  # 1 / shift when multiplying gives the division's bits, else 0
            for i in range(start, stop):
                x = values[i]
                if has_mask and mask[i]:
                    x = median
                y = x * reciprocal if reciprocal != 0.0 else x / shift
                y = y - mean
                y = y / scale
                out[i, j] = y
                stored = out[i, j]
                if not stored - stored == 0.0:  # inf or NaN (in out's dtype)
                    not_finite += 1
            if indicator[c]:
                for i in range(start, stop):
                    out[i, j + 1] = 1.0 if has_mask and mask[i] else 0.0
        bad += not_finite
    return bad == 0


def standardize_columns(out: np.ndarray, columns: Sequence[np.ndarray], masks: Sequence[np.ndarray | None],
                        at: Sequence[int], numbers: np.ndarray, indicator: Sequence[bool]) -> bool:
    """Write column ``c`` standardized into ``out[:, at[c]]`` (and its missing indicator into
    ``out[:, at[c] + 1]`` where ``indicator[c]``); ``numbers[c]`` = (median, shift, mean, scale),
    ``masks[c]`` the missing rows or None. ``out``: 2-D float64 or float32. Returns whether every
    written value is finite. Same bits with or without the kernel, for any thread count."""
    numbers = np.asarray(numbers, dtype=np.float64).reshape(len(columns), 4)
    lengths = {len(values) for values in columns} | {len(mask) for mask in masks if mask is not None}
    if lengths - {out.shape[0]}:  # the kernel reads without bounds checks
        raise ValueError(f"standardize_columns: columns of {sorted(lengths)} rows for an out of {out.shape[0]} rows")
    if not (_policy.NUMBA_ENABLED and out.shape[0] * len(columns) >= _KERNEL_MIN):
        return _standardize_numpy(out, columns, masks, at, numbers, indicator)
    numbers = np.column_stack([numbers, [exact_reciprocal(shift) for shift in numbers[:, 1]]])
    finite = True
    no_mask = np.zeros(0, dtype=np.bool_)
    no_mask.flags.writeable = False
    for first in range(0, len(columns), GROUP):
        group = range(first, min(len(columns), first + GROUP))
        values = [kernel_input(columns[c]) for c in group]
        missing = [no_mask if masks[c] is None else kernel_input(masks[c], np.bool_) for c in group]
        pad = GROUP - len(values)
        finite &= bool(_standardize_kernel(
            out, padded(values, values[0]), padded(missing, no_mask), len(values),
            np.array([at[c] for c in group] + [0] * pad, dtype=np.int64),
            np.concatenate([numbers[first : first + len(values)], np.ones((pad, 5))]),
            np.array([bool(indicator[c]) for c in group] + [False] * pad, dtype=np.bool_)))
    return finite


def _standardize_numpy(out: np.ndarray, columns: Sequence[np.ndarray], masks: Sequence[np.ndarray | None],
                       at: Sequence[int], numbers: np.ndarray, indicator: Sequence[bool],
                       rows: int = 8192) -> bool:
    """The kernel's NumPy twin: a block of rows at a time (the block stays in cache while every
    column is written)."""
    n = out.shape[0]
    scratch = np.empty(min(n, rows))
    finite = True
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        scaled = scratch[: stop - start]
        for c, values in enumerate(columns):
            median, shift, mean, scale = numbers[c]
            missing = masks[c]
            filled = values[start:stop] if missing is None else np.where(missing[start:stop], median,
                                                                          values[start:stop])
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                np.divide(filled, shift, out=scaled)
                scaled -= mean
                scaled /= scale
                out[start:stop, at[c]] = scaled  # a float32 store may overflow: reported below, not warned
            if indicator[c]:
                out[start:stop, at[c] + 1] = 0.0 if missing is None else missing[start:stop]
        finite = finite and all(bool(np.isfinite(out[start:stop, at[c]]).all()) for c in range(len(columns)))
    return finite
