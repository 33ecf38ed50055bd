"""A labeling session: the batch of picks on screen, answers, skips, undo, and the next batch.

Every request is checked under one lock: a page showing an earlier batch, a row that is not in
the batch, a card already answered (another tab), an unknown class or a table changed on disk by
another program each get one clear message and write nothing.  An answer is written to the table
before it counts (``_table_labels.write_answer``), so stopping the server loses at most the card
on screen.  When every card of a batch is answered or skipped, the next batch is picked in a
background thread (``_rounds``), warm-started from the previous batch's model.
"""

from __future__ import annotations

import csv
import os
import shutil
import string
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ._cards import Card, make_card
from ._rounds import Batch, BatchSelector, SelectError
from ._table_labels import (
    TableChangedError,
    TableLabels,
    TableOptions,
    check_unchanged,
    fingerprint,
    read_labels,
    write_answer,
)

# 1-9, then letters; s (skip), u (undo) and n (note) are the page's own keys
CLASS_KEYS = tuple("123456789") + tuple(c for c in string.ascii_lowercase if c not in "sun")


class SessionError(Exception):
    """A request the session refuses: ``status`` is the HTTP status, the text the page's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class SessionConfig:
    """What ``dami label`` was asked for (besides the table options)."""

    budget: int = 10
    strategy: str = "dami_margin"
    seed: int = 0
    model: str | None = None
    save_model: str | None = None
    classes: tuple[str, ...] = ()
    notes: str | None = None
    select_args: tuple[str, ...] = ()


@dataclass
class _Progress:
    batch: int = 0
    token: str = ""
    cards: list[Card] = field(default_factory=list)
    undo: list[tuple[int, str]] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    selecting: bool = False
    done: bool = False
    message: str = ""
    version: int = 0


class LabelSession:
    """The labeling loop behind the page (thread-safe; one per ``dami label``)."""

    def __init__(self, options: TableOptions, config: SessionConfig, *,
                 log: Callable[[str], None] | None = None) -> None:
        self.options = options
        self.config = config
        self._log = log or (lambda text: None)
        self._lock = threading.RLock()
        self._folder = Path(tempfile.mkdtemp(prefix="dami-label-"))
        self._selector = BatchSelector(options, strategy=config.strategy, seed=config.seed,
                                       extra=config.select_args)
        self._model: str | None = config.model
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.table: TableLabels = read_labels(options)
        self.progress = _Progress()

    # ------------------------------------------------------------------ batches
    def start(self) -> None:
        """Pick the first batch in the background (the page shows 'picking' meanwhile)."""
        self._next_batch()

    def wait_idle(self, timeout: float = 600.0) -> bool:
        """Wait until no batch is being picked (tests, shutdown); True when idle."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.progress.selecting

    def retry(self) -> dict[str, Any]:
        """Pick again after a failed selection."""
        with self._lock:
            if self.progress.selecting:
                raise SessionError(409, "the next batch is already being picked")
            if any(card.state == "open" for card in self.progress.cards):
                raise SessionError(409, "this batch still has cards to answer")
            self._next_batch()
            return self.state()

    def _next_batch(self) -> None:
        with self._lock:
            if self._stopping:
                return
            self.progress.selecting = True
            self.progress.message = ""
            self._changed()
            self._thread = threading.Thread(target=self._select, name="dami-label-select", daemon=True)
            self._thread.start()

    def _select(self) -> None:
        number = self.progress.batch + 1
        try:
            with self._lock:
                self._reread()
                pool = sum(1 for v in self.table.labels if v is None)
            if pool == 0:
                with self._lock:
                    self._finish_selection(done=True)
                return
            out = self._folder / f"batch-{number}.json"
            model_out = self._folder / f"batch-{number}.npz"
            batch = self._selector.select(min(self.config.budget, pool), out, self._model, model_out)
            with self._lock:
                self._install(number, batch, model_out)
        except (SelectError, TableChangedError, ValueError, OSError) as error:
            with self._lock:
                self._finish_selection(message=f"picking batch {number} failed: {' '.join(str(error).split())}")
        except Exception as error:  # noqa: BLE001 - the page must say something, not hang (CliError included)
            with self._lock:
                self._finish_selection(message=f"picking batch {number} failed: {_one_line(error)}")

    def _finish_selection(self, *, done: bool = False, message: str = "") -> None:
        self.progress.selecting = False
        self.progress.done = done
        self.progress.message = message
        if self._stopping:
            return
        if message:
            self._log(message)
        elif done:
            self._log("every row of the table is labeled")
        self._changed()

    def _install(self, number: int, batch: Batch, model_out: Path) -> None:
        self._reread()
        if model_out.exists():
            self._model = str(model_out)
            self._save_model(model_out)
        cards = [make_card(pick, self.table, self.options) for pick in batch.picks]
        cards = [card for card in cards if card is not None]
        self.progress = _Progress(batch=number, token=uuid.uuid4().hex, cards=cards, status=list(batch.status),
                                  version=self.progress.version)
        self._finish_selection()
        for line in batch.notes:  # dami select's warnings (a model not saved, odd labels...) reach the terminal
            if line.startswith("dami: warning: "):
                self._log(f"batch {number}: {line.removeprefix('dami: warning: ')}")
        self._log(f"batch {number}: {len(cards)} rows to label")

    def _save_model(self, model_out: Path) -> None:
        if self.config.save_model is None:
            return
        from .._table_writer import write_files

        write_files([(Path(self.config.save_model), lambda tmp: shutil.copyfile(model_out, tmp))])

    # ------------------------------------------------------------------ answers
    def answer(self, token: str, data_row: int, label: str, note: str = "") -> dict[str, Any]:
        """Write ``label`` for ``data_row`` into the table, then count it."""
        with self._lock:
            index, card = self._open_card(token, data_row)
            label = str(label)
            if label not in self.classes():
                raise SessionError(400, f"class {label!r} is not one of {', '.join(map(repr, self.classes()))}; "
                                        "start dami label with --classes to add one")
            try:
                write_answer(self.options, data_row, label, self.table.fingerprint)
            except TableChangedError as error:
                raise self._changed_on_disk(error) from None
            except Exception as error:  # noqa: BLE001 - merge's refusal (CliError, ValueError) or a write error
                raise SessionError(409, _write_error(error)) from None
            self._after_write(data_row, label)
            card.state, card.answer, card.note = "answered", label, str(note or "")
            self.progress.undo.append((index, "answered"))
            if card.note.strip():
                try:
                    self._write_note(card)
                except OSError as error:
                    self.progress.message = (f"row {data_row}: the answer is written, but the note could not be "
                                             f"saved: {error.strerror or error}")
                    self._log(self.progress.message)
            self._log(f"row {data_row}: {label}")
            return self._after_action()

    def skip(self, token: str, data_row: int) -> dict[str, Any]:
        """Leave the row unlabeled (nothing written); it may be picked again in a later batch."""
        with self._lock:
            index, card = self._open_card(token, data_row)
            card.state = "skipped"
            self.progress.undo.append((index, "skipped"))
            return self._after_action()

    def undo(self, token: str) -> dict[str, Any]:
        """Take back the last answer or skip of this batch (an answer's label cell is emptied again)."""
        with self._lock:
            self._check_token(token)
            if not self.progress.undo:
                raise SessionError(409, "nothing to undo in this batch")
            index, what = self.progress.undo[-1]
            card = self.progress.cards[index]
            if what == "answered":
                try:
                    write_answer(self.options, card.data_row, None, self.table.fingerprint)
                except TableChangedError as error:
                    raise self._changed_on_disk(error) from None
                except Exception as error:  # noqa: BLE001
                    raise SessionError(409, _write_error(error)) from None
                self._after_write(card.data_row, None)
                self._log(f"row {card.data_row}: answer {card.answer!r} taken back")
            self.progress.undo.pop()
            card.state, card.answer = "open", None
            self._changed()
            return self.state()

    def _open_card(self, token: str, data_row: Any) -> tuple[int, Card]:
        self._check_token(token)
        try:
            data_row = int(data_row)
        except (TypeError, ValueError):
            raise SessionError(400, f"row {data_row!r} is not a row number") from None
        for index, card in enumerate(self.progress.cards):
            if card.data_row == data_row:
                if card.state == "answered":
                    raise SessionError(409, f"row {data_row} was already answered ({card.answer!r}), perhaps in "
                                            "another tab; nothing written")
                if card.state == "skipped":
                    raise SessionError(409, f"row {data_row} was skipped (perhaps in another tab); undo to answer it")
                return index, card
        raise SessionError(404, f"row {data_row} is not in this batch")

    def _check_token(self, token: str) -> None:
        if self.progress.selecting:
            raise SessionError(409, "the next batch is being picked; wait a moment")
        if token != self.progress.token:
            raise SessionError(409, "this page shows an earlier batch; reload the page")

    def _changed_on_disk(self, error: TableChangedError) -> SessionError:
        self.progress.message = str(error)
        self._changed()
        return SessionError(409, str(error))

    def _after_write(self, data_row: int, label: str | None) -> None:
        position = self.table.position(data_row)
        old = self.table.labels[position] if position is not None else None
        if position is not None:
            self.table.labels[position] = label
        counts = self.table.counts
        if old is not None:
            counts[old] -= 1
            if counts[old] == 0:
                del counts[old]
        if label is not None:
            counts[label] = counts.get(label, 0) + 1
        self.table.fingerprint = fingerprint(self.options.path)
        self.progress.message = ""

    def _after_action(self) -> dict[str, Any]:
        self._changed()
        if all(card.state != "open" for card in self.progress.cards):
            self._next_batch()
        return self.state()

    def _write_note(self, card: Card) -> None:
        path = Path(self.config.notes or f"{self.options.path}.notes.csv")
        new = not path.exists()
        with open(path, "a", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(["time", "dami_row", self.options.id_column or "id", self.options.label, "note"])
            writer.writerow([time.strftime("%Y-%m-%dT%H:%M:%S"), card.data_row, card.row_id or "", card.answer,
                             card.note])
            handle.flush()
            os.fsync(handle.fileno())

    # ------------------------------------------------------------------ reading back
    def sync(self) -> dict[str, Any]:
        """A reloaded page: read the table again if another program changed it, then the state."""
        with self._lock:
            if not self.progress.selecting:
                try:
                    check_unchanged(self.options, self.table.fingerprint)
                except TableChangedError:
                    self._reread()
                    self.progress.message = (f"{self.options.path} was changed on disk by another program; "
                                             "the page now shows the table as it is")
                    self._changed()
            return self.state()

    def _reread(self) -> None:
        self.table = read_labels(self.options)
        for card in self.progress.cards:
            position = self.table.position(card.data_row)
            label = self.table.labels[position] if position is not None else None
            if card.state == "answered" and label == card.answer:
                continue
            if label is not None:
                card.state, card.answer, card.by_other = "answered", label, True
            elif card.state == "answered":
                card.state, card.answer = "open", None
        self.progress.undo = [(i, w) for i, w in self.progress.undo
                              if self.progress.cards[i].state == w and not self.progress.cards[i].by_other]

    def classes(self) -> list[str]:
        """The class buttons: the table's classes, then ``--classes`` not yet in it."""
        out = list(self.table.counts)
        out += [c for c in self.config.classes if c not in out]
        return out

    def state(self) -> dict[str, Any]:
        """Everything the page shows, as JSON-ready values."""
        with self._lock:
            p = self.progress
            classes = self.classes()
            return {
                "table": self.options.path, "label": self.options.label, "batch": p.batch, "token": p.token,
                "version": p.version, "selecting": p.selecting, "done": p.done, "message": p.message,
                "cards": [card.view() for card in p.cards],
                "classes": [{"name": c, "key": CLASS_KEYS[i] if i < len(CLASS_KEYS) else None,
                             "count": self.table.counts.get(c, 0)} for i, c in enumerate(classes)],
                "labeled": sum(self.table.counts.values()),
                "unlabeled": sum(1 for v in self.table.labels if v is None),
                "status": list(p.status), "can_undo": bool(p.undo),
                "model": self.config.save_model,
            }

    def log(self, text: str) -> None:
        """One line on the terminal (the server's messages)."""
        self._log(text)

    def _changed(self) -> None:
        self.progress.version += 1

    # ------------------------------------------------------------------ stopping
    def close(self) -> None:
        """Stop a running selection, wait for a write in progress, remove the session's folder."""
        self._stopping = True
        self._selector.cancel()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(10)
        shutil.rmtree(self._folder, ignore_errors=True)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _write_error(error: BaseException) -> str:
    return f"nothing written: {_one_line(error)}"

