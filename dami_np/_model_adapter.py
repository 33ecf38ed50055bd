"""DAMI on other people's models: one ReLU-MLP interface over dami-np's and scikit-learn's MLPs.

Strategies that need the network itself (``dami``, ``badge``, ``coreset``, ``boundary``...)
call ``relu_mlp_view(model, needs=strategy_name)`` and get an object with

- ``classes_``, ``n_features_in_``, ``coefs_`` (``coefs_[i]`` is (in, out)), ``intercepts_``,
  ``dtype`` (``np.dtype(view.dtype)`` is the compute dtype);
- ``logits(X)`` (n, C >= 2), ``predict_proba(X)`` (softmax of the logits), ``predict(X)``,
  ``decision_function(X)`` (scikit-learn's: (n,) for binary problems);
- ``local_linear(X)`` -> ``(W (n, C, d), b (n, C))`` with ``W[i] @ X[i] + b[i] == logits(X)[i]``,
  ``activation_patterns(X)`` (``np.packbits`` of all hidden units' on/off bits, row-wise),
  ``region_ids(X)``, ``hidden_activations(X, layer=-1)``;
- ``transform(X)``: what to apply to the caller's ``X`` before the methods above (the
  pipeline's preprocessing for a ``Pipeline``, otherwise a plain float conversion).

Supported: (a) a fitted ``dami_np.MLPClassifier`` (returned as it is: it has all of the above
except ``transform``, so use ``view_transform``); (b) a fitted scikit-learn ``MLPClassifier``
with ``activation="relu"``; (c) a fitted scikit-learn ``Pipeline`` whose last step is (a) or
(b).  Nothing here imports scikit-learn: models are recognised by class name and module.

scikit-learn's binary MLP has one logistic output unit ``z`` (``P(classes_[1]) = sigmoid(z)``).
The view gives it two logit columns ``[-z/2, z/2]`` (the output layer's weights and intercept
halved, exact in binary floating point), so ``softmax`` of them is ``[1 - sigmoid(z), sigmoid(z)]``
== scikit-learn's ``predict_proba``, and ``W(x) x + b(x)`` reproduces them.  Of the
two-column forms with that softmax we take the symmetric one rather than ``[0, z]``: with it
the rows of both classes carry the local model (``rows="predicted"`` DAMI would otherwise see
``W = 0`` for every row predicted as ``classes_[0]``); distances between ``W(x)`` are half
those of ``[0, z]`` in both classes, so K-Center picks are the same.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from dami_np import _local_linear as _ll
from dami_np._mlp_math import forward_logits, softmax_inplace
from dami_np._validation import check_array, not_fitted_error

__all__ = ["relu_mlp_view", "check_relu_mlp", "proba_model_check", "split_pipeline", "view_transform"]

_NEED = "a ReLU MLP with coefs_ and intercepts_ (dami_np.MLPClassifier or sklearn MLPClassifier(activation='relu'))"


def _from_sklearn(obj: Any, class_name: str, module_prefix: str) -> bool:
    """``obj`` is an instance of scikit-learn's ``class_name`` (or a subclass), without importing scikit-learn."""
    return any(c.__name__ == class_name and (c.__module__ or "").startswith(module_prefix) for c in type(obj).__mro__)


def _is_ours(model: Any) -> bool:
    from dami_np._mlp import MLPClassifier

    return isinstance(model, MLPClassifier)


def _is_sklearn_mlp(model: Any) -> bool:
    return _from_sklearn(model, "MLPClassifier", "sklearn.")


def _is_pipeline(model: Any) -> bool:
    return _from_sklearn(model, "Pipeline", "sklearn.") and isinstance(getattr(model, "steps", None), list)


def _describe(model: Any) -> str:
    name = type(model).__name__
    if _is_sklearn_mlp(model):
        return f"{name}(activation={getattr(model, 'activation', '?')!r})"
    if _is_pipeline(model) and model.steps:
        return f"a Pipeline ending in {_describe(model.steps[-1][1])}"
    return name


def _refuse(model: Any, needs: str, why: str = "") -> ValueError:
    return ValueError(f"strategy {needs!r} needs {_NEED}; got {_describe(model)}{why}")


def split_pipeline(model: Any) -> tuple[Any, Any]:
    """``(preprocessing, final_estimator)`` of a scikit-learn Pipeline (``preprocessing`` is ``pipe[:-1]``), else ``(None, model)``."""
    if _is_pipeline(model) and model.steps:
        return model[:-1], model.steps[-1][1]
    return None, model


def check_relu_mlp(model: Any, needs: str) -> None:
    """Raise the strategy's clear error unless ``model`` (fitted or not) is a supported ReLU MLP or such a Pipeline."""
    _, final = split_pipeline(model)
    if _is_ours(final):
        return
    if _is_sklearn_mlp(final):
        if getattr(final, "activation", None) != "relu":
            raise _refuse(model, needs)
        out = getattr(final, "out_activation_", None)
        if out is not None and out not in ("logistic", "softmax"):
            raise _refuse(model, needs, f" with output activation {out!r}")
        if out == "logistic" and getattr(final, "n_outputs_", 1) != 1:
            raise _refuse(model, needs, " fitted on a multi-label target (one class per row is needed)")
        return
    raise _refuse(model, needs)


def relu_mlp_view(model: Any, *, needs: str) -> Any:
    """The ReLU-MLP view of a fitted ``model`` (see the module docstring); ``needs`` is the strategy's name.

    A view is returned as it is, so calling this twice is harmless.
    """
    if isinstance(model, (_SklearnReluMLP, _PipelineView)):
        return model
    check_relu_mlp(model, needs)
    pre, final = split_pipeline(model)
    if not hasattr(final, "coefs_"):
        raise not_fitted_error(
            f"strategy {needs!r} needs a fitted model: this {_describe(model)} is not fitted yet; "
            "call 'fit' first (or pass it unfitted to select/query, which fit a copy on the labeled rows)"
        )
    view = final if _is_ours(final) else _SklearnReluMLP(final)
    if pre is None:
        return view
    return _PipelineView(model, pre, view)


def view_transform(view: Any, X: Any) -> Any:
    """``view.transform(X)`` when the view has one (pipelines, scikit-learn MLPs), else ``X`` unchanged."""
    transform = getattr(view, "transform", None)
    if transform is None or _is_ours(view):
        return X
    return transform(X)


def proba_model_check(model: Any, strategy_name: str) -> Any:
    """Return ``model`` if it has ``predict_proba`` (what uncertainty strategies need), else a clear ValueError."""
    if model is None or not callable(getattr(model, "predict_proba", None)):
        raise ValueError(
            f"strategy {strategy_name!r} needs a classifier with predict_proba (e.g. dami_np.MLPClassifier, "
            f"sklearn LogisticRegression or a Pipeline ending in one); got {_describe(model)}"
        )
    return model


class _SklearnReluMLP:
    """ReLU-MLP view of a fitted scikit-learn ``MLPClassifier(activation="relu")``."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.classes_ = np.asarray(model.classes_)
        coefs = [np.asarray(W) for W in model.coefs_]
        intercepts = [np.asarray(b) for b in model.intercepts_]
        self.dtype = np.result_type(*coefs, *intercepts)
        if self.dtype.kind != "f":
            self.dtype = np.dtype(np.float64)
        coefs = [np.ascontiguousarray(W, dtype=self.dtype) for W in coefs]
        intercepts = [np.ascontiguousarray(b, dtype=self.dtype) for b in intercepts]
        if coefs[-1].shape[1] == 1:  # binary: one logistic unit z -> logits [-z/2, z/2] (see module docstring)
            half_w, half_b = coefs[-1] * 0.5, intercepts[-1] * 0.5
            coefs[-1] = np.ascontiguousarray(np.concatenate([-half_w, half_w], axis=1))
            intercepts[-1] = np.concatenate([-half_b, half_b])
        if coefs[-1].shape[1] != self.classes_.shape[0]:
            raise ValueError(
                f"the scikit-learn MLP has {coefs[-1].shape[1]} output units for {self.classes_.shape[0]} classes; "
                "only single-label classifiers are supported"
            )
        self.coefs_, self.intercepts_ = coefs, intercepts
        self.n_features_in_ = int(coefs[0].shape[0])
        names = getattr(model, "feature_names_in_", None)
        if names is not None:
            self.feature_names_in_ = names

    def __repr__(self) -> str:
        return f"relu_mlp_view({self.model!r})"

    def transform(self, X: Any) -> np.ndarray:
        """``X`` as the float array the methods below take (no preprocessing)."""
        return self._check_X(X)

    def _check_X(self, X: Any) -> np.ndarray:
        X = check_array(X, dtype=self.dtype)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but MLPClassifier is expecting {self.n_features_in_} "
                             "features as input")
        return X

    def logits(self, X: Any) -> np.ndarray:
        """(n, C >= 2) logits; ``softmax`` of them is scikit-learn's ``predict_proba``."""
        X = self._check_X(X)
        rows = _ll.chunk_rows(2 * max(W.shape[1] for W in self.coefs_) * self.dtype.itemsize)
        out = np.empty((X.shape[0], self.coefs_[-1].shape[1]), dtype=self.dtype)
        for start in range(0, X.shape[0], rows):
            out[start : start + rows] = forward_logits(X[start : start + rows], self.coefs_, self.intercepts_)
        return out

    def decision_function(self, X: Any) -> np.ndarray:
        """scikit-learn's convention: (n,) score of ``classes_[1]`` for binary problems, else the logits."""
        Z = self.logits(X)
        return Z[:, 1] - Z[:, 0] if Z.shape[1] == 2 else Z

    def predict_proba(self, X: Any) -> np.ndarray:
        return softmax_inplace(self.logits(X))

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.logits(X), axis=1)]

    def local_linear(self, X: Any, *, chunk_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(W (n, C, d), b (n, C))`` with ``W[i] @ X[i] + b[i] == logits(X)[i]``."""
        X = self._check_X(X)
        if chunk_size is not None and (
            not isinstance(chunk_size, numbers.Integral) or isinstance(chunk_size, bool) or chunk_size < 1
        ):
            raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
        return _ll.local_linear(X, self.coefs_, self.intercepts_, chunk_size=chunk_size)

    def activation_patterns(self, X: Any) -> np.ndarray:
        """uint8 (n, ceil(H / 8)): ``np.packbits`` of the on/off (pre-activation > 0) pattern of all H hidden units."""
        return _ll.activation_patterns(self._check_X(X), self.coefs_, self.intercepts_)

    def region_ids(self, X: Any) -> np.ndarray:
        return _ll.region_ids_from_patterns(self.activation_patterns(X))

    def hidden_activations(self, X: Any, layer: int = -1) -> np.ndarray:
        """Post-ReLU activations (n, h) of hidden layer ``layer`` (default: the last one)."""
        return _ll.hidden_activations(self._check_X(X), self.coefs_, self.intercepts_, layer)


class _PipelineView:
    """A Pipeline ending in a ReLU MLP: ``transform`` is the preprocessing, everything else the MLP's view.

    The MLP methods take the *transformed* X (``view.local_linear(view.transform(X_raw))``), so
    ``W(x)`` is in the coordinates the MLP sees.
    """

    def __init__(self, pipeline: Any, preprocessing: Any, mlp: Any) -> None:
        self.pipeline, self.preprocessing, self.mlp = pipeline, preprocessing, mlp

    def __repr__(self) -> str:
        return f"relu_mlp_view({self.pipeline!r})"

    def transform(self, X: Any) -> np.ndarray:
        """The pipeline's steps before the MLP applied to ``X``, as a dense float array of the MLP's dtype."""
        Z = self.preprocessing.transform(X)
        return check_array(Z, dtype=np.dtype(self.mlp.dtype), name="the pipeline's transformed X")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("pipeline", "preprocessing", "mlp"):
            raise AttributeError(name)
        return getattr(self.mlp, name)
