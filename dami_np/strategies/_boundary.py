"""Uncertainty from the local linear models, and uncertainty-then-DAMI hybrids (issue 8).

For row x with top-two classes i and j, inside its linear region the decision boundary
between them is the hyperplane ``(W_i(x) - W_j(x)) z + (b_i(x) - b_j(x)) = 0``, so the exact
distance from x to it (within the region) is ``(f_i(x) - f_j(x)) / ||W_i(x) - W_j(x)||``: a
geometric uncertainty in input units, where margin is a probability gap.

- ``boundary``: the rows closest to their local decision boundary.
- ``dami_margin``: the ``candidate_multiple * budget`` lowest-margin rows, then DAMI's K-Center over
  their local linear models with the labeled rows as centers (uncertain, and spread over
  linear regions).  Same scheme as Ash et al.'s and Zhdanov's "filter then diversify"
  (Zhdanov 2019, "Diverse mini-batch active learning"), with DAMI's representation.
- ``dami_boundary``: the same with the boundary distance as the filter.

``candidate_multiple`` (default 2) is the only knob: 1 turns the hybrids into their filter, a
large value into plain DAMI.  (Named so that it cannot be confused with ``select``'s
``candidates``, the rows that may be picked at all.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import register
from ._context import QueryContext
from ._dami import flag_option, dami_select
from ._selection import Selection
from ._uncertainty import lowest_first, margins, unlabeled_proba

__all__ = ["boundary", "dami_margin", "dami_boundary", "boundary_distances", "filter_size"]

DEFAULT_CANDIDATE_MULTIPLE = 2  # 2 beat 5 and 10 for both hybrids (bench/results/label-efficiency.md)
_CHUNK_ROWS = 4096


def boundary_distances(model: Any, X: np.ndarray, *, chunk_rows: int = _CHUNK_ROWS, needs: str = "boundary") -> np.ndarray:
    """float64 (n,): each row's distance to its local top-two decision boundary.

    A row whose top-two local weight rows are identical (a flat region, e.g. all ReLUs off)
    has no boundary in its region: ``inf``, or 0 where its two top logits tie exactly.
    """
    from .._model_adapter import relu_mlp_view

    model = relu_mlp_view(model, needs=needs)
    n = X.shape[0]
    out = np.empty(n, dtype=np.float64)
    for start in range(0, n, chunk_rows):
        rows = X[start : start + chunk_rows]
        W, b = model.local_linear(rows)
        W = np.asarray(W, dtype=np.float64)
        logits = np.einsum("ncd,nd->nc", W, np.asarray(rows, dtype=np.float64)) + b
        top2 = np.argsort(-logits, axis=1, kind="stable")[:, :2]
        m = np.arange(rows.shape[0])
        i, j = top2[:, 0], top2[:, 1]
        gap = logits[m, i] - logits[m, j]
        norm = np.linalg.norm(W[m, i] - W[m, j], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            dist = np.where(norm > 0, gap / np.where(norm > 0, norm, 1.0), np.where(gap > 0, np.inf, 0.0))
        out[start : start + rows.shape[0]] = dist
    return out


def _candidate_boundary(context: QueryContext, needs: str) -> np.ndarray:
    if "boundary_distances" not in context.cache:
        context.cache["boundary_distances"] = boundary_distances(
            context.model, context.X[context.candidates], needs=needs
        )
    return context.cache["boundary_distances"]


def check_candidate_multiple(candidate_multiple: float) -> float:
    if (
        isinstance(candidate_multiple, (bool, np.bool_))
        or not isinstance(candidate_multiple, (int, float, np.integer, np.floating))
        or not candidate_multiple >= 1
        or not np.isfinite(candidate_multiple)
    ):
        raise ValueError(
            f"candidate_multiple must be a finite number >= 1 (a multiple of the budget), got {candidate_multiple!r}"
        )
    return float(candidate_multiple)


def filter_size(n_candidates: int, budget: int, candidate_multiple: float) -> int:
    """How many candidates the hybrids' filter keeps: ``candidate_multiple * budget`` (at least
    ``budget``, at most all); one rule for every path (one machine, Dask)."""
    multiple = check_candidate_multiple(candidate_multiple)
    return min(int(n_candidates), max(budget, int(np.ceil(multiple * budget))))


def _filter_then_dami(
    context: QueryContext, key: np.ndarray, budget: int, candidate_multiple: float, bias: bool, score_name: str,
    needs: str,
) -> Selection:
    count = filter_size(context.candidates.size, budget, candidate_multiple)
    pool, _ = lowest_first(context, key, count)
    pool = np.sort(pool)
    chosen = dami_select(
        context.model, context.X, context.labeled, budget, candidates=pool, bias=flag_option(bias, "bias"), needs=needs
    )
    scores = np.asarray(key, dtype=np.float64)[np.searchsorted(context.candidates, chosen.positions)]
    return Selection(chosen.positions, chosen.distances, chosen.space, scores, score_name)


@register("boundary")
def boundary(context: QueryContext, budget: int, rng: np.random.Generator) -> Selection:
    """Rows closest to their local top-two decision boundary (in preprocessed input units)."""
    rows, dist = lowest_first(context, _candidate_boundary(context, "boundary"), budget)
    return Selection(rows, scores=dist, score_name="boundary_distance")


@register("dami_margin", x_through_model=True)
def dami_margin(
    context: QueryContext, budget: int, rng: np.random.Generator, *,
    candidate_multiple: float = DEFAULT_CANDIDATE_MULTIPLE, bias: bool = True,
) -> Selection:
    """The ``candidate_multiple * budget`` lowest-margin rows, spread by DAMI's K-Center."""
    return _filter_then_dami(
        context, margins(unlabeled_proba(context)), budget, candidate_multiple, bias, "margin", "dami_margin"
    )


@register("dami_boundary")
def dami_boundary(
    context: QueryContext, budget: int, rng: np.random.Generator, *,
    candidate_multiple: float = DEFAULT_CANDIDATE_MULTIPLE, bias: bool = True,
) -> Selection:
    """The ``candidate_multiple * budget`` rows closest to their local boundary, spread by DAMI's K-Center."""
    return _filter_then_dami(
        context, _candidate_boundary(context, "dami_boundary"), budget, candidate_multiple, bias, "boundary_distance",
        "dami_boundary",
    )
