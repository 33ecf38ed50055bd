"""Metadata of the bundled datasets (kept in sync with ``data/SOURCES.md`` by the tests)."""

from __future__ import annotations

from typing import NamedTuple


class _Entry(NamedTuple):
    rows: int
    features: int
    classes: int
    kind: str  # "numeric", "mixed" or "categorical" (dtype of the feature columns)
    source: str


_KEEL = "KEEL repository"

_DATASETS: dict[str, _Entry] = {
    "australian": _Entry(690, 14, 2, "numeric", f"{_KEEL} (UCI Statlog Australian credit)"),
    "banana": _Entry(5300, 2, 2, "numeric", f"{_KEEL} (synthetic 2-D benchmark)"),
    "crx": _Entry(653, 15, 2, "mixed", f"{_KEEL} (UCI Credit Approval)"),
    "german": _Entry(1000, 20, 2, "mixed", f"{_KEEL} (UCI Statlog German credit)"),
    "phoneme": _Entry(5404, 5, 2, "numeric", f"{_KEEL} (ELENA phoneme)"),
    "pima": _Entry(768, 8, 2, "numeric", f"{_KEEL} (UCI Pima Indians Diabetes)"),
    "satimage": _Entry(6435, 36, 6, "numeric", f"{_KEEL} (UCI Statlog Landsat Satellite)"),
    "segment": _Entry(2310, 19, 7, "numeric", f"{_KEEL} (UCI Statlog Image Segmentation)"),
    "splice": _Entry(3190, 60, 3, "categorical", f"{_KEEL} (UCI Molecular Biology Splice-junction)"),
    "vehicle": _Entry(846, 18, 4, "numeric", f"{_KEEL} (UCI Statlog Vehicle Silhouettes)"),
    "wdbc": _Entry(569, 30, 2, "numeric", f"{_KEEL} (UCI Breast Cancer Wisconsin Diagnostic)"),
}
