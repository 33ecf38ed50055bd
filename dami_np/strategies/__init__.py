"""Query strategies: which unlabeled rows to label next.

Every strategy has the same contract (the ``Strategy`` protocol)::

    strategy(context, budget, rng, **options) -> Selection  # or bare int64 positions

``context`` (a read-only :class:`QueryContext`, built by the round, ``dami_np._round``) holds the
numeric matrix ``X``, the ``labeled`` mask, label codes ``y`` (-1 = unlabeled), the distinct
``classes``, the ``candidates`` (sorted unlabeled rows that may be picked) and the round's fitted
``model`` (strategies never train); ``rng`` is ``np.random.default_rng(random_state)``.  The result holds ``budget``
unique candidate positions in pick order, optionally with what the strategy knew of each pick
(:class:`Selection`: the K-Center radius, the margin, ...), which ``dami_np.select`` reports as
is.  ``dami_np.select``/``query`` validate the input, build the context, check the options
against the strategy's keyword-only parameters and the result.

Built in (``available()``): ``random``; uncertainty ``least_confidence``, ``margin``,
``entropy``, ``boundary``; diversity ``coreset``, ``kcenter_input``, ``badge``; DAMI ``dami``
(and the named variants ``dami_nobias``, ``dami_predicted``), the hybrids ``dami_margin``,
``dami_boundary``, ``dami_weighted`` (k-means++ over uncertainty-scaled local linear models) and
``dami_kmedoids`` (K-medoids over them, the first DAMI paper's variant).  Add your own::

    from dami_np.strategies import register

    @register("my_rule")               # needs_model=False for a model-free rule
    def my_rule(context, budget, rng, *, my_option=1.0):
        ...
        return positions

    dami_np.select(X, y, 10, strategy="my_rule", my_option=2.0)

Cold start: with no model possible (no labels, or one class only, and no fitted model given)
strategies that need a model answer with K-Center on the preprocessed inputs (see
``cold_start``).  To call a strategy directly: ``margin(make_context(X, y), 5, rng)``.

Building blocks for new strategies: ``unlabeled_proba``/``margins``/``lowest_first``
(uncertainty), ``dami_select`` (DAMI K-Center restricted to candidate rows),
``DamiRepresentation`` (exact, chunked, deduplicated local linear representations),
``kcenter``/``grouped_kcenter``/``kcenter_over``, ``group_representatives``/``fill_in_row_order`` (the row standing
for a group of equal points; the radius-0 tail), ``filter_size`` (the hybrids' filter), ``pick_time_distances``; ``kcenter_over_blocks``
(exact greedy K-Center over a ``BlockSource``: streamed batches, Dask partitions).
"""

from __future__ import annotations

from ._badge import badge, badge_select, gradient_factors
from ._boundary import (DEFAULT_CANDIDATE_MULTIPLE, boundary, boundary_distances, check_candidate_multiple, dami_boundary,
                        dami_margin, filter_size)
from ._base import Strategy, available, get, needs_model, option_names, register, x_through_model
from ._cold_start import cold_start
from ._context import QueryContext, make_context
from ._dami import (DEFAULT_MEMORY_BUDGET, MEMORY_FRACTION, dami, dami_nobias, dami_predicted, dami_select,
                    default_memory_budget, flag_option, memory_budget_bytes, representation_space)
from ._dami_weighted import dami_weighted
from ._kcenter_blocks import BlockSource, block_bounds, block_top, kcenter_over_blocks
from ._kcenter_grouped import grouped_kcenter, kcenter, streamed_kcenter
from ._kcenter_based import coreset, kcenter_input, kcenter_over
from ._kmedoids import dami_kmedoids
from ._pattern_groups import fill_in_row_order, group_representatives
from ._pick_distances import pick_time_distances
from ._random import random
from ._representations import DamiRepresentation, group_ids, last_layer_inputs
from ._selection import Selection, as_selection
from ._uncertainty import entropy, least_confidence, lowest_first, margin, margins, uncertainty_keys, unlabeled_proba


__all__ = [
    "Strategy", "Selection", "as_selection", "QueryContext", "register", "get", "available", "needs_model", "x_through_model", "option_names", "make_context",
    "random", "least_confidence", "margin", "entropy", "coreset", "kcenter_input", "badge",
    "dami", "dami_nobias", "dami_predicted", "cold_start",
    "boundary", "dami_margin", "dami_boundary", "boundary_distances",
    "dami_select", "DamiRepresentation", "group_ids", "kcenter", "grouped_kcenter", "streamed_kcenter",
    "unlabeled_proba", "margins", "lowest_first", "uncertainty_keys", "kcenter_over", "pick_time_distances",
    "kcenter_over_blocks", "BlockSource", "block_bounds", "block_top", "gradient_factors", "badge_select", "DEFAULT_MEMORY_BUDGET",
    "MEMORY_FRACTION", "default_memory_budget", "DEFAULT_CANDIDATE_MULTIPLE", "check_candidate_multiple", "flag_option",
    "memory_budget_bytes", "representation_space", "last_layer_inputs", "group_representatives", "fill_in_row_order", "filter_size",
]
