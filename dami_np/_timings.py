"""Stage timings for benchmarks: with ``DAMI_NP_TIMINGS=1`` each stage prints one line to stderr.

``bench/end_to_end.py`` reads these lines to split a whole ``dami select`` into read, checks,
preprocessing, fit, scores, K-Center, report and write.  Off (the default) a stage costs one
environment lookup; nothing is imported and nothing is printed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["stage", "emit", "enabled", "TIMINGS_VARIABLE", "TIMING_PREFIX"]

TIMINGS_VARIABLE = "DAMI_NP_TIMINGS"
TIMING_PREFIX = "dami-timing:"


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as stage ``name``: wall and CPU seconds, and the process's peak RSS after it
    (and show it on a terminal while it runs over ~2 s: ``_progress.activity``)."""
    from ._out_of_memory import step
    from ._progress import activity

    if not enabled():
        with step(name), activity(name):
            yield
        return
    start, wall, cpu = time.time(), time.perf_counter(), time.process_time()
    try:
        with step(name), activity(name):
            yield
    finally:
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"{TIMING_PREFIX} stage={name} wall={wall:.4f} cpu={cpu:.4f} peak_rss_gib={_peak_rss_gib():.3f} "
              f"start={start:.4f} end={start + wall:.4f}", file=sys.stderr, flush=True)


def emit(name: str, wall: float) -> None:
    """Print a stage measured elsewhere (e.g. K-Center inside a strategy's own clock): wall only."""
    if enabled():
        print(f"{TIMING_PREFIX} stage={name} wall={wall:.4f} cpu=nan peak_rss_gib={_peak_rss_gib():.3f}",
              file=sys.stderr, flush=True)


def enabled() -> bool:
    """Whether ``DAMI_NP_TIMINGS`` asks for stage lines."""
    return os.environ.get(TIMINGS_VARIABLE, "") not in ("", "0")


def _peak_rss_gib() -> float:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return float("nan")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
