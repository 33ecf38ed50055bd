"""Bundled datasets: every file loads, matches SOURCES.md, and stays inside the package."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pandas as pd
import pytest

from dami_np import datasets

DATA_DIR = Path(datasets.__file__).resolve().parent / "data"


def _sources_table() -> dict[str, dict[str, str]]:
    """Rows of the table in data/SOURCES.md, keyed by dataset name."""
    text = (DATA_DIR / "SOURCES.md").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header, cells))
    return rows


SOURCES = _sources_table()


def test_names_match_bundled_files_and_sources():
    files = sorted(p.name.removesuffix(".csv.gz") for p in DATA_DIR.glob("*.csv.gz"))
    assert datasets.names() == files
    assert sorted(SOURCES) == files
    assert len(files) == 11


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_dataset_loads_with_documented_shape(name: str):
    X, y = datasets.load(name)
    documented = SOURCES[name]
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    assert X.shape == (int(documented["rows"]), int(documented["features"]))
    assert list(X.columns) == [f"x{i}" for i in range(1, X.shape[1] + 1)]
    assert y.name == "class"
    assert len(y) == len(X)
    assert not y.isna().any()
    assert not X.isna().any().any()
    assert y.nunique() == int(documented["classes"])
    text_columns = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    kind = "numeric" if not text_columns else "categorical" if len(text_columns) == X.shape[1] else "mixed"
    assert kind == documented["kind"]
    for column in text_columns:  # categoricals are strings
        assert all(isinstance(v, str) for v in X[column].head(50))


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_bundled_file_is_unchanged(name: str):
    digest = hashlib.sha256(gzip.decompress(datasets.path(name).read_bytes())).hexdigest()
    assert digest.startswith(SOURCES[name]["sha256 of the CSV (first 16 hex)"])


def test_info_agrees_with_sources():
    info = datasets.info()
    assert list(info.columns) == ["name", "rows", "features", "classes", "kind", "source"]
    assert info["name"].tolist() == datasets.names()
    for row in info.itertuples():
        documented = SOURCES[row.name]
        assert (row.rows, row.features, row.classes, row.kind) == (
            int(documented["rows"]), int(documented["features"]), int(documented["classes"]), documented["kind"]
        )
        assert "KEEL" in row.source


def test_path_points_inside_the_package():
    path = datasets.path("segment")
    assert path.is_file() and path.name == "segment.csv.gz"
    assert DATA_DIR in path.parents
    assert "shared" not in path.parts


def test_unknown_name_lists_available_names():
    with pytest.raises(ValueError, match=r"unknown dataset 'nope'.*australian.*wdbc"):
        datasets.load("nope")
    with pytest.raises(ValueError, match="unknown dataset"):
        datasets.path("../segment")


def test_mixed_dataset_keeps_categorical_strings():
    X, y = datasets.load("crx")
    assert X["x1"].tolist()[:2] == ["b", "a"]
    assert pd.api.types.is_float_dtype(X["x2"])
    assert sorted(y.unique()) == ["negative", "positive"]
    # DNA letters such as "N" must stay categories, not become missing values
    splice, _ = datasets.load("splice")
    assert (splice == "N").to_numpy().sum() == 56


def test_load_returns_fresh_frames():
    X1, y1 = datasets.load("pima")
    X1.iloc[0, 0] = -999
    X2, _ = datasets.load("pima")
    assert X2.iloc[0, 0] != -999
    assert re.fullmatch(r"tested_(positive|negative)", y1.iloc[0])
