"""The memory of a table being read or freed: large blocks straight from the kernel, freed memory
returned to the system (glibc's allocator and Arrow's pools).

glibc serves a block of at least its *mmap threshold* with its own mapping, returned to the
system the moment it is freed; smaller blocks come from the heap, whose freed memory stays with
the process.  The threshold starts at 128 KiB and rises to the size of the last large block
freed (up to 32 MiB), so while Arrow's decoded columns are freed one by one as pandas takes
them, pandas' new columns of the same size land in the heap and the freed ones are not given
back: a Parquet read held the table twice (1M x 50 float64: 0.89 GiB peak; 0.52 GiB with a
fixed 1 MiB threshold).  Elsewhere (musl, macOS, Windows) nothing changes.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Iterator

__all__ = ["large_blocks_mapped", "release_table_memory", "system_memory_pool", "glibc_function"]

_M_MMAP_THRESHOLD = -3  # mallopt's parameter number in glibc's malloc.h
_WHILE_READING = 1 << 20
_AFTERWARDS = 32 << 20  # where glibc's own adjustment ends (DEFAULT_MMAP_THRESHOLD_MAX, 64-bit)


@contextlib.contextmanager
def large_blocks_mapped() -> Iterator[None]:
    """Blocks of >= 1 MiB allocated inside are mapped (freed at once when released); afterwards the
    threshold stays fixed at 32 MiB, glibc's ceiling (its adaptive rule is off once set)."""
    mallopt = glibc_function("mallopt")
    if mallopt is None or mallopt(_M_MMAP_THRESHOLD, _WHILE_READING) != 1:
        yield
        return
    try:
        yield
    finally:
        mallopt(_M_MMAP_THRESHOLD, _AFTERWARDS)


def release_table_memory() -> None:
    """Return the memory of a freed table to the system (allocators keep freed blocks for reuse,
    so the process would stay as large as the table): Arrow's pool, then glibc's ``malloc_trim``
    (where there is one), which also frees the Parquet columns read through the system pool."""
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        pyarrow.default_memory_pool().release_unused()
    trim = glibc_function("malloc_trim")
    if trim is not None:
        trim(0)


@contextlib.contextmanager
def system_memory_pool(pyarrow: Any) -> Iterator[None]:
    """Arrow allocates with the C library's malloc here: the table's columns, once freed, go back to
    the system with ``release_table_memory`` (Arrow's own pool keeps pages of its reader threads)."""
    previous = pyarrow.default_memory_pool()
    try:
        pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    except (AttributeError, pyarrow.ArrowException):  # pragma: no cover - a pyarrow without it
        yield
        return
    try:
        yield
    finally:
        pyarrow.set_memory_pool(previous)


def glibc_function(name: str) -> Any:
    """The C library's function ``name`` (``mallopt``, ``malloc_trim``) on Linux, or None (another
    system, another C library, or no ctypes)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return getattr(ctypes.CDLL(None), name)
    except (ImportError, OSError, AttributeError):
        return None
