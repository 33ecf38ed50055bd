"""``SimulationResult``: the records of a simulation, their curves, summary and plot."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SimulationResult", "CURVE_COLUMNS", "TIE_TOLERANCE"]

CURVE_COLUMNS = ("strategy", "seed", "round", "n_labeled", "accuracy", "macro_f1", "fit_seconds", "select_seconds")
SUMMARY_COLUMNS = ("strategy", "aulc_mean", "aulc_std", "final_accuracy_mean", "final_accuracy_std",
                   "wins", "ties", "losses", "rank")
TIE_TOLERANCE = 0.005  # |AULC difference| below this counts as a tie (half a percentage point of accuracy)


class SimulationResult:
    """Learning curves of a simulation: one record per (strategy, seed, round).

    ``curves`` is the DataFrame view (columns ``strategy, seed, round, n_labeled, accuracy,
    macro_f1, fit_seconds, select_seconds``; ``select_seconds`` is the time spent picking the
    rows added after that round, NaN for the last round). ``config`` holds the arguments.
    """

    def __init__(self, records: Iterable[dict[str, Any]] | pd.DataFrame, *, config: dict[str, Any] | None = None,
                 baseline: str = "random") -> None:
        if isinstance(records, pd.DataFrame):
            records = records.to_dict("records")
        self.records: list[dict[str, Any]] = [dict(r) for r in records]
        absent = [c for c in CURVE_COLUMNS[:5] if self.records and c not in self.records[0]]
        if absent:
            raise ValueError(f"records need the fields {list(CURVE_COLUMNS[:5])}; missing {absent}")
        self.config = dict(config or {})
        self.baseline = baseline

    def __repr__(self) -> str:
        curves = self.curves
        return (f"SimulationResult(strategies={list(pd.unique(curves['strategy']))}, "
                f"seeds={curves['seed'].nunique()}, rounds={curves['round'].nunique()})")

    @property
    def curves(self) -> pd.DataFrame:
        """One row per (strategy, seed, round)."""
        frame = pd.DataFrame.from_records(self.records)
        for column in CURVE_COLUMNS:
            if column not in frame:
                frame[column] = np.nan
        frame = frame[list(CURVE_COLUMNS)]
        return frame.astype({"seed": np.int64, "round": np.int64, "n_labeled": np.int64, "accuracy": np.float64,
                             "macro_f1": np.float64, "fit_seconds": np.float64, "select_seconds": np.float64})

    def per_seed(self) -> pd.DataFrame:
        """One row per (strategy, seed): ``aulc`` (accuracy averaged over rounds) and ``final_accuracy``."""
        curves = self.curves.sort_values(["round"], kind="stable")
        grouped = curves.groupby(["strategy", "seed"], sort=False)["accuracy"]
        return grouped.agg(aulc="mean", final_accuracy="last").reset_index()

    def summary(self, tie_tolerance: float = TIE_TOLERANCE) -> pd.DataFrame:
        """One row per strategy, best first.

        ``aulc_mean``/``aulc_std`` and ``final_accuracy_mean``/``_std`` over seeds (std with
        ddof=1, NaN for one seed); ``wins``/``ties``/``losses`` compare each seed's AULC with
        the baseline's (``random``) on the same seed: a tie when ``|diff| < tie_tolerance``
        (default 0.005), else a win or a loss (``random`` itself: all ties; no baseline: NA);
        ``rank`` 1 = highest mean AULC (ties share the better rank).
        """
        per_seed = self.per_seed()
        order = list(pd.unique(per_seed["strategy"]))
        stats = per_seed.groupby("strategy", sort=False).agg(
            aulc_mean=("aulc", "mean"), aulc_std=("aulc", "std"),
            final_accuracy_mean=("final_accuracy", "mean"), final_accuracy_std=("final_accuracy", "std"),
        ).reindex(order)
        wins, ties, losses = self._paired_counts(per_seed, order, tie_tolerance)
        stats["wins"], stats["ties"], stats["losses"] = wins, ties, losses
        stats["rank"] = stats["aulc_mean"].rank(ascending=False, method="min")
        summary = stats.reset_index().rename(columns={"index": "strategy"})
        summary = summary.sort_values("rank", kind="stable").reset_index(drop=True)
        return summary[list(SUMMARY_COLUMNS)]

    def _paired_counts(self, per_seed: pd.DataFrame, order: list[str], tolerance: float) -> tuple[pd.array, ...]:
        table = per_seed.pivot(index="seed", columns="strategy", values="aulc")
        counts: list[list[Any]] = [[], [], []]
        for strategy in order:
            if self.baseline not in table:
                for column in counts:
                    column.append(pd.NA)
                continue
            diff = (table[strategy] - table[self.baseline]).dropna().to_numpy()
            counts[0].append(int((diff >= tolerance).sum()))
            counts[1].append(int((np.abs(diff) < tolerance).sum()))
            counts[2].append(int((diff <= -tolerance).sum()))
        return tuple(pd.array(c, dtype="Int64") for c in counts)

    def plot(self, path: str | os.PathLike[str], *, title: str | None = None) -> None:
        """Write a PNG of the learning curves (mean ± std band per strategy); needs matplotlib."""
        from ._plot import plot_curves

        plot_curves(self.curves, path, title=title)
