"""When to stop labeling: a status of the labeled set and a stop rule built on it.

``status(X, y, ...)`` reports, for a table with some labels:

- ``labels_per_class``: how many rows of each class are labeled;
- ``cv_accuracy`` and ``cv_interval``: the accuracy of the model (same parameters) estimated by
  stratified k-fold cross-validation on the labeled rows, with a 95% Wilson interval over the
  pooled held-out predictions.  Rows picked by active learning are not a random sample: this is
  the accuracy on the rows chosen for labeling, pessimistic (picks are the hard rows), and its
  interval does not hold the accuracy on the unlabeled rows (``bench/status_estimate.py``
  measures both: ``bench/results/status-estimate.md``);
- ``audit_accuracy`` and ``audit_interval``: the unbiased estimate. ``audit_sample`` draws rows
  uniformly at random from the unlabeled rows (``dami select --audit N``); once they are labeled,
  the share of them the model predicted right, with its 95% Wilson interval, estimates that
  model's accuracy on the unlabeled rows of its round (``audit_estimate``);
- ``agreement``: the share of the unlabeled rows on which this round's model predicts the same
  class as the previous round's (``previous``; "stabilizing predictions", Bloodgood and
  Vijay-Shanker, 2009), and Cohen's ``kappa`` of the two;
- ``coverage_radius`` (of a ``Status``): the largest distance of an unlabeled row to its nearest
  labeled row in the preprocessed input space (``input_coverage_radius``), a space fixed for a
  table: it never grows as labels are added and does not depend on the model or on ``--model``.
  ``coverage_radius(model, ...)`` measures the same in DAMI's representation space (``W(x)``,
  ``b(x)``), which changes with every round's model, so its values are not compared across rounds.

The stop rule (``should_stop``): **stop when the agreement with the previous round's model was
at least 0.99 in each of the last 2 rounds** (``bench/stopping_rule.py`` checks it on the
development tables: ``bench/results/stopping-rule.md``).  ``dami select --model`` keeps the
agreement history in the saved model file, so the CLI prints the rule's answer every round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

__all__ = ["Status", "status", "status_from_matrix", "should_stop", "agreement", "cohen_kappa", "coverage_radius", "cv_accuracy",
           "wilson_interval", "input_coverage_radius", "audit_sample", "audit_estimate", "STOP_AGREEMENT",
           "STOP_ROUNDS"]

STOP_AGREEMENT = 0.99
STOP_ROUNDS = 2
_Z95 = 1.959963984540054


@dataclass
class Status:
    """The state of a labeled table (see the module docstring); ``history`` holds the agreements
    of the earlier rounds and this one, oldest first."""

    n_labeled: int
    n_unlabeled: int
    labels_per_class: dict[str, int]
    cv_accuracy: float | None = None
    cv_interval: tuple[float, float] | None = None
    cv_folds: int = 0
    agreement: float | None = None
    kappa: float | None = None
    coverage_radius: float | None = None
    audit_accuracy: float | None = None
    audit_interval: tuple[float, float] | None = None
    audit_labeled: int = 0
    audit_drawn: int = 0
    history: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def stop(self) -> bool:
        """The stop rule on ``history`` (see ``should_stop``)."""
        return should_stop(self.history)

    def lines(self) -> list[str]:
        """The status as a few short lines (what ``dami select`` and ``dami status`` print)."""
        counts = self.labels_per_class
        if len(counts) > 8:
            ordered = sorted(counts.items(), key=lambda item: (item[1], item[0]))
            per_class = (f"{len(counts)} classes; fewest: " + ", ".join(f"{k} {v}" for k, v in ordered[:3])
                         + f"; most: {ordered[-1][0]} {ordered[-1][1]}")
        else:
            per_class = ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"
        out = [f"labels: {self.n_labeled} ({per_class}); unlabeled rows: {self.n_unlabeled}"]
        if self.cv_accuracy is not None and self.cv_interval is not None:
            lo, hi = self.cv_interval
            out.append(f"accuracy estimate ({self.cv_folds}-fold cross-validation on the rows chosen for labeling; "
                       f"pessimistic, not the accuracy on the unlabeled rows): {self.cv_accuracy:.3f} "
                       f"(on those rows: {lo:.3f}-{hi:.3f})")
        if self.audit_accuracy is not None and self.audit_interval is not None:
            lo, hi = self.audit_interval
            out.append(f"audit accuracy ({self.audit_labeled} of {self.audit_drawn} audit rows labeled, a uniform "
                       f"random sample of the unlabeled rows; unbiased): {self.audit_accuracy:.3f} "
                       f"(95% interval {lo:.3f}-{hi:.3f})")
        if self.agreement is not None:
            kappa = f", kappa {self.kappa:.3f}" if self.kappa is not None else ""
            out.append(f"agreement with the previous round's model on the unlabeled rows: {self.agreement:.4f}{kappa}")
        if self.coverage_radius is not None:
            out.append(f"coverage radius (largest distance of an unlabeled row to the labeled rows, preprocessed "
                       f"input space; never grows): {self.coverage_radius:.4g}")
        out.extend(self.notes)
        out.append(self.advice())
        return out

    def advice(self) -> str:
        recent = self.history[-STOP_ROUNDS:]
        shown = ", ".join(f"{a:.4f}" for a in recent)
        if self.stop:
            return (f"stop rule met: agreement >= {STOP_AGREEMENT} in each of the last {STOP_ROUNDS} rounds "
                    f"({shown}); more labels are unlikely to change the model's predictions")
        if not self.history:
            return (f"stop rule: needs the agreement of {STOP_ROUNDS} rounds (pass --model with the previous "
                    "round's --save-model file)")
        return (f"stop rule not met: needs agreement >= {STOP_AGREEMENT} in each of the last {STOP_ROUNDS} rounds "
                f"(so far: {shown})")


def should_stop(history: Sequence[float], threshold: float = STOP_AGREEMENT, rounds: int = STOP_ROUNDS) -> bool:
    """True when each of the last ``rounds`` agreements is at least ``threshold``."""
    values = [float(a) for a in history if a is not None and math.isfinite(float(a))]
    return len(values) >= rounds and all(a >= threshold for a in values[-rounds:])


def agreement(current: Any, previous: Any) -> float:
    """Share of positions where two prediction arrays agree."""
    a, b = np.asarray(current, dtype=object), np.asarray(previous, dtype=object)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"predictions must be two 1-D arrays of the same length, got {a.shape} and {b.shape}")
    if a.size == 0:
        return float("nan")
    return float(np.mean(a == b))


def cohen_kappa(current: Any, previous: Any) -> float:
    """Cohen's kappa of two prediction arrays (1 when they agree everywhere)."""
    a, b = np.asarray(current, dtype=object), np.asarray(previous, dtype=object)
    if a.size == 0:
        return float("nan")
    observed = float(np.mean(a == b))
    labels = sorted({str(v) for v in a.tolist()} | {str(v) for v in b.tolist()})
    sa, sb = np.array([str(v) for v in a.tolist()]), np.array([str(v) for v in b.tolist()])
    expected = sum(float(np.mean(sa == c)) * float(np.mean(sb == c)) for c in labels)
    if expected >= 1.0:
        return 1.0 if observed >= 1.0 else 0.0
    return (observed - expected) / (1.0 - expected)


def wilson_interval(correct: int, total: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``correct / total``."""
    if total <= 0:
        return (float("nan"), float("nan"))
    p = correct / total
    denom = 1.0 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    lo = 0.0 if correct <= 0 else max(0.0, centre - half)  # exact ends: 1.0, not 0.9999999999999999
    hi = 1.0 if correct >= total else min(1.0, centre + half)
    return (lo, hi)


def cv_accuracy(X: np.ndarray, codes: np.ndarray, *, params: dict[str, Any] | None = None, folds: int = 5,
                random_state: int | None = 0) -> tuple[float, tuple[float, float], int] | None:
    """Stratified k-fold accuracy of ``MLPClassifier(**params)`` on ``(X, codes)`` (codes 0..C-1),
    with its Wilson interval and the number of folds; None when some class has fewer than 2 rows."""
    from ._mlp import MLPClassifier

    codes = np.asarray(codes, dtype=np.int64)
    counts = np.bincount(codes)
    counts = counts[counts > 0]
    if counts.size < 2:
        return None
    k = int(min(folds, counts.min()))
    if k < 2:
        return None
    rng = np.random.default_rng(np.random.SeedSequence([0 if random_state is None else int(random_state), 0x5354]))
    fold = np.empty(codes.size, dtype=np.int64)
    for c in np.unique(codes):
        members = rng.permutation(np.flatnonzero(codes == c))
        fold[members] = np.arange(members.size) % k
    params = dict(params or {})
    params.pop("warm_start", None)
    correct = 0
    classes = np.unique(codes)
    for f in range(k):
        test, train = fold == f, fold != f
        seed = int(np.random.SeedSequence([0 if random_state is None else int(random_state), f]).generate_state(1)[0])
        model = MLPClassifier(**{**params, "random_state": seed})
        model.fit(X[train], codes[train], classes=classes)
        correct += int(np.sum(model.predict(X[test]) == codes[test]))
    total = int(codes.size)
    return correct / total, wilson_interval(correct, total), k


def coverage_radius(model: Any, X: np.ndarray, labeled: np.ndarray, *, chunk: int = 65536) -> float | None:
    """Largest distance of an unlabeled row to its nearest labeled row in DAMI's representation
    (``W(x)``, ``b(x)``, all classes) of ``model``; None without labeled or unlabeled rows."""
    from .kernels import nearest_sq_distances
    from .strategies import DamiRepresentation

    labeled = np.asarray(labeled, dtype=bool)
    lab, unl = np.flatnonzero(labeled), np.flatnonzero(~labeled)
    if lab.size == 0 or unl.size == 0:
        return None
    rep = DamiRepresentation(model, np.asarray(X, dtype=np.float64), bias=True, needs="the coverage radius")
    # rows of one activation pattern share their representation: one row per pattern is exact
    lab = lab[np.unique(rep.groups(lab), return_index=True)[1]]
    unl = unl[np.unique(rep.groups(unl), return_index=True)[1]]
    centers = rep.points(lab)
    worst = 0.0
    for start in range(0, unl.size, chunk):
        d, _ = nearest_sq_distances(rep.points(unl[start : start + chunk]), centers)
        worst = max(worst, float(np.max(d)))
    return math.sqrt(max(worst, 0.0))


def input_coverage_radius(matrix: np.ndarray, labeled: np.ndarray, *, chunk: int = 65536) -> float | None:
    """Largest distance of an unlabeled row of the preprocessed ``matrix`` to its nearest labeled row
    (Euclidean); None without labeled or unlabeled rows.  Labeling more rows never increases it."""
    from .kernels import nearest_sq_distances

    labeled = np.asarray(labeled, dtype=bool)
    lab, unl = np.flatnonzero(labeled), np.flatnonzero(~labeled)
    if lab.size == 0 or unl.size == 0:
        return None
    points = np.ascontiguousarray(matrix, dtype=np.float64)
    centers = np.ascontiguousarray(points[lab])
    worst = 0.0
    for start in range(0, unl.size, chunk):
        d, _ = nearest_sq_distances(np.ascontiguousarray(points[unl[start : start + chunk]]), centers)
        worst = max(worst, float(np.max(d)))
    return math.sqrt(max(worst, 0.0))


_AUDIT_STREAM = 0x41554454  # "AUDT": the audit draw's own random stream (the picks never see it)


def audit_sample(unlabeled: np.ndarray, n: int, seed: int | None = 0, exclude: Any = ()) -> np.ndarray:
    """``n`` positions drawn uniformly at random, without replacement, from the positions in
    ``unlabeled`` that are not in ``exclude`` (e.g. this round's picks), sorted; seeded by ``seed``
    on a stream of its own, so drawing audit rows never changes the picks."""
    pool = np.setdiff1d(np.asarray(unlabeled, dtype=np.int64), np.asarray(exclude, dtype=np.int64))
    if n < 0 or n > pool.size:
        raise ValueError(f"cannot draw {n} audit rows: only {pool.size} unlabeled rows are left besides the picks")
    rng = np.random.default_rng(np.random.SeedSequence([0 if seed is None else int(seed), _AUDIT_STREAM]))
    return np.sort(rng.choice(pool, size=n, replace=False)).astype(np.int64)


def audit_estimate(predicted: Any, truth: Any) -> tuple[float, tuple[float, float], int] | None:
    """Accuracy of ``predicted`` on the labeled audit rows (``truth`` None/NaN where not labeled yet),
    its 95% Wilson interval and the number of labeled audit rows; None when none is labeled."""
    predicted = [str(v) for v in np.asarray(predicted, dtype=object).tolist()]
    truth_values = np.asarray(truth, dtype=object).tolist()
    pairs = [(p, str(t).strip()) for p, t in zip(predicted, truth_values)
             if t is not None and not (isinstance(t, float) and math.isnan(t)) and str(t).strip() != ""]
    if not pairs:
        return None
    correct = sum(p == t for p, t in pairs)
    return correct / len(pairs), wilson_interval(correct, len(pairs)), len(pairs)


def status(
    X: Any,
    y: Any,
    *,
    model: Any = None,
    previous_predictions: Any = None,
    history: Sequence[float] = (),
    params: dict[str, Any] | None = None,
    preprocess: bool = True,
    random_state: int | None = 0,
    folds: int = 5,
    coverage: bool = True,
) -> Status:
    """The status of a partly labeled table (see the module docstring).

    Parameters
    ----------
    X, y : the table and its labels (missing = unlabeled), as for ``dami_np.select``.
    model : this round's fitted model on ``X`` (after preprocessing when ``preprocess``), fit on
        the labeled rows with the user's labels; default: ``MLPClassifier(**params)`` fit here on
        the labeled rows (seeded from ``random_state`` as ``select`` seeds its model).
    previous_predictions : the previous round's model's predicted labels for every row of ``X``
        (or for its unlabeled rows only); gives ``agreement`` and ``kappa`` on the unlabeled rows.
    history : the agreements of the earlier rounds (oldest first); this round's is appended.
    params : ``MLPClassifier`` parameters of the cross-validated model (default: ``model``'s).
    """
    from ._fit_table import prepare_table

    table = prepare_table(X, y, preprocess=bool(preprocess), require_unlabeled=False)
    matrix, labeled, codes, classes = table.matrix, table.labeled, table.codes, table.classes
    return status_from_matrix(matrix, labeled, codes, classes, model=model, model_on_codes=False,
                              previous_predictions=previous_predictions, history=history, params=params,
                              random_state=random_state, folds=folds, coverage=coverage)


def status_from_matrix(
    matrix: np.ndarray, labeled: np.ndarray, codes: np.ndarray, classes: Any, *, model: Any = None,
    model_on_codes: bool = True, previous_predictions: Any = None, history: Sequence[float] = (),
    params: dict[str, Any] | None = None, random_state: int | None = 0, folds: int = 5, coverage: bool = True,
) -> Status:
    """``status`` on an encoded matrix, label codes (-1 = unlabeled) and the labels of the codes;
    ``model_on_codes``: the model predicts codes (as ``select``'s models do), not labels."""
    labeled = np.asarray(labeled, dtype=bool)
    labels = np.asarray(classes, dtype=object)
    counts = np.bincount(codes[labeled], minlength=len(labels)) if labeled.any() else np.zeros(len(labels), int)
    per_class = {str(labels[i]): int(counts[i]) for i in range(len(labels))}
    out = Status(int(labeled.sum()), int((~labeled).sum()), per_class, history=[float(h) for h in history])
    if len(labels) < 2:
        out.notes.append("no model yet: fewer than two labeled classes")
        return out
    if model is None:
        from ._fit_table import fit_model

        model = fit_model(matrix[labeled], codes[labeled], params=params, random_state=random_state)
        model_on_codes = True
    from ._progress import activity

    with activity("status: cross-validation"):
        cv = cv_accuracy(matrix[labeled], codes[labeled], params=params if params is not None else _params(model),
                         folds=folds, random_state=random_state)
    if cv is None:
        out.notes.append("accuracy estimate: needs at least 2 labeled rows of every class")
    else:
        out.cv_accuracy, out.cv_interval, out.cv_folds = cv
    if previous_predictions is not None and (~labeled).any():
        predicted = np.asarray(model.predict(matrix[~labeled]))
        if model_on_codes:
            predicted = labels[predicted.astype(np.int64)]
        before = np.asarray(previous_predictions, dtype=object)
        if before.shape[0] == labeled.shape[0]:
            before = before[~labeled]
        now, then = [str(v) for v in predicted.tolist()], [str(v) for v in before.tolist()]
        out.agreement = agreement(now, then)
        out.kappa = cohen_kappa(now, then)
        out.history.append(out.agreement)
    if coverage:
        with activity("status: coverage radius"):
            out.coverage_radius = input_coverage_radius(matrix, labeled)
    return out


def _params(model: Any) -> dict[str, Any] | None:
    getter = getattr(model, "get_params", None)
    if getter is None:
        return None
    from ._mlp import MLPClassifier

    if not isinstance(model, MLPClassifier):
        return None
    params = dict(getter())
    params.pop("random_state", None)
    return params
