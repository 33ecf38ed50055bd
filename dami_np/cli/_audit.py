"""``dami select --audit N``: rows drawn uniformly at random for an unbiased accuracy estimate.

Besides the picks, N unlabeled rows drawn uniformly at random (``stopping.audit_sample``, seeded by
``--seed`` on a stream of its own: the picks are the same with or without ``--audit``) go into the
sheet, marked ``audit`` in its ``dami_audit`` column and shown without the model's prediction (so
that it cannot sway the answer).  The model file of the round (``--save-model``, trained before
they were labeled) remembers them (``info["audit"]``: data rows and ids).  Once merged,
``dami status --model FILE`` measures that model on them: the share it predicted right and its
95% Wilson interval estimate its accuracy on the unlabeled rows of that round, without bias.
From the next round on they are labels like any other (the next model trains on them).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pandas as pd

from ._errors import CliError

AUDIT_COLUMN = "dami_audit"
AUDIT_MARK = "audit"


def check_audit_options(args: argparse.Namespace, sheet_format: str) -> int:
    """``--audit N`` (0 = none): it needs a table ``--sheet`` and ``--save-model`` (which remembers the rows)."""
    n = getattr(args, "audit", None)
    if n is None:
        return 0
    if n <= 0:
        raise CliError(f"--audit must be a positive number of rows, got {n}")
    if args.sheet is None or sheet_format != "table":
        raise CliError("--audit needs --sheet FILE (a table sheet: the audit rows are labeled in it)")
    if not args.save_model:
        raise CliError("--audit needs --save-model FILE.npz (the model file remembers the audit rows)")
    return int(n)


def check_pool(n: int, y: pd.Series, budget: int) -> None:
    """Before the round: enough unlabeled rows for the picks and the audit rows."""
    pool = int(y.isna().sum())
    if n and n + budget > pool:
        raise CliError(f"--budget {budget} plus --audit {n} is more than the {pool} unlabeled rows")


def draw(n: int, y: pd.Series, picked_rows: np.ndarray, seed: int) -> np.ndarray:
    """The audit rows (data row numbers, sorted): uniform among the unlabeled rows that were not picked."""
    from ..stopping import audit_sample

    unlabeled = np.asarray(y.index[y.isna().to_numpy(dtype=bool)], dtype=np.int64)
    try:
        return audit_sample(unlabeled, n, seed, exclude=picked_rows)
    except ValueError as error:
        raise CliError(str(error)) from None


def sheet_report(report: pd.DataFrame, audit_rows: np.ndarray) -> pd.DataFrame:
    """The report of the picks followed by the audit rows (no pick number, no prediction shown)."""
    audit = pd.DataFrame({"row": np.asarray(audit_rows, dtype=np.int64)})
    both = pd.concat([report, audit], ignore_index=True)
    if "pick" in both.columns:  # whole numbers for the picks, empty for the audit rows
        both["pick"] = pd.Series([None if pd.isna(v) else int(v) for v in both["pick"].tolist()], dtype=object)
    return both


def mark_sheet(sheet: pd.DataFrame, n_picks: int, n_audit: int) -> pd.DataFrame:
    """The sheet with its ``dami_audit`` column (``audit`` on the audit rows)."""
    out = sheet.copy()
    out[AUDIT_COLUMN] = [""] * n_picks + [AUDIT_MARK] * n_audit
    return out


def check_table_columns(columns: list[str], source: str) -> None:
    """A table with its own ``dami_audit`` column cannot get an audit sheet."""
    if AUDIT_COLUMN in columns:
        raise CliError(f"{source} has a column {AUDIT_COLUMN!r}, which the annotation sheet needs for --audit; "
                       "rename it")


def record(audit_rows: np.ndarray, frame: pd.DataFrame, rows: np.ndarray, id_column: str | None) -> dict[str, Any]:
    """What the model file remembers (``info["audit"]``): the data rows and, with an id column, their ids."""
    audit_rows = np.asarray(audit_rows, dtype=np.int64)
    out: dict[str, Any] = {"rows": [int(r) for r in audit_rows], "ids": None}
    if id_column is not None:
        positions = np.searchsorted(np.asarray(rows, dtype=np.int64), audit_rows)
        out["ids"] = [str(v) for v in frame[id_column].to_numpy()[positions].tolist()]
    return out


def audit_positions(saved_audit: Any, frame: pd.DataFrame, rows: np.ndarray, id_column: str | None,
                    model_path: str, source: str) -> np.ndarray | None:
    """Positions in ``frame`` of the model file's audit rows (None when it has none); refused in one
    line when the table no longer has them as they were (rows removed or reordered)."""
    if not isinstance(saved_audit, dict) or not saved_audit.get("rows"):
        return None
    wanted = np.asarray(saved_audit["rows"], dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    positions = np.searchsorted(rows, wanted)
    inside = positions < rows.size
    if not inside.all() or not np.array_equal(rows[positions], wanted):
        raise CliError(f"{source}: does not have the audit rows {model_path} remembers (data rows "
                       f"{', '.join(str(r) for r in wanted[:5])}...); was the table edited other than by dami merge?")
    ids = saved_audit.get("ids")
    if ids and id_column is not None and id_column in frame.columns:
        now = [str(v) for v in frame[id_column].to_numpy()[positions].tolist()]
        if now != [str(v) for v in ids]:
            raise CliError(f"{source}: the audit rows {model_path} remembers have other {id_column!r} values now "
                           "(rows reordered?); the audit estimate needs the same rows")
    return positions


def add_audit_estimate(status: Any, saved: Any, model_path: str, rows: pd.DataFrame, truth: Any) -> None:
    """Put the audit estimate into ``status``: the model in ``model_path`` (trained before its audit
    rows were labeled) on those table ``rows`` against their labels ``truth`` (missing = not yet)."""
    from .._table_model import from_saved
    from ..stopping import audit_estimate

    predicted = from_saved(saved, model_path).predict(rows)
    status.audit_drawn = len(rows)
    estimate = audit_estimate(predicted, np.asarray(truth, dtype=object))
    if estimate is None:
        status.notes.append(f"audit: none of the {len(rows)} audit rows of {model_path} is labeled yet "
                            "(label them in the sheet and merge it)")
        return
    status.audit_accuracy, status.audit_interval, status.audit_labeled = estimate
    status.notes.append(f"audit: the estimate is for the model in {model_path} (trained before its audit rows "
                        "were labeled); from this round on they are training labels like any other")
    if status.audit_labeled < status.audit_drawn:
        status.notes.append(f"audit: {status.audit_drawn - status.audit_labeled} audit row(s) unlabeled; label "
                            "every one (skipping the hard ones would bias the estimate)")


def audit_in_round(status: Any, round_model: Any, frame: pd.DataFrame, rows: np.ndarray, id_column: str | None,
                   source: str, labels_by_row: pd.Series) -> None:
    """``dami select --model FILE``'s status: the audit estimate of FILE's audit rows, or a note why not."""
    saved = getattr(round_model, "saved", None)
    if status is None or saved is None:
        return
    try:
        positions = audit_positions(saved.info.get("audit"), frame, rows, id_column, str(round_model.path), source)
    except CliError as error:
        status.notes.append(f"audit: {error}")
        return
    if positions is not None:
        data_rows = np.asarray(rows, dtype=np.int64)[positions]
        add_audit_estimate(status, saved, str(round_model.path), frame.iloc[positions],
                           labels_by_row.reindex(data_rows).to_numpy(dtype=object))
