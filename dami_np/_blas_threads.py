"""Temporarily cap the OpenBLAS thread count of the running process.

Why: the training loop multiplies small matrices (e.g. 128 x 128 x 128).  On two
cores, threading such GEMMs gains nothing on an idle machine, and when the cores
are shared with other processes OpenBLAS's thread hand-offs make every GEMM wait
for a descheduled worker: we measured 20-60x slower epochs with 2 threads than
with 1 on a busy machine.  Large GEMMs (``local_linear``) keep all threads.

Finds OpenBLAS libraries already loaded (Linux ``/proc/self/maps``) and calls their
``*openblas_set_num_threads*`` through ctypes, as threadpoolctl does; anywhere this
cannot be done it is a silent no-op.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
from collections.abc import Callable, Iterator

__all__ = ["limit_blas_threads", "blas_thread_controls"]

_SYMBOLS = [
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
]


@functools.cache
def blas_thread_controls() -> tuple[tuple[Callable[[], int], Callable[[int], None]], ...]:
    """(get, set) pairs for every loaded OpenBLAS (empty when none can be found)."""
    if not sys.platform.startswith("linux"):
        return ()
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.rsplit("/", 1)[-1].lower()})
    except OSError:
        return ()
    controls = []
    for path in paths:
        if not os.path.isfile(path):
            continue
        try:
            lib = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | os.RTLD_LAZY)
        except OSError:
            continue
        for get_name, set_name in _SYMBOLS:
            get_fn, set_fn = getattr(lib, get_name, None), getattr(lib, set_name, None)
            if get_fn is not None and set_fn is not None:
                get_fn.restype, get_fn.argtypes = ctypes.c_int, []
                set_fn.restype, set_fn.argtypes = None, [ctypes.c_int]
                controls.append((get_fn, set_fn))
                break
    return tuple(controls)


@contextlib.contextmanager
def limit_blas_threads(n_threads: int) -> Iterator[None]:
    """Within the block, OpenBLAS uses at most ``n_threads`` threads; the old counts are restored after."""
    saved = []
    for get_fn, set_fn in blas_thread_controls():
        old = int(get_fn())
        if old > n_threads:
            set_fn(n_threads)
            saved.append((set_fn, old))
    try:
        yield
    finally:
        for set_fn, old in saved:
            set_fn(old)
