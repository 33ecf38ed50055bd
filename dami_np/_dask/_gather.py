"""One gather of a round's futures, where a loss of cluster data becomes one clear error; rows of
per-range results gathered in one round trip."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["DaskRoundError", "gather_round", "gather_rows", "take_rows"]


class DaskRoundError(RuntimeError):
    """The cluster lost data the round needs and could not recompute it: run the round again."""


def gather_round(client: Any, futures: list[Any]) -> list[Any]:
    """``client.gather(futures)``; a loss the cluster cannot repair becomes a ``DaskRoundError``."""
    try:
        return client.gather(futures)
    except Exception as exc:  # noqa: BLE001 - a loss of cluster data: fail the round clearly
        if not _cluster_failure(exc):
            raise  # an error of the task itself (bad input...): as it is
        raise DaskRoundError(
            f"the Dask cluster lost data of this round and could not recompute it ({type(exc).__name__}: {exc}); "
            "no picks were returned: run the round again"
        ) from exc


def _cluster_failure(exc: BaseException) -> bool:
    """A lost worker, a cancelled future, a broken connection: not an error of the task's code."""
    module = type(exc).__module__.split(".")[0]
    return module in ("distributed", "asyncio", "concurrent") or isinstance(exc, (OSError, TimeoutError))


def gather_rows(client: Any, ranges: list[tuple[int, int]], futures: list[Any], rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` (sorted, global) of per-range results (``futures[i]`` holds rows
    ``ranges[i]``), stacked in that order: one round trip (none when no row is asked)."""
    asks = []
    for (a, b), f in zip(ranges, futures):
        lo, hi = np.searchsorted(rows, [a, b])
        if hi > lo:
            asks.append(client.submit(take_rows, f, rows[lo:hi] - a, pure=False))
    if not asks:
        return np.empty((0, 0))
    return np.concatenate(gather_round(client, asks), axis=0)


def take_rows(points: np.ndarray, local: np.ndarray) -> np.ndarray:
    """``points[local]``, contiguous (run on a worker)."""
    return np.ascontiguousarray(points[local])
