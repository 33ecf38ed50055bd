"""Which columns a command uses when a model file is involved (``status``, ``merge --save-model``).

A model file saved by ``dami select``/``dami merge --save-model`` remembers the table's label, id
and feature columns (``info["table"]``).  Explicit ``--features``/``--exclude``/``--id`` win;
without them the model file's choice is used, so a round that selected columns keeps them in
every later command; without a model file, the columns are chosen as ``dami select`` chooses.
"""

from __future__ import annotations

from typing import Any, Sequence

from ._errors import CliError


def table_info(saved: Any) -> dict[str, Any]:
    """The ``info["table"]`` of a loaded model file (``SavedModel`` or ``TableModel``), or ``{}``."""
    info = getattr(saved, "info", None)
    if info is None:
        info = getattr(saved, "info_", None) or {}
    table = info.get("table") if isinstance(info, dict) else None
    return dict(table) if isinstance(table, dict) else {}


def table_record(label: str, id_column: str | None, features: Sequence[str]) -> dict[str, Any]:
    """What a model file stores about its table (the agreed ``info["table"]``)."""
    return {"label": str(label), "id": None if id_column is None else str(id_column),
            "features": [str(c) for c in features]}


def model_id_column(given: str | None, saved: dict[str, Any], columns: Sequence[str]) -> str | None:
    """``--id`` when given, else the model file's id column when the table has it."""
    if given is not None:
        return given
    saved_id = saved.get("id")
    return saved_id if isinstance(saved_id, str) and saved_id in columns else None


def chosen_features(columns: Sequence[str], *, label: str, id_column: str | None, features: Any, exclude: Any,
                    saved: dict[str, Any], source: str, model_path: str | None) -> list[str]:
    """The feature columns: ``--features``/``--exclude`` when given, else the model file's, else select's rule."""
    from ._columns import feature_columns

    features = [features] if isinstance(features, str) else features
    exclude = [exclude] if isinstance(exclude, str) else exclude
    stored = saved.get("features")
    if features or exclude or not stored:
        return feature_columns(list(columns), label=label, id_column=id_column, features=features, exclude=exclude,
                               source=source)
    missing = [c for c in stored if c not in columns]
    if missing:
        shown = ", ".join(repr(c) for c in missing[:8]) + (", ..." if len(missing) > 8 else "")
        raise CliError(f"{source}: lacks feature column(s) {model_path} was trained on: {shown}")
    reserved = [c for c in stored if c in (label, id_column)]
    if reserved:
        raise CliError(f"{model_path} was trained on column {reserved[0]!r}, which is the label or --id column here")
    return [str(c) for c in stored]


def merge_columns(frame: Any, args: Any, target: Any) -> tuple[list[str], str | None]:
    """``merge --save-model``'s feature columns and id column: ``--features``/``--exclude`` when given,
    else those of ``--model FILE`` (the previous round's), else those of the model file being
    replaced (``--save-model`` an existing round file), else ``select``'s rule."""
    import os

    from .._model_io import load_model

    columns = [str(c) for c in frame.columns]
    saved: dict[str, Any] = {}
    source_path = getattr(args, "model", None)
    if source_path:
        saved = table_info(load_model(source_path))
    elif target is not None and os.path.isfile(target):
        try:
            saved = table_info(load_model(target))
            source_path = str(target)
        except ValueError:  # not a model file (yet): nothing to take over
            saved = {}
    id_column = model_id_column(getattr(args, "id", None), saved, columns)
    chosen = chosen_features(columns, label=args.label, id_column=id_column, features=getattr(args, "features", None),
                             exclude=getattr(args, "exclude", None), saved=saved, source=str(args.into),
                             model_path=source_path)
    return chosen, id_column
