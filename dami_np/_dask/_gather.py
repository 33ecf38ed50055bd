"""One gather of a round's futures, where a loss of cluster data becomes one clear error."""

from __future__ import annotations

from typing import Any

__all__ = ["DaskRoundError", "gather_round"]


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
