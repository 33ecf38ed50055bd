"""A Parquet read holds the table's numbers about once, not twice (glibc: large blocks mapped).

Measured in a fresh process (its peak RSS is the process's own): the read of a 64 MB table may
grow the process by the table plus Arrow's buffers of a few columns (1.4-1.6x), not by two tables (2.4-2.7x).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROWS, COLUMNS = 400_000, 20

_PROGRAM = r"""
import contextlib, sys
import pandas, pyarrow
from dami_np.cli import _table_reader
def peak():  # this process's own high-water mark (ru_maxrss would include the parent's, kept across exec)
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
if sys.argv[2] == "plain":
    _table_reader.large_blocks_mapped = contextlib.nullcontext
before = peak()
table = _table_reader.read_table(sys.argv[1])
print((peak() - before) * 1024)
"""


def _growth(path: Path, mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", _PROGRAM, str(path), mode], capture_output=True, text=True,
                          check=True)
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_a_parquet_read_holds_the_numbers_once(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "t.parquet"
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.normal(size=(ROWS, COLUMNS)), columns=[f"x{i}" for i in range(COLUMNS)]).to_parquet(path)
    numbers = ROWS * COLUMNS * 8
    growth = _growth(path, "mapped")
    assert growth < 2 * numbers, (growth, numbers)  # measured 1.4-1.6x (Arrow buffers of a few columns)
    assert _growth(path, "plain") > 2 * numbers  # the test can tell: without it 2.4-2.7x (two tables)
