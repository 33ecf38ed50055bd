"""A card: one pick as the page shows it (row values, the model's guess, the explanation) and what
the user did with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._rounds import Pick, source_column
from ._table_labels import TableLabels, TableOptions, display_value

TOP_COLUMNS = 3


@dataclass
class Card:
    """One pick on the page: the row, the model's guess and explanation, and what the user did."""

    data_row: int
    pick: int
    predicted: str | None
    probability: float | None
    explanation: list[tuple[str, float]]
    values: list[dict[str, Any]]
    row_id: str | None = None
    state: str = "open"  # open | answered | skipped
    answer: str | None = None
    note: str = ""
    by_other: bool = False  # labeled by another program (seen when the table was read again)

    def view(self) -> dict[str, Any]:
        return {"row": self.data_row, "pick": self.pick, "predicted": self.predicted,
                "probability": self.probability, "id": self.row_id,
                "explanation": [{"name": n, "weight": w} for n, w in self.explanation],
                "values": self.values, "state": self.state, "answer": self.answer, "note": self.note,
                "by_other": self.by_other}


def make_card(pick: Pick, table: TableLabels, options: TableOptions) -> Card | None:
    """The card of a pick (None: the row is gone or labeled meanwhile): the columns its explanation
    names first (at most ``TOP_COLUMNS``, marked ``top``), then the others in table order."""
    position = table.position(pick.data_row)
    if position is None or table.labels[position] is not None:
        return None
    frame = table.frame
    columns = [str(c) for c in frame.columns]
    shown = [c for c in columns if c not in (options.label, options.id_column)]
    top: list[str] = []
    for name, _ in pick.explanation:
        column = source_column(name, shown)
        if column is not None and column not in top:
            top.append(column)
    top = top[:TOP_COLUMNS]
    ordered = top + [c for c in shown if c not in top]
    row = frame.iloc[position]
    values = [{"column": c, "value": display_value(row[c]), "top": c in top} for c in ordered]
    row_id = display_value(row[options.id_column]) if options.id_column else None
    return Card(pick.data_row, pick.pick, pick.predicted, pick.probability, pick.explanation, values, row_id)
