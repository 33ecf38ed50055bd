"""What a strategy sees: numeric X, which rows are labeled, encoded labels, the model (lazily)."""

from __future__ import annotations

import copy
from functools import cached_property
from typing import Any

import numpy as np

__all__ = ["QueryContext", "is_fitted"]


def is_fitted(model: Any) -> bool:
    """True for a model that can predict (scikit-learn convention: it has ``classes_``)."""
    return model is not None and hasattr(model, "classes_")


class QueryContext:
    """Inputs of one query round, shared by all strategies.

    Attributes
    ----------
    X : (n, d) float64 numeric matrix (preprocessed unless the caller opted out).
    labeled : (n,) bool, True where a label is known.
    y : (n,) int64 label codes, ``-1`` for unlabeled rows (codes index ``classes``).
    classes : the distinct labels seen, in code order (sorted when the labels are sortable).
    cache : dict for strategies to share intermediate results within one round.

    ``model`` is the fitted classifier: the caller's fitted model as is, otherwise a copy of the
    caller's unfitted model (or a default ``MLPClassifier``) fit on the labeled rows on first
    access, with labels given as codes.  The caller's model object is never modified.
    """

    def __init__(
        self,
        X: np.ndarray,
        labeled: np.ndarray,
        y: np.ndarray,
        classes: np.ndarray,
        *,
        model: Any = None,
        model_seed: int | None = None,
    ) -> None:
        self.X = X
        self.labeled = np.asarray(labeled, dtype=bool)
        self.y = np.asarray(y, dtype=np.int64)
        self.classes = classes
        self.cache: dict[str, Any] = {}
        self._model = model if is_fitted(model) else None
        self._template = None if is_fitted(model) else model
        self._model_seed = model_seed
        self.model_given_fitted = is_fitted(model)

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    @cached_property
    def labeled_indices(self) -> np.ndarray:
        return np.flatnonzero(self.labeled)

    @cached_property
    def unlabeled_indices(self) -> np.ndarray:
        return np.flatnonzero(~self.labeled)

    @property
    def n_labeled_classes(self) -> int:
        """Distinct labels among the labeled rows."""
        return int(len(np.unique(self.y[self.labeled])))

    @property
    def has_model(self) -> bool:
        """Whether ``model`` is available: a fitted model was given or two classes are labeled."""
        return self._model is not None or self.n_labeled_classes >= 2

    @property
    def model(self) -> Any:
        """The fitted classifier (fit on first access; see the class docstring)."""
        if self._model is None:
            if self.n_labeled_classes < 2:
                raise ValueError(
                    f"a model needs labeled rows from at least two classes, got {self.n_labeled_classes}"
                )
            self._model = self._fit()
        return self._model

    def _fit(self) -> Any:
        if self._template is None:
            from .._mlp import MLPClassifier

            model = MLPClassifier(random_state=self._model_seed)
        else:
            model = copy.deepcopy(self._template)
        rows = self.labeled_indices
        fitted = model.fit(self.X[rows], self.y[rows])
        return model if fitted is None else fitted
