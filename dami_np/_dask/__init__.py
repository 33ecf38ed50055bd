"""``dami_np.select`` / ``dami_np.query`` on a Dask cluster: the same picks as on one machine.

Optional (``pip install 'dami-np[dask]'``); ``import dami_np`` never imports this package, it is
loaded when ``X`` is a dask DataFrame.  ``select_parquet`` is the entry point of
``dami select TABLE --dask ADDRESS``.  See ``_round`` (strategies), ``_remote_blocks`` (the
partitions as blocks of the one K-Center driver, ``strategies._kcenter_blocks``) and
``_partitions`` (loading and preprocessing).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._gather import DaskRoundError
from ._connect import DEFAULT_TIMEOUT, DaskConnectError, connect
from ._paths import check_parquet_paths
from ._round import SUPPORTED, get_client, run_round

__all__ = ["select", "query", "select_parquet", "read_parquet", "DaskRoundError", "DaskConnectError", "SUPPORTED",
           "is_dask_collection"]


def is_dask_collection(obj: Any) -> bool:
    """True for a dask DataFrame/Series (by module name: dask is not imported to ask)."""
    return type(obj).__module__.split(".")[0] == "dask"


def query(X: Any, y: Any, budget: int, strategy: Any = None, model: Any = None, random_state: Any = None,
          candidates: Any = None, **options: Any) -> np.ndarray:
    """``dami_np.query`` for a dask DataFrame ``X`` (``y``: a dask Series, a column name of ``X`` or an array)."""
    from .._defaults import DEFAULT_STRATEGY

    strategy = DEFAULT_STRATEGY if strategy is None else strategy
    return np.asarray(run_round(X, y, budget, strategy, model, random_state, candidates, options)[2].positions,
                      dtype=np.int64)


def select(X: Any, y: Any, budget: int, strategy: Any = None, model: Any = None, random_state: Any = None,
           candidates: Any = None, **options: Any) -> pd.DataFrame:
    """``dami_np.select`` for a dask DataFrame ``X``: the same report columns as on one machine."""
    from .._defaults import DEFAULT_STRATEGY
    from ._report import report

    strategy = DEFAULT_STRATEGY if strategy is None else strategy
    table, context, selection, name = run_round(X, y, budget, strategy, model, random_state, candidates, options)
    return report(table, context, selection, name)


def read_parquet(paths: Any) -> Any:
    """A dask DataFrame of a Parquet directory, glob or list of files (files in name order)."""
    import dask.dataframe as dd

    return dd.read_parquet(paths)


def select_parquet(paths: Any, label: str, budget: int, strategy: Any = None, seed: int | None = None,
                   address: str | None = None, timeout: float = DEFAULT_TIMEOUT, **options: Any) -> pd.DataFrame:
    """The report of one round over Parquet files on a Dask cluster (what ``dami select --dask`` runs).

    ``paths``: a directory, a glob or a list of Parquet files; ``label``: the label column (missing
    values mark the unlabeled rows); ``address``: a scheduler address (``tcp://host:8786``),
    ``local:N`` for a LocalCluster of N worker processes started for this call, or None for the
    running client; ``timeout``: seconds to connect to the scheduler and to see a worker (``_connect``).
    """
    from contextlib import ExitStack

    check_parquet_paths(paths)
    with ExitStack() as stack:
        if address is not None:
            from distributed import Client, LocalCluster

            if str(address).startswith("local:"):
                count = str(address)[len("local:"):]
                if not count.isdigit() or not 1 <= int(count) <= 1024:
                    raise ValueError(f"--dask local:N needs a worker count N from 1 to 1024, got {address!r}")
                try:
                    cluster = stack.enter_context(LocalCluster(n_workers=int(count), threads_per_worker=1,
                                                               dashboard_address=None, processes=True))
                    stack.enter_context(Client(cluster))
                except Exception as error:  # noqa: BLE001 - every error of starting the cluster is one line
                    text = " ".join(str(error).split())[:200] or type(error).__name__
                    raise DaskConnectError(f"cannot start a local Dask cluster ({address}): {text}") from None
            else:
                stack.enter_context(connect(address, timeout))
        else:
            get_client()
        frame = read_parquet(paths)
        if label not in frame.columns:
            raise ValueError(f"label column {label!r} is not in the table; columns: {', '.join(map(str, frame.columns))}")
        return select(frame, label, budget, strategy, random_state=seed, **options)
