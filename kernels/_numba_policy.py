"""The one place that decides how (and whether) Numba is used by ``dami_np.kernels``.

Policy:

* ``numba`` is imported behind a guard; ``DAMI_NP_DISABLE_NUMBA=1`` (or a failed import)
  sets :data:`NUMBA_ENABLED` to ``False`` and every public kernel runs its pure-NumPy twin,
  which returns bit-identical results.
* Kernels are compiled eagerly, once, at first import, for explicit float32/float64
  signatures (so no call ever pays a compile), with ``fastmath`` off (the hot loops rely
  on IEEE order of operations to make every code path produce the same bits).
* ``cache=True``; if Numba cannot cache (read-only install dir and no usable user cache
  dir) a :class:`NumbaCacheWarning` is emitted once and compilation proceeds uncached.
* Threads: :func:`set_num_threads` / :func:`get_num_threads` wrap Numba's (thread-local)
  setting; results never depend on it.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable, Sequence

__all__ = [
    "NUMBA_ENABLED", "NumbaCacheWarning", "kernel", "inline", "prange",
    "set_num_threads", "get_num_threads", "types",
]


class NumbaCacheWarning(RuntimeWarning):
    """Numba's on-disk cache is unavailable; kernels were compiled without it."""


def _disabled_by_env() -> bool:
    return os.environ.get("DAMI_NP_DISABLE_NUMBA", "").strip().lower() in {"1", "true", "yes", "on"}


_numba: Any = None
if not _disabled_by_env():
    try:
        import numba as _numba
    except Exception:  # pragma: no cover - depends on the install
        _numba = None

NUMBA_ENABLED: bool = _numba is not None

_cache_ok: bool = True
_fallback_threads: int = 1


def _njit(fn: Callable, signatures: Sequence[Any], parallel: bool, cache: bool) -> Callable:
    return _numba.njit(
        list(signatures),
        cache=cache,
        parallel=parallel,
        fastmath=False,
        nogil=True,
        error_model="numpy",
        boundscheck=False,
    )(fn)


def _compile(fn: Callable, signatures: Sequence[Any], parallel: bool) -> Callable:
    """Eagerly compile ``fn``; on a caching failure warn once and compile without cache."""
    global _cache_ok
    if _cache_ok:
        try:
            return _njit(fn, signatures, parallel, cache=True)
        except (RuntimeError, OSError) as exc:
            if "cach" not in str(exc).lower() and not isinstance(exc, OSError):
                raise
            _cache_ok = False
            warnings.warn(
                f"dami_np.kernels: Numba cannot cache compiled kernels ({exc}); "
                "compiling without cache (slower imports, same results).",
                NumbaCacheWarning,
                stacklevel=3,
            )
    return _njit(fn, signatures, parallel, cache=False)


def kernel(signatures: Callable[[], Sequence[Any]], *, parallel: bool = False) -> Callable[[Callable], Callable]:
    """Decorator: compile a hot loop for ``signatures()`` now (no-op when Numba is off).

    ``signatures`` is a thunk so that building Numba types never runs without Numba.
    """

    def deco(fn: Callable) -> Callable:
        if not NUMBA_ENABLED:
            return fn
        return _compile(fn, signatures(), parallel)

    return deco


def inline(fn: Callable) -> Callable:
    """Small helper inlined into kernels (compiled with its callers, never on its own)."""
    if not NUMBA_ENABLED:
        return fn
    return _numba.njit(inline="always", fastmath=False, error_model="numpy", boundscheck=False)(fn)


def prange(*args: int) -> range:
    """``numba.prange`` inside kernels; plain ``range`` when Numba is off."""
    return range(*args)


if NUMBA_ENABLED:
    prange = _numba.prange  # type: ignore[assignment]  # noqa: F811


def set_num_threads(n: int) -> None:
    """Set the number of threads the kernels use (1 .. the number Numba started with)."""
    global _fallback_threads
    if isinstance(n, bool) or int(n) != n:
        raise ValueError(f"set_num_threads: n must be an integer, got {n!r}")
    n = int(n)
    if NUMBA_ENABLED:
        limit = int(_numba.config.NUMBA_NUM_THREADS)
        if not 1 <= n <= limit:
            raise ValueError(f"set_num_threads: n must be in [1, {limit}], got {n}")
        _numba.set_num_threads(n)
    else:
        if n < 1:
            raise ValueError(f"set_num_threads: n must be >= 1, got {n}")
        _fallback_threads = n


def get_num_threads() -> int:
    """Number of threads the kernels use (always 1 of real work on the NumPy path)."""
    if NUMBA_ENABLED:
        return int(_numba.get_num_threads())
    return _fallback_threads


def types() -> Any:
    """``numba.types`` (only call when :data:`NUMBA_ENABLED`)."""
    return _numba.types
