"""One labeling round on a Dask cluster: the picks ``dami_np.query`` gives on one machine.

The driver validates the arguments like ``dami_np.select``, loads the table (``_partitions``),
fits the round's model on the labeled rows by the one recipe (``_fit_table.with_model``),
broadcasts it, and runs the strategy.  The rules are the strategies' own (public names of
``dami_np.strategies``); this module only decides where rows live and what travels:

* ``random``, ``margin``, ``entropy``, ``least_confidence``: the registered strategy itself on
  the driver, over a pool that decides it: the candidates' ordinals (random), or each chunk's
  ``budget`` first rows by the strategy's key with their class probabilities (computed on the
  workers on the local path's own chunks of candidate rows).
* ``kcenter_input`` (and the cold start with some labeled rows), ``coreset``, ``dami``: the
  points stay on the workers; exact greedy K-Center over their blocks (``_remote_blocks``), DAMI
  over the representatives ``group_representatives`` picks.
* ``dami_margin``: the margin filter as above, then ``dami_select`` on the driver over the
  filtered and labeled rows, with patterns computed on the workers on the whole table's grid.

Bits: the K-Center distances are the kernels' exact formula (no BLAS); probabilities and the
activation patterns are computed on the same row chunks as on one machine.  The DAMI points
and the ``coreset`` activations come from BLAS products over blocks of ``block_rows`` rows,
where the local path multiplies other batches: they rely on OpenBLAS giving every row the same
bits in any batch of more than ~1e6 multiply-adds (its small-matrix kernels take the small
ones), which the tests check on the picks; see the README.

Not distributed (clear errors): ``badge`` (k-means++ sampling needs the whole distance vector
per draw, and its cumulative sum is sequential over all rows), ``boundary``/``dami_boundary``,
the other DAMI variants' options ``rows="predicted"``, ``candidates=``, models other than
``dami_np.MLPClassifier``, and rounds with no labeled row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..strategies import QueryContext, Selection
from ._gather import DaskRoundError, gather_round, gather_rows, take_rows
from ._remote_blocks import Block, KCenterStats, distributed_kcenter
from ._partitions import Table, load_table

__all__ = ["SUPPORTED", "RoundInfo", "run_round", "get_client", "DaskRoundError"]

SUPPORTED = ("random", "margin", "entropy", "least_confidence", "kcenter_input", "coreset", "dami", "dami_margin")
DEFAULT_BLOCK_ROWS = 1 << 16
_UNCERTAINTY = ("margin", "entropy", "least_confidence")  # the strategies a pool of lowest keys decides


@dataclass
class RoundInfo:
    """Costs of the last round (for the bench): round trips and bytes of the K-Center, seconds per stage."""

    kcenter: KCenterStats = field(default_factory=KCenterStats)
    round_trips: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    n_blocks: int = 0


LAST_ROUND = RoundInfo()


def get_client() -> Any:
    """The running ``distributed.Client`` (a clear error when there is none)."""
    try:
        from distributed import default_client
    except ImportError:  # pragma: no cover - dask without distributed
        raise ImportError("a dask DataFrame needs the 'distributed' package: pip install 'dami-np[dask]'") from None
    try:
        return default_client()
    except ValueError:
        raise ValueError(
            "X is a dask DataFrame but no Dask client is running: connect one first, e.g. "
            "distributed.Client('tcp://scheduler:8786') or distributed.Client(distributed.LocalCluster(n_workers=2))"
        ) from None


def run_round(
    X: Any, y: Any, budget: Any, strategy: Any, model: Any, random_state: Any, candidates: Any, options: dict[str, Any],
) -> tuple[Table, Any, Selection, str]:
    """Validate like ``dami_np.select``, then run the round on the cluster: (table, context, selection, name)."""
    import time

    from .._fit_table import PreparedTable, check_model_width, is_fitted, with_model
    from .._round import check_budget_fits, check_round_arguments, resolve_strategy as _resolve
    from ..strategies import needs_model

    global LAST_ROUND
    info = RoundInfo()
    clock = time.perf_counter()
    if not isinstance(strategy, str):
        raise ValueError(f"with a dask DataFrame the strategy must be a name, one of {', '.join(SUPPORTED)}")
    func, name = _resolve(strategy)
    if name == "badge":
        raise ValueError(
            "strategy 'badge' is not supported on a dask DataFrame: its k-means++ draws need the whole pool's "
            f"distance vector (a sequential cumulative sum) for every pick; use one of {', '.join(SUPPORTED)}"
        )
    if name not in SUPPORTED:
        raise ValueError(f"strategy {name!r} is not supported on a dask DataFrame; supported: {', '.join(SUPPORTED)}")
    options = dict(options)
    classes_anyway = bool(options.pop("classes_anyway", False))
    block_rows = options.pop("block_rows", DEFAULT_BLOCK_ROWS)
    if isinstance(block_rows, bool) or not isinstance(block_rows, (int, np.integer)) or block_rows < 1:
        raise ValueError(f"block_rows must be a positive int, got {block_rows!r}")
    func, name, options, preprocess, budget, random_state = check_round_arguments(
        strategy, budget, model, random_state, options
    )
    if candidates is not None:
        raise ValueError("candidates= is not supported with a dask DataFrame yet: filter the rows of X instead")
    _check_our_model(model)
    if name == "dami" and options.get("rows", "all") != "all":
        raise ValueError("option rows='predicted' of 'dami' is not supported on a dask DataFrame (rows='all' is)")
    fitted = is_fitted(model)
    client = get_client()
    table = load_table(client, X, y, preprocess=(not fitted) if preprocess is None else bool(preprocess))
    if not classes_anyway:  # the same rule as on one machine: non-integer float labels are not classes
        from .._validation import refuse_continuous_classes

        refuse_continuous_classes(table.classes)
    info.seconds["load"] = time.perf_counter() - clock
    if fitted:
        check_model_width(model, table.n_features, preprocessed=table.preprocessor is not None)
    check_budget_fits(budget, table.n_unlabeled)
    labeled = PreparedTable(table.labeled_X, np.ones(table.labeled_rows.size, dtype=bool), table.codes, table.classes,
                            preprocessor=table.preprocessor, feature_names=table.feature_names,
                            model=model if fitted else None, model_on_codes=not fitted)
    labeled = with_model(labeled, model=model, random_state=random_state)  # the round's model: the one recipe
    rng = np.random.default_rng(random_state)
    if needs_model(func) and labeled.model is None:
        name, options = "cold_start", {}
    context = QueryContext.of(labeled, strategy_name=name)
    clock = time.perf_counter()
    if name == "random":
        selection = _over_pool(func, _pool_context(context, table.n_unlabeled), budget, rng, options, table.unlabeled_row)
    elif name in ("kcenter_input", "cold_start"):
        selection = _kcenter_input(table, budget, info)
    else:
        shared = _broadcast(client, context.model)
        info.seconds["fit"] = time.perf_counter() - clock
        if name in _UNCERTAINTY:
            rows, proba = _lowest(table, context.model, shared, name, budget, info)
            selection = _over_pool(func, _pool_context(context, rows.size, proba), budget, rng, options, rows.__getitem__)
        elif name == "coreset":
            selection = _coreset(table, context.model, shared, budget, int(block_rows), info)
        elif name == "dami":
            selection = _dami(table, context.model, shared, budget, int(block_rows), options, info)
        else:
            selection = _dami_margin(table, context, shared, budget, options, info)
    info.seconds["strategy"] = time.perf_counter() - clock
    info.round_trips += info.kcenter.round_trips
    LAST_ROUND = info
    return table, context, selection, name


def _check_our_model(model: Any) -> None:
    from .._mlp import MLPClassifier

    if model is not None and not isinstance(model, MLPClassifier):
        raise ValueError(
            f"with a dask DataFrame the model must be None or a dami_np.MLPClassifier (fitted or not), got "
            f"{type(model).__name__}: its batches are what the picks are made identical on"
        )


def _pool_context(context: QueryContext, n: int, proba: np.ndarray | None = None) -> QueryContext:
    """The strategies' view of a pool of ``n`` candidates that stand for rows of the table in row
    order (so the strategies' tie rules hold), with their class probabilities when given (what
    ``unlabeled_proba`` caches); no features: only rules that need none run on it."""
    pool = QueryContext(
        np.empty((n, 0)), np.broadcast_to(False, (n,)), np.broadcast_to(np.int64(-1), (n,)), context.classes,
        model=context.model if context.has_model else None, candidates=np.arange(n, dtype=np.int64),
        fitted_on_codes=context.fitted_on_codes, strategy_name=context.strategy_name,
    )
    if proba is not None:
        pool.cache["unlabeled_proba"] = proba
    return pool


def _over_pool(func: Any, pool: QueryContext, budget: int, rng: np.random.Generator, options: dict[str, Any],
               to_rows: Any) -> Selection:
    """The registered strategy itself over ``pool``, its picks mapped to table rows by ``to_rows``."""
    from ..strategies import as_selection

    chosen = as_selection(func(pool, budget, rng, **options))
    rows = np.asarray(to_rows(np.asarray(chosen.positions, dtype=np.int64)), dtype=np.int64)
    return Selection(rows, chosen.distances, chosen.space, chosen.scores, chosen.score_name)


def _broadcast(client: Any, obj: Any) -> Any:
    [future] = client.scatter([obj], broadcast=True, hash=False)  # a fresh key: a released twin must not take it
    return future


# ---------------------------------------------------------------------- uncertainty
def _candidate_chunks(table: Table, rows: int) -> list[tuple[int, int]]:
    """Global row ranges of the local path's chunks of ``rows`` candidate rows."""
    nc = table.n_unlabeled
    firsts = np.arange(0, nc, rows, dtype=np.int64)
    lasts = np.minimum(firsts + rows, nc) - 1
    return [(int(a), int(b) + 1) for a, b in zip(table.unlabeled_row(firsts), table.unlabeled_row(lasts))]


def _chunk_lowest(x: np.ndarray, labeled_local: np.ndarray, model: Any, name: str, count: int,
                  start: int) -> tuple[np.ndarray, np.ndarray]:
    """Global rows and class probabilities of the ``count`` unlabeled rows of one chunk that
    strategy ``name`` ranks first (its key, ``lowest_first``'s order)."""
    from ..strategies import lowest_first, uncertainty_keys

    labeled = np.zeros(x.shape[0], dtype=bool)
    labeled[labeled_local] = True
    chunk = QueryContext(x, labeled, np.broadcast_to(np.int64(-1), labeled.shape), None)
    proba = np.asarray(model.predict_proba(x[chunk.candidates]), dtype=np.float64)
    local, _ = lowest_first(chunk, uncertainty_keys(proba, "margin" if name == "dami_margin" else name), count)
    return start + local, proba[np.searchsorted(chunk.candidates, local)]


def _lowest(table: Table, model: Any, shared: Any, name: str, count: int, info: RoundInfo) -> tuple[np.ndarray, np.ndarray]:
    """A pool that holds the ``count`` candidate rows strategy ``name`` ranks first: each
    chunk's ``count`` first (rows ascending, their class probabilities)."""
    ranges = _candidate_chunks(table, model._forward_rows())  # the chunks MLPClassifier's logits use
    blocks = table.regrid(ranges)
    tops = [
        table.client.submit(_chunk_lowest, x, table.labeled_mask(a, b), shared, name, count, a, pure=False)
        for (a, b), x in zip(ranges, blocks)
    ]
    answers = gather_round(table.client, tops)
    info.round_trips += 1
    rows = np.concatenate([r for r, _ in answers])
    proba = np.concatenate([p for _, p in answers], axis=0)
    order = np.argsort(rows, kind="stable")
    return rows[order], proba[order]


# ---------------------------------------------------------------------- K-Center strategies
def _blocks(n: int, *grids: int) -> list[tuple[int, int]]:
    """Ranges cut at every multiple of each grid size (so each lies inside one chunk of every grid)."""
    cuts = {0, n}
    for g in grids:
        cuts.update(range(0, n, g))
    edges = sorted(cuts)
    return list(zip(edges[:-1], edges[1:]))


def _kcenter_input(table: Table, budget: int, info: RoundInfo) -> Selection:
    if table.labeled_rows.size == 0:
        raise ValueError(
            "with nothing labeled the first K-Center pick is the row farthest from the column mean, which is not "
            "distributed: label at least one row (or run this round on one machine)"
        )
    blocks = [Block((int(a), int(b)), p, table.labeled_mask(int(a), int(b)))
              for a, b, p in zip(table.starts[:-1], table.starts[1:], table.parts)]
    info.n_blocks = len(blocks)
    picks, radii = distributed_kcenter(table.client, blocks, table.labeled_X, budget, stats=info.kcenter)
    return Selection(picks, radii, "preprocessed inputs")


def _hidden(x: np.ndarray, model: Any) -> np.ndarray:
    from ..strategies import last_layer_inputs

    return np.ascontiguousarray(last_layer_inputs(model, x, needs="coreset"), dtype=np.float64)


def _coreset(table: Table, model: Any, shared: Any, budget: int, block_rows: int, info: RoundInfo) -> Selection:
    from .._local_linear import activation_block_rows
    from .._model_adapter import relu_mlp_view

    coefs = relu_mlp_view(model, needs="coreset").coefs_
    # the local activations' block grid: a row's bits depend on the height of its product
    ranges = _blocks(table.n, activation_block_rows(coefs, -1, 8) if len(coefs) > 1 else block_rows)
    xs = table.regrid(ranges)
    points = [table.client.submit(_hidden, x, shared, pure=False) for x in xs]
    centers = _gather_rows(table, ranges, points, table.labeled_rows, info)
    info.n_blocks = len(ranges)
    blocks = [Block((a, b), p, table.labeled_mask(a, b)) for (a, b), p in zip(ranges, points)]
    picks, radii = distributed_kcenter(table.client, blocks, centers, budget, stats=info.kcenter)
    return Selection(picks, radii, "last hidden layer activations")


def _gather_rows(table: Table, ranges: list[tuple[int, int]], futures: list[Any], rows: np.ndarray, info: RoundInfo) -> np.ndarray:
    """``gather_rows``, counted as one round trip when a row is asked."""
    info.round_trips += int(rows.size > 0)
    return gather_rows(table.client, ranges, futures, rows)


def _patterns(x: np.ndarray, model: Any) -> np.ndarray:
    return model.activation_patterns(x)


def _batch_points(pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]], order: np.ndarray, rep: Any) -> np.ndarray:
    """DAMI points of one batch of group representatives, in batch order: ``pieces`` are
    (features, patterns, local rows) of the pattern chunks that hold them, rows in ascending
    order; ``order`` puts them back in batch order.  One ``rep.points`` call per batch, as on one machine."""
    X = np.concatenate([x[rows] for x, _, rows in pieces], axis=0)
    P = np.concatenate([p[rows] for _, p, rows in pieces], axis=0)
    X[order], P[order] = X.copy(), P.copy()  # back in batch order
    return rep.of_rows(X, P).points(np.arange(X.shape[0], dtype=np.int64), dtype=rep.dtype)


def _first_of_each_pattern(patterns: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct patterns of one chunk and the global row where each first appears (ascending)."""
    from ..strategies import group_ids

    _, first = np.unique(group_ids(patterns), return_index=True)  # ids by first appearance: rows ascending
    return np.ascontiguousarray(patterns[first]), start + first.astype(np.int64)


def _group_reps(table: Table, chunks: list[tuple[int, int]], pats: list[Any], info: RoundInfo) -> tuple[np.ndarray, int]:
    """The rows that stand for the pattern groups in ``dami_select`` over all rows, and how many
    stand for candidate groups (two round trips: each chunk's distinct patterns, the labeled rows' patterns)."""
    found = gather_round(table.client, [table.client.submit(_first_of_each_pattern, p, a, pure=False)
                                        for (a, _), p in zip(chunks, pats)])
    info.round_trips += 1
    labeled_pats = _gather_rows(table, chunks, pats, table.labeled_rows, info)
    return merged_representatives(found, table.labeled_rows, labeled_pats)


def merged_representatives(found: list[tuple[np.ndarray, np.ndarray]], labeled_rows: np.ndarray,
                           labeled_patterns: np.ndarray) -> tuple[np.ndarray, int]:
    """``group_representatives`` of all rows (rows, number of candidate groups) from each chunk's
    first row of each of its patterns (``found``: (patterns, rows) per chunk) and the labeled rows
    (sorted) with their patterns: the rule over a short list that decides it exactly, the chunks'
    first rows in row order (``group_ids`` numbers patterns by first appearance, as over all rows),
    then the labeled rows as the centers.  The first part holds no center: only a candidate
    group's lowest row is taken from it, and that is its first row."""
    from ..strategies import group_ids, group_representatives

    rows = np.concatenate([np.asarray(r, dtype=np.int64) for _, r in found] + [np.empty(0, dtype=np.int64)])
    width = max([p.shape[1] for p, _ in found] + [labeled_patterns.shape[1]])
    packed = np.concatenate([p.reshape(-1, width) for p, _ in found] + [labeled_patterns.reshape(-1, width)], axis=0)
    by_row = np.argsort(rows, kind="stable")
    packed = np.concatenate([packed[by_row], packed[rows.size:]], axis=0)
    listed = np.concatenate([rows[by_row], np.asarray(labeled_rows, dtype=np.int64)])
    is_center = np.zeros(listed.size, dtype=bool)
    is_center[rows.size:] = True
    reps, n_cand = group_representatives(group_ids(packed), is_center)
    return listed[reps], n_cand


def _pattern_chunks(table: Table, model: Any, shared: Any) -> tuple[int, list[tuple[int, int]], list[Any], list[Any]]:
    from .._local_linear import pattern_block_rows

    grid = pattern_block_rows(model.coefs_, np.dtype(model.coefs_[0].dtype).itemsize)  # the local path's pattern grid
    chunks = _blocks(table.n, grid)
    xs = table.regrid(chunks)
    pats = [table.client.submit(_patterns, x, shared, pure=False) for x in xs]
    return grid, chunks, xs, pats


def _dami(table: Table, model: Any, shared: Any, budget: int, block_rows: int, options: dict[str, Any],
          info: RoundInfo) -> Selection:
    """``dami_select`` with ``dedup=True``: K-Center over one representative row per activation
    pattern, whose points are computed on the local path's grid of ``rep.chunk_rows``
    consecutive representatives; then the lowest unpicked candidate rows once only distance 0 is left."""
    from ..strategies import DamiRepresentation, fill_in_row_order, flag_option, representation_space

    if options.get("dedup", True) is not True:
        raise ValueError("option dedup=False of 'dami' is not supported on a dask DataFrame")
    options.pop("memory_budget", None)  # same picks whatever the budget (grouped_kcenter's one grid)
    bias, normalize = flag_option(options.get("bias", True), "bias"), flag_option(options.get("normalize", False), "normalize")
    rep = DamiRepresentation(model, np.empty((0, table.n_features)), bias=bias, normalize=normalize,  # of no row yet:
                             method=options.get("method", "auto"), patterns=np.empty((0, 0), dtype=np.uint8))  # _batch_points
    rep_shared = _broadcast(table.client, rep)
    import time

    clock = time.perf_counter()
    grid, chunks, xs, pats = _pattern_chunks(table, model, shared)
    reps, n_cand = _group_reps(table, chunks, pats, info)
    info.seconds["patterns+groups"] = time.perf_counter() - clock
    step = int(rep.chunk_rows)
    blocks = []
    for q in range(0, reps.size, step):
        rows = reps[q : q + step]
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        pieces = []
        for c in np.unique(sorted_rows // grid):
            lo, hi = np.searchsorted(sorted_rows, [chunks[c][0], chunks[c][1]])
            pieces.append((xs[c], pats[c], sorted_rows[lo:hi] - chunks[c][0]))
        points = table.client.submit(_batch_points, pieces, order, rep_shared, pure=False)
        blocks.append(Block(rows, points, np.flatnonzero(np.arange(q, q + rows.size) >= n_cand)))
    info.n_blocks = len(blocks)
    center_blocks = [i for i, b in enumerate(blocks) if b.centers.size]
    parts = gather_round(table.client, [table.client.submit(take_rows, blocks[i].points, blocks[i].centers, pure=False)
                                        for i in center_blocks])
    info.round_trips += 1
    centers = np.concatenate(parts, axis=0)
    info.seconds["center points"] = time.perf_counter() - clock
    k_groups = min(budget, n_cand)
    picks, radii = distributed_kcenter(table.client, blocks, centers, k_groups, stop_at_zero=True, stats=info.kcenter)
    info.seconds["kcenter"] = time.perf_counter() - clock
    centers = np.zeros(table.n, dtype=bool)
    centers[table.labeled_rows] = True
    picks, radii = fill_in_row_order(picks, radii, budget, centers)  # grouped_kcenter's radius-0 tail
    return Selection(picks, radii, representation_space(bias, "all", normalize))


def _dami_margin(table: Table, context: QueryContext, shared: Any, budget: int, options: dict[str, Any],
                 info: RoundInfo) -> Selection:
    """The local ``dami_margin``'s steps: the ``filter_size`` lowest-margin candidates (chunks
    ranked on the workers, ``lowest_first`` over their pool), then ``dami_select`` on the driver
    over them and the labeled rows, with their patterns computed on the workers on the whole
    table's grid (as ``DamiRepresentation`` computes them over all rows on one machine)."""
    from ..strategies import (DEFAULT_CANDIDATE_MULTIPLE, dami_select, filter_size, flag_option, lowest_first, margins,
                              unlabeled_proba)

    count = filter_size(table.n_unlabeled, budget, options.get("candidate_multiple", DEFAULT_CANDIDATE_MULTIPLE))
    rows, proba = _lowest(table, context.model, shared, "dami_margin", count, info)
    pool_view = _pool_context(context, rows.size, proba)
    chosen, keys = lowest_first(pool_view, margins(unlabeled_proba(pool_view)), count)
    order = np.argsort(chosen)
    pool, keys = rows[chosen[order]], keys[order]
    considered = np.union1d(table.labeled_rows, pool)
    is_center = np.isin(considered, table.labeled_rows)
    grid, chunks, xs, pats = _pattern_chunks(table, context.model, shared)
    X_small = _gather_rows(table, chunks, xs, considered, info)
    patterns = _gather_rows(table, chunks, pats, considered, info)
    picked = dami_select(context.model, X_small, is_center, budget, candidates=np.flatnonzero(~is_center),
                         bias=flag_option(options.get("bias", True), "bias"), needs="dami_margin", patterns=patterns)
    rows_out = considered[picked.positions]
    return Selection(rows_out, picked.distances, picked.space, keys[np.searchsorted(pool, rows_out)], "margin")
