"""``dami_np.query``: which unlabeled rows to label next (stateless, scikit-activeml style).

The caller keeps one table ``X`` and one label vector ``y`` in which missing values (NaN, None,
pandas NA) mark the unlabeled rows; ``query`` answers with positions of rows of ``X``.  It
validates the input, turns ``X`` into a numeric matrix, builds a
:class:`~dami_np.strategies.QueryContext` and hands it to the strategy.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .strategies import _base
from .strategies._cold_start import cold_start
from .strategies._context import QueryContext, is_fitted

__all__ = ["query", "make_context"]

_QUERY_OPTIONS = ("preprocess",)


def query(
    X: Any,
    y: Any,
    budget: int,
    strategy: str | Callable[..., np.ndarray] = "dami",
    model: Any = None,
    random_state: int | np.random.Generator | None = None,
    **options: Any,
) -> np.ndarray:
    """Pick ``budget`` unlabeled rows of ``X`` to label next.

    Parameters
    ----------
    X : ndarray or DataFrame (n rows).
    y : array-like or Series of length n; missing values (NaN, None, pandas NA) mark unlabeled
        rows, the rest are labels of any hashable type (strings are fine).
    budget : number of rows to pick, ``1 <= budget <=`` number of unlabeled rows.
    strategy : a registered name (``dami_np.strategies.available()``) or a strategy callable
        ``(context, budget, rng, **options) -> indices`` (see ``dami_np.strategies``).
    model : None (a default ``MLPClassifier`` is fit on the labeled rows), an unfitted
        classifier (a copy is fit the same way; yours is left untouched) or a fitted one (used
        as is; then ``X`` must be the numeric matrix it was trained on).
    random_state : seed of the strategy's ``np.random.default_rng`` and of the default model.
    **options : ``preprocess`` (default None: True unless a fitted model is given; True runs
        ``TabularPreprocessor`` fit on all rows of ``X``) and the strategy's own options.

    Returns
    -------
    int64 array of ``budget`` unique positions of unlabeled rows, in pick order.

    With no model possible (zero labels, or labels of one class only, and no fitted model) a
    model-based strategy answers with the cold-start rule: K-Center on the preprocessed inputs,
    labeled rows as centers, first pick (when nothing is labeled) the row farthest from the
    column mean.  Same data and ``random_state`` give the same picks.
    """
    func, name = _resolve(strategy)
    preprocess = options.pop("preprocess", None)
    _check_options(func, name, options)
    budget = _check_budget_type(budget)
    context = make_context(X, y, model=model, preprocess=preprocess, random_state=random_state)
    n_unlabeled = len(context.unlabeled_indices)
    if budget > n_unlabeled:
        raise ValueError(f"budget ({budget}) exceeds the number of unlabeled rows ({n_unlabeled})")
    rng = np.random.default_rng(random_state)
    if _base.needs_model(func) and not context.has_model:
        func, name, options = cold_start, "cold_start", {}
    picks = func(context, budget, rng, **options)
    return _check_result(picks, context, budget, name)


def make_context(
    X: Any,
    y: Any,
    *,
    model: Any = None,
    preprocess: bool | None = None,
    random_state: int | np.random.Generator | None = None,
) -> QueryContext:
    """Validate ``X``/``y`` and build the :class:`QueryContext` ``query`` gives strategies.

    Useful to call a strategy directly: ``margin(make_context(X, y), 5, rng)``.
    """
    n = _n_rows(X)
    labeled, codes, classes = _encode_labels(y, n)
    if not (~labeled).any():
        raise ValueError("y has no unlabeled rows (missing values mark unlabeled rows); nothing to query")
    fitted = is_fitted(model)
    if preprocess is None:
        preprocess = not fitted
    if preprocess:
        from ._preprocess import TabularPreprocessor

        matrix = np.asarray(TabularPreprocessor().fit_transform(X), dtype=np.float64)
    else:
        matrix = _numeric(X)
    if fitted:
        expected = getattr(model, "n_features_in_", matrix.shape[1])
        if expected != matrix.shape[1]:
            raise ValueError(
                f"the fitted model expects {expected} features but X has {matrix.shape[1]} columns"
                f"{' after preprocessing' if preprocess else ''}; pass the numeric matrix the model was trained on"
            )
    return QueryContext(matrix, labeled, codes, classes, model=model, model_seed=_model_seed(random_state))


def _resolve(strategy: str | Callable[..., np.ndarray]) -> tuple[Callable[..., np.ndarray], str]:
    if isinstance(strategy, str):
        return _base.get(strategy), strategy
    if callable(strategy):
        return strategy, getattr(strategy, "strategy_name", getattr(strategy, "__name__", repr(strategy)))
    raise ValueError(
        f"strategy must be a name or a callable, got {type(strategy).__name__}; available: {', '.join(_base.available())}"
    )


def _check_options(func: Callable[..., np.ndarray], name: str, options: dict[str, Any]) -> None:
    allowed = _base.option_names(func)
    if allowed is None:
        return
    for key in options:
        if key not in allowed:
            valid = ", ".join(list(_QUERY_OPTIONS) + allowed)
            raise ValueError(f"unknown option {key!r} for strategy {name!r}; valid options: {valid}")


def _check_budget_type(budget: Any) -> int:
    if isinstance(budget, (bool, np.bool_)) or not isinstance(budget, numbers.Integral):
        raise ValueError(f"budget must be a positive int, got {budget!r}")
    if budget <= 0:
        raise ValueError(f"budget must be a positive int, got {budget}")
    return int(budget)


def _n_rows(X: Any) -> int:
    shape = getattr(X, "shape", None)
    if shape is None:
        shape = np.shape(X)
    if len(shape) != 2:
        raise ValueError(f"X must be 2-D (rows x features), got shape {tuple(shape)}")
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"X must have at least one row and one column, got shape {tuple(shape)}")
    return int(shape[0])


def _numeric(X: Any) -> np.ndarray:
    """``X`` as a finite float64 matrix (no preprocessing)."""
    from ._validation import check_array

    return check_array(X.to_numpy() if isinstance(X, pd.DataFrame) else X, dtype=np.float64)


def _encode_labels(y: Any, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labeled mask, int64 codes with -1 for missing, distinct labels in code order)."""
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
    except TypeError:  # labels of mixed, unorderable types: first-appearance order
        codes, uniques = pd.factorize(values, sort=False)
    full = np.full(n, -1, dtype=np.int64)
    full[labeled] = codes
    return labeled, full, np.asarray(uniques)


def _model_seed(random_state: int | np.random.Generator | None) -> int | None:
    """Seed of the default model, derived from ``random_state`` (independent of the strategy's rng)."""
    if random_state is None:
        return None
    if isinstance(random_state, np.random.Generator):
        seed_seq = getattr(random_state.bit_generator, "seed_seq", None)
        if seed_seq is not None:
            return int(seed_seq.generate_state(1)[0])
        return int(random_state.integers(2**32))
    return int(np.random.SeedSequence([int(random_state), 0x4D4C50]).generate_state(1)[0])


def _check_result(picks: Any, context: QueryContext, budget: int, name: str) -> np.ndarray:
    """A strategy's answer must be ``budget`` unique unlabeled positions."""
    picks = np.asarray(picks)
    if picks.ndim != 1 or picks.shape[0] != budget or (picks.size and picks.dtype.kind not in "iu"):
        raise ValueError(f"strategy {name!r} returned {picks.shape} {picks.dtype} values, expected {budget} row positions")
    picks = picks.astype(np.int64, copy=False)
    if picks.size and (picks.min() < 0 or picks.max() >= context.n_rows):
        raise ValueError(f"strategy {name!r} returned positions outside 0..{context.n_rows - 1}")
    if np.unique(picks).size != picks.size:
        raise ValueError(f"strategy {name!r} returned duplicate positions")
    if context.labeled[picks].any():
        raise ValueError(f"strategy {name!r} returned labeled rows")
    return picks
