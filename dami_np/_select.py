"""``dami_np.select`` (the picks with a report) and ``dami_np.query`` (the picks): one round each.

Both run ``dami_np._round.run_round`` (validation, one preprocessing, the round's model, the
strategy) and differ only in what they return: ``select`` renders the round's report
(``_round_report``), ``query`` returns its positions without building it.  The CLI
(``dami select``), the demo and ``simulate`` go through the same round, so the same data and seed
give the same picks on every path.  A dask DataFrame runs the round on its cluster (``_dask``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._defaults import DEFAULT_STRATEGY
from ._round import StrategyArg, run_round
from ._round_report import REPORT_COLUMNS, REPORT_SPACE

__all__ = ["select", "query", "DEFAULT_STRATEGY", "REPORT_COLUMNS", "REPORT_SPACE"]


def select(
    X: Any,
    y: Any,
    budget: int,
    strategy: StrategyArg = DEFAULT_STRATEGY,
    model: Any = None,
    random_state: int | np.random.Generator | None = None,
    candidates: Any = None,
    **options: Any,
) -> pd.DataFrame:
    """Pick ``budget`` unlabeled rows of ``X`` to label next, with a report on each pick.

    Parameters
    ----------
    X : DataFrame or 2-D array (n rows); preprocessed by ``TabularPreprocessor`` unless a
        fitted model is given (then ``X`` must be the numeric matrix it was trained on).
    y : n labels; missing values (NaN, None, pandas NA) mark the unlabeled rows.
    budget : number of rows to pick, ``1 <= budget <=`` number of candidate rows.
    strategy : a registered name (``dami_np.strategies.available()``) or a strategy callable
        ``(context, budget, rng, **options) -> positions or Selection``.
    model : None (a default ``MLPClassifier`` fit on the labeled rows, seeded from
        ``random_state``), an unfitted classifier (a copy is fit; yours is untouched) or a
        fitted one (used as is).
    random_state : None, an int >= 0, a ``numpy.random.Generator``, ``SeedSequence`` or a legacy
        ``RandomState`` (the same rule as ``MLPClassifier``; a generator is consumed).
    candidates : None (every unlabeled row may be picked), or positions / a boolean mask of the
        unlabeled rows that may be picked; labeled rows stay centers.
    **options : ``preprocess`` (see ``X``) and the strategy's own options.

    Returns
    -------
    DataFrame, one row per pick in pick order: ``row`` (position in ``X``), ``pick`` (1 = first),
    ``distance`` (to the nearest labeled row or earlier pick when picked; see the module
    docstring for the space, also in ``.attrs["distance_space"]``), ``predicted`` and
    ``probability`` (the model's class and its probability), ``explanation`` (the input features
    with the largest weight in the row's local linear model for its predicted class) and
    ``score`` (the strategy's own score, e.g. the margin; NaN when it has none; its name in
    ``.attrs["score_name"]``).
    """
    if _is_dask(X):  # a dask DataFrame: the same round on its cluster (dami_np._dask, optional)
        from ._dask import select as dask_select

        return dask_select(X, y, budget, strategy, model, random_state, candidates, **options)
    round_ = run_round(X, y, budget, strategy, model, random_state, candidates, **options)
    return round_.report()


def query(
    X: Any,
    y: Any,
    budget: int,
    strategy: StrategyArg = DEFAULT_STRATEGY,
    model: Any = None,
    random_state: int | np.random.Generator | None = None,
    candidates: Any = None,
    **options: Any,
) -> np.ndarray:
    """The rows ``select`` would pick, as an int64 array in pick order (no report is built).

    Same arguments as :func:`select`.  With no model possible (zero labels, or one class only,
    and no fitted model) a model-based strategy answers with the cold-start rule: K-Center on
    the preprocessed inputs, labeled rows as centers, first pick (when nothing is labeled) the
    row farthest from the column mean.
    """
    if _is_dask(X):
        from ._dask import query as dask_query

        return dask_query(X, y, budget, strategy, model, random_state, candidates, **options)
    return run_round(X, y, budget, strategy, model, random_state, candidates, fit_model=False, **options).positions


def _is_dask(X: Any) -> bool:
    """A dask collection, told by its module name (dask itself is not imported to ask)."""
    return type(X).__module__.split(".")[0] == "dask"
