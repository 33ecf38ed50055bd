"""One table cell as a JSON value: what the CLI's JSON output and the Label Studio task list both write."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["json_value"]


def json_value(value: Any) -> Any:
    """``None`` for missing and non-finite values, Python scalars as they are, timestamps and
    anything else as text (so ``json.dumps(..., allow_nan=False)`` never fails on a cell)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
