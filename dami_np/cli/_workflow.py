"""Labeling across rounds on the command line: sheets, saved models, warm starts and the status.

``dami select`` with ``--sheet``, ``--save-model``, ``--model`` or ``--refit`` goes through a
``SelectPlan``: every output is checked before any work, the round runs through
``dami_np._round.run_round`` (the picks are those of a plain ``select`` call; the plan keeps the
round's model and preprocessing, fit once), and the sheet, its labeling config and the model file
are written together (temporary files, then renames).

With ``--model FILE``: the columns the model was trained on must be features of the table; the
round warm-starts from the saved weights (and Adam state) when the table encodes exactly as it
did (same columns, medians, scales, levels) and has the same classes, else it trains from
scratch with a note.  ``--refit`` always trains from scratch with the saved parameters: the same
picks as a run without ``--model`` (for default parameters).
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ._console import NORMAL, VERBOSE, note, verbosity, warn
from ._errors import CliError
from ._table_writer import output_format, probe_directory, refuse_protected_symlink, render, write_files

SHEET_FORMATS = ("table", "label-studio")


# ---------------------------------------------------------------------- the round's model
@dataclass
class RoundModel:
    """The model side of a round: the saved model of the previous round (``--model``), if any."""

    saved: Any = None
    path: str | None = None
    refit: bool = False
    notes: list[str] = field(default_factory=list)
    warm: bool = False

    @classmethod
    def from_args(cls, model_path: str | None, refit: bool) -> RoundModel:
        if refit and model_path is None:
            raise CliError("--refit needs --model FILE (it trains the saved model's kind from scratch)")
        if model_path is None:
            return cls()
        from .._model_io import load_model

        saved = load_model(model_path)
        if saved.preprocessor is None:
            raise CliError(f"{model_path}: has no preprocessing state (saved by MLPClassifier.save?); "
                           "the command line needs a file written by --save-model")
        return cls(saved, model_path, refit)

    @property
    def params(self) -> dict[str, Any]:
        if self.saved is None:
            return {}
        params = dict(self.saved.model.get_params())
        params.pop("random_state", None)
        params["warm_start"] = False
        return params

    @property
    def history(self) -> list[float]:
        if self.saved is None:
            return []
        return [float(h) for h in self.saved.info.get("history", [])]

    def check_columns(self, columns: Sequence[str]) -> None:
        if self.saved is None:
            return
        from .._model_io import check_columns

        try:
            check_columns(self.saved, list(columns), shown=f"--model {self.path}")
        except ValueError as error:
            raise CliError(str(error)) from None

    @property
    def warm_source(self) -> Any:
        """The saved model the round may warm-start from (None with ``--refit`` or without ``--model``)."""
        return None if self.saved is None or self.refit else self.saved

    @property
    def shown(self) -> str:
        return f"--model {self.path}"

    def previous_predictions(self, X: pd.DataFrame) -> np.ndarray | None:
        """The saved model's predicted labels for every row of ``X`` (None without a model)."""
        if self.saved is None:
            return None
        try:
            matrix = self.saved.preprocessor.transform(X[self.saved.columns])
            return np.asarray(self.saved.model.predict(matrix), dtype=object)
        except (ValueError, KeyError) as error:
            self.notes.append(f"agreement with --model {self.path} not computed: {error}")
            return None


# ---------------------------------------------------------------------- output targets
def check_target(path: str, what: str, *, suffixes: Sequence[str] = (), inputs: Sequence[str] = ()) -> Path:
    """A file to write later: its name, directory and permissions checked now (before any work)."""
    target = Path(path)
    if suffixes and not target.name.lower().endswith(tuple(suffixes)):
        raise CliError(f"{what} {path}: the name must end in {' or '.join(suffixes)}")
    for source in inputs:
        if source and source != "-" and Path(source).exists() and target.exists() and os.path.samefile(source, target):
            raise CliError(f"{what} {path}: refusing to overwrite the input table")
    refuse_protected_symlink(target, what)  # H24: the fs.protected_symlinks rule
    real = Path(os.path.realpath(target))
    if real.exists():
        info = real.stat()
        if stat.S_ISDIR(info.st_mode):
            raise CliError(f"{what} {path}: is a directory; give a file name")
        if not stat.S_ISREG(info.st_mode):
            raise CliError(f"{what} {path}: is not a regular file")
        if not os.access(real, os.W_OK):
            raise CliError(f"{what} {path}: exists and is read-only")
    parent = real.parent
    if not parent.is_dir():
        raise CliError(f"{what} {path}: directory {target.parent} does not exist")
    probe_directory(parent, shown=str(target.parent) or ".")
    return real


def _distinct(paths: dict[str, Path | None]) -> None:
    seen: dict[str, str] = {}
    for what, path in paths.items():
        if path is None:
            continue
        key = os.path.realpath(path)
        if key in seen:
            raise CliError(f"{what} and {seen[key]} name the same file {path}")
        seen[key] = what


# ---------------------------------------------------------------------- select
class SelectPlan:
    """The extra work of a ``dami select`` round: sheet, model file, warm start, status."""

    def __init__(self, args: argparse.Namespace, out: Path | None) -> None:
        self.args = args
        sheet_format = getattr(args, "sheet_format", None) or "table"
        self.sheet_format = sheet_format
        self.sheet: Path | None = None
        self.sheet_kind: str | None = None
        self.config: Path | None = None
        inputs = (args.table,) + ((args.model,) if getattr(args, "model", None) else ())  # H24: never the --model
        if args.sheet is not None:
            if sheet_format == "label-studio":
                self.sheet = check_target(args.sheet, "--sheet", suffixes=(".json",), inputs=inputs)
                self.config = check_target(str(_config_path(Path(args.sheet))), "--sheet's labeling config",
                                           inputs=inputs)
            else:
                self.sheet_kind = output_format(Path(args.sheet), None)
                if self.sheet_kind == "parquet":
                    try:
                        import pyarrow  # noqa: F401
                    except ImportError:
                        raise CliError("a Parquet --sheet needs pyarrow: pip install 'dami-np[parquet]'") from None
                self.sheet = check_target(args.sheet, "--sheet", inputs=inputs)
        elif getattr(args, "sheet_format", None) not in (None, "table"):
            raise CliError("--sheet-format needs --sheet FILE")
        self.save = (check_target(args.save_model, "--save-model", suffixes=(".npz",), inputs=inputs)
                     if args.save_model else None)
        _distinct({"--out": out, "--sheet": self.sheet, "the labeling config": self.config, "--save-model": self.save})
        self.round = RoundModel.from_args(args.model, bool(args.refit))
        self.model: Any = None
        self.preprocessor: Any = None
        self.context: Any = None
        self.classes: np.ndarray | None = None
        self.previous: np.ndarray | None = None
        self.X: pd.DataFrame | None = None
        self.y: pd.Series | None = None
        self.seed = int(args.seed)
        self.strategy = str(args.strategy)
        from ._audit import check_audit_options

        self.audit_n = check_audit_options(args, sheet_format)  # --audit N (H25): rows for an unbiased estimate

    @staticmethod
    def wanted(args: argparse.Namespace) -> bool:
        """A workflow option was given, or the status is to be printed (a terminal, or -v)."""
        if any(getattr(args, name, None) for name in ("sheet", "save_model", "model", "refit", "audit")) or (
                getattr(args, "sheet_format", None) not in (None, "table")):
            return True
        if getattr(args, "no_status", False) or verbosity() < NORMAL:
            return False
        try:
            terminal = sys.stderr is not None and sys.stderr.isatty()
        except (OSError, ValueError):
            terminal = False
        return terminal or verbosity() >= VERBOSE

    def check_table(self, frame: pd.DataFrame, source: str) -> None:
        """Before any work: the sheet's report columns must not collide with the table's columns, and
        the table must have the columns the ``--model`` was trained on among its features."""
        if self.round.saved is not None:
            from ._columns import feature_columns

            args = self.args
            columns = [str(c) for c in frame.columns]
            if args.label in columns and (args.id is None or args.id in columns):
                features = [args.features] if isinstance(args.features, str) else args.features
                exclude = [args.exclude] if isinstance(args.exclude, str) else args.exclude
                chosen = feature_columns(columns, label=args.label, id_column=args.id, features=features,
                                         exclude=exclude, source=source)
                self.round.check_columns(chosen)
        if self.audit_n:
            from ._audit import check_table_columns

            check_table_columns([str(c) for c in frame.columns], source)
        if self.sheet is not None and self.sheet_format == "table":
            from .._sheet import check_sheet_names

            try:
                check_sheet_names([str(c) for c in frame.columns], source)
            except ValueError as error:
                raise CliError(str(error)) from None

    def select(self, features: Any, y: pd.Series, budget: int, strategy: str, seed: int, source: str) -> pd.DataFrame:
        """One round (``run_round``) on the checked features (``_columns.CheckedFeatures``: the
        table and its preprocessing, fit once), warm-started from ``--model`` when exact."""
        from .._round import run_round

        X = features.frame
        self.round.check_columns([str(c) for c in X.columns])
        from ._audit import check_pool

        check_pool(self.audit_n, y, budget)
        self.previous = self.round.previous_predictions(X)
        done = run_round(X, y, budget, strategy, random_state=seed, preprocessor=features.preprocessor,
                         warm=self.round.warm_source, warm_name=self.round.shown, params=self.round.params)
        for text in done.notes + tuple(self.round.notes):
            note(text)
        self.round.warm = done.warm
        self.model, self.preprocessor, self.classes = done.model, done.preprocessor, done.classes
        self.context = done.context
        self.X, self.y = X, y
        return done.report()

    def finish(self, frame: pd.DataFrame, rows: np.ndarray, report: pd.DataFrame, *, label: str,
               id_column: str | None, source: str, extra_items: Sequence[tuple[Path, Any]] = (),
               after_files: Any = None) -> None:
        """Write the sheet (and config) and the model file together (with ``extra_items``, the --out
        file: one group, all renamed or none; ``after_files()``: standard output, once they are), then
        print the status."""
        from .._label_studio import dumps, labeling_config, tasks
        from .._model_io import model_arrays, write_npz
        from .._sheet import annotation_sheet

        positions = np.searchsorted(np.asarray(rows, dtype=np.int64), report["row"].to_numpy(dtype=np.int64))
        status = self._status() if self._status_wanted() else None
        if status is not None and self.y is not None:  # H25: --model's audit rows, now labeled
            from ._audit import audit_in_round

            audit_in_round(status, self.round, frame, rows, id_column, source, self.y)
        items: list[tuple[Path, Any]] = list(extra_items)
        if self.sheet is not None and self.sheet_format == "label-studio":
            task_list = tasks(frame, positions, report, label=label, id_column=id_column,
                              model_version=f"dami-np {self.strategy}")
            data = dumps(task_list).encode("utf-8")
            config = labeling_config([str(c) for c in (self.classes if self.classes is not None else [])])
            items.append((self.sheet, lambda tmp, data=data: tmp.write_bytes(data)))
            items.append((self.config, lambda tmp, config=config: tmp.write_text(config, encoding="utf-8")))
            if self.classes is None or len(self.classes) == 0:
                warn(f"{self.config}: the label column has no classes yet: add a <Choice value=\"...\"/> per class")
        elif self.sheet is not None:
            from . import _audit

            audit_rows = (_audit.draw(self.audit_n, self.y, report["row"].to_numpy(dtype=np.int64), self.seed)
                          if self.audit_n and self.y is not None else np.empty(0, dtype=np.int64))
            sheet_positions = np.concatenate([positions, np.searchsorted(np.asarray(rows, dtype=np.int64), audit_rows)])
            try:
                sheet = annotation_sheet(frame, sheet_positions, _audit.sheet_report(report, audit_rows), label=label,
                                         source=source)
            except ValueError as error:
                raise CliError(str(error)) from None
            if self.audit_n:
                sheet = _audit.mark_sheet(sheet, len(report), len(audit_rows))
                self.audit_record = _audit.record(audit_rows, frame, rows, id_column)
            from ._table_edit import compression_by_name  # H24: rendered inside the group, errors name the file

            compress, kind = compression_by_name(self.sheet.name) or False, self.sheet_kind or "csv"
            items.append((self.sheet, lambda tmp, sheet=sheet: tmp.write_bytes(render(sheet, kind, compress=compress))))
        if self.save is not None:
            if self.model is None:
                warn(f"no model saved to {self.save}: a model needs labeled rows of at least two classes")
            else:
                history = list(status.history) if status is not None else self._history()
                arrays = model_arrays(self.model, preprocessor=self.preprocessor,
                                      classes=np.asarray([str(c) for c in self.classes]),
                                      info={"history": history, "seed": self.seed, "strategy": self.strategy,
                                            "n_labeled": int(self.y.notna().sum()) if self.y is not None else None,
                                            **self._table_info(label, id_column)})
                items.append((self.save, lambda tmp, arrays=arrays: write_npz(arrays, tmp)))
        if items:
            write_files(items)
        if after_files is not None:
            after_files()
        if self.sheet is not None:
            extra = f" and its labeling config to {self.config}" if self.config is not None else ""
            note(f"wrote the annotation sheet ({len(report)} rows) to {self.sheet}{extra}")
        if self.save is not None and self.model is not None:
            how = "warm-started from " + str(self.round.path) if self.round.warm else "trained from scratch"
            note(f"saved the model ({how}) to {self.save}")
        if status is not None:
            for line in status.lines():
                note(f"status: {line}")

    def _table_info(self, label: str, id_column: str | None) -> dict[str, Any]:
        """The model file's record of its table (``info["table"]``) and of this round's audit rows (H25)."""
        from ._model_columns import table_record

        features = [] if self.X is None else [str(c) for c in self.X.columns]
        out: dict[str, Any] = {"table": table_record(label, id_column, features)}
        if getattr(self, "audit_record", None) is not None:
            out["audit"] = self.audit_record
        return out

    def _history(self) -> list[float]:
        """The agreement history without the full status (quiet runs): earlier rounds + this one."""
        history = self.round.history
        if self.previous is None or self.model is None or self.X is None or self.y is None:
            return history
        from ..stopping import agreement

        unlabeled = self.y.isna().to_numpy(dtype=bool)
        if not unlabeled.any():
            return history
        matrix = self.context.X
        now = np.asarray(self.classes, dtype=object)[np.asarray(self.model.predict(matrix[unlabeled]), dtype=np.int64)]
        return history + [agreement([str(v) for v in now], [str(v) for v in self.previous[unlabeled]])]

    def _status_wanted(self) -> bool:
        return verbosity() >= NORMAL and not getattr(self.args, "no_status", False)

    def _status(self) -> Any:
        from ..stopping import status_from_matrix

        if self.X is None or self.y is None:
            return None
        context = self.context  # the round's matrix and label codes
        matrix, labeled, codes, classes = context.X, context.labeled, context.y, context.classes
        params = self.model.get_params() if self.model is not None else self.round.params
        params = {k: v for k, v in params.items() if k not in ("random_state", "warm_start")}
        return status_from_matrix(matrix, labeled, codes, classes, model=self.model, model_on_codes=True,
                                  previous_predictions=self.previous, history=self.round.history,
                                  params=params, random_state=self.seed)


def _config_path(sheet: Path) -> Path:
    name = sheet.name
    stem = name[: -len(".json")] if name.lower().endswith(".json") else name
    return sheet.with_name(stem + ".config.xml")


def status_for_table(X: pd.DataFrame, y: pd.Series, round_model: RoundModel, seed: int,
                     preprocessor: Any = None) -> Any:
    """The status of a table (``dami status``): this round's model as ``select`` would train it
    (``preprocessor``: one already fit on ``X``, e.g. by ``check_features``)."""
    from .._fit_table import fit_table
    from ..stopping import status_from_matrix

    round_model.check_columns([str(c) for c in X.columns])
    previous = round_model.previous_predictions(X)
    table = fit_table(X, y, random_state=seed, params=round_model.params, preprocessor=preprocessor,
                      warm=round_model.warm_source, warm_name=round_model.shown)
    round_model.notes.extend(table.notes)
    matrix, labeled, codes, classes, model = table.matrix, table.labeled, table.codes, table.classes, table.model
    params = {k: v for k, v in (round_model.params or {}).items() if k not in ("random_state", "warm_start")}
    return status_from_matrix(matrix, labeled, codes, classes, model=model, model_on_codes=True,
                              previous_predictions=previous, history=round_model.history,
                              params=params or None, random_state=seed)
