"""A Parquet read holds the table's numbers about once, not twice (glibc: large blocks mapped).

Measured in fresh processes (their allocator state and peak RSS are their own).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")

ROWS, COLUMNS = 400_000, 20

_READ = r"""
import sys
import pandas, pyarrow
from dami_np.cli import _table_reader
def peak():  # this process's own high-water mark (ru_maxrss would include the parent's, kept across exec)
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
before = peak()
table = _table_reader.read_table(sys.argv[1])
print((peak() - before) * 1024)
"""

# glibc raises its mmap threshold to the size of a mapped block when one is freed, so the next
# block of that size comes from the heap, whose freed memory the process keeps (a freed Arrow
# column, then pandas' copy of it).  Inside large_blocks_mapped() the threshold is fixed at 1 MiB:
# a 4 MiB block is mapped again right after one was freed; after it, at 32 MiB: from the heap.
_REMAP = r"""
import ctypes
import numpy as np
from dami_np.cli._allocator import large_blocks_mapped

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = Info

def mapped(make):  # is the block ``make`` allocates a mapped one? (only the growth counts: others may exist)
    before = mallinfo2().hblkhd
    block = make()
    return mallinfo2().hblkhd - before >= block.nbytes

with large_blocks_mapped():
    first = np.ones(1 << 19)  # 4 MiB
    del first
    inside = mapped(lambda: np.ones(1 << 19))
after = mapped(lambda: np.ones(1 << 19))
print(inside, after)
"""


def _run(program: str, *args: str) -> str:
    return subprocess.run([sys.executable, "-c", program, *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_inside_a_read_large_blocks_are_mapped_and_after_it_the_threshold_is_fixed() -> None:
    assert _run(_REMAP) == "True False"


def test_a_parquet_read_holds_the_numbers_once(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "t.parquet"
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.normal(size=(ROWS, COLUMNS)), columns=[f"x{i}" for i in range(COLUMNS)]).to_parquet(path)
    numbers = ROWS * COLUMNS * 8
    growth = int(_run(_READ, str(path)).split()[-1])
    # measured 1.4-1.6x (Arrow's buffers of a few columns); without the mapped blocks 2.4-2.7x in
    # most runs (fewer when Arrow's threads happen to free before pandas allocates)
    assert growth < 2 * numbers, (growth, numbers)
