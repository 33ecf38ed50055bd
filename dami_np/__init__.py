"""dami-np: CPU-only active learning for tabular data with DAMI.

Public surface (everything else is internal):

- ``MLPClassifier``: NumPy ReLU MLP that explains itself (``local_linear``).
- ``kernels``: Numba distance and greedy K-Center kernels.
- ``select``: pick the next rows to label, with a report on each pick (a DataFrame).
- ``query``: the same picks as an int64 array.
- ``DEFAULT_STRATEGY``: the strategy both use when none is given.
- ``simulate``: replay active learning on a fully labeled table.
- ``datasets``: bundled example tables.
- ``stopping``: when to stop labeling (status of the labeled set, stop rule, audit estimate).
- ``load_model``: a saved round (``--save-model``) as a ``TableModel`` that predicts raw tables.

Attributes are imported lazily so that ``import dami_np`` (and the CLI's
``--help``) stays fast; Numba kernels compile on first use of ``kernels``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "MLPClassifier": ("dami_np._mlp", "MLPClassifier"),
    "select": ("dami_np._select", "select"),
    "query": ("dami_np._select", "query"),
    "DEFAULT_STRATEGY": ("dami_np._defaults", "DEFAULT_STRATEGY"),
    "simulate": ("dami_np._simulate", "simulate"),
    "kernels": ("dami_np.kernels", None),
    "datasets": ("dami_np.datasets", None),
    "strategies": ("dami_np.strategies", None),
    "stopping": ("dami_np.stopping", None),
    "load_model": ("dami_np._table_model", "load_model"),
    "TableModel": ("dami_np._table_model", "TableModel"),
}

__all__ = ["MLPClassifier", "select", "query", "DEFAULT_STRATEGY", "simulate", "kernels", "datasets", "strategies", "stopping",
           "load_model", "TableModel", "__version__"]


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'dami_np' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
