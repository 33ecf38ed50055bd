"""``PoolLearner``: the round's classifier trained with help from the unlabeled pool (issue 29, opt-in).

Three candidate learners, each ending in ONE ordinary fitted ``MLPClassifier`` (``network_``) that
predicts and that DAMI explains exactly (``network_.local_linear``):

- ``"pretrain"``: the first hidden layer starts from SCARF-style denoising pre-training on the
  pool (``_pretrain``), the rest as today; the network is then trained on the labels;
- ``"self_training"``: a teacher on the labels, calibrated pseudo-labels on confident pool rows
  (``_self_training``), a student on labels + pseudo-labels (re-derived at every ``fit``);
- ``"ensemble"``: ``n_members`` seeds whose logits are averaged, merged into one wider network
  (``_ensemble``).

Strategies that read the network (``dami_margin``, ``badge``...) take ``network_``; margin-type
strategies can take the learner itself (it has ``predict_proba``).  Nothing here is a default.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from dami_np._ensemble import merge_members
from dami_np._mlp import MLPClassifier
from dami_np._mlp_math import ParamLayout, glorot_init
from dami_np._network_weights import network_with_weights
from dami_np._pretrain import pretrain_hidden_layer
from dami_np._self_training import fit_temperature, pick_pseudo_labels, two_folds
from dami_np._validation import check_array, not_fitted_error

__all__ = ["PoolLearner", "KINDS"]

KINDS = ("pretrain", "self_training", "ensemble")


class PoolLearner:
    """A classifier for one labeling round that also learns from the unlabeled ``pool``.

    kind : one of ``KINDS`` (see the module docstring).
    pool : (n, d) numeric matrix of the table's rows (the same columns as ``fit``'s ``X``);
        needed by ``"pretrain"`` (unless ``encoder`` is given) and ``"self_training"``.
    encoder : a pre-trained first layer ``(W, b)`` (from ``pretrain_hidden_layer``) to reuse
        across rounds, since the pool does not change between them.
    mlp_params : keyword arguments of every ``MLPClassifier`` involved (today's defaults if None).
    random_state : int >= 0; the round's network uses it as is (so ``"ensemble"``'s first member
        and ``"self_training"``'s teacher are today's model), the rest derive from it.
    n_members, threshold, pseudo_ratio, pretrain_steps, corruption_rate : the candidates' settings
        (pre-registered in ``bench/results/learner-rule.md``).

    Fitted: ``network_`` (the ``MLPClassifier`` that predicts), ``classes_``, ``info_`` (what the
    candidate did: pseudo-label count, temperature, pre-training loss...).
    """

    def __init__(
        self,
        kind: str,
        *,
        pool: Any = None,
        encoder: tuple[np.ndarray, np.ndarray] | None = None,
        mlp_params: dict[str, Any] | None = None,
        random_state: int = 0,
        n_members: int = 5,
        threshold: float = 0.9,
        pseudo_ratio: float = 2.0,
        pretrain_steps: int = 1000,
        corruption_rate: float = 0.6,
    ) -> None:
        self.kind = kind
        self.pool = pool
        self.encoder = encoder
        self.mlp_params = mlp_params
        self.random_state = random_state
        self.n_members = n_members
        self.threshold = threshold
        self.pseudo_ratio = pseudo_ratio
        self.pretrain_steps = pretrain_steps
        self.corruption_rate = corruption_rate

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any, classes: Any = None) -> PoolLearner:
        """Train the round's network on labeled ``(X, y)`` (``classes``: the full label set, as ``MLPClassifier.fit``)."""
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        seed = self.random_state
        if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"random_state must be an int >= 0, got {seed!r}")
        params = dict(self.mlp_params or {})
        X = check_array(X, dtype=np.float64)
        self.info_: dict[str, Any] = {}
        if self.kind == "ensemble":
            net = self._fit_ensemble(X, y, classes, params, int(seed))
        elif self.kind == "self_training":
            net = self._fit_self_training(X, y, classes, params, int(seed))
        else:
            net = self._fit_pretrained(X, y, classes, params, int(seed))
        self.network_ = net
        self.classes_ = net.classes_
        self.n_features_in_ = net.n_features_in_
        return self

    def _pool(self, n_features: int) -> np.ndarray:
        if self.pool is None:
            raise ValueError(f"PoolLearner(kind={self.kind!r}) needs pool= (the table's rows, labeled or not)")
        pool = check_array(self.pool, dtype=np.float64, name="pool")
        if pool.shape[1] != n_features:
            raise ValueError(f"pool has {pool.shape[1]} columns but X has {n_features}; give the same columns")
        return pool

    def _fit_ensemble(self, X: np.ndarray, y: Any, classes: Any, params: dict[str, Any], seed: int) -> MLPClassifier:
        k = int(self.n_members)
        if k < 1:
            raise ValueError(f"n_members must be >= 1, got {self.n_members!r}")
        members = [MLPClassifier(**params, random_state=_derived(seed, i) if i else seed).fit(X, y, classes=classes)
                   for i in range(k)]
        return members[0] if k == 1 else merge_members(members, params)

    def _fit_self_training(self, X: np.ndarray, y: Any, classes: Any, params: dict[str, Any], seed: int) -> MLPClassifier:
        pool = self._pool(X.shape[1])
        teacher = MLPClassifier(**params, random_state=seed).fit(X, y, classes=classes)
        y_idx = np.searchsorted(teacher.classes_, np.asarray(y))
        fold = two_folds(y_idx, np.random.default_rng(_derived(seed, 1)))
        oof = np.empty((X.shape[0], len(teacher.classes_)), dtype=np.float64)
        for f in (0, 1):
            train, held = fold != f, fold == f
            if not held.any():  # e.g. one label per class: every row is in fold 0
                continue
            if not train.any():
                oof[held] = teacher.logits(X[held])  # too few labels to cross-fit: the teacher's own
                continue
            half = MLPClassifier(**params, random_state=_derived(seed, 2 + f))
            half.fit(X[train], np.asarray(y)[train], classes=teacher.classes_)
            oof[held] = half.logits(X[held])
        temperature = fit_temperature(oof, y_idx)
        unlabeled = _rows_not_in(pool, X)
        if unlabeled.size == 0:
            self.info_.update(temperature=temperature, pseudo_labels=0)
            return teacher
        counts = np.bincount(y_idx, minlength=len(teacher.classes_))
        rows, cls = pick_pseudo_labels(teacher.logits(pool[unlabeled]), temperature, counts,
                                       threshold=self.threshold, ratio=self.pseudo_ratio)
        self.info_.update(temperature=temperature, pseudo_labels=int(rows.size))
        if rows.size == 0:
            return teacher
        X_all = np.concatenate([X, pool[unlabeled][rows]])
        y_all = np.concatenate([np.asarray(y), teacher.classes_[cls]])  # the user's labels first, untouched
        student = MLPClassifier(**params, random_state=_derived(seed, 4))
        return student.fit(X_all, y_all, classes=teacher.classes_)

    def _fit_pretrained(self, X: np.ndarray, y: Any, classes: Any, params: dict[str, Any], seed: int) -> MLPClassifier:
        template = MLPClassifier(**params)
        hidden = template._validated_params()["hidden_layer_sizes"]
        if not hidden:
            raise ValueError("kind='pretrain' needs at least one hidden layer")
        encoder = self.encoder
        if encoder is None:
            W, b, losses = pretrain_hidden_layer(self._pool(X.shape[1]), hidden[0], seed=_derived(seed, 5),
                                                 rate=self.corruption_rate, steps=self.pretrain_steps,
                                                 dtype=np.dtype(template.dtype).name)
            self.info_["pretrain_loss"] = (losses[0], losses[-1])
            encoder = (W, b)
        W, b = encoder
        if W.shape != (X.shape[1], hidden[0]):
            raise ValueError(f"encoder weights have shape {W.shape}, expected {(X.shape[1], hidden[0])}")
        labels = np.unique(np.asarray(y) if classes is None else np.asarray(classes))
        dtype = np.dtype(template.dtype)
        layout = ParamLayout([X.shape[1], *hidden, len(labels)])
        coefs, intercepts = layout.views(glorot_init(layout, np.random.default_rng(seed), dtype))
        coefs[0][...], intercepts[0][...] = W, b
        net = network_with_weights(coefs, intercepts, labels, {**params, "warm_start": True, "random_state": seed})
        net.fit(X, y, classes=labels)
        return net.set_params(warm_start=False)

    # ------------------------------------------------------------------ predict (the network's)
    def _net(self) -> MLPClassifier:
        if not hasattr(self, "network_"):
            raise not_fitted_error("This PoolLearner instance is not fitted yet; call 'fit' first")
        return self.network_

    def logits(self, X: Any) -> np.ndarray:
        return self._net().logits(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        return self._net().predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        return self._net().predict(X)

    def local_linear(self, X: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
        """The predicting network's exact local linear maps (see ``MLPClassifier.local_linear``)."""
        return self._net().local_linear(X, **kwargs)


def _derived(seed: int, stream: int) -> int:
    """A 32-bit seed for one part of a candidate (member, fold, student...)."""
    return int(np.random.SeedSequence([seed, 29, stream]).generate_state(1)[0])


def _rows_not_in(pool: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Positions of the pool rows that are not (bit for bit) a row of ``X``: rows that carry no label."""
    labeled = {row.tobytes() for row in np.ascontiguousarray(X, dtype=np.float64)}
    return np.array([i for i, row in enumerate(pool) if row.tobytes() not in labeled], dtype=np.int64)
