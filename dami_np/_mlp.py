"""``MLPClassifier``: a from-scratch NumPy ReLU MLP that can explain itself exactly.

A ReLU MLP is piece-wise linear, so each row ``x`` has an exact local linear map
``f(x) = W(x) x + b(x)`` (``local_linear``); DAMI uses the flattened ``W(x)`` as the
row's representation.  Numerics live in ``_mlp_math`` (training) and
``_local_linear`` (explanations); this module holds the estimator API.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import numbers
import warnings
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from dami_np import _local_linear as _ll
from dami_np._mlp_math import Adam, ParamLayout, Workspace, forward_logits, glorot_init, softmax_inplace
from dami_np._labels import encode_labels
from dami_np._stratified import stratified_split as _stratified_split
from dami_np._validation import (
    NotFittedError,
    cast_checked,
    check_labels,
    check_random_state,
    column_label,
    feature_names,
    not_fitted_error,
    numeric_2d,
)

__all__ = ["MLPClassifier", "NotFittedError"]

_DTYPES = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64)}
# Training GEMMs up to this many multiply-adds run single-threaded.  The training loop multiplies
# small matrices (e.g. 128 x 128 x 128); on a few cores threading them gains nothing on an idle
# machine, and when the cores are shared OpenBLAS's thread hand-offs made epochs 20-60x slower
# (measured on 2 cores).  Large GEMMs (``local_linear``, inference) keep all threads.
_SINGLE_THREAD_GEMM_MACS = 1 << 22
# Columns whose max |x| lies in this range are trained on as given (so ordinary and standardized
# data train exactly as without input scaling); others are scaled internally, see ``fit``.
_UNSCALED_RANGE = (2.0**-12, 2.0**12)
# Internal first-layer weights in this range must stay normal numbers once folded into user units.
_FOLD_WEIGHT_RANGE = (2.0**-16, 2.0**16)


class MLPClassifier:
    """ReLU multi-layer perceptron classifier trained with Adam on softmax cross-entropy.

    Parameters mirror scikit-learn's ``MLPClassifier`` (ReLU, Adam only).

    hidden_layer_sizes : widths of the hidden layers, any number (``()`` = softmax regression).
        The default ``(100,)`` is one hidden layer: active learning fits on small labeled
        sets where deeper nets overfit and train slower, and with a single hidden layer
        ``W(x) = W_2 D(x) W_1`` depends on ``x`` only through the H-dimensional on/off
        pattern ``D(x)``, which makes DAMI's exact H-dimensional embedding trick applicable.
    alpha : L2 penalty. Per mini-batch of ``m`` rows the loss is
        ``mean cross-entropy + alpha / (2 m) * sum ||coefs||^2`` (scikit-learn's convention;
        intercepts are not penalised).
    batch_size : mini-batch rows (clipped to the number of training rows).
    learning_rate_init : Adam step size (beta1=0.9, beta2=0.999, eps=1e-8).
    max_iter : maximum epochs.
    shuffle : reshuffle rows every epoch.
    early_stopping : hold out ``validation_fraction`` of the rows (stratified when every
        class allows it), stop when validation accuracy has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and restore the best weights.
    tol, n_iter_no_change : without early stopping, stop when the epoch loss has not
        improved by ``tol`` for ``n_iter_no_change`` epochs (``tol=0`` with a large
        ``n_iter_no_change`` runs all ``max_iter`` epochs).
    dtype : ``"float32"`` (default, fast) or ``"float64"``; all computation uses it.
    warm_start : continue from the current weights (and Adam state) when the layer
        shapes and classes match; otherwise re-initialise (with a warning).
    random_state : None, int >= 0, ``np.random.RandomState`` (as in scikit-learn; a seed is
        drawn from it), ``SeedSequence`` or ``np.random.Generator``; drives init, the
        validation split and shuffling. Same data + same int seed gives bit-for-bit
        identical weights.

    Input scale: columns whose max |x| lies outside [2**-12, 2**12] (say raw values around
    1e30 or 1e-30) are multiplied internally by a power of two that brings their root mean
    square to about 1 before training, and that factor is folded back into ``coefs_[0]``
    afterwards (exactly: powers of two), so ``coefs_``, ``logits`` and ``local_linear`` are
    in your units.  Other columns are used as given, so ordinary or standardized data train
    exactly as without it; standardizing features is still what trains best.  A column too
    far out for the model's dtype to hold the folded weights (beyond about 1e33 or below
    1e-34 for float32, 1e302 / 1e-303 for float64) is an error naming it.

    scikit-learn: the class follows its estimator conventions without importing it
    (``get_params``/``set_params``, ``__sklearn_tags__``, ``NotFittedError``, feature-name
    checks), so ``clone``, ``Pipeline``, ``cross_val_score`` and ``GridSearchCV`` work and
    ``check_estimator`` passes.  scipy.sparse ``X`` is densified (up to 1 GiB).

    Fitted attributes: ``classes_``, ``n_features_in_``, ``feature_names_in_`` (fit on a
    DataFrame with string column names only), ``coefs_`` (``coefs_[i]`` is (in, out)),
    ``intercepts_``, ``n_iter_``, ``loss_``, ``loss_curve_``, ``best_loss_``,
    ``validation_scores_`` and ``best_validation_score_`` (None without early stopping).

    Outputs: ``logits`` (n, C >= 2, what ``local_linear`` reconstructs), ``predict_proba``
    (softmax of the logits), ``decision_function`` (scikit-learn's: (n,) score of
    ``classes_[1]`` for binary problems, the logits otherwise).
    """

    def __init__(
        self,
        hidden_layer_sizes: int | tuple[int, ...] = (100,),
        *,
        alpha: float = 1e-4,
        batch_size: int = 64,
        learning_rate_init: float = 1e-3,
        max_iter: int = 200,
        shuffle: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        dtype: str = "float32",
        warm_start: bool = False,
        random_state: Any = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.dtype = dtype
        self.warm_start = warm_start
        self.random_state = random_state

    _estimator_type = "classifier"  # scikit-learn < 1.6 reads this; newer versions read __sklearn_tags__

    # ------------------------------------------------------------------ params
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(p for p in sig.parameters if p != "self")  # sorted, as scikit-learn's BaseEstimator

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters as a dict (scikit-learn compatible)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> MLPClassifier:
        """Set constructor parameters; unknown names raise ``ValueError``."""
        valid = set(self._param_names())
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for MLPClassifier; valid parameters: {sorted(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = []
        for name, value in self.get_params().items():
            default = defaults.get(name)
            try:
                same = bool(value == default)
            except Exception:
                same = False
            if not same:
                changed.append(f"{name}={value!r}")
        return f"MLPClassifier({', '.join(changed)})"

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's estimator tags (scikit-learn is imported here only, when it asks)."""
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=True, single_output=True, multi_output=False),
            classifier_tags=ClassifierTags(poor_score=False, multi_class=True, multi_label=False),
            # sparse: accepted, densified up to _validation.SPARSE_DENSE_LIMIT_BYTES
            input_tags=InputTags(two_d_array=True, sparse=True, allow_nan=False),
            requires_fit=True,
            non_deterministic=False,
        )

    def _validated_params(self) -> dict[str, Any]:
        """Check the constructor parameters; return normalised values."""
        hls = self.hidden_layer_sizes
        if isinstance(hls, numbers.Integral) and not isinstance(hls, bool):
            hls = (int(hls),)
        try:
            hls = tuple(hls)
        except TypeError:
            raise ValueError(f"hidden_layer_sizes must be an int or a sequence of ints, got {hls!r}") from None
        if not all(isinstance(h, numbers.Integral) and not isinstance(h, bool) and h > 0 for h in hls):
            raise ValueError(f"hidden_layer_sizes must contain positive ints, got {self.hidden_layer_sizes!r}")
        hls = tuple(int(h) for h in hls)

        def number(name: str, low: float, *, integer: bool = False, low_inclusive: bool = True) -> Any:
            value = getattr(self, name)
            kind = numbers.Integral if integer else numbers.Real
            if not isinstance(value, kind) or isinstance(value, bool) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite {'int' if integer else 'number'}, got {value!r}")
            if value < low or (value == low and not low_inclusive):
                op = ">=" if low_inclusive else ">"
                raise ValueError(f"{name} must be {op} {low}, got {value!r}")
            return int(value) if integer else float(value)

        out = {
            "hidden_layer_sizes": hls,
            "alpha": number("alpha", 0.0),
            "batch_size": number("batch_size", 1, integer=True),
            "learning_rate_init": number("learning_rate_init", 0.0, low_inclusive=False),
            "max_iter": number("max_iter", 1, integer=True),
            "n_iter_no_change": number("n_iter_no_change", 1, integer=True),
            "tol": number("tol", 0.0),
        }
        vf = number("validation_fraction", 0.0, low_inclusive=False)
        if vf >= 1.0:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")
        out["validation_fraction"] = vf
        for name in ("shuffle", "early_stopping", "warm_start"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{name} must be a bool, got {value!r}")
            out[name] = bool(value)
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype is None or dtype.name not in _DTYPES:
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        out["dtype"] = dtype
        return out

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """Train on ``X`` (n, d) and labels ``y`` (n,).

        ``classes`` optionally gives the full label set, so the output layer has
        ``len(classes)`` units even if some are absent from ``y`` (active learning).
        """
        p = self._validated_params()
        dtype = p["dtype"]
        if y is None:
            raise ValueError("MLPClassifier requires y to be passed, but the target y is None")
        arr, names = numeric_2d(X, target=dtype)
        y = check_labels(y, arr.shape[0])
        classes_, y_idx = self._encode_labels(y, classes)
        scale = _input_scale(arr, dtype, names)
        X = cast_checked(arr, dtype, "X", names) if scale is None else np.ascontiguousarray(arr * scale, dtype=dtype)
        del arr

        layer_sizes = [X.shape[1], *p["hidden_layer_sizes"], len(classes_)]
        layout = ParamLayout(layer_sizes)
        rng = check_random_state(self.random_state)
        flat, adam, reused = self._initial_state(p, layout, classes_, dtype, rng)

        self.classes_ = classes_
        self.n_features_in_ = X.shape[1]
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self._dtype = dtype
        self._layout = layout
        self._flat = flat
        self.coefs_, self.intercepts_ = layout.views(flat)
        if reused and scale is not None:  # warm start: internal units W_user / scale (exact: powers of two)
            self.coefs_[0] /= scale.astype(dtype)[:, None]
        self._adam = adam
        largest_gemm = min(p["batch_size"], X.shape[0]) * max(a * b for a, b in layout.coef_shapes)
        single = largest_gemm <= _SINGLE_THREAD_GEMM_MACS
        try:
            # overflow in a diverging fit is reported once, as the non-finite loss, not as numpy warnings
            with threadpool_limits(limits=1, user_api="blas") if single else contextlib.nullcontext(), \
                    np.errstate(over="ignore", invalid="ignore"):
                self._train(X, y_idx, p, rng)
        except BaseException:  # e.g. KeyboardInterrupt: leave the weights reached so far in user units
            if scale is not None:
                with np.errstate(all="ignore"):
                    self.coefs_[0] *= scale.astype(dtype)[:, None]
            raise
        if scale is not None:
            _fold_scale(self.coefs_[0], scale, names)
        return self

    @staticmethod
    def _encode_labels(y: np.ndarray, classes: Any) -> tuple[np.ndarray, np.ndarray]:
        """Return (sorted class array, int index of each label): the library's one label encoder
        (``_labels.encode_labels``, sorted labels required), or ``classes`` as given."""
        _, codes, present = encode_labels(y, y.shape[0], ordered=True)
        if classes is None:
            if present.shape[0] < 2:
                raise ValueError(
                    f"y has only one class ({present.tolist()[0]!r}); at least two are needed "
                    "(or pass classes= with the full label set)"
                )
            return present, codes.astype(np.intp)
        cls = np.asarray(classes)
        if cls.ndim != 1:
            raise ValueError(f"classes must be a 1-D sequence of labels, got shape {cls.shape}")
        cls = check_labels(cls, cls.shape[0], name="classes")
        try:
            classes_ = np.unique(cls)
        except TypeError:
            raise ValueError("classes must be mutually comparable (e.g. all strings or all numbers)") from None
        if classes_.shape[0] < 2:
            raise ValueError(f"classes must contain at least two distinct labels, got {classes_.tolist()!r}")
        try:
            unknown = present[~np.isin(present, classes_)]
        except TypeError:
            unknown = present
        if unknown.size:
            raise ValueError(f"y contains labels not in classes: {unknown[:5].tolist()!r}")
        return classes_, np.searchsorted(classes_, y).astype(np.intp)

    def _initial_state(
        self, p: dict[str, Any], layout: ParamLayout, classes_: np.ndarray, dtype: np.dtype, rng: np.random.Generator
    ) -> tuple[np.ndarray, Adam, bool]:
        """Fresh Glorot weights, or the current ones (and Adam state) when warm-starting compatibly (then True)."""
        if p["warm_start"] and hasattr(self, "coefs_"):
            same = (
                getattr(self, "_layout", None) is not None
                and self._layout.layer_sizes == layout.layer_sizes
                and self._dtype == dtype
                and np.array_equal(self.classes_, classes_)
            )
            if same:
                flat = layout.pack(self.coefs_, self.intercepts_, dtype)
                adam = self._adam
                if adam is None or adam.m.shape[0] != layout.size:
                    adam = Adam(layout.size, dtype, p["learning_rate_init"])
                adam.lr = p["learning_rate_init"]
                return flat, adam, True
            warnings.warn(
                "warm_start: layer sizes, dtype or classes changed since the last fit; re-initialising weights",
                UserWarning,
                stacklevel=3,
            )
        for attr in ("n_iter_", "loss_curve_"):
            if hasattr(self, attr):
                delattr(self, attr)
        return glorot_init(layout, rng, dtype), Adam(layout.size, dtype, p["learning_rate_init"]), False

    def _train(self, X: np.ndarray, y_idx: np.ndarray, p: dict[str, Any], rng: np.random.Generator) -> None:
        """Mini-batch Adam epochs with tol-based stopping or early stopping."""
        early = p["early_stopping"]
        X_val = y_val = None
        if early:
            if y_idx.shape[0] < 2:
                raise ValueError(f"early_stopping needs at least 2 rows to hold out a validation set; got {y_idx.shape[0]} rows")
            train_idx, val_idx = _stratified_split(y_idx, p["validation_fraction"], rng)
            X_val, y_val = X[val_idx], y_idx[val_idx]
            X, y_idx = X[train_idx], y_idx[train_idx]
        n = X.shape[0]
        bs = min(p["batch_size"], n)
        layout, flat, adam = self._layout, self._flat, self._adam
        ws = Workspace(layout, bs, self._dtype)
        grad = np.empty_like(flat)
        Xs, ys = np.empty_like(X), np.empty_like(y_idx)

        self.n_iter_ = getattr(self, "n_iter_", 0)
        self.loss_curve_ = list(getattr(self, "loss_curve_", []))
        self.validation_scores_ = [] if early else None
        self.best_validation_score_ = None
        best_loss, best_score, best_flat = np.inf, -np.inf, None
        no_improve = 0
        alpha = p["alpha"]

        for _ in range(p["max_iter"]):
            if p["shuffle"]:
                perm = rng.permutation(n)
                np.take(X, perm, axis=0, out=Xs)
                np.take(y_idx, perm, out=ys)
            else:
                Xs, ys = X, y_idx
            total = 0.0
            for start in range(0, n, bs):
                stop = min(n, start + bs)
                total += ws.loss_and_grad(Xs[start:stop], ys[start:stop], flat, grad, alpha) * (stop - start)
                adam.step(flat, grad)
            loss = total / n
            self.loss_curve_.append(loss)
            self.n_iter_ += 1
            if not math.isfinite(loss):
                raise FloatingPointError(
                    f"training diverged (loss={loss}) at epoch {self.n_iter_}; lower learning_rate_init or scale X"
                )
            if early:
                score = float(np.mean(np.argmax(forward_logits(X_val, self.coefs_, self.intercepts_), axis=1) == y_val))
                self.validation_scores_.append(score)
                no_improve = no_improve + 1 if score < best_score + p["tol"] else 0
                if score > best_score:
                    best_score, best_flat = score, flat.copy()
            else:
                no_improve = no_improve + 1 if loss > best_loss - p["tol"] else 0
            best_loss = min(best_loss, loss)
            if no_improve > p["n_iter_no_change"]:
                break

        self.loss_ = self.loss_curve_[-1]
        self.best_loss_ = float(best_loss)
        if early:
            self.best_validation_score_ = best_score
            flat[...] = best_flat

    # ------------------------------------------------------------------ inference
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "coefs_")

    def _check_fitted(self) -> None:
        if not hasattr(self, "coefs_"):
            raise not_fitted_error(
                "This MLPClassifier instance is not fitted yet; call 'fit' with appropriate arguments first"
            )

    def _check_X(self, X: Any) -> np.ndarray:
        self._check_fitted()
        self._check_feature_names(feature_names(X))  # first, as scikit-learn does
        arr, names = numeric_2d(X, target=self._dtype)
        if arr.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {arr.shape[1]} features, but MLPClassifier is expecting {self.n_features_in_} features as input"
            )
        return cast_checked(arr, self._dtype, "X", names)

    def _check_feature_names(self, names: np.ndarray | None) -> None:
        """scikit-learn's rules: same names in the same order as in fit; warn when only one side has names."""
        fitted = getattr(self, "feature_names_in_", None)
        if fitted is None:
            if names is not None and getattr(self, "_preprocessed_input", False):
                raise ValueError("this MLPClassifier was trained on a preprocessed table (a model file saved by a "
                                 "dami round), not on these DataFrame columns; use dami_np.load_model(path) to "
                                 "predict raw tables")
            if names is not None:
                warnings.warn("X has feature names, but MLPClassifier was fitted without feature names",
                              UserWarning, stacklevel=4)
            return
        if names is None:
            warnings.warn("X does not have valid feature names, but MLPClassifier was fitted with feature names",
                          UserWarning, stacklevel=4)
            return
        if len(names) == len(fitted) and np.array_equal(names, fitted):
            return
        unexpected = sorted(set(names) - set(fitted))
        missing = sorted(set(fitted) - set(names))

        def listed(items: list[str]) -> str:
            shown = "".join(f"- {item}\n" for item in items[:5])
            return shown + ("- ...\n" if len(items) > 5 else "")

        message = "The feature names should match those that were passed during fit.\n"
        if unexpected:
            message += "Feature names unseen at fit time:\n" + listed(unexpected)
        if missing:
            message += "Feature names seen at fit time, yet now missing:\n" + listed(missing)
        if not unexpected and not missing:
            message += "Feature names must be in the same order as they were in fit.\n"
        raise ValueError(message)

    def _forward_rows(self) -> int:
        widest = max(W.shape[1] for W in self.coefs_)
        return _ll.chunk_rows(2 * widest * self._dtype.itemsize)

    def _quiet_logits(self, X: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):  # per thread: errstate is thread-local
            return forward_logits(X, self.coefs_, self.intercepts_)

    def _logits(self, X: np.ndarray) -> np.ndarray:
        rows = self._forward_rows()
        with np.errstate(over="ignore", invalid="ignore"):
            out = _ll.by_row_blocks(self._quiet_logits, X, rows)
            finite = np.isfinite(out.sum(dtype=np.float64))
        if not finite and not np.isfinite(out).all():
            i = int(np.flatnonzero(~np.isfinite(out).all(axis=1))[0])
            raise ValueError(
                f"the logits of X row {i} overflow {self._dtype} (its largest |x| is {float(np.abs(X[i]).max()):.3g}, "
                "far outside what the model was trained on); use dtype='float64' or rescale X like the training data"
            )
        return out

    def logits(self, X: Any) -> np.ndarray:
        """Output-layer logits, shape (n, C) with C = len(classes_) >= 2 (also for binary problems).

        This is what ``local_linear`` reconstructs: ``W[i] @ X[i] + b[i] == logits(X)[i]``.
        """
        return self._logits(self._check_X(X))

    def decision_function(self, X: Any) -> np.ndarray:
        """Confidence scores as scikit-learn defines them.

        Binary problems: shape (n,), the score of ``classes_[1]``, i.e. ``logits[:, 1] - logits[:, 0]``
        (``predict_proba(X)[:, 1] == sigmoid(decision_function(X))``, positive means ``classes_[1]``).
        More classes: the logits, shape (n, C).  Use ``logits`` for the (n, C) logits in every case.
        """
        Z = self.logits(X)
        if Z.shape[1] == 2:
            return Z[:, 1] - Z[:, 0]
        return Z

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n, C), columns ordered like ``classes_`` (softmax of ``logits``)."""
        return softmax_inplace(self.logits(X))

    def _proba_of_rows(self, X: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """float64 ``predict_proba(X[rows])`` of a float32/float64 array, bit for bit, on every core.

        The rows are cut on the grid of one call (blocks of ``_forward_rows()`` rows); each block is
        gathered straight into the model's dtype (no copy of it in ``X``'s dtype) and predicted on
        its own, the blocks spread over the cores by ``by_row_blocks``.  A block that fails is
        predicted again from ``X[rows]`` as given, so a bad value gets today's message.
        """

        def block(part: np.ndarray) -> np.ndarray:
            try:
                return self.predict_proba(_gathered(X, part, self._dtype))
            except ValueError:
                return self.predict_proba(X[part])

        self._check_fitted()
        out = np.empty((rows.shape[0], len(self.classes_)), dtype=np.float64)
        return _ll.by_row_blocks(block, rows, self._forward_rows(), out=out)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of ``predict_proba``, computed stably from the logits."""
        Z = self.logits(X)
        Z -= Z.max(axis=1, keepdims=True)
        Z -= np.log(np.exp(Z).sum(axis=1, keepdims=True))
        return Z

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels (values from ``classes_``)."""
        Z = self.logits(X)
        return self.classes_[np.argmax(Z, axis=1)]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight`` when given)."""
        X = self._check_X(X)
        y = check_labels(y, X.shape[0])
        correct = self.classes_[np.argmax(self._logits(X), axis=1)] == y
        if sample_weight is None:
            return float(np.mean(correct))
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape != correct.shape or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"sample_weight must be {correct.shape[0]} finite non-negative numbers with a positive sum")
        return float(np.sum(w * correct) / np.sum(w))

    def local_linear(self, X: Any, *, chunk_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Exact local linear map of each row: ``(W, b)``, W (n, C, d), b (n, C), model dtype.

        ``W[i] @ X[i] + b[i] == logits(X)[i]`` (C >= 2 columns, also for binary problems);
        ``W[i]`` is the Jacobian of the logits at ``X[i]`` and ``b[i]`` the masked forward
        pass of the intercepts.  Rows are processed in chunks of ``chunk_size`` (default:
        sized for ~64 MB of intermediates).
        """
        X = self._check_X(X)
        if chunk_size is not None and (
            not isinstance(chunk_size, numbers.Integral) or isinstance(chunk_size, bool) or chunk_size < 1
        ):
            raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
        return _ll.local_linear(X, self.coefs_, self.intercepts_, chunk_size=chunk_size)

    def activation_patterns(self, X: Any) -> np.ndarray:
        """uint8 (n, ceil(H / 8)): ``np.packbits`` of the on/off (pre-activation > 0) pattern of all H hidden units."""
        X = self._check_X(X)
        return _ll.activation_patterns(X, self.coefs_, self.intercepts_)

    def region_ids(self, X: Any) -> np.ndarray:
        """int64 (n,): rows in the same linear region share an id; ids 0, 1, ... by first appearance."""
        return _ll.region_ids_from_patterns(self.activation_patterns(X))

    def hidden_activations(self, X: Any, layer: int = -1) -> np.ndarray:
        """Post-ReLU activations (n, h) of hidden layer ``layer`` (default: the last one)."""
        return _ll.hidden_activations(self._check_X(X), self.coefs_, self.intercepts_, layer)

    # ------------------------------------------------------------------ files
    def save(self, path: Any) -> None:
        """Save the fitted model to ``path`` (``.npz``, no pickle: ``np.load(path, allow_pickle=False)``
        reads it), atomically; ``MLPClassifier.load(path)`` gives bit-identical predictions."""
        from dami_np._model_io import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path: Any) -> MLPClassifier:
        """The model saved in ``path`` (by ``save`` or ``dami select --save-model``), ready to predict
        or to continue training (``warm_start=True``); a newer file format is a clear error."""
        from dami_np._model_io import load_model

        return load_model(path).model


def _input_scale(arr: np.ndarray, dtype: np.dtype, names: Any) -> np.ndarray | None:
    """Per-column powers of two for far-out columns (root mean square brought to about 1); None when none is needed.

    Columns with max |x| inside ``_UNSCALED_RANGE`` (and all-zero columns) get 1.  A scale that
    would push internal first-layer weights in ``_FOLD_WEIGHT_RANGE`` out of ``dtype``'s normal
    range once folded back into user units is an error naming the column.
    """
    with np.errstate(over="ignore"):
        colmax = np.maximum(np.abs(arr.max(axis=0).astype(np.float64)), np.abs(arr.min(axis=0).astype(np.float64)))
    low, high = _UNSCALED_RANGE
    need = (colmax > 0) & ((colmax < low) | (colmax > high))
    if not need.any():
        return None
    cols = np.flatnonzero(need)
    unit = arr[:, cols].astype(np.float64) / colmax[cols]  # in [-1, 1]: no overflow or underflow below
    rms = colmax[cols] * np.sqrt(np.mean(unit * unit, axis=0))
    scale = np.ones(colmax.shape[0])
    info = np.finfo(dtype)
    w_low, w_high = _FOLD_WEIGHT_RANGE
    with np.errstate(over="ignore"):
        scale[cols] = np.ldexp(1.0, -np.round(np.log2(rms)).astype(np.int64))  # scaled rms in [0.71, 1.41)
        bad = need & ((scale * w_high > float(info.max)) | (scale * w_low < float(info.tiny)))
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        size = float(rms[np.searchsorted(cols, j)])

        def bounds(info: np.finfo) -> tuple[float, float]:  # typical sizes whose scale passes the test above
            return w_high / float(info.max), w_low / float(info.tiny)

        lo_ok, hi_ok = bounds(info)
        lo64, hi64 = bounds(np.finfo(np.float64))
        advice = ("use dtype='float64' or rescale that column" if dtype != np.float64 and lo64 <= size <= hi64
                  else "rescale that column")
        raise ValueError(
            f"X {column_label(j, names)} has values of typical size {size:.3g} (root mean square; max |x| = "
            f"{colmax[j]:.3g}), too far from 1 for a {dtype.name} MLP to hold its weights in your units (about "
            f"{lo_ok:.0e} to {hi_ok:.0e} is possible); {advice}"
        )
    return scale


def _fold_scale(W0: np.ndarray, scale: np.ndarray, names: Any) -> None:
    """``W0 *= scale[:, None]`` in place: first-layer weights from internal to user units.

    Powers of two make this exact unless a weight leaves the normal range; an error (naming
    the column) when that would change the trained model by more than one rounding.
    """
    internal = W0.copy()
    W0 *= scale.astype(W0.dtype)[:, None]
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        back = W0.astype(np.float64) / scale[:, None]
    err = np.abs(back - internal)
    tol = np.finfo(W0.dtype).eps * max(float(np.max(np.abs(internal))), np.finfo(W0.dtype).tiny)
    bad = ~np.isfinite(W0).all(axis=1) | (err > tol).any(axis=1)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"X {column_label(j, names)} is scaled too far from 1 (internal scale 2**{int(np.log2(scale[j]))}) for "
            f"the trained {W0.dtype} weights to be expressed in your units; rescale that column"
        )


_GATHER_ROWS = 8192  # rows per piece of _gathered: its copy in X's dtype stays in the cache


def _gathered(X: np.ndarray, rows: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``X[rows]`` as a C-contiguous ``dtype`` array: gathered and cast piece by piece (the values
    ``cast_checked`` gives, without a copy of every row in ``X``'s dtype), a run of consecutive
    rows copied as one slice."""
    A = np.empty((rows.shape[0], X.shape[1]), dtype=dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # a value that overflows dtype is reported by the caller
        for start in range(0, rows.shape[0], _GATHER_ROWS):
            piece = rows[start : start + _GATHER_ROWS]
            first = int(piece[0])
            if first >= 0 and int(piece[-1]) - first == piece.shape[0] - 1 and bool((np.diff(piece) == 1).all()):
                A[start : start + piece.shape[0]] = X[first : first + piece.shape[0]]
            else:
                A[start : start + piece.shape[0]] = X[piece]
    return A
