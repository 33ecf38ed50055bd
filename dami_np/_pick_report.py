"""One labeling round on a table, with a report a person can act on.

Used by ``dami select`` and ``dami demo``: preprocess the table, fit the MLP on the labeled
rows, ask ``query`` for the picks, then describe each pick (prediction, how far it lies from
the labeled rows in DAMI's representation space, and which features drive its prediction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._explain import eligible_features, top_features
from ._mlp import MLPClassifier
from ._preprocess import TabularPreprocessor
from ._query import query
from .kernels import nearest_sq_distances


@dataclass
class PickReport:
    """The picks of one round and the facts about them (one row per pick, in pick order)."""

    positions: np.ndarray
    table: pd.DataFrame
    cold_start: bool


def select_and_report(
    X: pd.DataFrame,
    y: pd.Series,
    budget: int,
    *,
    strategy: str = "dami",
    random_state: int = 0,
    top: int = 3,
    **options: Any,
) -> PickReport:
    """Pick ``budget`` unlabeled rows of ``X`` (missing ``y``) and describe each pick."""
    labeled = y.notna().to_numpy()
    preprocessor = TabularPreprocessor()
    features = preprocessor.fit_transform(X)
    y_masked = y.astype(object).where(y.notna(), None).to_numpy()
    n_classes = len(pd.unique(y[labeled]))
    model: MLPClassifier | None = None
    if n_classes >= 2:
        model = MLPClassifier(random_state=random_state).fit(features[labeled], y_masked[labeled])
    positions = query(
        features, y_masked, budget, strategy=strategy, model=model, random_state=random_state, **options
    )
    table = pd.DataFrame({"row": positions, "pick": np.arange(1, len(positions) + 1)})
    if model is None:
        table["distance"] = _pick_time_distances(features[labeled], features[positions])
        table["predicted"] = pd.Series([None] * len(positions), dtype=object)
        table["probability"] = np.nan
        table["explanation"] = "no model yet (fewer than two labeled classes): picked for input-space coverage"
        return PickReport(positions=positions, table=table, cold_start=True)

    W, b = model.local_linear(features[positions])
    proba = model.predict_proba(features[positions])
    predicted_index = np.argmax(proba, axis=1)
    table["distance"] = _pick_time_distances(
        _dami_representation(model, features, np.flatnonzero(labeled)),
        _dami_representation(model, features, positions),
    )
    table["predicted"] = model.classes_[predicted_index]
    table["probability"] = proba[np.arange(len(positions)), predicted_index]
    predicted_weights = W[np.arange(len(positions)), predicted_index, :]
    eligible = eligible_features(
        features[positions], preprocessor.feature_names_out_, preprocessor.source_columns_
    )
    table["explanation"] = top_features(
        predicted_weights, preprocessor.feature_names_out_, eligible=eligible, top=top
    )
    return PickReport(positions=positions, table=table, cold_start=False)


def _dami_representation(model: MLPClassifier, features: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """DAMI's default representation of ``rows``: flattened W(x) followed by b(x), float64."""
    if len(rows) == 0:
        return np.empty((0, len(model.classes_) * (features.shape[1] + 1)))
    W, b = model.local_linear(features[rows])
    return np.concatenate([W.reshape(len(rows), -1), b], axis=1).astype(np.float64)


def _pick_time_distances(centers: np.ndarray, picked: np.ndarray) -> np.ndarray:
    """Euclidean distance of each pick to its nearest center at the time it was picked.

    The centers at pick ``j`` are the labeled rows (``centers``) plus picks ``0..j-1``; with no
    labeled rows the first pick has no center and gets NaN.
    """
    centers = np.asarray(centers, dtype=np.float64)
    picked = np.asarray(picked, dtype=np.float64)
    k = picked.shape[0]
    if k == 0:
        return np.empty(0)
    if centers.shape[0]:
        to_labeled = np.asarray(nearest_sq_distances(picked, centers)[0], dtype=np.float64)
    else:
        to_labeled = np.full(k, np.inf)
    result = np.empty(k)
    for j in range(k):
        best = to_labeled[j]
        if j:
            best = min(best, float(np.sum((picked[:j] - picked[j]) ** 2, axis=1).min()))
        result[j] = np.sqrt(best) if np.isfinite(best) else np.nan
    return result
