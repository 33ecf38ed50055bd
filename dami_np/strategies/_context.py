"""What a strategy sees, built in one place: numeric X, labels, candidates and the model.

``make_context`` owns everything a labeling round does before a strategy runs: it validates
``X`` and ``y``, encodes the labels, preprocesses the table once (``TabularPreprocessor``), checks
the candidate rows and prepares the model (fit lazily, with a seed derived from
``random_state``).  ``dami_np.select``, ``dami_np.query``, ``dami select`` and ``simulate`` all
go through it, so the same data and seed give the same round on every path.
"""

from __future__ import annotations

import copy
import numbers
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["QueryContext", "is_fitted", "make_context", "model_seed"]


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
    candidates : sorted int64 positions of the unlabeled rows that may be picked (default: all).
    preprocessor : the fitted ``TabularPreprocessor`` (None when ``X`` was used as given).
    feature_names : the name of each column of ``X`` (for explanations).
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
        candidates: np.ndarray | None = None,
        preprocessor: Any = None,
        feature_names: list[str] | None = None,
        fitted_on_codes: bool = False,
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
        self.fitted_on_codes = fitted_on_codes or not self.model_given_fitted
        self.strategy_name = "query"
        self.candidates = (
            np.flatnonzero(~self.labeled) if candidates is None else np.asarray(candidates, dtype=np.int64)
        )
        self.preprocessor = preprocessor
        self.feature_names = (
            list(feature_names) if feature_names is not None else [f"x{j}" for j in range(X.shape[1])]
        )

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


def make_context(
    X: Any,
    y: Any,
    *,
    model: Any = None,
    preprocess: bool | None = None,
    random_state: int | np.random.Generator | None = None,
    candidates: Any = None,
) -> QueryContext:
    """Validate ``X``/``y``/``candidates`` and build the :class:`QueryContext` of one round.

    ``preprocess`` (default: True unless a fitted model is given) runs ``TabularPreprocessor``
    fit on all rows of ``X``; otherwise ``X`` must already be numeric.  ``candidates``: None (every
    unlabeled row may be picked), positions or a boolean mask of unlabeled rows.
    Useful to call a strategy directly: ``margin(make_context(X, y), 5, rng)``.
    """
    n = _n_rows(X)
    labeled, codes, classes = encode_labels(y, n)
    if not (~labeled).any():
        raise ValueError("y has no unlabeled rows (missing values mark unlabeled rows); nothing to query")
    pool = _check_candidates(candidates, labeled)
    from .._model_adapter import split_pipeline

    steps, final = split_pipeline(model)
    if steps is not None:
        return _pipeline_context(X, model, labeled, codes, classes, pool, random_state)
    fitted = is_fitted(model)
    if preprocess is None:
        preprocess = not fitted
    preprocessor = None
    if preprocess:
        from .._preprocess import TabularPreprocessor

        preprocessor = TabularPreprocessor()
        matrix = np.asarray(preprocessor.fit_transform(X), dtype=np.float64)
        names = list(preprocessor.feature_names_out_)
    else:
        matrix = _numeric(X)
        names = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None
    if fitted:
        expected = getattr(model, "n_features_in_", matrix.shape[1])
        if expected != matrix.shape[1]:
            raise ValueError(
                f"the fitted model expects {expected} features but X has {matrix.shape[1]} columns"
                f"{' after preprocessing' if preprocess else ''}; pass the numeric matrix the model was trained on"
            )
    return QueryContext(
        matrix, labeled, codes, classes, model=model, model_seed=model_seed(random_state),
        candidates=pool, preprocessor=preprocessor, feature_names=names,
    )


def _pipeline_context(
    X: Any, pipeline: Any, labeled: np.ndarray, codes: np.ndarray, classes: np.ndarray,
    pool: np.ndarray | None, random_state: Any,
) -> QueryContext:
    """A scikit-learn Pipeline as the model: its own steps preprocess ``X``; strategies see the
    transformed matrix and the last step.  An unfitted pipeline is copied and fit on the labeled
    rows (labels as codes); with fewer than two labeled classes the cold-start rule runs on
    ``TabularPreprocessor`` output instead."""
    fitted = is_fitted(pipeline)
    if not fitted:
        if len(np.unique(codes[labeled])) < 2:
            return make_context(X, pd.Series(np.where(labeled, codes, -1)).where(labeled, None),
                                random_state=random_state, candidates=pool)
        pipeline = copy.deepcopy(pipeline)
        rows = np.flatnonzero(labeled)
        pipeline.fit(X.iloc[rows] if isinstance(X, pd.DataFrame) else np.asarray(X)[rows], codes[rows])
    steps, final = pipeline[:-1], pipeline.steps[-1][1]
    try:
        matrix = np.asarray(steps.transform(X), dtype=np.float64)
    except TypeError as exc:  # e.g. a sparse result
        raise ValueError(f"the pipeline's steps before its last must give a dense numeric matrix: {exc}") from None
    try:
        names = [str(n) for n in steps.get_feature_names_out()]
    except Exception:  # noqa: BLE001 - not every transformer names its outputs
        names = None
    context = QueryContext(
        matrix, labeled, codes, classes, model=final, model_seed=model_seed(random_state),
        candidates=pool, feature_names=names, fitted_on_codes=not fitted,
    )
    return context


def _check_candidates(candidates: Any, labeled: np.ndarray) -> np.ndarray | None:
    """Sorted unique int64 positions of the candidate rows, or None for every unlabeled row."""
    if candidates is None:
        return None
    n = labeled.shape[0]
    arr = np.asarray(candidates)
    if arr.ndim == 0:
        raise ValueError(
            f"candidates must be row positions or a boolean mask of the rows that may be picked, got {candidates!r}"
            " (the hybrids' multiple of the budget is the option candidate_multiple)"
        )
    if arr.ndim != 1:
        raise ValueError(f"candidates must be 1-D row positions or a boolean mask, got shape {arr.shape}")
    if arr.dtype == bool:
        if arr.shape[0] != n:
            raise ValueError(f"a boolean candidates mask needs one entry per row ({n}), got {arr.shape[0]}")
        positions = np.flatnonzero(arr)
    elif arr.size == 0:
        positions = np.empty(0, dtype=np.int64)
    elif arr.dtype.kind in "iu":
        positions = arr.astype(np.int64)
    else:
        raise ValueError(f"candidates must be int row positions or a boolean mask, got dtype {arr.dtype}")
    if positions.size and (positions.min() < 0 or positions.max() >= n):
        bad = positions[(positions < 0) | (positions >= n)][0]
        raise ValueError(f"candidates contains position {int(bad)}, outside the rows 0..{n - 1}")
    unique = np.unique(positions)
    if unique.size != positions.size:
        raise ValueError("candidates contains a position more than once")
    if labeled[unique].any():
        bad = unique[labeled[unique]][0]
        raise ValueError(f"candidates contains row {int(bad)}, which is labeled; candidates must be unlabeled rows")
    if unique.size == 0:
        raise ValueError("candidates is empty: no row may be picked")
    return unique


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
    from .._validation import check_array

    return check_array(X.to_numpy() if isinstance(X, pd.DataFrame) else X, dtype=np.float64)


def encode_labels(y: Any, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def model_seed(random_state: int | np.random.Generator | None) -> int | None:
    """Seed of the default model, derived from ``random_state`` (independent of the strategy's rng)."""
    if random_state is None:
        return None
    if isinstance(random_state, np.random.Generator):
        seed_seq = getattr(random_state.bit_generator, "seed_seq", None)
        if seed_seq is not None:
            return int(seed_seq.generate_state(1)[0])
        return int(random_state.integers(2**32))
    return int(np.random.SeedSequence([int(random_state), 0x4D4C50]).generate_state(1)[0])


def check_random_state(random_state: Any) -> int | np.random.Generator | None:
    """``random_state`` if it is None, an int >= 0 or a ``np.random.Generator``; a clear error otherwise."""
    if random_state is None or isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(random_state, numbers.Integral):
        raise ValueError(
            f"random_state must be None, an int >= 0 or a numpy.random.Generator, got {random_state!r}"
        )
    if random_state < 0:
        raise ValueError(f"random_state must be None, an int >= 0 or a numpy.random.Generator, got {random_state}")
    return int(random_state)
