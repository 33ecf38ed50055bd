"""The report of a round: one row per pick, what the strategy knew and what the model says.

``round_report`` renders a round (``Round.report()``, so ``dami_np.query`` never pays for it):
``row``, ``pick``, ``distance``, ``predicted``, ``probability``, ``explanation`` and ``score``.
The report's ``distance`` is the distance a pick had to its nearest center (labeled rows and
earlier picks) when it was picked: the K-Center radius the kernel returned for K-Center
strategies (``dami``, ``dami_margin``, ``coreset``, ``kcenter_input``, cold start), in the
strategy's own space; for every other strategy it is measured in one documented space, the DAMI
representation of the fitted model (flattened ``W(x)`` and ``b(x)`` of all classes).  Only the
labeled and picked rows are looked at (``rows_report``): the Dask round gathers those and
renders the same report.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._report_numbers import pick_probabilities
from ._report_numbers import report_space_distances
from .strategies import QueryContext, Selection

__all__ = ["round_report", "rows_report", "relu_network", "model_labels", "explanations",
           "REPORT_COLUMNS", "REPORT_SPACE", "COLD_START_NOTE"]

REPORT_COLUMNS = ("row", "pick", "distance", "predicted", "probability", "explanation", "score")
REPORT_SPACE = "DAMI local linear model (W(x) and b(x), all classes)"
COLD_START_NOTE = "no model yet (fewer than two labeled classes): picked for input-space coverage"
_TOP_FEATURES = 3


def round_report(context: QueryContext, selection: Selection, strategy_name: str) -> pd.DataFrame:
    """One row per pick in pick order (see ``dami_np.select``): the picks as the strategy returned them,
    described by the round's model."""
    positions = selection.positions
    return rows_report(context, selection, strategy_name, context.X[context.labeled_indices], context.X[positions])


def rows_report(context: QueryContext, selection: Selection, strategy_name: str, labeled_X: np.ndarray,
                picked_X: np.ndarray | None) -> pd.DataFrame:
    """``round_report`` from the labeled rows' and the picked rows' features (in pick order; None when
    the round has no model): all the report needs, so a Dask round gathers only those rows."""
    positions = selection.positions
    k = positions.size
    table = pd.DataFrame({"row": positions, "pick": np.arange(1, k + 1, dtype=np.int64)})
    space = selection.space
    distances = selection.distances
    cold = not context.has_model
    model = None if cold else context.model
    network = None if model is None else relu_network(model)
    if distances is None and network is not None:
        distances, space = report_space_distances(network, labeled_X, picked_X), REPORT_SPACE
    table["distance"] = np.full(k, np.nan) if distances is None else distances
    if model is None:
        table["predicted"] = pd.Series([None] * k, dtype=object)
        table["probability"] = np.nan
        table["explanation"] = COLD_START_NOTE
    else:
        rows = np.ascontiguousarray(picked_X)
        proba = pick_probabilities(model, rows)
        best = np.argmax(proba, axis=1)
        table["predicted"] = model_labels(context, model)[best]
        table["probability"] = proba[np.arange(k), best]
        table["explanation"] = explanations(context, network, rows, best) if network is not None else ""
    table["score"] = np.full(k, np.nan) if selection.scores is None else selection.scores
    table.attrs.update(
        strategy=strategy_name, distance_space=space, score_name=selection.score_name, cold_start=cold
    )
    return table


def relu_network(model: Any) -> Any:
    """The model's ReLU-MLP view (local linear maps), or None for a model without one."""
    from ._model_adapter import check_relu_mlp, relu_mlp_view

    try:
        check_relu_mlp(model, "select")
    except ValueError:
        return None
    return relu_mlp_view(model, needs="select")


def model_labels(context: QueryContext, model: Any) -> np.ndarray:
    """The user's labels of the model's classes (a model fit here is fit on label codes)."""
    classes = np.asarray(model.classes_)
    if not context.fitted_on_codes:
        return classes
    return np.asarray(context.classes, dtype=object)[classes.astype(np.int64)]


def explanations(context: QueryContext, network: Any, rows: np.ndarray, best: np.ndarray) -> list[str]:
    from ._explain import explain_rows

    names = context.feature_names
    sources = context.preprocessor.source_columns_ if context.preprocessor is not None else names
    return explain_rows(network, rows, best, names, sources, top=_TOP_FEATURES)
