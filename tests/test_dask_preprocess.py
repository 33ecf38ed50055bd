"""Dask preprocessing of int and float columns by reductions: the fitted specs are the local fit's,
bit for bit, with uneven partitions (one empty), missing values, ties, signed zeros, subnormals and
huge values, also when the median needs several rounds of key counts; column problems name the
same rows as the local fit; a partition never sends a column.

A LocalCluster of 2 worker processes (1 thread each), as in ``test_dask_round.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from dami_np import _column_stats  # noqa: E402
from dami_np._dask import _partitions  # noqa: E402
from dami_np._preprocess import TabularPreprocessor, UnusableColumnsError  # noqa: E402

SIZES = [700, 0, 2300, 13, 1987]


def _table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = sum(SIZES)
    return pd.DataFrame({
        "gauss": rng.normal(size=n),
        "holes": np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n) * 1e3),
        "ints": rng.integers(-3, 4, size=n),
        "huge": rng.uniform(-1, 1, size=n) * 1.7e308,
        "tiny": rng.integers(-9, 10, size=n) * 5e-324,
        "zeros": np.where(rng.random(n) < 0.5, -0.0, 0.0),
        "offset": 1e9 + rng.normal(size=n),
        "constant": np.full(n, 2.5),
        "sparse_const": np.where(rng.random(n) < 0.9, np.nan, -7.0),
        "nullable": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 50, size=n)), dtype="Int64"),
        "text": rng.choice(["a", "b", "c"], size=n),
        "flag": rng.random(n) > 0.5,
    })


def _partitioned(frame: pd.DataFrame):
    """``frame`` as a dask DataFrame with partitions of ``SIZES`` rows (one empty)."""
    import dask

    pieces, start = [], 0
    for size in SIZES:
        pieces.append(dask.delayed(frame.iloc[start : start + size]))
        start += size
    return dd.from_delayed(pieces, meta=frame.iloc[:0])


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        with distributed.Client(c) as client:
            yield client


def _fit_remote(client, frame: pd.DataFrame, max_categories: int = 100):
    ddf = _partitioned(frame)
    frames = client.compute(ddf.to_delayed(optimize_graph=True))
    lengths = client.gather(client.map(len, frames, pure=False))
    assert list(lengths) == SIZES
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    columns = list(frame.columns)
    return _partitions._fit_columns(client, frames, columns, max_categories, list(ddf[columns].dtypes), starts)


def _hex_specs(specs: list[dict]) -> list[dict]:
    """Specs with every float as its exact bits (so -0.0 and 0.0 differ)."""
    return [{k: (float(v).hex() if isinstance(v, float) else v) for k, v in spec.items()} for spec in specs]


@pytest.mark.parametrize("gather_keys", [_column_stats.GATHER_KEYS, 5])
def test_reduced_specs_equal_the_local_fit_bit_for_bit(client, monkeypatch, gather_keys):
    monkeypatch.setattr(_column_stats, "GATHER_KEYS", gather_keys)  # 5: several rounds of key counts
    frame = _table()
    local = TabularPreprocessor().fit(frame)
    remote = _fit_remote(client, frame)
    assert _hex_specs([s for p in remote for s in p._specs]) == _hex_specs(local._specs)
    assert [f for p in remote for f in p.feature_names_out_] == local.feature_names_out_


def test_numeric_columns_are_reduced_not_shipped(client, monkeypatch):
    """Only the text and bool columns go through the whole-column fit; numbers stay where they are."""
    shipped = []
    whole = _partitions._fit_whole_columns
    monkeypatch.setattr(_partitions, "_fit_whole_columns",
                        lambda c, f, columns, m: shipped.extend(columns) or whole(c, f, columns, m))
    _fit_remote(client, _table(1))
    assert shipped == ["text", "flag"]


def test_column_problems_name_the_rows_the_local_fit_names(client):
    frame = _table(2)[["gauss", "holes", "text"]].copy()
    frame.loc[3100, "gauss"] = np.inf  # in the third partition
    frame.loc[4000, "gauss"] = -np.inf
    frame["holes"] = np.nan
    with pytest.raises(UnusableColumnsError) as local:
        TabularPreprocessor().fit(frame)
    with pytest.raises(UnusableColumnsError) as remote:
        _fit_remote(client, frame)
    assert str(remote.value) == str(local.value)
    assert "row 3100" in str(remote.value) and "entirely empty" in str(remote.value)


def test_without_preprocessing_the_partitions_are_the_numbers_themselves(client):
    """``preprocess=False`` still sends each partition's numbers as they are (its helper shares this module)."""
    frame = _table(3)[["gauss", "ints", "offset"]].assign(label=pd.Series(["a", "b"] + [None] * (sum(SIZES) - 2)))
    table = _partitions.load_table(client, _partitioned(frame), "label", preprocess=False)
    matrix = np.concatenate(client.gather(table.parts), axis=0)
    np.testing.assert_array_equal(matrix, frame[["gauss", "ints", "offset"]].to_numpy(dtype=np.float64))
