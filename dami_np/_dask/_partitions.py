"""A dask DataFrame as the driver sees it: partition futures, global row positions, labels, features.

Rows are numbered ``0 .. n-1`` in partition order (what ``X.compute()`` would give with a
fresh ``RangeIndex``); every pick, tie rule and block below uses that global position.  The
driver holds only small things (the labeled rows, the fitted preprocessing); the pool stays on
the workers as one float64 matrix per partition.

Preprocessing gives ``TabularPreprocessor``'s specs (a column's statistics only depend on that
column, so fitting column by column gives the same specs as one fit on the whole table) and
is applied per partition on the workers (the transform is row by row, so a partition's rows
get the same bits as in the full matrix):

* int and float columns: dask reductions (``_fit_numeric``).  The statistics are exact and
  order-free (``_column_stats``), so merging the partitions' pieces gives the local numbers
  bit for bit: one task per partition per round computes the pieces of every such column at
  once (count/min/max and key counts, then exact sums and the keys left near the median,
  then exact sums of squares); a few integers and counts per column travel, never a column;
* bool and category columns: only their distinct values (and whether one is missing) travel,
  found per partition and merged (a distributed ``drop_duplicates``);
* text, date and other columns travel whole to the one worker that fits them with
  ``TabularPreprocessor`` itself (their kind depends on every value).  Only the fitted
  specs come back.  See the README's cost model.

``regrid`` materializes any range of global rows as one contiguous block on a worker (slices of
the partitions it overlaps): the local path runs its BLAS products on fixed row chunks (a
row's bits depend on the batch it is computed in), and blocks on the same grid give the same
bits.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Table", "load_table"]

_GATHER_BYTES = 256 * 2**20  # column values per gather while fitting the preprocessor


@dataclass
class Table:
    """The pool on the cluster: ``parts`` (futures of float64 matrices, one per partition), their
    first global rows ``starts`` (with ``n`` appended), the labeled rows (global, sorted), their
    label codes and features, and the preprocessing used."""

    client: Any
    parts: list[Any]
    starts: np.ndarray
    labeled_rows: np.ndarray
    codes: np.ndarray
    classes: np.ndarray
    labeled_X: np.ndarray
    feature_names: list[str]
    preprocessor: Any = None
    n_features: int = 0
    frames: list[Any] = field(default_factory=list)  # the raw partitions: kept so a lost worker's data can be recomputed

    @property
    def n(self) -> int:
        return int(self.starts[-1])

    @property
    def n_unlabeled(self) -> int:
        return self.n - int(self.labeled_rows.size)

    def labeled_mask(self, start: int, stop: int) -> np.ndarray:
        """Positions (relative to ``start``) of the labeled rows in ``[start, stop)``."""
        lo, hi = np.searchsorted(self.labeled_rows, [start, stop])
        return self.labeled_rows[lo:hi] - start

    def unlabeled_row(self, c: np.ndarray | int) -> np.ndarray:
        """Global row of the ``c``-th unlabeled row (candidate order = row order)."""
        c = np.asarray(c, dtype=np.int64)
        before = self.labeled_rows - np.arange(self.labeled_rows.size)  # unlabeled rows before each labeled one
        return c + np.searchsorted(before, c, side="right")

    def regrid(self, ranges: list[tuple[int, int]]) -> list[Any]:
        """One future per ``(start, stop)`` range: rows ``start:stop`` of the feature matrix, contiguous."""
        out = []
        for start, stop in ranges:
            first = int(np.searchsorted(self.starts, start, side="right")) - 1
            pieces = []
            i = max(first, 0)
            while i < len(self.parts) and self.starts[i] < stop:
                lo, hi = max(start, self.starts[i]), min(stop, self.starts[i + 1])
                if hi > lo:
                    pieces.append((self.parts[i], int(lo - self.starts[i]), int(hi - self.starts[i])))
                i += 1
            if len(pieces) == 1 and pieces[0][1] == 0 and pieces[0][2] == int(self.starts[first + 1] - self.starts[first]):
                out.append(pieces[0][0])
            else:
                out.append(self.client.submit(_join, pieces, self.n_features, pure=False))
        return out


def _join(pieces: list[tuple[np.ndarray, int, int]], width: int) -> np.ndarray:
    if not pieces:
        return np.empty((0, width))
    if len(pieces) == 1:  # a row slice of a C-contiguous matrix: contiguous, no copy
        part, lo, hi = pieces[0]
        return part[lo:hi]
    return np.ascontiguousarray(np.concatenate([part[lo:hi] for part, lo, hi in pieces], axis=0))


# ---------------------------------------------------------------------- loading
def load_table(client: Any, X: Any, y: Any, *, preprocess: bool, max_categories: int = 100) -> Table:
    """Persist ``X`` (a dask DataFrame), find the labeled rows of ``y`` (a dask Series aligned with
    ``X``, a column name of ``X``, or an array of one label per row) and build the feature matrices."""
    from .._labels import encode_labels

    if isinstance(y, str):
        if y not in X.columns:
            raise ValueError(f"label column {y!r} is not a column of X; columns: {list(map(str, X.columns))}")
        label_name, X_only = y, X.drop(columns=[y])
    else:
        label_name, X_only = None, X
    if len(X_only.columns) == 0:
        raise ValueError("X has zero columns; need at least one feature column")
    frames = client.compute(X.to_delayed(optimize_graph=True))  # one future per partition, in order
    lengths = np.asarray(client.gather(client.map(len, frames, pure=False)), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    n = int(starts[-1])
    if n == 0:
        raise ValueError("X must have at least one row and one column, got shape (0, ...)")

    if label_name is not None:
        labels, label_starts = client.map(_labeled_part, frames, [label_name] * len(frames), pure=False), starts
    else:
        labels, label_starts = _label_futures(client, y, n)
    found = client.gather(labels)
    rows = np.concatenate([np.asarray(r, dtype=np.int64) + s for (r, _), s in zip(found, label_starts[:-1])])
    values = pd.concat([v for _, v in found], ignore_index=True) if found else pd.Series([], dtype=object)
    _, codes, classes = encode_labels(values, int(values.shape[0]))
    if rows.size == n:
        raise ValueError("y has no unlabeled rows (missing values mark unlabeled rows); nothing to query")

    columns = [c for c in X.columns if c != label_name]
    if preprocess:
        pre = _fit_columns(client, frames, columns, max_categories, list(X[columns].dtypes), starts)
        parts = client.map(_transform_part, frames, [pre] * len(frames), [columns] * len(frames), pure=False)
        names = [f for p in pre for f in p.feature_names_out_]
        summary = _Preprocessed(pre)
    else:
        parts = client.map(_numeric_part, frames, [columns] * len(frames), pure=False)
        names = [str(c) for c in columns]
        summary = None
    width = len(names)
    table = Table(client, parts, starts, rows, codes, classes, np.empty((0, width)), names, summary, width)
    # labeled rows' features (small): gathered in row order for the model
    pieces = client.gather(client.map(_take, parts, [table.labeled_mask(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:])], pure=False))
    table.labeled_X = np.concatenate([p for p in pieces], axis=0) if pieces else np.empty((0, width))
    table.frames = frames
    return table


def _label_futures(client: Any, y: Any, n: int) -> tuple[list[Any], np.ndarray]:
    """Futures of (labeled positions, labels) per piece of ``y`` and the pieces' first rows.

    A dask ``y`` may be split differently from ``X`` (dask fuses small Parquet files when only a
    column is read): rows are matched by global position, in order."""
    if type(y).__module__.split(".")[0] == "dask":
        parts = client.compute(y.to_delayed(optimize_graph=True))
        lengths = np.asarray(client.gather(client.map(len, parts, pure=False)), dtype=np.int64)
        if int(lengths.sum()) != n:
            raise ValueError(f"y has {int(lengths.sum())} entries but X has {n} rows; they must match")
        return client.map(_labeled_part, parts, [None] * len(parts), pure=False), np.concatenate([[0], np.cumsum(lengths)])
    series = pd.Series(np.asarray(y, dtype=object) if not isinstance(y, pd.Series) else y.array)
    if len(series) != n:
        raise ValueError(f"y has {len(series)} entries but X has {n} rows; they must match")
    return [client.submit(_labeled_part, series.reset_index(drop=True), None, pure=False)], np.array([0, n])


def _labeled_part(frame: Any, column: str | None) -> tuple[np.ndarray, pd.Series]:
    s = frame if column is None else frame[column]
    if isinstance(s, pd.DataFrame):
        s = s.iloc[:, 0]
    s = pd.Series(s.array, copy=False)
    keep = ~s.isna().to_numpy()
    return np.flatnonzero(keep), s[keep].reset_index(drop=True)


def _take(part: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return part[rows]


def _numeric_part(frame: pd.DataFrame, columns: list[Any]) -> np.ndarray:
    from .._validation import check_array

    if len(frame) == 0:  # an empty partition (check_array refuses zero rows)
        return np.empty((0, len(columns)))
    return check_array(frame[columns].to_numpy(), dtype=np.float64)


class _Preprocessed:
    """What the report reads of a fitted preprocessor: output names and their source columns."""

    def __init__(self, fitted: list[Any]) -> None:
        self.columns = fitted
        self.feature_names_out_ = [f for p in fitted for f in p.feature_names_out_]
        self.source_columns_ = [s for p in fitted for s in p.source_columns_]


def _fit_columns(client: Any, frames: list[Any], columns: list[Any], max_categories: int, dtypes: list[Any],
                 starts: np.ndarray) -> list[Any]:
    """One fitted single-column ``TabularPreprocessor`` per column (see the module docstring):
    int and float columns by reductions (:func:`_fit_numeric`), the others each on a worker."""
    from .._preprocess import UnusableColumnsError

    reducible = [_reducible(dtype) for dtype in dtypes]
    results = dict(zip([i for i, r in enumerate(reducible) if r],
                       _fit_numeric(client, frames, [c for c, r in zip(columns, reducible) if r], starts,
                                    max_categories)))
    rest = [i for i, r in enumerate(reducible) if not r]
    results.update(zip(rest, _fit_whole_columns(client, frames, [columns[i] for i in rest], max_categories)))
    fitted, issues = [], []
    for i in range(len(columns)):
        fit, problems = results[i]
        if fit is not None:
            fitted.append(fit)
        issues.extend(problems)
    if issues:
        raise UnusableColumnsError(issues)
    return fitted


def _reducible(dtype: Any) -> bool:
    """Int and float columns (not bool, complex or dates): fitted by reductions."""
    return (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            and not pd.api.types.is_complex_dtype(dtype))


def _fit_whole_columns(client: Any, frames: list[Any], columns: list[Any], max_categories: int) -> list[tuple]:
    """(fitted preprocessor or None, column issues) per column, each fitted on a worker.

    Each column is fitted from its pieces of every partition (in partition order: the same
    values in the same order as in the whole table); only the fitted specs, the column problems
    and the warnings travel to the driver.  Columns are taken in batches whose pieces total
    about ``_GATHER_BYTES`` (8 bytes a value), so the workers hold at most one batch of column
    copies at a time."""
    from ._gather import gather_round

    out = []
    n = int(sum(client.gather(client.map(len, frames, pure=False)))) if columns else 0
    per_batch = max(1, _GATHER_BYTES // max(1, 8 * n))  # columns per round trip (8 bytes a value, at least)
    for at in range(0, len(columns), per_batch):
        batch = columns[at : at + per_batch]
        fits = []
        for column in batch:
            pieces = client.map(_column_values, frames, [column] * len(frames), pure=False)
            fits.append(client.submit(_fit_column, pieces, column, max_categories, pure=False))
        for fit, problems, caught in gather_round(client, fits):
            for message, category, column in caught:
                _warn_again(message, category, column)
            out.append((fit, problems))
    return out


@dataclass
class _NumericFit:
    """One int/float column's merged pieces while it is fitted by reductions."""

    extremes: Any
    shift: float
    ranks: tuple[int, ...]
    key_range: Any
    inside: list[int]  # per partition: its keys inside the first key range
    total: int = 0  # exact sum of x / shift over the present values (units of the kernels)
    keys: list[np.ndarray] = field(default_factory=list)  # the pieces' keys inside key_range


def _fit_numeric(client: Any, frames: list[Any], columns: list[Any], starts: np.ndarray,
                 max_categories: int) -> list[tuple]:
    """(fitted preprocessor or None, column issues) per int/float column, by reductions.

    Rounds (one task per partition each, every column at once): count/min/max and the keys'
    top-16-bit counts; exact sums of ``x / shift`` and the keys of the bucket(s) holding the
    middle rank(s) when few enough (else finer key counts, until few are left); exact sums of
    squares about the mean.  The driver merges the pieces with ``_column_stats``' rules, the
    ones the local fit uses on the whole column, so the specs are the same bits."""
    from .. import _column_stats as cs
    from .._preprocess import _fitted_numeric

    if not columns:
        return []
    n = int(starts[-1])
    run = functools.partial(_numeric_round, client, frames, starts, columns)  # one round trip: run(jobs)
    out, fits = _scan_numeric(run, [str(c) for c in columns], len(frames))
    _sum_and_select(run, fits, len(frames), len(columns))
    means = {}
    for j, fit in fits.items():
        keys = np.concatenate(fit.keys) if fit.key_range.lo != fit.key_range.hi else np.empty(0, np.int64)
        median = cs.median_of_middles(cs.select_middles(keys, fit.key_range, fit.ranks), fit.shift)
        mean = cs.column_mean(n, fit.extremes, fit.shift, median, fit.total)
        if mean is None:
            out[j] = (_fitted_numeric(str(columns[j]), cs.constant_stats(median), fit.extremes.count < n,
                                      max_categories), [])
        else:
            means[j] = (median, mean)
    if means:
        answers = run([[[("squares", fits[j].shift, means[j][1])] if j in means else None
                        for j in range(len(columns))]] * len(frames))
        for j, (median, mean) in means.items():
            fit = fits[j]
            stats = cs.column_stats(n, fit.extremes, fit.shift, median, mean, sum(part[j][0] for part in answers))
            out[j] = (_fitted_numeric(str(columns[j]), stats, fit.extremes.count < n, max_categories), [])
    return out


def _scan_numeric(run: Any, names: list[str], n_parts: int) -> tuple[list[Any], dict[int, _NumericFit]]:
    """First round: each column's problem (the first partition's first bad row, as the whole
    column names it; or entirely empty), or its merged count/min/max, shift and top key range."""
    from .. import _column_stats as cs
    from .._preprocess import _empty_column

    scans = run([[[("scan",)]] * len(names)] * n_parts)
    out: list[Any] = [None] * len(names)
    fits = {}
    for j, name in enumerate(names):
        pieces = [part[j] for part in scans]
        problem = next((p for p in pieces if not isinstance(p, list)), None)
        if problem is not None:
            out[j] = (None, [problem])
            continue
        extremes = cs.Extremes(0, float("inf"), float("-inf"))
        top = np.zeros(1 << 16, dtype=np.int64)
        for (count, low, high, buckets, counts), in pieces:
            extremes = extremes.merge(cs.Extremes(count, low, high))
            top[buckets] += counts
        if extremes.count == 0:
            out[j] = (None, [_empty_column(name).issue])
            continue
        ranks = cs.middle_ranks(extremes.count)
        key_range = cs.KeyRange.of_top(top, ranks)
        first, last = (t + 32768 for t in key_range.top_range)  # the top buckets' numbers
        inside = [int(c[(b >= first) & (b <= last)].sum()) for (_, _, _, b, c), in pieces]
        fits[j] = _NumericFit(extremes, cs.power_of_two_shift(extremes), ranks, key_range, inside)
    return out, fits


def _sum_and_select(run: Any, fits: dict[int, _NumericFit], n_parts: int, n_columns: int) -> None:
    """Exact sums of ``x / shift``, with the keys near the median when few are left (else finer key
    counts, round after round, until few are left); fills ``total`` and ``keys`` of every fit."""
    from .. import _column_stats as cs

    jobs = [[None] * n_columns for _ in range(n_parts)]
    for j, fit in fits.items():
        for p in range(n_parts):
            if fit.key_range.settled:
                jobs[p][j] = [("sum", fit.shift, *fit.key_range.top_range, fit.inside[p])]
            else:
                jobs[p][j] = [("sum", fit.shift, 1, 0, 0), ("hist", fit.key_range)]
    answers = run(jobs)
    counted = {}
    for j, fit in fits.items():
        fit.total = sum(part[j][0][0] for part in answers)
        if fit.key_range.settled:
            fit.keys = [part[j][0][1] for part in answers]
        else:
            counted[j] = [part[j][1] for part in answers]
    while counted:
        for j, hists in counted.items():
            fits[j].key_range = fits[j].key_range.narrow(cs.merged_histogram(hists, fits[j].key_range), fits[j].ranks)
        asks = {j: ("keys" if fits[j].key_range.settled else "hist", fits[j].key_range) for j in counted
                if fits[j].key_range.lo != fits[j].key_range.hi}  # one key left: it is the answer
        answers = run([[[asks[j]] if j in asks else None for j in range(n_columns)]] * n_parts)
        counted = {}
        for j, (kind, _) in asks.items():
            if kind == "keys":
                fits[j].keys = [part[j][0] for part in answers]
            else:
                counted[j] = [part[j][0] for part in answers]


def _numeric_round(client: Any, frames: list[Any], starts: np.ndarray, columns: list[Any],
                   jobs: list[list[Any]]) -> list[list[Any]]:
    """One round trip: ``jobs[p][j]`` (a list of operations, or None) on column ``j`` of partition ``p``,
    each task placed on a worker holding its partition (it sends back a few counts and keys: moving
    the partition would cost more than the task; the placement is a preference, not a rule)."""
    from ._gather import gather_round

    holders = client.who_has(frames)
    futures = [client.submit(_column_pieces, frame, int(start), columns, job, pure=False,
                             workers=list(holders.get(frame.key, ())) or None, allow_other_workers=True)
               for frame, start, job in zip(frames, starts[:-1], jobs)]
    return gather_round(client, futures)


def _column_pieces(frame: pd.DataFrame, start: int, columns: list[Any], jobs: list[Any]) -> list[Any]:
    """On a worker: per column, the results of its operations, or the column's problem (a ``ColumnIssue``)."""
    from .. import _column_stats as cs
    from .._preprocess import _ColumnProblem, _numeric_column_floats
    from ..kernels import exact_sum_and_keys, exact_sum_units

    out: list[Any] = []
    for column, ops in zip(columns, jobs):
        if ops is None:
            out.append(None)
            continue
        series = frame[column]
        series = pd.Series(series.array, index=pd.RangeIndex(start, start + len(series)), copy=False)
        try:
            values = _numeric_column_floats(str(column), series)  # rows named by global position
        except _ColumnProblem as problem:
            out.append(problem.issue)
            continue
        results = []
        for op in ops:
            if op[0] == "scan":
                extremes, top = cs.scan(values)
                buckets = np.flatnonzero(top)
                results.append((extremes.count, extremes.minimum, extremes.maximum, buckets, top[buckets]))
            elif op[0] == "sum":
                results.append(exact_sum_and_keys(values, *op[1:]))
            elif op[0] == "hist":
                results.append(cs.key_histogram(values, op[1]))
            elif op[0] == "keys":
                results.append(cs.keys_between(values, op[1]))
            else:  # squares
                results.append(exact_sum_units(values, op[1], op[2], square=True))
        out.append(results)
    return out


def _warn_again(message: str, category: type[Warning], column: Any) -> None:
    """A worker's warning, raised again on the driver (where the caller can see and filter it)."""
    try:
        warning = category(message, column) if column is not None else category(message)
    except TypeError:
        warning = UserWarning(message)
    warnings.warn(warning, stacklevel=5)


def _fit_column(pieces: list[pd.Series], column: Any, max_categories: int) -> tuple[Any, list[Any], list[tuple]]:
    """(fitted preprocessor or None, column issues, caught warnings) of one column on a worker."""
    from .._preprocess import TabularPreprocessor, UnusableColumnsError

    values = pd.concat(pieces, ignore_index=True)
    if isinstance(pieces[0].dtype, pd.CategoricalDtype) and not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("category")  # partitions with different categories concatenate as objects
    if _distinct_only(values.dtype):
        values = values.drop_duplicates().reset_index(drop=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit, problems = TabularPreprocessor(max_categories=max_categories).fit(values.to_frame(name=column)), []
        except UnusableColumnsError as err:
            fit, problems = None, list(err.issues)
    # warnings go back as (text, class, column): a warning class with its own arguments may not unpickle
    return fit, problems, [(str(w.message), w.category, getattr(w.message, "column", None)) for w in caught]


def _distinct_only(dtype: Any) -> bool:
    return pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype)


def _column_values(frame: pd.DataFrame, column: Any) -> pd.Series:
    s = frame[column]
    return s.drop_duplicates() if _distinct_only(s.dtype) else s


def _transform_part(frame: pd.DataFrame, fitted: list[Any], columns: list[Any]) -> np.ndarray:
    if len(frame) == 0:
        return np.empty((0, sum(len(p.feature_names_out_) for p in fitted)))
    blocks = [p.transform(frame[[c]]) for p, c in zip(fitted, columns)]
    return np.ascontiguousarray(np.concatenate(blocks, axis=1), dtype=np.float64)
