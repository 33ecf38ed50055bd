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
# column, then pandas' copy of it): inside large_blocks_mapped() it is mapped again.
_REMAP = r"""
import contextlib, ctypes, sys
import numpy as np
from dami_np.cli._allocator import large_blocks_mapped

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = Info
context = large_blocks_mapped() if sys.argv[1] == "mapped" else contextlib.nullcontext()
with context:
    first = np.ones(1 << 19)  # 4 MiB: mapped (above the initial 128 KiB threshold)
    del first  # freed: glibc's threshold rises to 4 MiB unless it is fixed
    before = mallinfo2().hblkhd  # bytes in mapped blocks (others may exist: only the growth counts)
    second = np.ones(1 << 19)
    print(mallinfo2().hblkhd - before >= second.nbytes)
"""


def _run(program: str, *args: str) -> str:
    return subprocess.run([sys.executable, "-c", program, *args], capture_output=True, text=True,
                          check=True).stdout.split()[-1]


def test_inside_a_read_a_large_block_freed_and_asked_again_is_mapped_again() -> None:
    assert _run(_REMAP, "mapped") == "True"
    assert _run(_REMAP, "plain") == "False"  # glibc's own rule: the second block comes from the heap


def test_a_parquet_read_holds_the_numbers_once(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "t.parquet"
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.normal(size=(ROWS, COLUMNS)), columns=[f"x{i}" for i in range(COLUMNS)]).to_parquet(path)
    numbers = ROWS * COLUMNS * 8
    growth = int(_run(_READ, str(path)))
    # measured 1.4-1.6x (Arrow's buffers of a few columns); without the mapped blocks 2.4-2.7x in
    # most runs (fewer when Arrow's threads happen to free before pandas allocates)
    assert growth < 2 * numbers, (growth, numbers)
