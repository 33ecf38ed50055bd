"""Learning-curve plot of a simulation (needs the optional matplotlib extra)."""

from __future__ import annotations

import os

import pandas as pd

__all__ = ["plot_curves"]


def plot_curves(curves: pd.DataFrame, path: str | os.PathLike[str], *, title: str | None = None) -> None:
    """Mean test accuracy vs labels per strategy, with a +-1 std band over seeds; writes a PNG."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "plotting needs matplotlib, an optional dependency: pip install dami-np[plot]"
        ) from error

    figure = Figure(figsize=(7.0, 4.5), dpi=120)
    FigureCanvasAgg(figure)  # no pyplot: no global state, no display needed
    axes = figure.add_subplot(1, 1, 1)
    for strategy, group in curves.groupby("strategy", sort=False):
        stats = group.groupby("n_labeled")["accuracy"].agg(["mean", "std"]).fillna({"std": 0.0})
        x = stats.index.to_numpy()
        (line,) = axes.plot(x, stats["mean"], marker="o", markersize=3, label=str(strategy))
        axes.fill_between(x, stats["mean"] - stats["std"], stats["mean"] + stats["std"],
                          color=line.get_color(), alpha=0.15, linewidth=0)
    n_seeds = curves["seed"].nunique()
    axes.set_xlabel("labeled rows")
    axes.set_ylabel("test accuracy")
    axes.set_title(title or f"learning curves (mean ± std over {n_seeds} seed{'s' if n_seeds != 1 else ''})")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    figure.savefig(os.fspath(path), format="png")
