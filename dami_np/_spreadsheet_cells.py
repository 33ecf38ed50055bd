"""Text cells safe to open in a spreadsheet (OWASP "CSV injection"), and the way back.

A text cell that starts with ``= + - @``, a tab or a carriage return is a formula to a
spreadsheet (``=HYPERLINK(...)``, ``+cmd|...``, ``@SUM(...)``); the CSV/TSV sheets and outputs
dami writes prefix such a cell with ``'`` (numbers such as ``-1.5`` stay as they are), and
``dami merge`` strips that prefix again when it reads a sheet back.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FORMULA_START", "guard_cell", "unguard_cell"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def guard_cell(value: Any) -> Any:
    """``value`` with ``'`` before it when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        try:
            float(value)  # a number such as -1.5 is no formula
        except ValueError:
            return "'" + value
    return value


def unguard_cell(value: Any) -> Any:
    """``value`` without the ``'`` that ``guard_cell`` put before it (anything else unchanged)."""
    if isinstance(value, str) and value.startswith("'") and guard_cell(value[1:]) == value:
        return value[1:]
    return value

