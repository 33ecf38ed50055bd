"""A saved round as a model that serves: raw table in, labels, probabilities and explanations out.

``load_model(path)`` reads a model file written by ``dami select --save-model`` or ``dami merge
--save-model`` and returns a fitted :class:`TableModel`: the table's preprocessing exactly as it
was fitted in the round, the network, its classes and the feature selection (plus the label and
id column names).  ``predict`` on the raw table gives, bit for bit, what the round's own model
predicted.  A ``TableModel`` is a scikit-learn estimator without importing scikit-learn:
``clone`` gives an unfitted copy (same network parameters) that ``fit`` trains on a raw table;
it can be the last step of a ``Pipeline``; ``feature_names_in_`` names the raw feature columns.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TableModel", "load_model"]

_TOP_FEATURES = 3  # as many features per explanation as ``select`` reports


class TableModel:
    """Preprocessing + ``MLPClassifier`` on raw tables (DataFrames).

    Parameters
    ----------
    model : an unfitted ``dami_np.MLPClassifier`` whose parameters ``fit`` uses (default:
        ``MLPClassifier()``); a fitted one is copied, never changed.
    max_categories : the preprocessing's limit of levels per text column.

    Fitted attributes: ``preprocessor_`` (``TabularPreprocessor``), ``network_`` (the fitted
    ``MLPClassifier``, predicting ``classes_``), ``classes_``, ``feature_names_in_`` (the raw
    feature columns, in order), ``n_features_in_`` and ``info_`` (what the model file knew:
    ``label``, ``id``, ``features``, ``audit``, ...; empty after ``fit``).

    ``predict``/``predict_proba``/``explain``/``transform`` take a DataFrame holding at least the
    feature columns (other columns, e.g. the label or id, are ignored; a missing one raises) or an
    array whose columns are the feature columns in order.
    """

    _estimator_type = "classifier"

    def __init__(self, model: Any = None, *, max_categories: int = 100) -> None:
        self.model = model
        self.max_categories = max_categories

    # ------------------------------------------------------------------ scikit-learn protocol
    @classmethod
    def _param_names(cls) -> list[str]:
        return sorted(p for p in inspect.signature(cls.__init__).parameters if p != "self")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (scikit-learn compatible; ``deep`` adds ``model__*``)."""
        params = {name: getattr(self, name) for name in self._param_names()}
        if deep and self.model is not None and hasattr(self.model, "get_params"):
            params.update({f"model__{k}": v for k, v in self.model.get_params().items()})
        return params

    def set_params(self, **params: Any) -> TableModel:
        """Set constructor parameters (``model__name`` sets a parameter of ``model``)."""
        valid = set(self._param_names())
        nested: dict[str, Any] = {}
        for name, value in params.items():
            if name.startswith("model__"):
                nested[name[len("model__"):]] = value
            elif name in valid:
                setattr(self, name, value)
            else:
                raise ValueError(f"Invalid parameter {name!r} for TableModel; valid parameters: {sorted(valid)}")
        if nested:
            if self.model is None:
                from ._mlp import MLPClassifier

                self.model = MLPClassifier()
            self.model.set_params(**nested)
        return self

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's estimator tags (scikit-learn is imported here only, when it asks)."""
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(estimator_type="classifier",
                    target_tags=TargetTags(required=True, single_output=True, multi_output=False),
                    classifier_tags=ClassifierTags(poor_score=False, multi_class=True, multi_label=False),
                    input_tags=InputTags(two_d_array=True, allow_nan=True, categorical=True, string=True),
                    requires_fit=True, non_deterministic=False)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "network_")

    def __repr__(self) -> str:
        fitted = f", {len(self.classes_)} classes, {self.n_features_in_} columns" if hasattr(self, "network_") else ""
        return f"TableModel(model={self.model!r}{fitted})"

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any) -> TableModel:
        """Fit the preprocessing on ``X`` (a raw table) and the network on its rows and labels ``y``."""
        from ._mlp import MLPClassifier
        from ._preprocess import TabularPreprocessor

        template = self.model if self.model is not None else MLPClassifier()
        if not isinstance(template, MLPClassifier):
            raise ValueError(f"model must be a dami_np.MLPClassifier, got {type(template).__name__}")
        preprocessor = TabularPreprocessor(max_categories=self.max_categories).fit(X)
        network = MLPClassifier(**template.get_params()).fit(preprocessor.transform(X), y)
        self._set_fitted(preprocessor, network, {})
        return self

    def _set_fitted(self, preprocessor: Any, network: Any, info: dict[str, Any]) -> None:
        self.preprocessor_ = preprocessor
        self.network_ = network
        self.classes_ = network.classes_
        self.feature_names_in_ = np.asarray(list(preprocessor.columns_), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.info_ = dict(info)

    # ------------------------------------------------------------------ using
    def transform(self, X: Any) -> np.ndarray:
        """The preprocessed matrix of ``X`` (float64, what the network reads)."""
        self._check_fitted()
        return self.preprocessor_.transform(self._features(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n, C), columns ordered like ``classes_``; each row's numbers depend
        on that row only (as in ``select``'s report), bit for bit."""
        matrix = self.transform(X)  # first: it checks that the model is fitted
        return stable_proba(self.network_, matrix)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels (values of ``classes_``): the class of the largest probability."""
        best = np.argmax(self.predict_proba(X), axis=1)
        return np.asarray(self.classes_)[best]

    def score(self, X: Any, y: Any) -> float:
        """Accuracy of ``predict(X)`` against ``y``."""
        predicted = self.predict(X)
        truth = np.asarray(y, dtype=object)
        return float(np.mean([str(a) == str(b) for a, b in zip(predicted.tolist(), truth.tolist())]))

    def explain(self, X: Any, *, top: int = _TOP_FEATURES) -> list[str]:
        """For each row, the ``top`` features of its local linear model for its predicted class
        (the same text as the ``explanation`` column of ``select``)."""
        matrix = self.transform(X)
        best = np.argmax(stable_proba(self.network_, matrix), axis=1)
        return explain_matrix(self.network_, matrix, best, self.preprocessor_, top=top)

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            from ._validation import not_fitted_error

            raise not_fitted_error("This TableModel is not fitted yet; call 'fit' or use dami_np.load_model(path)")

    def _features(self, X: Any) -> Any:
        """``X`` reduced to the feature columns, in order (a DataFrame); arrays pass by position."""
        if not isinstance(X, pd.DataFrame):
            return X
        names = [str(c) for c in X.columns]
        wanted = [str(c) for c in self.feature_names_in_]
        missing = [c for c in wanted if c not in names]
        if missing:
            shown = ", ".join(repr(c) for c in missing[:8]) + (", ..." if len(missing) > 8 else "")
            raise ValueError(f"the table lacks feature column(s) the model was trained on: {shown}")
        return X.set_axis(names, axis=1)[wanted]


def stable_proba(network: Any, matrix: np.ndarray, *, progress: bool = False) -> np.ndarray:
    """``network.predict_proba`` of every row of ``matrix``, each row computed alone as ``select``'s
    report computes its picks (``_report_numbers.pick_probabilities``): the same bits for a row
    whatever else is asked; ``progress`` draws a bar on stderr (the CLI, on a terminal)."""
    from ._progress import Progress
    from ._report_numbers import pick_probabilities
    from ._stable_rows import STABLE_BLOCK

    n = int(matrix.shape[0])
    out = np.empty((n, len(network.classes_)), dtype=np.float64)
    with Progress(n, "predict", enabled=progress and n > STABLE_BLOCK) as bar:
        for start in range(0, n, STABLE_BLOCK):
            stop = min(n, start + STABLE_BLOCK)
            out[start:stop] = pick_probabilities(network, matrix[start:stop])
            bar.update(stop - start)
    return out


def explain_matrix(network: Any, matrix: np.ndarray, best: np.ndarray, preprocessor: Any, *,
                   top: int = _TOP_FEATURES) -> list[str]:
    """Explanations of the rows of a preprocessed ``matrix`` for class indices ``best``."""
    from ._explain import explain_rows

    from ._stable_rows import STABLE_BLOCK

    out: list[str] = []
    for start in range(0, matrix.shape[0], STABLE_BLOCK):  # bounded memory: W is (rows, classes, features)
        stop = start + STABLE_BLOCK
        out += explain_rows(network, matrix[start:stop], best[start:stop], preprocessor.feature_names_out_,
                            preprocessor.source_columns_, top=top)
    return out


def load_model(path: str | os.PathLike[str]) -> TableModel:
    """The model saved in ``path`` by ``dami select --save-model`` / ``dami merge --save-model``,
    ready to ``predict`` raw tables.  A file without preprocessing state (``MLPClassifier.save``)
    is refused: use ``MLPClassifier.load`` for it."""
    from ._model_io import load_model as read_model_file

    return from_saved(read_model_file(path), str(path))


def from_saved(saved: Any, shown: str = "the model file") -> TableModel:
    """A fitted ``TableModel`` of an already read model file (``_model_io.SavedModel``)."""
    if saved.preprocessor is None:
        raise ValueError(f"{shown}: has no preprocessing state (saved by MLPClassifier.save?); "
                         "use dami_np.MLPClassifier.load for it, or save the round with --save-model")
    template = type(saved.model)(**{k: v for k, v in saved.model.get_params().items() if k != "warm_start"})
    table_model = TableModel(template, max_categories=int(saved.preprocessor.max_categories))
    table_model._set_fitted(saved.preprocessor, saved.model, saved.info)
    return table_model
