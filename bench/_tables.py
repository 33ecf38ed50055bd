"""The development tables of the label-efficiency benchmark: 11 bundled + 7 in ``bench/data``.

``load(name)`` reads a bundled table through ``dami_np.datasets`` and a ``bench/data`` table
with the same parsing rules (``?``, ``<null>`` and empty cells are missing, nothing else).
Nothing here reads outside the repository.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dami_np import datasets

DATA_DIR = Path(__file__).resolve().parent / "data"
EXTRA = ("letter", "marketing", "mushroom", "optdigits", "penbased", "spambase", "titanic")
_NA_VALUES = ["", "?", "<null>"]


def names() -> list[str]:
    """All 18 tables, smallest (rows) first."""
    return sorted([*datasets.names(), *EXTRA], key=lambda n: (n_rows(n), n))


def n_rows(name: str) -> int:
    if name in datasets.names():
        return int(datasets.info().set_index("name").loc[name, "rows"])
    return _ROWS[name]


_ROWS = {"letter": 20000, "marketing": 6876, "mushroom": 5644, "optdigits": 5620, "penbased": 10992,
         "spambase": 4597, "titanic": 2201}


def load(name: str) -> tuple[pd.DataFrame, pd.Series]:
    """``(X, y)`` of a development table (``y`` named ``"class"``)."""
    if name in datasets.names():
        return datasets.load(name)
    if name not in EXTRA:
        raise ValueError(f"unknown table {name!r}; available: {', '.join(names())}")
    frame = pd.read_csv(DATA_DIR / f"{name}.csv.gz", keep_default_na=False, na_values=_NA_VALUES)
    y = frame.pop("class")
    return frame, y
