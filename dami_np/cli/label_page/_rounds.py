"""One batch of picks: ``dami select`` itself, run as a child process.

The batch is exactly what ``dami select TABLE --budget N --model PREVIOUS --save-model NEXT``
picks (same checks, same warm start, same saved model and status lines), and the server's own
process stays free of the command's global state.  The child can be stopped at any time
(``cancel``); its one-line error becomes the page's message.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ._table_labels import TableOptions

_RUN_CLI = "import sys; from dami_np.cli import main; sys.exit(main(sys.argv[1:]))"
_STATUS_PREFIX = "dami: note: status: "
# "x2 +1.31, x4=b -0.87": a name, a space, a signed number; entries joined by ", "
_ENTRY = re.compile(r"(.+?) ([+-](?:\d[\d.]*(?:e[+-]?\d+)?|inf|nan))(?:, |$)")


class SelectError(Exception):
    """``dami select`` refused or failed (its one-line message)."""


@dataclass
class Pick:
    """One picked row: its data row, pick order, the model's guess and the explanation entries."""

    data_row: int
    pick: int
    predicted: str | None
    probability: float | None
    explanation: list[tuple[str, float]]
    distance: float | None = None


@dataclass
class Batch:
    """The picks of one ``dami select`` run and the status lines it printed."""

    picks: list[Pick]
    status: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_explanation(text: Any) -> list[tuple[str, float]]:
    """``"x2 +1.31, x4=b -0.87"`` -> ``[("x2", 1.31), ("x4=b", -0.87)]`` (anything else: [])."""
    if not isinstance(text, str):
        return []
    entries = [(m.group(1), float(m.group(2))) for m in _ENTRY.finditer(text.strip())]
    return [(name, weight) for name, weight in entries if math.isfinite(weight)]


def source_column(name: str, columns: Sequence[str]) -> str | None:
    """The input column an explanation entry speaks of (``x4=b`` -> ``x4``), None if none."""
    if name in columns:
        return name
    for at in [i for i, ch in enumerate(name) if ch == "="]:
        if name[:at] in columns:
            return name[:at]
    return None


class BatchSelector:
    """Runs ``dami select`` for a batch; ``cancel`` stops a running one (server shutdown)."""

    def __init__(self, options: TableOptions, *, strategy: str, seed: int, extra: Sequence[str] = ()) -> None:
        self.options = options
        self.strategy = strategy
        self.seed = seed
        self.extra = list(extra)
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._cancelled = False

    def command(self, budget: int, out: Path, model_in: str | None, model_out: Path) -> list[str]:
        o = self.options
        args = ["select", o.path, "--label", o.label, "--budget", str(budget), "--strategy", self.strategy,
                "--seed", str(self.seed), "--out", str(out), "--save-model", str(model_out), *o.reading_args()]
        if o.id_column is not None:
            args += ["--id", o.id_column]
        for value in o.features:
            args += ["--features", value]
        for value in o.exclude:
            args += ["--exclude", value]
        if model_in is not None:
            args += ["--model", model_in]
        return [sys.executable, "-c", _RUN_CLI, *args, *self.extra]

    def select(self, budget: int, out: Path, model_in: str | None, model_out: Path) -> Batch:
        """Pick ``budget`` rows; raises ``SelectError`` with ``dami select``'s message."""
        with self._lock:
            if self._cancelled:
                raise SelectError("the server is stopping")
            self._process = subprocess.Popen(self.command(budget, out, model_in, model_out),
                                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.PIPE, text=True, encoding="utf-8",
                                             errors="replace", start_new_session=True)
        process = self._process
        _, stderr = process.communicate()
        with self._lock:
            self._process = None
        lines = [line for line in stderr.splitlines() if line.strip()]
        if process.returncode != 0:
            errors = [line for line in lines if line.startswith("dami: error:")]
            shown = errors[-1] if errors else (lines[-1] if lines else f"exit code {process.returncode}")
            raise SelectError(shown.removeprefix("dami: error: ").removeprefix("dami: "))
        status = [line[len(_STATUS_PREFIX):] for line in lines if line.startswith(_STATUS_PREFIX)]
        notes = [line for line in lines if not line.startswith(_STATUS_PREFIX)]
        return Batch(_read_picks(out), status, notes)

    def cancel(self) -> None:
        """Stop a running selection (it writes only into the session's own folder)."""
        with self._lock:
            self._cancelled = True
            process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()


def _read_picks(path: Path) -> list[Pick]:
    records = json.loads(path.read_text(encoding="utf-8"))
    picks = []
    for record in records:
        probability = record.get("probability")
        predicted = record.get("predicted")
        picks.append(Pick(
            data_row=int(record["row"]),
            pick=int(record.get("pick", len(picks) + 1)),
            predicted=None if predicted is None else str(predicted),
            probability=None if probability is None else float(probability),
            explanation=parse_explanation(record.get("explanation")),
            distance=None if record.get("distance") is None else float(record["distance"]),
        ))
    picks.sort(key=lambda p: p.pick)
    return picks
