"""Identifier-like feature columns: decided on a sample when it says no, confirmed on every row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dami_np.cli import _columns
from dami_np.cli._columns import identifier_warnings

N = 3000  # beyond the first-rows sample


@pytest.fixture
def warnings_seen(monkeypatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(_columns, "warn", seen.append)
    return seen


def _warned(column: pd.Series, seen: list[str]) -> bool:
    seen.clear()
    identifier_warnings(pd.DataFrame({"n": column}), ["n"], "t")
    return any("column 'n' holds" in text for text in seen)


def test_row_numbers_are_found_on_every_row(warnings_seen):
    assert _warned(pd.Series(np.arange(N, dtype=np.float64)), warnings_seen)
    assert _warned(pd.Series(np.arange(1, N + 1)), warnings_seen)
    assert _warned(pd.Series(np.arange(N), dtype="Int64"), warnings_seen)


def test_a_late_row_that_is_not_whole_or_missing_or_infinite_clears_the_column(warnings_seen):
    for late in (2500.5, np.nan, np.inf):
        values = np.arange(N, dtype=np.float64)
        values[2500] = late  # after the sample: only the confirmation on all rows sees it
        assert not _warned(pd.Series(values), warnings_seen), late
    nullable = pd.Series(np.arange(N), dtype="Int64")
    nullable[2500] = pd.NA
    assert not _warned(nullable, warnings_seen)


def test_measurements_are_not_identifiers(warnings_seen):
    assert not _warned(pd.Series(np.random.default_rng(0).normal(size=N)), warnings_seen)
