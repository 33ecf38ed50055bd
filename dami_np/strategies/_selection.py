"""What a strategy returns: the picks, and what it knew about each pick when it picked it.

A strategy may return bare positions (an int array) or a :class:`Selection`; ``dami_np.select``
turns either into its report, so a fact a strategy computed (the K-Center radius of a pick, the
margin that ranked it) is reported as computed, never recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Selection", "as_selection"]


@dataclass(frozen=True)
class Selection:
    """Positions of the picked rows in pick order, with optional per-pick facts.

    ``distances``: each pick's distance to its nearest center (labeled rows and earlier picks)
    when it was picked, in ``space`` (a short description of the representation it was measured
    in); ``scores``: the strategy's own per-pick score (margin, entropy, boundary distance, ...)
    named by ``score_name``.  ``None`` when the strategy has no such number.
    """

    positions: np.ndarray
    distances: np.ndarray | None = None
    space: str | None = None
    scores: np.ndarray | None = None
    score_name: str | None = None

    def __len__(self) -> int:
        return int(np.asarray(self.positions).shape[0])

    def first(self, k: int) -> Selection:
        """The first ``k`` picks (a prefix keeps every per-pick fact)."""
        cut = (lambda a: None if a is None else np.asarray(a)[:k])  # noqa: E731
        return Selection(np.asarray(self.positions)[:k], cut(self.distances), self.space, cut(self.scores), self.score_name)


def as_selection(result: Any) -> Selection:
    """A strategy's answer as a :class:`Selection` (bare positions get no per-pick facts)."""
    if isinstance(result, Selection):
        return result
    return Selection(np.asarray(result))
