"""Command-line options of the labeling workflow (light: nothing heavy is imported here)."""

from __future__ import annotations

import argparse
from typing import Any, Callable


def add_select_options(sub: argparse.ArgumentParser) -> None:
    """``dami select``'s workflow options: sheet, saved models, warm start, status."""
    group = sub.add_argument_group("labeling across rounds")
    group.add_argument("--sheet", metavar="FILE",
                       help="also write an annotation sheet: the picked rows with all their columns and the label "
                            "left empty (.csv, .tsv, .parquet, .json); fill it in, then 'dami merge FILE --into TABLE'")
    group.add_argument("--sheet-format", choices=["table", "label-studio"], default=None,
                       help="label-studio: --sheet FILE.json is a Label Studio task list (with predictions), and "
                            "FILE.config.xml beside it its labeling config (default: table)")
    group.add_argument("--save-model", metavar="FILE.npz",
                       help="save this round's model (weights, preprocessing, classes, agreement history)")
    group.add_argument("--model", metavar="FILE.npz",
                       help="the previous round's --save-model file: warm-start from it and compare predictions "
                            "(the stop rule)")
    group.add_argument("--refit", action="store_true",
                       help="with --model: train from scratch (same picks as without --model)")
    group.add_argument("--audit", type=int, metavar="N",
                       help="also put N unlabeled rows drawn uniformly at random into the --sheet (marked 'audit'): "
                            "once merged, 'dami status --model' measures the saved model on them (an unbiased "
                            "accuracy estimate); needs --save-model")
    group.add_argument("--no-status", action="store_true",
                       help="do not print the status (labels per class, accuracy estimate, agreement, stop rule)")


def add_commands(commands: argparse._SubParsersAction, common: Callable[[], argparse.ArgumentParser],
                 input_options: Callable[..., Any]) -> None:
    """Register ``dami merge`` and ``dami status``."""
    from ._merge_command import add_merge
    from ._status_command import add_status

    add_merge(commands, common(), None)
    add_status(commands, common(), input_options)
