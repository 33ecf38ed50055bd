"""Uncertainty from the local linear models, and uncertainty-then-DAMI hybrids (issue 8).

For row x with top-two classes i and j, inside its linear region the decision boundary
between them is the hyperplane ``(W_i(x) - W_j(x)) z + (b_i(x) - b_j(x)) = 0``, so the exact
distance from x to it (within the region) is ``(f_i(x) - f_j(x)) / ||W_i(x) - W_j(x)||``: a
geometric uncertainty in input units, where margin is a probability gap.

- ``boundary``: the rows closest to their local decision boundary.
- ``dami_margin``: the ``candidates * budget`` lowest-margin rows, then DAMI's K-Center over
  their local linear models with the labeled rows as centers (uncertain, and spread over
  linear regions).  Same scheme as Ash et al.'s and Zhdanov's "filter then diversify"
  (Zhdanov 2019, "Diverse mini-batch active learning"), with DAMI's representation.
- ``dami_boundary``: the same with the boundary distance as the filter.

``candidates`` (default 5) is the only knob: 1 turns the hybrids into their filter, a large
value into plain DAMI.
"""

from __future__ import annotations

import numpy as np

from ._base import register
from ._context import QueryContext
from ._dami import dami_select
from ._uncertainty import margins, unlabeled_proba

__all__ = ["boundary", "dami_margin", "dami_boundary", "boundary_distances"]

DEFAULT_CANDIDATES = 5
_CHUNK_ROWS = 4096


def boundary_distances(model, X: np.ndarray, *, chunk_rows: int = _CHUNK_ROWS) -> np.ndarray:  # noqa: ANN001
    """float64 (n,): each row's distance to its local top-two decision boundary.

    A row whose top-two local weight rows are identical (a flat region, e.g. all ReLUs off)
    has no boundary in its region: ``inf``, or 0 where its two top logits tie exactly.
    """
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


def _lowest(context: QueryContext, key: np.ndarray, count: int) -> np.ndarray:
    """Unlabeled positions with the ``count`` smallest ``key`` (ties to the lowest row)."""
    order = np.argsort(key, kind="stable")[:count]
    return context.unlabeled_indices[order]


def _unlabeled_boundary(context: QueryContext) -> np.ndarray:
    if "boundary_distances" not in context.cache:
        context.cache["boundary_distances"] = boundary_distances(context.model, context.X[context.unlabeled_indices])
    return context.cache["boundary_distances"]


def _check_candidates(candidates: float) -> float:
    if isinstance(candidates, bool) or not isinstance(candidates, (int, float)) or not candidates >= 1:
        raise ValueError(f"candidates must be a number >= 1 (a multiple of the budget), got {candidates!r}")
    return float(candidates)


def _filter_then_dami(context: QueryContext, key: np.ndarray, budget: int, candidates: float, bias: bool) -> np.ndarray:
    count = min(context.unlabeled_indices.size, max(budget, int(np.ceil(_check_candidates(candidates) * budget))))
    pool = np.sort(_lowest(context, key, count))
    return dami_select(context.model, context.X, context.labeled, budget, candidates=pool, bias=bias)


@register("boundary")
def boundary(context: QueryContext, budget: int, rng: np.random.Generator) -> np.ndarray:
    """Rows closest to their local top-two decision boundary (in preprocessed input units)."""
    return _lowest(context, _unlabeled_boundary(context), budget)


@register("dami_margin")
def dami_margin(
    context: QueryContext, budget: int, rng: np.random.Generator, *, candidates: float = DEFAULT_CANDIDATES,
    bias: bool = True,
) -> np.ndarray:
    """The ``candidates * budget`` lowest-margin rows, spread by DAMI's K-Center."""
    return _filter_then_dami(context, margins(unlabeled_proba(context)), budget, candidates, bias)


@register("dami_boundary")
def dami_boundary(
    context: QueryContext, budget: int, rng: np.random.Generator, *, candidates: float = DEFAULT_CANDIDATES,
    bias: bool = True,
) -> np.ndarray:
    """The ``candidates * budget`` rows closest to their local boundary, spread by DAMI's K-Center."""
    return _filter_then_dami(context, _unlabeled_boundary(context), budget, candidates, bias)
