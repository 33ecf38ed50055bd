"""What a strategy sees: a read-only view of one round (numeric X, labels, candidates, model).

A :class:`QueryContext` never validates, encodes, preprocesses or trains: the round
(``dami_np._round``) prepares the table and fits the model (``dami_np._fit_table``) before any
strategy runs, and hands the strategy this view.  ``make_context`` builds one the same way, to
call a strategy directly: ``margin(make_context(X, y), 5, rng)``.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from .._fit_table import PreparedTable, is_fitted, prepare_table, with_model
from .._validation import model_seed  # noqa: F401 - importable here (tests, bench, the Dask round)

__all__ = ["QueryContext", "is_fitted", "make_context", "model_seed"]


class QueryContext:
    """Inputs of one query round, shared by all strategies (read-only; built by the round).

    Attributes
    ----------
    X : (n, d) float64 numeric matrix (preprocessed unless the caller opted out); float32 for a
        strategy registered ``x_through_model`` when the round's default model computes in float32.
    labeled : (n,) bool, True where a label is known.
    y : (n,) int64 label codes, ``-1`` for unlabeled rows (codes index ``classes``).
    classes : the distinct labels seen, in code order (sorted when the labels are sortable).
    candidates : sorted int64 positions of the unlabeled rows that may be picked (default: all).
    preprocessor : the fitted ``TabularPreprocessor`` (None when ``X`` was used as given).
    feature_names : the name of each column of ``X`` (for explanations).
    strategy_name : the strategy the round runs.
    cache : dict for strategies to share intermediate results within one round.

    ``model`` is the round's fitted classifier (the caller's fitted model as is, or the model the
    round trained on the labeled rows with label codes: then ``fitted_on_codes``); ``has_model``
    is False when the round has none (fewer than two labeled classes: the cold-start rule).
    """

    def __init__(
        self,
        X: np.ndarray,
        labeled: np.ndarray,
        y: np.ndarray,
        classes: np.ndarray,
        *,
        model: Any = None,
        candidates: np.ndarray | None = None,
        preprocessor: Any = None,
        feature_names: list[str] | None = None,
        fitted_on_codes: bool | None = None,
        strategy_name: str = "query",
    ) -> None:
        if model is not None and not is_fitted(model):
            raise ValueError("a QueryContext takes a fitted model (the round fits it: dami_np._fit_table.fit_model)")
        self.X = X
        self.labeled = np.asarray(labeled, dtype=bool)
        self.y = np.asarray(y, dtype=np.int64)
        self.classes = classes
        self.cache: dict[str, Any] = {}
        self._model = model
        self.fitted_on_codes = bool(fitted_on_codes) if fitted_on_codes is not None else False
        self.strategy_name = strategy_name
        self.candidates = (
            np.flatnonzero(~self.labeled) if candidates is None else np.asarray(candidates, dtype=np.int64)
        )
        self.preprocessor = preprocessor
        self.feature_names = (
            list(feature_names) if feature_names is not None else [f"x{j}" for j in range(X.shape[1])]
        )

    @classmethod
    def of(cls, table: PreparedTable, strategy_name: str = "query") -> QueryContext:
        """The strategies' view of a prepared table (``dami_np._fit_table``)."""
        return cls(table.matrix, table.labeled, table.codes, table.classes, model=table.model,
                   candidates=table.candidates, preprocessor=table.preprocessor,
                   feature_names=table.feature_names, fitted_on_codes=table.model_on_codes,
                   strategy_name=strategy_name)

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    @cached_property
    def labeled_indices(self) -> np.ndarray:
        return np.flatnonzero(self.labeled)

    @cached_property
    def unlabeled_indices(self) -> np.ndarray:
        """All unlabeled rows (the candidates are a subset of them)."""
        return np.flatnonzero(~self.labeled)

    @cached_property
    def considered(self) -> np.ndarray:
        """Sorted positions of the labeled rows and the candidates: the rows a round looks at."""
        keep = self.labeled.copy()
        keep[self.candidates] = True
        return np.flatnonzero(keep)

    @property
    def n_labeled_classes(self) -> int:
        """Distinct labels among the labeled rows."""
        return int(len(np.unique(self.y[self.labeled])))

    @property
    def model_given_fitted(self) -> bool:
        """The model is the caller's fitted model (it predicts the caller's labels, not codes)."""
        return self._model is not None and not self.fitted_on_codes

    @property
    def has_model(self) -> bool:
        """Whether the round has a model (a fitted one was given or two classes are labeled)."""
        return self._model is not None

    @property
    def model(self) -> Any:
        """The round's fitted classifier (see the class docstring)."""
        if self._model is None:
            if self.n_labeled_classes < 2:
                raise ValueError(
                    f"a model needs labeled rows from at least two classes, got {self.n_labeled_classes}"
                )
            raise ValueError(f"the round of strategy {self.strategy_name!r} was run without a model "
                             "(the strategy is registered with needs_model=False)")
        return self._model


def make_context(
    X: Any,
    y: Any,
    *,
    model: Any = None,
    preprocess: bool | None = None,
    random_state: int | np.random.Generator | None = None,
    candidates: Any = None,
) -> QueryContext:
    """The :class:`QueryContext` a round would give a strategy (``dami_np._fit_table`` validates,
    preprocesses and fits the model, seeded from ``random_state``), to call a strategy directly.

    ``preprocess`` (default: True unless a fitted model is given) runs ``TabularPreprocessor``
    fit on all rows of ``X``; otherwise ``X`` must already be numeric.  ``candidates``: None (every
    unlabeled row may be picked), positions or a boolean mask of unlabeled rows.
    """
    table = prepare_table(X, y, model=model, preprocess=preprocess, candidates=candidates)
    return QueryContext.of(with_model(table, model=model, random_state=random_state))
