"""DAMI (Liu et al. 2020): K-Center over each row's local linear model.

Each row is represented by the local linear model of the MLP's region that holds it (see
``_representations``); greedy K-Center over labeled + unlabeled rows, labeled rows as the
initial centers, picks ``budget`` rows that cover the regions the labeled set misses.

Choices the paper leaves open, and the defaults here:

- ``bias=True``: the representation is flattened ``W(x)`` followed by ``b(x)``, i.e. the
  whole local classifier.  Two regions can share ``W`` and differ only in ``b`` (e.g. a unit
  whose input weights are ~0), and on standardized inputs ``b`` is on the scale of ``W x``.
  ``bias=False`` uses ``W(x)`` only (the issue's literal "flattened W(x)").
- ``rows="all"``: all C rows of ``W(x)``; ``"predicted"`` keeps only the predicted class's row.
- ``normalize=False``: raw Euclidean distances (inputs are standardized already);
  ``True`` scales every representation to unit norm (a cosine-like geometry).

Exactness at scale: rows sharing an activation pattern (and, with ``rows="predicted"``, a
predicted class) have the same representation and are collapsed before K-Center with exactly
the same picks (``dedup``); with one hidden layer the exact low-dimensional embedding replaces
the C*d-dimensional matrix, with a first hidden layer narrower than the input the W_1 Gram
factor does (``method``, see ``_representations``).  Points are in the model's dtype (float32
for the default MLP).  The (groups, dim) matrix is built once when it fits ``memory_budget``
bytes (default: :func:`default_memory_budget`, half of the memory the system reports
available), otherwise K-Center streams it: a few passes over the pool per round, never one per
pick, with the same picks and radii (``_kcenter_grouped.streamed_kcenter``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .._timings import emit as emit_timing
from .._timings import enabled as timings_enabled
from ._base import register
from ._context import QueryContext
from ._kcenter_grouped import grouped_kcenter, kcenter_radii
from ._representations import DamiRepresentation
from ._selection import Selection

__all__ = ["dami", "dami_nobias", "dami_predicted", "dami_select", "DEFAULT_MEMORY_BUDGET", "MEMORY_FRACTION",
           "default_memory_budget"]

DEFAULT_MEMORY_BUDGET = 2**30  # bytes for the representation matrix when available memory is unknown
MEMORY_FRACTION = 0.5  # of MemAvailable: the default budget for the representation matrix
_MEMINFO = "/proc/meminfo"


def default_memory_budget() -> int:
    """Bytes the (groups, dim) representation matrix may use by default: ``MEMORY_FRACTION`` of
    the memory the system reports available now (``MemAvailable`` in ``/proc/meminfo``), or
    ``DEFAULT_MEMORY_BUDGET`` where that is unknown (not Linux)."""
    try:
        with open(_MEMINFO) as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return max(1, int(int(line.split()[1]) * 1024 * MEMORY_FRACTION))
    except (OSError, ValueError, IndexError):
        pass
    return DEFAULT_MEMORY_BUDGET


def memory_budget_bytes(memory_budget: object) -> int:
    """``memory_budget`` as bytes (None: :func:`default_memory_budget`); a clear error otherwise."""
    if memory_budget is None:
        return default_memory_budget()
    if isinstance(memory_budget, (bool, np.bool_)) or not isinstance(memory_budget, (int, np.integer)) or memory_budget <= 0:
        raise ValueError(f"memory_budget must be a positive number of bytes (or None for the default), got {memory_budget!r}")
    return int(memory_budget)


@register("dami", x_through_model=True)
def dami(
    context: QueryContext,
    budget: int,
    rng: np.random.Generator,
    *,
    bias: bool = True,
    rows: str = "all",
    normalize: bool = False,
    dedup: bool = True,
    method: str = "auto",
    memory_budget: int | None = None,
) -> Selection:
    """DAMI picks: K-Center over local linear models, labeled rows as centers (deterministic)."""
    return dami_select(
        context.model, context.X, context.labeled, budget, candidates=context.candidates,
        bias=flag_option(bias, "bias"), rows=rows, normalize=flag_option(normalize, "normalize"), dedup=flag_option(dedup, "dedup"),
        method=method, memory_budget=memory_budget,
    )


def flag_option(value: object, name: str) -> bool:
    """A strategy option that must be a real bool (``bias="no"`` is an error, not True)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"option {name!r} must be True or False, got {value!r}")


def representation_space(bias: bool, rows: str, normalize: bool) -> str:
    """How the report describes the space DAMI measured a distance in."""
    what = "W(x)" + (" and b(x)" if bias else "")
    which = "all classes" if rows == "all" else "the predicted class"
    return f"DAMI local linear model ({what}, {which}{', unit norm' if normalize else ''})"


def dami_select(
    model: Any,
    X: np.ndarray,
    labeled: np.ndarray,
    budget: int,
    *,
    candidates: np.ndarray | None = None,
    bias: bool = True,
    rows: str = "all",
    normalize: bool = False,
    dedup: bool = True,
    method: str = "auto",
    memory_budget: int | None = None,
    timings: dict[str, float] | None = None,
    needs: str = "dami",
    patterns: np.ndarray | None = None,
) -> Selection:
    """``budget`` DAMI picks among ``candidates`` (default: all unlabeled rows), with their radii.

    K-Center runs over the labeled rows (centers) plus the candidates, so a strategy can first
    filter candidates (e.g. by uncertainty) and then spread its picks with DAMI.
    ``memory_budget``: bytes for the representation matrix (None: :func:`default_memory_budget`);
    above it K-Center streams (same picks, a few passes over the pool).  The result's
    ``distances`` are the kernel's radii (distance to the nearest center when picked) in the
    representation space.  ``timings``, if given, receives seconds per stage ("representations",
    "kcenter").  ``patterns``: the activation patterns of ``X``'s rows, when computed already.
    """
    labeled = np.asarray(labeled, dtype=bool)
    memory_budget = memory_budget_bytes(memory_budget)
    cand = np.flatnonzero(~labeled) if candidates is None else np.asarray(candidates, dtype=np.int64)
    if labeled[cand].any():
        raise ValueError("candidates must be unlabeled rows")
    if budget > cand.size:
        raise ValueError(f"budget ({budget}) exceeds the number of candidate rows ({cand.size})")
    keep = labeled.copy()
    keep[cand] = True
    considered = np.flatnonzero(keep)  # ascending row order keeps tie-breaking
    is_center = labeled[considered]
    own_timings = timings is None and timings_enabled()  # DAMI_NP_TIMINGS=1: print the stages (bench)
    clock = _Clock({} if own_timings else timings)
    space = representation_space(bias, rows, normalize)

    with clock("representations"):
        rep = DamiRepresentation(model, X, bias=bias, rows=rows, normalize=normalize, method=method, needs=needs,
                                 patterns=patterns)
        X_rows = None if considered.size == X.shape[0] else considered
        groups = rep.groups(X_rows) if dedup else None

    if groups is None:
        with clock("representations"):
            points = rep.points(considered, dtype=rep.dtype)
        with clock("kcenter"):
            picks, radii = kcenter_radii(points, is_center, budget)
        _emit(clock, own_timings)
        return Selection(considered[picks], radii, space)

    def points_of(positions: np.ndarray) -> np.ndarray:
        with clock("representations"):
            return rep.points(considered[positions], dtype=rep.dtype)

    start, inner = time.perf_counter(), clock.inner
    picks, radii = grouped_kcenter(groups, is_center, budget, points_of, rep.dim, memory_budget=memory_budget,
                                   chunk_rows=rep.chunk_rows, dtype=rep.dtype)
    clock.add("kcenter", time.perf_counter() - start - (clock.inner - inner))
    _emit(clock, own_timings)
    return Selection(considered[picks], radii, space)


def _emit(clock: _Clock, own: bool) -> None:
    """Print the stage seconds as ``DAMI_NP_TIMINGS`` lines when the caller did not ask for them."""
    if own and clock.timings is not None:
        for name, seconds in clock.timings.items():
            emit_timing(name, seconds)


class _Clock:
    """Accumulates seconds per stage into an optional dict (nested stages are not double counted)."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.inner = 0.0

    def add(self, stage: str, seconds: float) -> None:
        if self.timings is not None:
            self.timings[stage] = self.timings.get(stage, 0.0) + seconds

    def __call__(self, stage: str) -> _Stage:
        return _Stage(self, stage)


class _Stage:
    def __init__(self, clock: _Clock, stage: str) -> None:
        self.clock, self.stage = clock, stage

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        seconds = time.perf_counter() - self.start
        self.clock.add(self.stage, seconds)
        self.clock.inner += seconds


@register("dami_nobias", x_through_model=True)
def dami_nobias(context: QueryContext, budget: int, rng: np.random.Generator, *, rows: str = "all",
                normalize: bool = False, memory_budget: int | None = None) -> Selection:
    """``dami`` with ``bias=False``: W(x) only (named variant for comparisons)."""
    return dami(context, budget, rng, bias=False, rows=rows, normalize=normalize, memory_budget=memory_budget)


@register("dami_predicted", x_through_model=True)
def dami_predicted(context: QueryContext, budget: int, rng: np.random.Generator, *, bias: bool = True,
                   normalize: bool = False, memory_budget: int | None = None) -> Selection:
    """``dami`` with ``rows="predicted"``: only the predicted class's local model (named variant)."""
    return dami(context, budget, rng, bias=bias, rows="predicted", normalize=normalize, memory_budget=memory_budget)
