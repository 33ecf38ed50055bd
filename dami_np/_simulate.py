"""``dami_np.simulate``: replay active learning on a fully labeled table and compare strategies.

Protocol, per seed ``s`` (all derived from ``random_state`` and ``s`` only):

1. one stratified train/test split (every class keeps at least one training row);
2. one random initial labeled set of ``initial`` training rows, allocated over the classes in
   proportion to their size and covering at least two classes when possible;
3. ``TabularPreprocessor`` fit on the training rows (labels unused), applied to both parts.

Splits and initial set are shared by all strategies (a paired comparison). Then, for each
strategy, round ``r = 0..rounds``: fit ``MLPClassifier(**model_params)`` on the labeled rows
(``random_state`` derived from ``(random_state, s, r)``, the same for every strategy), record
test accuracy and macro-F1, and, except after the last round, ``dami_np.query`` picks ``batch``
training rows whose labels are then revealed. Everything is deterministic: the same inputs
give the same curves bit for bit, whatever ``n_jobs`` (only the timing columns vary).
"""

from __future__ import annotations

import concurrent.futures
import numbers
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._metrics import accuracy, macro_f1
from ._preprocess import TabularPreprocessor
from ._progress import Progress
from ._simulation_result import SimulationResult
from ._stratified import allocate as _allocate, stratified_split as _stratified_split

__all__ = ["simulate", "SimulationResult"]

ModelFactory = Callable[[dict[str, Any], int], Any]
QueryFunction = Callable[..., np.ndarray]


def simulate(
    X: pd.DataFrame | np.ndarray,
    y: Any,
    strategies: str | Sequence[str | Callable[..., np.ndarray]] = ("random", "margin", "dami"),
    *,
    initial: int = 20,
    batch: int = 20,
    rounds: int = 10,
    seeds: int = 5,
    test_size: float = 0.3,
    model_params: dict[str, Any] | None = None,
    n_jobs: int = 1,
    progress: bool = False,
    random_state: int = 0,
) -> SimulationResult:
    """Simulate pool-based active learning with each strategy on a fully labeled ``(X, y)``.

    Parameters
    ----------
    X : DataFrame (any mix of numeric and categorical columns) or 2-D array.
    y : labels, one per row, none missing.
    strategies : ``dami_np.query`` strategy names (or strategy callables).
    initial, batch, rounds : labeled rows at round 0, rows added per round, query rounds
        (each curve has ``rounds + 1`` points; ``initial + batch * rounds`` must fit in the
        training part).
    seeds : independent repetitions (split, initial set, models).
    test_size : share of the rows held out for testing (stratified).
    model_params : keyword arguments of ``MLPClassifier`` (not ``random_state``).
    n_jobs : worker processes (``-1``: all cores); results do not depend on it.
    progress : draw a progress bar on stderr.
    random_state : non-negative int; the root of every seed.

    Returns
    -------
    SimulationResult: ``.curves`` (one row per strategy, seed and round), ``.summary()``,
    ``.plot(path)``.
    """
    return _simulate(
        X, y, strategies, initial=initial, batch=batch, rounds=rounds, seeds=seeds,
        test_size=test_size, model_params=model_params, n_jobs=n_jobs, progress=progress,
        random_state=random_state, model_factory=_mlp_factory, query_fn=_dami_query,
    )


# ---------------------------------------------------------------------- defaults (picklable)
def _mlp_factory(params: dict[str, Any], seed: int) -> Any:
    from ._mlp import MLPClassifier

    return MLPClassifier(**params, random_state=seed)


def _dami_query(X: np.ndarray, y: np.ndarray, budget: int, *, strategy: Any, model: Any, random_state: int) -> np.ndarray:
    from ._select import query

    return query(X, y, budget, strategy=strategy, model=model, random_state=random_state)


# ---------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class _Setup:
    """Everything a worker needs (sent once per worker process)."""

    X: pd.DataFrame | np.ndarray
    y_codes: np.ndarray
    n_classes: int
    strategies: tuple[Any, ...]
    names: tuple[str, ...]
    initial: int
    batch: int
    rounds: int
    test_size: float
    random_state: int
    model_params: dict[str, Any] = field(default_factory=dict)
    model_factory: ModelFactory = _mlp_factory
    query_fn: QueryFunction = _dami_query


def _simulate(
    X: Any,
    y: Any,
    strategies: Any,
    *,
    initial: int,
    batch: int,
    rounds: int,
    seeds: int,
    test_size: float,
    model_params: dict[str, Any] | None,
    n_jobs: int,
    progress: bool,
    random_state: int,
    model_factory: ModelFactory,
    query_fn: QueryFunction,
) -> SimulationResult:
    """``simulate`` with injectable model factory and query function (tests use fakes)."""
    X = _check_X(X)
    classes, y_codes = _encode_y(y, _n_rows(X))
    strategies, names = _check_strategies(strategies)
    initial = _positive_int("initial", initial)
    batch = _positive_int("batch", batch)
    rounds = _positive_int("rounds", rounds, allow_zero=True)
    seeds = _positive_int("seeds", seeds)
    if not isinstance(test_size, numbers.Real) or not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"test_size must be a number strictly between 0 and 1, got {test_size!r}")
    if not isinstance(random_state, numbers.Integral) or isinstance(random_state, bool) or random_state < 0:
        raise ValueError(f"random_state must be a non-negative int, got {random_state!r}")
    params = dict(model_params or {})
    if "random_state" in params:
        raise ValueError("model_params must not contain 'random_state': simulate derives it from (seed, round)")
    workers = _n_workers(n_jobs)
    setup = _Setup(X, y_codes, len(classes), strategies, names, initial, batch, rounds, float(test_size),
                   int(random_state), params, model_factory, query_fn)
    _check_sizes(setup)

    tasks = [(seed, k) for seed in range(seeds) for k in range(len(strategies))]
    workers = min(workers, len(tasks))
    results: dict[tuple[int, int], list[dict[str, Any]]] = {}
    if workers <= 1:
        with Progress(len(tasks) * (rounds + 1), "simulate", enabled=progress) as bar:
            for task in tasks:
                results[task] = _run_task(setup, *task, tick=bar.update)
    else:
        with Progress(len(tasks), "simulate", enabled=progress) as bar, concurrent.futures.ProcessPoolExecutor(
            max_workers=workers, initializer=_init_worker, initargs=(setup,)
        ) as pool:
            futures = {pool.submit(_run_task_in_worker, *task): task for task in tasks}
            for future in concurrent.futures.as_completed(futures):
                results[futures[future]] = future.result()
                bar.update()
    records = [rec for k in range(len(strategies)) for seed in range(seeds) for rec in results[(seed, k)]]
    config = {
        "strategies": list(names), "initial": initial, "batch": batch, "rounds": rounds, "seeds": seeds,
        "test_size": float(test_size), "model_params": params, "random_state": int(random_state),
        "classes": classes.tolist(), "n_rows": _n_rows(X),
    }
    return SimulationResult(records, config=config)


# ---------------------------------------------------------------------- one (seed, strategy) run
_WORKER_SETUP: _Setup | None = None


def _init_worker(setup: _Setup) -> None:
    global _WORKER_SETUP
    _WORKER_SETUP = setup


def _run_task_in_worker(seed: int, k: int) -> list[dict[str, Any]]:
    assert _WORKER_SETUP is not None, "worker not initialised"
    return _run_task(_WORKER_SETUP, seed, k)


def _run_task(setup: _Setup, seed: int, k: int, tick: Callable[[], None] | None = None) -> list[dict[str, Any]]:
    """The learning curve of strategy ``k`` on seed ``seed``."""
    X_train, y_train, X_test, y_test, start = _prepare_seed(setup, seed)
    strategy, name = setup.strategies[k], setup.names[k]
    all_classes = np.arange(setup.n_classes)
    labeled = np.zeros(len(y_train), dtype=bool)
    labeled[start] = True
    y_masked = np.full(len(y_train), np.nan)
    y_masked[start] = y_train[start]
    records = []
    for round_ in range(setup.rounds + 1):
        model = setup.model_factory(dict(setup.model_params), _derive_seed(setup.random_state, seed, round_, 0))
        t0 = time.perf_counter()
        model.fit(X_train[labeled], y_train[labeled], classes=all_classes)
        fit_seconds = time.perf_counter() - t0
        predicted = np.asarray(model.predict(X_test))
        select_seconds = float("nan")
        record = {
            "strategy": name, "seed": seed, "round": round_, "n_labeled": int(labeled.sum()),
            "accuracy": accuracy(y_test, predicted), "macro_f1": macro_f1(y_test, predicted),
            "fit_seconds": fit_seconds,
        }
        if round_ < setup.rounds:
            t0 = time.perf_counter()
            picks = setup.query_fn(X_train, y_masked, setup.batch, strategy=strategy, model=model,
                                   random_state=_derive_seed(setup.random_state, seed, round_, 1))
            select_seconds = time.perf_counter() - t0
            picks = _check_picks(picks, labeled, setup.batch, name)
            labeled[picks] = True
            y_masked[picks] = y_train[picks]
        record["select_seconds"] = select_seconds
        records.append(record)
        if tick is not None:
            tick()
    return records


def _prepare_seed(setup: _Setup, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split, initial labeled positions (in the training part) and preprocessed matrices of one seed."""
    rng = np.random.default_rng(np.random.SeedSequence([setup.random_state, seed]))
    train, test = _stratified_split(setup.y_codes, setup.test_size, rng)
    start = _initial_set(setup.y_codes[train], setup.initial, rng)
    preprocessor = TabularPreprocessor().fit(_rows(setup.X, train))
    X_train = preprocessor.transform(_rows(setup.X, train))
    X_test = preprocessor.transform(_rows(setup.X, test))
    return X_train, setup.y_codes[train], X_test, setup.y_codes[test], start


def _derive_seed(random_state: int, seed: int, round_: int, stream: int) -> int:
    """A 32-bit seed for (seed, round); stream 0 = model, 1 = query."""
    return int(np.random.SeedSequence([random_state, seed, round_, stream]).generate_state(1)[0])


def _check_picks(picks: Any, labeled: np.ndarray, batch: int, name: str) -> np.ndarray:
    picks = np.asarray(picks)
    if picks.shape != (batch,) or (picks.size and picks.dtype.kind not in "iu"):
        raise RuntimeError(f"strategy {name!r} returned {picks.shape} {picks.dtype} values, expected {batch} row positions")
    if np.unique(picks).size != batch or picks.min() < 0 or picks.max() >= len(labeled) or labeled[picks].any():
        raise RuntimeError(f"strategy {name!r} returned duplicate, out-of-range or already labeled rows")
    return picks.astype(np.int64)


# ---------------------------------------------------------------------- split and initial set
def _initial_set(y_train: np.ndarray, initial: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of ``initial`` random training rows, stratified over the classes and
    covering at least two classes when ``initial >= 2`` and the training part has two."""
    counts = np.bincount(y_train)
    per_class = _allocate(initial, counts, counts)
    if initial >= 2 and (per_class > 0).sum() < 2 <= (counts > 0).sum():
        absent = np.flatnonzero((per_class == 0) & (counts > 0))
        per_class[absent[np.argmax(counts[absent])]] += 1  # the largest class left out
        per_class[np.argmax(per_class)] -= 1  # paid by the class that has the most
    parts = [rng.choice(np.flatnonzero(y_train == c), size=m, replace=False) for c, m in enumerate(per_class) if m]
    return np.sort(np.concatenate(parts))


# ---------------------------------------------------------------------- input checks
def _check_X(X: Any) -> pd.DataFrame | np.ndarray:
    if isinstance(X, pd.DataFrame):
        return X
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValueError(f"X must be 2-D (rows x columns), got shape {array.shape}")
    return array


def _n_rows(X: pd.DataFrame | np.ndarray) -> int:
    return int(X.shape[0])


def _rows(X: pd.DataFrame | np.ndarray, positions: np.ndarray) -> pd.DataFrame | np.ndarray:
    return X.iloc[positions] if isinstance(X, pd.DataFrame) else X[positions]


def _encode_y(y: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(distinct labels, int64 code of each row) by the library's one label encoder; every row labeled."""
    from ._labels import encode_labels

    values = y.to_numpy() if isinstance(y, (pd.Series, pd.Index)) else np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or len(values) != n:
        raise ValueError(f"y must be 1-D with one label per row of X ({n}), got shape {values.shape}")
    labeled, codes, classes = encode_labels(values, n)
    if not labeled.all():
        first = int(np.flatnonzero(~labeled)[0])
        raise ValueError(f"simulate needs every row labeled; y has {int((~labeled).sum())} missing labels (first at row {first})")
    if len(classes) < 2:
        raise ValueError(f"y has a single class ({classes[0]!r}); need at least two")
    return classes, codes


def _check_strategies(strategies: Any) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    if isinstance(strategies, str) or callable(strategies):
        strategies = (strategies,)
    strategies = tuple(strategies)
    if not strategies:
        raise ValueError("strategies is empty; give at least one strategy name, e.g. ('random', 'dami')")
    names = []
    for strategy in strategies:
        if isinstance(strategy, str):
            names.append(strategy)
        elif callable(strategy):
            names.append(str(getattr(strategy, "strategy_name", getattr(strategy, "__name__", repr(strategy)))))
        else:
            raise ValueError(f"strategies must be names or callables, got {strategy!r}")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate strategy name(s): {duplicates}")
    return strategies, tuple(names)


def _positive_int(name: str, value: Any, *, allow_zero: bool = False) -> int:
    low = 0 if allow_zero else 1
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _n_workers(n_jobs: Any) -> int:
    if not isinstance(n_jobs, numbers.Integral) or isinstance(n_jobs, bool) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive int or -1 (all cores), got {n_jobs!r}")
    return (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)


def _check_sizes(setup: _Setup) -> None:
    """The training part must hold the initial set plus every batch (checked on seed 0's split,
    whose size is the same for every seed)."""
    rng = np.random.default_rng(0)
    train, test = _stratified_split(setup.y_codes, setup.test_size, rng)
    n = len(setup.y_codes)
    if len(test) < setup.n_classes:
        smallest = setup.n_classes / n
        raise ValueError(
            f"the test part has {len(test)} row(s) (test_size={setup.test_size:g} of {n} rows), fewer than the "
            f"{setup.n_classes} classes: its accuracies would say nothing; use test_size (--test-size) >= "
            f"{smallest:.3g}"
        )
    needed = setup.initial + setup.batch * setup.rounds
    if needed > len(train):
        raise ValueError(
            f"initial + batch * rounds = {needed} labels, but the training part has only {len(train)} rows "
            f"({len(setup.y_codes)} rows, test_size={setup.test_size}); use fewer rounds or a smaller batch"
        )
