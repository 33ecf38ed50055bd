"""One labeling round as a value: ``run_round`` owns the round, ``Round`` is what it returns.

``run_round`` checks the arguments, prepares the table (``_fit_table``: validation, the one label
encoder, one preprocessor fit, or the one given), fits the round's model by the one recipe (cold,
or warm-started from a saved model; seeded from ``random_state``), gives the strategy a read-only
``QueryContext``, checks its answer and returns a frozen :class:`Round`: the selection, the fitted
preprocessing and model, the classes, notes, and ``report()`` (built only when asked, so
``dami_np.query`` never pays for it).  ``dami_np.select`` renders a round, ``dami_np.query``
returns its positions, and ``dami select`` (with ``--save-model``/``--sheet``/``--model``) keeps
the model and preprocessing of the same round.  The Dask round shares the argument checks
(``check_round_arguments``, ``resolve_strategy``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._defaults import DEFAULT_STRATEGY
from ._fit_table import FrameHandoff, PreparedTable, prepare_table, with_model
from ._validation import random_state_value
from .strategies import (QueryContext, Selection, as_selection, available, cold_start, get, needs_model, option_names,
                         x_through_model)

__all__ = ["Round", "run_round", "check_round_arguments", "check_budget_fits", "resolve_strategy", "StrategyArg"]

StrategyArg = str | Callable[..., Any]
_ROUND_OPTIONS = ("preprocess",)


@dataclass(frozen=True)
class Round:
    """The outcome of one round: ``selection`` (positions, distances, scores in pick order), the
    ``strategy`` that ran (``cold_start`` when no model was possible), the strategies' ``context``
    and the prepared ``table`` (fitted preprocessing, model, classes, notes)."""

    selection: Selection
    strategy: str
    context: QueryContext
    table: PreparedTable

    @property
    def positions(self) -> np.ndarray:
        """The picked rows (positions in ``X``), int64, in pick order."""
        return self.selection.positions

    @property
    def model(self) -> Any:
        """The round's fitted model (None when fewer than two classes are labeled)."""
        return self.table.model

    @property
    def preprocessor(self) -> Any:
        """The fitted ``TabularPreprocessor`` (None when ``X`` was used as given)."""
        return self.table.preprocessor

    @property
    def classes(self) -> np.ndarray:
        """The labels of the model's class codes."""
        return self.table.classes

    @property
    def notes(self) -> tuple[str, ...]:
        """What a user should know about the model's training (e.g. why a warm start was refused)."""
        return self.table.notes

    @property
    def warm(self) -> bool:
        """The model continued training from a saved model."""
        return self.table.warm

    def report(self) -> pd.DataFrame:
        """One row per pick (see ``dami_np.select``)."""
        from ._round_report import round_report

        if self.table.model is None and self.table.n_labeled_classes >= 2:
            raise ValueError("this round was run without its model (fit_model=False): its report would "
                             "describe the picks as a cold start; run it with fit_model=True")

        from ._timings import stage

        with stage("report"):
            return round_report(self.context, self.selection, self.strategy)


def run_round(
    X: Any,
    y: Any,
    budget: Any,
    strategy: StrategyArg = DEFAULT_STRATEGY,
    model: Any = None,
    random_state: Any = None,
    candidates: Any = None,
    *,
    preprocessor: Any = None,
    warm: Any = None,
    warm_name: str = "the saved model",
    params: dict[str, Any] | None = None,
    fit_model: bool = True,
    **options: Any,
) -> Round:
    """Run one round (arguments as ``dami_np.select``) and return it as a :class:`Round`.

    ``preprocessor``: a ``TabularPreprocessor`` already fit on ``X`` (used, not refit);
    ``warm``/``warm_name``: a saved model (``_model_io.SavedModel``) to warm-start from when the
    table encodes as it did (else a note and a cold model); ``params``: the default model's
    ``MLPClassifier`` parameters; ``fit_model=False`` fits the model only when the strategy needs
    it (what ``query`` does; ``report()`` then needs a model-free strategy or a cold start).
    """
    classes_anyway = bool(options.pop("classes_anyway", False))
    func, name, options, preprocess, budget, random_state = check_round_arguments(
        strategy, budget, model, random_state, options
    )
    table = prepare_table(X, y, model=model, preprocess=preprocess, candidates=candidates, preprocessor=preprocessor,
                          model_dtype=_matrix_dtype(func, model, params, warm))
    if isinstance(X, FrameHandoff):
        X.released()
    if not classes_anyway:
        from ._validation import refuse_continuous_classes

        refuse_continuous_classes(table.classes)
    n_candidates = int(table.candidates.size if table.candidates is not None else (~table.labeled).sum())
    check_budget_fits(budget, n_candidates, "candidate rows" if candidates is not None else "unlabeled rows")
    if fit_model or needs_model(func):
        table = with_model(table, model=model, random_state=random_state, params=params, warm=warm,
                           warm_name=warm_name)
    if needs_model(func) and table.model is None:
        func, name, options = cold_start, "cold_start", {}
    context = QueryContext.of(table, strategy_name=name)
    rng = np.random.default_rng(random_state)
    selection = _check_result(as_selection(func(context, budget, rng, **options)), context, budget, name)
    return Round(selection, name, context, table)


def _matrix_dtype(func: Callable[..., Any], model: Any, params: dict[str, Any] | None, warm: Any) -> Any:
    """float32 when the round's matrix is read only by the default model and it computes in float32
    (its default): the strategy reads ``X`` through the model (``x_through_model``), which casts it
    to float32 anyway, so the picks and the report keep their bits and the matrix takes half the
    memory.  None (float64) otherwise: a caller's model, a float64 model, or a strategy that reads
    the features itself (and the cold-start rule, decided in ``prepare_table``)."""
    if model is not None or not x_through_model(func):
        return None
    import inspect

    from ._mlp import MLPClassifier

    dtypes = [(params or {}).get("dtype", inspect.signature(MLPClassifier).parameters["dtype"].default)]
    if warm is not None:
        dtypes.append(getattr(warm.model, "dtype", None))
    return np.float32 if all(_is_float32(d) for d in dtypes) else None


def _is_float32(dtype: Any) -> bool:
    try:
        return dtype is not None and np.dtype(dtype) == np.float32
    except TypeError:  # not a dtype: the model's own check names it later
        return False


def check_round_arguments(
    strategy: StrategyArg, budget: Any, model: Any, random_state: Any, options: dict[str, Any]
) -> tuple[Callable[..., Any], str, dict[str, Any], bool | None, int, Any]:
    """Check everything of a round that needs no data: (strategy, its name, its options without
    ``preprocess``, ``preprocess``, budget, random_state).  Shared by the local and Dask rounds."""
    func, name = resolve_strategy(strategy)
    options = dict(options)
    preprocess = options.pop("preprocess", None)
    if preprocess is not None and not isinstance(preprocess, (bool, np.bool_)):
        raise ValueError(f"preprocess must be True, False or None, got {preprocess!r}")
    _check_options(func, name, options)
    budget = _check_budget_type(budget)
    random_state = _check_random_state(random_state)
    _check_model(model)
    return func, name, options, preprocess, budget, random_state


def check_budget_fits(budget: int, n_candidates: int, what: str = "unlabeled rows") -> None:
    """The budget cannot exceed the rows that may be picked (``what`` names them in the message)."""
    if budget > n_candidates:
        raise ValueError(f"budget ({budget}) exceeds the number of {what} ({n_candidates})")


def resolve_strategy(strategy: StrategyArg) -> tuple[Callable[..., Any], str]:
    """(the strategy callable, its name) of a registered name or a callable."""
    if isinstance(strategy, str):
        return get(strategy), strategy
    if callable(strategy):
        return strategy, getattr(strategy, "strategy_name", getattr(strategy, "__name__", repr(strategy)))
    raise ValueError(
        f"strategy must be a name or a callable, got {type(strategy).__name__}; available: {', '.join(available())}"
    )


def _check_random_state(random_state: Any) -> int | np.random.Generator | None:
    """The library's one ``random_state`` rule (``random_state_value``), worded for a round."""
    try:
        return random_state_value(random_state)
    except ValueError:
        raise ValueError(
            "random_state must be None, an int >= 0, a numpy.random.Generator, SeedSequence or RandomState, "
            f"got {random_state!r}"
        ) from None


def _check_options(func: Callable[..., Any], name: str, options: dict[str, Any]) -> None:
    allowed = option_names(func)
    if allowed is None:
        return
    for key in options:
        if key not in allowed:
            valid = ", ".join(list(_ROUND_OPTIONS) + allowed)
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
