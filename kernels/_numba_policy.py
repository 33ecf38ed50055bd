"""The one place that decides how (and whether) Numba is used by ``dami_np.kernels``.

Policy:

* ``numba`` is imported behind a guard; ``DAMI_NP_DISABLE_NUMBA=1`` (or a failed import)
  sets :data:`NUMBA_ENABLED` to ``False`` and every public kernel runs its pure-NumPy twin,
  which returns bit-identical results. ``NUMBA_DISABLE_JIT=1`` keeps the kernel code paths
  but runs their bodies as plain Python (the CI covers them that way).
* Lazy compilation: a kernel compiles the first time it is called, for the argument types
  it is called with; importing the kernels compiles nothing. ``fastmath`` is off (the hot
  loops rely on IEEE order of operations to make every code path produce the same bits).
  Helpers marked :func:`inline` are compiled into their callers.
* Cache: on by default (where Numba puts it: the package's ``__pycache__``, else
  ``NUMBA_CACHE_DIR``, else the user cache dir); ``DAMI_NP_CACHE=0`` turns it off. Cache
  entries carry a hash of every ``kernels/*.py`` source, so editing an inlined helper in
  another file invalidates them (Numba alone only checks the decorated function's file).
  Any failure to load or save an entry (truncated or unpicklable file, permissions,
  read-only directory, ...) emits one :class:`NumbaCacheWarning` line per process naming
  ``NUMBA_CACHE_DIR`` as the fix; the kernel then compiles without the cache, and a bad
  entry is overwritten by the fresh one when the directory is writable.
* :func:`set_compile_notice` (or ``DAMI_NP_COMPILE_NOTICE=1``): when a kernel really
  compiles (not when it loads from the cache), print one line on stderr, once per process.
* Threads: :func:`set_num_threads` / :func:`get_num_threads` wrap Numba's (thread-local)
  setting; results never depend on it.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

__all__ = [
    "NUMBA_ENABLED", "JIT_ENABLED", "NumbaCacheWarning", "kernel", "inline", "prange",
    "set_num_threads", "get_num_threads", "set_compile_notice", "cache_enabled", "dispatchers", "use_kernels",
]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
# What compiling the kernels of one mid-size `dami select` took on 2 busy cores
# (bench/results/first-run.md: 2310 rows, 1000 labels: first run 5.6 s vs 2.5 s later).
COMPILE_SECONDS_ESTIMATE = 3


class NumbaCacheWarning(RuntimeWarning):
    """Numba's on-disk cache could not be used; kernels were compiled without it."""


def _env(name: str) -> str:
    return os.environ.get(name, "").strip().lower()


_numba: Any = None
if _env("DAMI_NP_DISABLE_NUMBA") not in _TRUE:
    try:
        import numba as _numba
    except Exception:  # pragma: no cover - depends on the install
        _numba = None

NUMBA_ENABLED: bool = _numba is not None
#: False when Numba is off or ``NUMBA_DISABLE_JIT=1`` (kernel bodies then run as Python).
JIT_ENABLED: bool = NUMBA_ENABLED and not bool(_numba.config.DISABLE_JIT)

_fallback_threads: int = 1
_dispatchers: list[Any] = []
_warned = False
_notice: bool | None = None  # None: follow DAMI_NP_COMPILE_NOTICE (read when a kernel compiles)
_noticed = False
_sources_hash: str | None = None


# Below this much work (rows x centers x max(D, 32) distance terms) the NumPy passes finish
# before a kernel's first call could (compile or cache load), with the same bits.
SMALL_WORK = 1 << 23


def use_kernels(work: float) -> bool:
    """Whether a call with ``work`` distance terms should run the Numba kernels."""
    return NUMBA_ENABLED and work >= SMALL_WORK


def cache_enabled() -> bool:
    """Whether kernels use Numba's on-disk cache (``DAMI_NP_CACHE=0`` turns it off)."""
    return _env("DAMI_NP_CACHE") not in _FALSE


def set_compile_notice(enabled: bool) -> None:
    """Print ``compiling kernels (first run only, ~N s)...`` on stderr when a kernel compiles.

    Once per process, only for a real compilation (not a cache load). Off by default;
    ``DAMI_NP_COMPILE_NOTICE=1`` in the environment turns it on too (read at compile time, so
    it can be set before or after the import); an explicit call here wins over it.
    """
    global _notice
    _notice = bool(enabled)


def _compile_notice() -> None:
    global _noticed
    wanted = _env("DAMI_NP_COMPILE_NOTICE") in _TRUE if _notice is None else _notice
    if wanted and not _noticed:
        _noticed = True
        when = "first run only, " if cache_enabled() else ""
        print(f"compiling kernels ({when}~{COMPILE_SECONDS_ESTIMATE} s)...", file=sys.stderr, flush=True)


def _describe(exc: BaseException) -> str:
    """``Type: message`` on one line, file paths reduced to their last part."""
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    text = re.sub(r"""(?:[A-Za-z]:)?[/\\][^\s'"]*[/\\]([^\s'"/\\]*)""", r"\1", " ".join(text.split()))
    return f"{type(exc).__name__}: {text[:120]}" if text else type(exc).__name__


def _cache_failed(exc: BaseException) -> None:
    """One warning line per process for any cache failure."""
    global _warned
    if _warned:
        return
    _warned = True
    warnings.warn_explicit(
        f"the Numba cache of dami_np.kernels could not be used ({_describe(exc)}); compiling without it "
        "(same results, slower start). Fix: set NUMBA_CACHE_DIR to a writable directory "
        "(or DAMI_NP_CACHE=0 to turn the cache off).",
        NumbaCacheWarning, filename="dami_np.kernels", lineno=0,
    )


def sources_hash() -> str:
    """SHA-256 over every ``kernels/*.py`` source: part of every cache entry's stamp."""
    global _sources_hash
    if _sources_hash is None:
        h = hashlib.sha256()
        for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
            h.update(path.name.encode())
            h.update(path.read_bytes())
        _sources_hash = h.hexdigest()
    return _sources_hash


def _real_cache(py_func: Callable) -> Any:
    """A Numba ``FunctionCache`` for ``py_func`` whose stamp includes :func:`sources_hash`."""
    from numba.core import caching

    class _Index(caching.IndexDataCacheFile):
        def _load_index(self) -> dict:
            try:
                return super()._load_index()
            except Exception as exc:  # unreadable index: report, treat as empty (rewritten on save)
                _cache_failed(exc)
                return {}

    class _Cache(caching.FunctionCache):
        def __init__(self, fn: Callable) -> None:
            super().__init__(fn)
            self._cache_file = _Index(
                cache_path=self._cache_path, filename_base=self._impl.filename_base,
                source_stamp=(self._cache_file._source_stamp, sources_hash()),
            )

    return _Cache(py_func)


class _PolicyCache:
    """Stands in for a dispatcher's Numba cache: builds the real one at first use, turns
    every failure into :func:`_cache_failed` plus a plain compile, and gives the notice."""

    def __init__(self, py_func: Callable) -> None:
        self._py_func = py_func
        self._real: Any = None
        self._tried = False

    def _get(self) -> Any:
        if not self._tried:
            self._tried = True
            if cache_enabled():
                try:
                    self._real = _real_cache(self._py_func)
                except Exception as exc:  # no writable location, ...
                    _cache_failed(exc)
        return self._real

    @property
    def cache_path(self) -> str:
        return self._real.cache_path if self._real is not None else ""

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        real = self._get()
        cres = None
        if real is not None:
            try:
                cres = real.load_overload(sig, target_context)
            except Exception as exc:  # truncated/unpicklable entry, permissions, ...
                _cache_failed(exc)
                cres = None
        if cres is None:
            _compile_notice()
        return cres

    def save_overload(self, sig: Any, data: Any) -> None:
        real = self._get()
        if real is None:
            return
        try:
            real.save_overload(sig, data)
        except Exception as exc:  # read-only directory, disk full, ...
            _cache_failed(exc)

    def enable(self) -> None:
        pass

    def disable(self) -> None:
        pass

    def flush(self) -> None:
        real = self._get()
        if real is not None:
            real.flush()


_OPTIONS = dict(fastmath=False, nogil=True, error_model="numpy", boundscheck=False)


def kernel(*, parallel: bool = False) -> Callable[[Callable], Callable]:
    """Decorator: a lazily compiled Numba kernel under the cache policy (no-op without Numba)."""

    def deco(fn: Callable) -> Callable:
        if not NUMBA_ENABLED:
            return fn
        disp = _numba.njit(cache=False, parallel=parallel, **_OPTIONS)(fn)
        if hasattr(disp, "_cache"):  # a Dispatcher (NUMBA_DISABLE_JIT=1 returns ``fn`` itself)
            disp._cache = _PolicyCache(fn)
            _dispatchers.append(disp)
        return disp

    return deco


def inline(fn: Callable) -> Callable:
    """Small helper inlined into kernels (compiled with its callers, never on its own)."""
    if not NUMBA_ENABLED:
        return fn
    disp = _numba.njit(inline="always", **_OPTIONS)(fn)
    if hasattr(disp, "signatures"):
        _dispatchers.append(disp)
    return disp


def dispatchers() -> tuple[Any, ...]:
    """Every Numba dispatcher the kernels defined (kernels and inline helpers)."""
    return tuple(_dispatchers)


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
