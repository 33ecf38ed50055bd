"""A table made ready for a model, and the one model recipe of the library.

``prepare_table`` validates ``X``, ``y`` and the candidate rows, encodes the labels (the one
encoder, ``_labels``) and preprocesses ``X`` once (``TabularPreprocessor``, or one given, e.g.
the CLI's, already fit on ``X``).  ``with_model`` adds the round's model by the one recipe
(``fit_model``): the caller's fitted model as is, a copy of the caller's unfitted model, or a
default ``MLPClassifier`` (cold, or warm-started from a saved model), seeded from the round's
``random_state`` (``model_seed``) and trained on the labeled rows with label codes.

``dami_np.select``/``query`` (through ``_round``), ``dami select``, ``dami status``, ``dami merge
--save-model``, ``stopping.status`` and ``strategies.make_context`` all prepare tables here, so a
table and a seed give the same matrix and the same model on every path.  This module sits below
the strategies (it imports no strategy and no round).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ._labels import encode_labels
from ._timings import stage
from ._validation import model_seed

__all__ = ["PreparedTable", "FrameHandoff", "prepare_table", "with_model", "check_model_width", "fit_table", "fit_model", "is_fitted"]


class FrameHandoff:
    """A table given to a round for keeps: ``prepare_table`` takes it out (``take``) and drops it
    once the matrix is built, so a caller that keeps no other reference (the CLI, which read it)
    frees the table's numbers before the model and the strategy run (1M x 50: 0.4 GB less)."""

    def __init__(self, frame: pd.DataFrame, on_release: Callable[[], None] | None = None) -> None:
        self._frame: pd.DataFrame | None = frame
        self._on_release = on_release

    def released(self) -> None:
        """Called once the frame is gone: e.g. Arrow's pool returns the freed columns to the system."""
        if self._frame is None and self._on_release is not None:
            self._on_release()

    def take(self) -> pd.DataFrame:
        """The frame; the handoff keeps no reference to it (a second take is an error)."""
        frame, self._frame = self._frame, None
        if frame is None:
            raise RuntimeError("this table was already handed to a round")
        return frame



def is_fitted(model: Any) -> bool:
    """True for a model that can predict (scikit-learn convention: it has ``classes_``)."""
    return model is not None and hasattr(model, "classes_")


@dataclass(frozen=True)
class PreparedTable:
    """A validated table: what a round, a status or a saved model is computed from.

    ``matrix``: (n, d) float64 model input (float32 when only a float32 model reads it); ``labeled``: (n,) bool; ``codes``: (n,) int64 label
    codes, -1 where unlabeled; ``classes``: the labels of the codes; ``candidates``: sorted int64
    positions of the rows that may be picked (None: every unlabeled row); ``preprocessor``: the
    fitted ``TabularPreprocessor`` (None when ``X`` was used as given or by a Pipeline's steps);
    ``feature_names``: names of the matrix's columns (None: unknown); ``model``: the fitted model
    (None until ``with_model`` or when no model is possible); ``model_on_codes``: the model
    predicts label codes (it was fit here), not the user's labels; ``warm``: the model was
    warm-started from a saved one; ``notes``: what a user should know about the model's training.
    """

    matrix: np.ndarray
    labeled: np.ndarray
    codes: np.ndarray
    classes: np.ndarray
    candidates: np.ndarray | None = None
    preprocessor: Any = None
    feature_names: list[str] | None = None
    columns: list[str] | None = None
    model: Any = None
    model_on_codes: bool = True
    warm: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def n_labeled_classes(self) -> int:
        """Distinct labels among the labeled rows."""
        return int(np.unique(self.codes[self.labeled]).size)


def prepare_table(
    X: Any,
    y: Any,
    *,
    model: Any = None,
    preprocess: bool | None = None,
    candidates: Any = None,
    preprocessor: Any = None,
    require_unlabeled: bool = True,
    model_dtype: Any = None,
) -> PreparedTable:
    """Validate and encode ``X``/``y``/``candidates``; preprocess ``X`` once.

    ``preprocess`` (default: True unless a fitted model is given) fits ``TabularPreprocessor`` on
    all rows of ``X`` (or uses ``preprocessor``, already fit on ``X``); otherwise ``X`` must be
    numeric.  A scikit-learn Pipeline as ``model`` preprocesses with its own steps (an unfitted one
    is copied and fit here on the labeled rows).  ``model`` is kept only when fitted.  ``X`` may be
    a ``FrameHandoff``: its frame is released when this returns.  ``model_dtype`` (the round's
    rule, ``_round``): float32 when only a float32 model will read the matrix; it is used when
    ``TabularPreprocessor`` runs and two classes are labeled (else the cold-start rule reads the
    matrix itself, in float64).
    """
    if isinstance(X, FrameHandoff):
        X = X.take()
    n = _n_rows(X)
    labeled, codes, classes = encode_labels(y, n)
    if require_unlabeled and not (~labeled).any():
        raise ValueError("y has no unlabeled rows (missing values mark unlabeled rows); nothing to query")
    pool = check_candidates(candidates, labeled)
    from ._model_adapter import split_pipeline

    steps, _ = split_pipeline(model)
    if steps is not None:
        return _pipeline_table(X, model, labeled, codes, classes, pool)
    fitted = is_fitted(model)
    if preprocessor is not None:
        preprocess = True
    elif preprocess is None:
        preprocess = not fitted
    columns = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None
    if preprocess:
        dtype = np.float64
        if model_dtype is not None and np.unique(codes[labeled]).size >= 2:
            dtype = model_dtype
        with stage("preprocessing"):
            if preprocessor is None:
                from ._preprocess import TabularPreprocessor

                preprocessor = TabularPreprocessor().fit(X)
            if dtype == np.float64:
                matrix = np.asarray(preprocessor.transform(X), dtype=np.float64)
            else:
                matrix = preprocessor.transform(X, dtype=dtype)
        names = list(preprocessor.feature_names_out_)
    else:
        matrix = _numeric(X)
        names = columns
    if fitted:
        check_model_width(model, matrix.shape[1], preprocessed=preprocess)
    return PreparedTable(matrix, labeled, codes, classes, pool, preprocessor, names, columns,
                         model=model if fitted else None, model_on_codes=not fitted)


def check_model_width(model: Any, n_columns: int, *, preprocessed: bool) -> None:
    """A caller's fitted model must take as many features as the round's matrix has columns."""
    expected = getattr(model, "n_features_in_", n_columns)
    if expected != n_columns:
        raise ValueError(
            f"the fitted model expects {expected} features but X has {n_columns} columns"
            f"{' after preprocessing' if preprocessed else ''}; pass the numeric matrix the model was trained on"
        )


def with_model(
    table: PreparedTable,
    *,
    model: Any = None,
    random_state: int | np.random.Generator | None = None,
    params: dict[str, Any] | None = None,
    warm: Any = None,
    warm_name: str = "the saved model",
) -> PreparedTable:
    """``table`` with its model fit by ``fit_model`` on the labeled rows (label codes), unless it has
    one already or fewer than two classes are labeled (then unchanged).

    ``model``: an unfitted template (copied), or None for ``MLPClassifier(**params)``; ``warm``: a
    saved model (``_model_io.SavedModel``) to continue training when the table encodes exactly as
    it did and has the same classes (else a note, and a cold model with ``params``).
    """
    if table.model is not None or table.n_labeled_classes < 2:
        return table
    notes = list(table.notes)
    start = None
    if warm is not None:
        reason = warm_blocker(warm, table, warm_name)
        if reason is None:
            start = warm.model
        else:
            notes.append(f"{reason}: trained from scratch (as with --refit)")
    rows = np.flatnonzero(table.labeled)
    with stage("fit"):
        fitted = fit_model(table.matrix[rows], table.codes[rows], model=model, params=params,
                           random_state=random_state, warm=start)
    return replace(table, model=fitted, model_on_codes=True, warm=start is not None, notes=tuple(notes))


def fit_table(X: Any, y: Any, *, random_state: int | np.random.Generator | None = None, model: Any = None,
              params: dict[str, Any] | None = None, preprocessor: Any = None, warm: Any = None,
              warm_name: str = "the saved model") -> PreparedTable:
    """Fit the round's model from a table: ``prepare_table`` (every row may be labeled) then
    ``with_model`` (what ``dami status``, ``merge --save-model`` and ``stopping.status`` train)."""
    table = prepare_table(X, y, model=model, preprocessor=preprocessor, require_unlabeled=False)
    return with_model(table, model=model, random_state=random_state, params=params, warm=warm, warm_name=warm_name)


def fit_model(X: np.ndarray, codes: np.ndarray, *, model: Any = None, params: dict[str, Any] | None = None,
              random_state: int | np.random.Generator | None = None, warm: Any = None) -> Any:
    """The one model recipe: a fitted classifier on ``(X, codes)`` (codes ``0..C-1``).

    ``warm``: a fitted ``MLPClassifier`` to continue from (a copy, ``warm_start=True``); else a copy
    of the unfitted ``model``; else ``MLPClassifier(**params)``.  Our models are seeded with
    ``model_seed(random_state)`` (a copied template keeps its own ``random_state``).
    """
    from ._mlp import MLPClassifier

    if warm is not None:
        fresh = copy.deepcopy(warm)
        fresh.classes_ = np.arange(len(warm.classes_), dtype=np.int64)  # continues on label codes
        fresh.set_params(warm_start=True, random_state=model_seed(random_state))
    elif model is not None:
        fresh = copy.deepcopy(model)
    else:
        fresh = MLPClassifier(**{**(params or {}), "random_state": model_seed(random_state)})
    fitted = fresh.fit(X, codes)
    return fresh if fitted is None else fitted


def warm_blocker(saved: Any, table: PreparedTable, shown: str) -> str | None:
    """Why ``saved`` (a ``SavedModel``) cannot continue training on ``table``, or None when it can:
    same feature columns, same encoding (columns, medians, scales, levels) and same classes."""
    from ._model_io import same_preprocessing

    if table.columns is None or list(saved.columns) != table.columns:
        return f"the feature columns differ from those {shown} was trained on"
    if not same_preprocessing(saved.preprocessor, table.preprocessor):
        return f"the table's columns encode differently than when {shown} was saved (rows or values changed)"
    trained = [str(c) for c in saved.model.classes_]
    now = [str(c) for c in table.classes]
    if trained != now:
        new = [c for c in now if c not in trained]
        what = f"new class(es) {', '.join(repr(c) for c in new[:5])}" if new else "the classes changed"
        return f"{what} since {shown} was saved"
    return None


def _pipeline_table(X: Any, pipeline: Any, labeled: np.ndarray, codes: np.ndarray, classes: np.ndarray,
                    pool: np.ndarray | None) -> PreparedTable:
    """A scikit-learn Pipeline as the model: its own steps preprocess ``X``; strategies see the
    transformed matrix and the last step.  An unfitted pipeline is copied and fit on the labeled
    rows (labels as codes); with fewer than two labeled classes the cold-start rule runs on
    ``TabularPreprocessor`` output instead."""
    fitted = is_fitted(pipeline)
    if not fitted:
        if len(np.unique(codes[labeled])) < 2:
            return prepare_table(X, pd.Series(np.where(labeled, codes, -1)).where(labeled, None), candidates=pool)
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
    return PreparedTable(matrix, labeled, codes, classes, pool, None, names, model=final, model_on_codes=not fitted)


def check_candidates(candidates: Any, labeled: np.ndarray) -> np.ndarray | None:
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
    from ._validation import check_array

    return check_array(X.to_numpy() if isinstance(X, pd.DataFrame) else X, dtype=np.float64)
