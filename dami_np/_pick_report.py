"""Transitional shim: the CLI's old entry point, now a thin call of ``dami_np.select``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._select import select


@dataclass
class PickReport:
    positions: np.ndarray
    table: pd.DataFrame
    cold_start: bool


def select_and_report(X: pd.DataFrame, y: pd.Series, budget: int, *, strategy: str, random_state: int = 0,
                      **options: Any) -> PickReport:
    table = select(X, y, budget, strategy=strategy, random_state=random_state, **options)
    return PickReport(table["row"].to_numpy(), table, bool(table.attrs.get("cold_start")))
