"""`dami select` frees the table's numbers once the round's matrix is built (issue 27's memory
target): the CLI hands its frame to the round (``FrameHandoff``), which drops it before the model
and the strategy run; a caller's own frame is never touched."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dami_np._round as round_module
from dami_np._fit_table import FrameHandoff, prepare_table
from dami_np.cli import main
from dami_np.cli._select import pick_from_frame

ROWS, COLUMNS = 40_000, 25  # 8 MB of numbers: far above everything else the round keeps


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(ROWS, COLUMNS)), columns=[f"x{j}" for j in range(COLUMNS)])
    frame["label"] = pd.Series([("yes" if v > 0 else "no") if i < 60 else None for i, v in enumerate(frame["x0"])],
                               dtype=object)
    return frame


def _arrow_bytes() -> int:
    """Bytes held by Arrow's pools (a Parquet table's columns; tracemalloc does not see them)."""
    import sys

    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is None:
        return 0
    pools = {id(p): p for p in (pyarrow.default_memory_pool(), pyarrow.system_memory_pool())}
    return sum(p.bytes_allocated() for p in pools.values())


def _memory_at_model_fit(monkeypatch) -> list[tuple[int, int]]:
    """(bytes traced or held by Arrow, matrix bytes) when the round starts fitting its model."""
    seen: list[tuple[int, int]] = []
    original = round_module.with_model

    def spy(table, **kwargs):
        gc.collect()
        seen.append((tracemalloc.get_traced_memory()[0] + _arrow_bytes(), table.matrix.nbytes))
        return original(table, **kwargs)

    monkeypatch.setattr(round_module, "with_model", spy)
    return seen


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_select_frees_the_table_before_the_model(tmp_path: Path, monkeypatch, suffix: str) -> None:
    path = tmp_path / f"t{suffix}"
    frame = _frame()
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    table_bytes = ROWS * COLUMNS * 8
    del frame
    args = ["select", str(path), "--label", "label", "--budget", "5", "--strategy", "margin", "-q",
            "--out", str(tmp_path / "picks.csv")]
    assert main(args) == 0  # imports and compiled kernels are not what is measured
    seen = _memory_at_model_fit(monkeypatch)
    tracemalloc.start()
    try:
        code = main(args)
    finally:
        tracemalloc.stop()
    assert code == 0
    (traced, matrix_bytes), = seen
    assert matrix_bytes == table_bytes // 2  # float32: only the default float32 model reads it (margin)
    # the matrix and small things (labels, row numbers): the table's numbers are gone
    assert traced < matrix_bytes + table_bytes // 2, (traced, matrix_bytes)


def test_a_callers_frame_is_kept_and_gives_the_same_picks(tmp_path: Path) -> None:
    frame = _frame()
    before = frame.copy()
    given = pick_from_frame(frame, label="label", budget=5, strategy="margin", seed=0)
    handed = pick_from_frame(FrameHandoff(frame.copy()), label="label", budget=5, strategy="margin", seed=0)
    pd.testing.assert_frame_equal(frame, before)
    pd.testing.assert_frame_equal(given, handed)


def test_a_handoff_is_taken_once_and_reports_its_release() -> None:
    frame = _frame()
    released: list[bool] = []
    handoff = FrameHandoff(frame.drop(columns="label"), lambda: released.append(True))
    handoff.released()
    assert released == []  # not taken yet: nothing was freed
    table = prepare_table(handoff, frame["label"])
    handoff.released()
    assert released == [True]
    assert table.matrix.shape == (ROWS, COLUMNS)
    with pytest.raises(RuntimeError, match="already handed"):
        handoff.take()


def test_the_lean_parquet_read_gives_pandas_own_frame(tmp_path: Path) -> None:
    """The Parquet options that keep the read's peak low change nothing in the frame read."""
    pytest.importorskip("pyarrow")
    from dami_np.cli._table_reader import _LEAN_PARQUET, read_table

    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame({
        "f": rng.normal(size=n), "i": rng.integers(0, 9, n),
        "nullable": pd.array([None if k % 7 == 0 else k for k in range(n)], dtype="Int64"),
        "s": ["a" if k % 3 else None for k in range(n)], "c": pd.Categorical(["x", "y"] * (n // 2)),
        "b": rng.random(n) > 0.5, "t": pd.date_range("2020-01-01", periods=n, freq="h", tz="UTC"),
    }, index=pd.RangeIndex(10, 10 + n))
    for name, table in (("range.parquet", frame), ("index.parquet", frame.iloc[::2])):
        path = tmp_path / name
        table.to_parquet(path)
        pd.testing.assert_frame_equal(pd.read_parquet(path, **_LEAN_PARQUET), pd.read_parquet(path), check_exact=True)
        read = read_table(str(path)).frame
        assert list(read.columns) == list(frame.columns)
        np.testing.assert_array_equal(read["f"].to_numpy(), table["f"].to_numpy())
