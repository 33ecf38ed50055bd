"""One labeling round, one owner: ``dami_np.select`` (the picks with a report) and ``dami_np.query``.

Both run the same round: ``make_context`` validates the input, preprocesses the table once and
prepares the model; the strategy returns a :class:`~dami_np.strategies.Selection`; ``query``
returns its positions and ``select`` describes each pick.  The CLI (``dami select``), the demo
and ``simulate`` all call these, so the same data and seed give the same picks on every path.

The report's ``distance`` is the distance a pick had to its nearest center (labeled rows and
earlier picks) when it was picked: the K-Center radius the kernel returned for K-Center
strategies (``dami``, ``dami_margin``, ``coreset``, ``kcenter_input``, cold start), in the
strategy's own space; for every other strategy it is measured in one documented space, the DAMI
representation of the fitted model (flattened ``W(x)`` and ``b(x)`` of all classes).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ._defaults import DEFAULT_STRATEGY
from ._stable_rows import stable_rows
from .strategies import _base
from .strategies._cold_start import cold_start
from .strategies._context import QueryContext, check_random_state, make_context
from .strategies._selection import Selection, as_selection

__all__ = ["select", "query", "DEFAULT_STRATEGY", "REPORT_COLUMNS"]

REPORT_COLUMNS = ("row", "pick", "distance", "predicted", "probability", "explanation", "score")
REPORT_SPACE = "DAMI local linear model (W(x) and b(x), all classes)"
_QUERY_OPTIONS = ("preprocess",)
_TOP_FEATURES = 3
_COLD_START_NOTE = "no model yet (fewer than two labeled classes): picked for input-space coverage"

StrategyArg = str | Callable[..., Any]


def select(
    X: Any,
    y: Any,
    budget: int,
    strategy: StrategyArg = DEFAULT_STRATEGY,
    model: Any = None,
    random_state: int | np.random.Generator | None = None,
    candidates: Any = None,
    **options: Any,
) -> pd.DataFrame:
    """Pick ``budget`` unlabeled rows of ``X`` to label next, with a report on each pick.

    Parameters
    ----------
    X : DataFrame or 2-D array (n rows); preprocessed by ``TabularPreprocessor`` unless a
        fitted model is given (then ``X`` must be the numeric matrix it was trained on).
    y : n labels; missing values (NaN, None, pandas NA) mark the unlabeled rows.
    budget : number of rows to pick, ``1 <= budget <=`` number of candidate rows.
    strategy : a registered name (``dami_np.strategies.available()``) or a strategy callable
        ``(context, budget, rng, **options) -> positions or Selection``.
    model : None (a default ``MLPClassifier`` fit on the labeled rows, seeded from
        ``random_state``), an unfitted classifier (a copy is fit; yours is untouched) or a
        fitted one (used as is).
    random_state : None, an int >= 0 or a ``numpy.random.Generator``.
    candidates : None (every unlabeled row may be picked), or positions / a boolean mask of the
        unlabeled rows that may be picked; labeled rows stay centers.
    **options : ``preprocess`` (see ``X``) and the strategy's own options.

    Returns
    -------
    DataFrame, one row per pick in pick order: ``row`` (position in ``X``), ``pick`` (1 = first),
    ``distance`` (to the nearest labeled row or earlier pick when picked; see the module
    docstring for the space, also in ``.attrs["distance_space"]``), ``predicted`` and
    ``probability`` (the model's class and its probability), ``explanation`` (the input features
    with the largest weight in the row's local linear model for its predicted class) and
    ``score`` (the strategy's own score, e.g. the margin; NaN when it has none; its name in
    ``.attrs["score_name"]``).
    """
    if _is_dask(X):  # a dask DataFrame: the same round on its cluster (dami_np._dask, optional)
        from ._dask import select as dask_select

        return dask_select(X, y, budget, strategy, model, random_state, candidates, **options)
    context, selection, name = _run_round(X, y, budget, strategy, model, random_state, candidates, options)
    return _report(context, selection, name)


def query(
    X: Any,
    y: Any,
    budget: int,
    strategy: StrategyArg = DEFAULT_STRATEGY,
    model: Any = None,
    random_state: int | np.random.Generator | None = None,
    candidates: Any = None,
    **options: Any,
) -> np.ndarray:
    """The rows ``select`` would pick, as an int64 array in pick order (no report is built).

    Same arguments as :func:`select`.  With no model possible (zero labels, or one class only,
    and no fitted model) a model-based strategy answers with the cold-start rule: K-Center on
    the preprocessed inputs, labeled rows as centers, first pick (when nothing is labeled) the
    row farthest from the column mean.
    """
    if _is_dask(X):
        from ._dask import query as dask_query

        return dask_query(X, y, budget, strategy, model, random_state, candidates, **options)
    return _run_round(X, y, budget, strategy, model, random_state, candidates, options)[1].positions


def _is_dask(X: Any) -> bool:
    """A dask collection, told by its module name (dask itself is not imported to ask)."""
    return type(X).__module__.split(".")[0] == "dask"


# ---------------------------------------------------------------------- the round
def _run_round(
    X: Any, y: Any, budget: Any, strategy: StrategyArg, model: Any, random_state: Any, candidates: Any,
    options: dict[str, Any],
) -> tuple[QueryContext, Selection, str]:
    func, name, options, preprocess, budget, random_state = check_round_arguments(
        strategy, budget, model, random_state, options
    )
    context = make_context(X, y, model=model, preprocess=preprocess, random_state=random_state, candidates=candidates)
    n_candidates = int(context.candidates.size)
    if budget > n_candidates:
        what = "candidate rows" if candidates is not None else "unlabeled rows"
        raise ValueError(f"budget ({budget}) exceeds the number of {what} ({n_candidates})")
    rng = np.random.default_rng(random_state)
    if _base.needs_model(func) and not context.has_model:
        func, name, options = cold_start, "cold_start", {}
    context.strategy_name = name
    selection = _check_result(as_selection(func(context, budget, rng, **options)), context, budget, name)
    return context, selection, name


def check_round_arguments(
    strategy: StrategyArg, budget: Any, model: Any, random_state: Any, options: dict[str, Any]
) -> tuple[Callable[..., Any], str, dict[str, Any], bool | None, int, Any]:
    """Check everything of a round that needs no data: (strategy, its name, its options without
    ``preprocess``, ``preprocess``, budget, random_state).  Shared by the local and Dask rounds."""
    func, name = _resolve(strategy)
    options = dict(options)
    preprocess = options.pop("preprocess", None)
    if preprocess is not None and not isinstance(preprocess, (bool, np.bool_)):
        raise ValueError(f"preprocess must be True, False or None, got {preprocess!r}")
    _check_options(func, name, options)
    budget = _check_budget_type(budget)
    random_state = check_random_state(random_state)
    _check_model(model)
    return func, name, options, preprocess, budget, random_state


def _resolve(strategy: StrategyArg) -> tuple[Callable[..., Any], str]:
    if isinstance(strategy, str):
        return _base.get(strategy), strategy
    if callable(strategy):
        return strategy, getattr(strategy, "strategy_name", getattr(strategy, "__name__", repr(strategy)))
    raise ValueError(
        f"strategy must be a name or a callable, got {type(strategy).__name__}; available: {', '.join(_base.available())}"
    )


def _check_options(func: Callable[..., Any], name: str, options: dict[str, Any]) -> None:
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


def _check_model(model: Any) -> None:
    """A model must be a classifier object (``fit`` or ``classes_``), not e.g. the string "mlp"."""
    if model is None or hasattr(model, "classes_") or callable(getattr(model, "fit", None)):
        return
    raise ValueError(
        f"model must be None, a classifier with fit/predict_proba (e.g. dami_np.MLPClassifier()) "
        f"or a fitted one; got {type(model).__name__} {model!r:.60}"
    )


def _check_result(selection: Selection, context: QueryContext, budget: int, name: str) -> Selection:
    """A strategy's answer must be ``budget`` unique candidate positions (facts: one per pick)."""
    picks = np.asarray(selection.positions)
    if picks.ndim != 1 or picks.shape[0] != budget or (picks.size and picks.dtype.kind not in "iu"):
        raise ValueError(f"strategy {name!r} returned {picks.shape} {picks.dtype} values, expected {budget} row positions")
    picks = picks.astype(np.int64, copy=False)
    if picks.size and (picks.min() < 0 or picks.max() >= context.n_rows):
        raise ValueError(f"strategy {name!r} returned positions outside 0..{context.n_rows - 1}")
    if np.unique(picks).size != picks.size:
        raise ValueError(f"strategy {name!r} returned duplicate positions")
    if context.labeled[picks].any():
        raise ValueError(f"strategy {name!r} returned labeled rows")
    if not np.isin(picks, context.candidates).all():
        raise ValueError(f"strategy {name!r} returned rows that are not candidates")
    facts = {}
    for field in ("distances", "scores"):
        value = getattr(selection, field)
        if value is not None:
            value = np.asarray(value, dtype=np.float64)
            if value.shape != (budget,):
                raise ValueError(f"strategy {name!r} returned {field} of shape {value.shape}, expected ({budget},)")
        facts[field] = value
    return Selection(picks, facts["distances"], selection.space, facts["scores"], selection.score_name)


# ---------------------------------------------------------------------- the report
def _report(context: QueryContext, selection: Selection, strategy_name: str) -> pd.DataFrame:
    positions = selection.positions
    k = positions.size
    table = pd.DataFrame({"row": positions, "pick": np.arange(1, k + 1, dtype=np.int64)})
    space = selection.space
    distances = selection.distances
    cold = not context.has_model
    model = None if cold else context.model
    network = None if model is None else _network(model)
    if distances is None and network is not None:
        distances, space = _report_space_distances(context, network, positions), REPORT_SPACE
    table["distance"] = np.full(k, np.nan) if distances is None else distances
    if model is None:
        table["predicted"] = pd.Series([None] * k, dtype=object)
        table["probability"] = np.nan
        table["explanation"] = _COLD_START_NOTE
    else:
        rows = context.X[positions]
        proba = stable_rows(
            lambda start, stop: np.asarray(model.predict_proba(context.X[start:stop]), dtype=np.float64),
            context.n_rows, positions,
        )
        best = np.argmax(proba, axis=1)
        table["predicted"] = _labels(context, model)[best]
        table["probability"] = proba[np.arange(k), best]
        table["explanation"] = _explanations(context, network, rows, best) if network is not None else ""
    table["score"] = np.full(k, np.nan) if selection.scores is None else selection.scores
    table.attrs.update(
        strategy=strategy_name, distance_space=space, score_name=selection.score_name, cold_start=cold
    )
    return table


def _network(model: Any) -> Any:
    """The model's ReLU-MLP view (local linear maps), or None for a model without one."""
    from ._model_adapter import check_relu_mlp, relu_mlp_view

    try:
        check_relu_mlp(model, "select")
    except ValueError:
        return None
    return relu_mlp_view(model, needs="select")


def _labels(context: QueryContext, model: Any) -> np.ndarray:
    """The user's labels of the model's classes (a model fit here is fit on label codes)."""
    classes = np.asarray(model.classes_)
    if not context.fitted_on_codes:
        return classes
    return np.asarray(context.classes, dtype=object)[classes.astype(np.int64)]


def _report_space_distances(context: QueryContext, network: Any, positions: np.ndarray) -> np.ndarray:
    """Pick-time distances in the report space, for strategies that have no distance of their own."""
    from .strategies import pick_time_distances
    from .strategies._representations import DamiRepresentation

    rep = DamiRepresentation(network, context.X, bias=True)
    labeled = context.labeled_indices
    points = rep.points_stable(np.concatenate([labeled, positions]))
    return pick_time_distances(points[: labeled.size], points[labeled.size :])


def _explanations(context: QueryContext, network: Any, rows: np.ndarray, best: np.ndarray) -> list[str]:
    from ._explain import explain_rows

    names = context.feature_names
    sources = context.preprocessor.source_columns_ if context.preprocessor is not None else names
    return explain_rows(network, rows, best, names, sources, top=_TOP_FEATURES)
