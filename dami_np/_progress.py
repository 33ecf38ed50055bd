"""Progress on a terminal: a tiny stderr bar (``Progress``, counted steps) and an activity line
(``activity``, a step of unknown length: its name and elapsed time once it has run ~2 s).

Both are silent unless asked: ``Progress(enabled=...)`` per bar; ``activity`` only after
``show_activity(True)``, which the CLI calls when stderr is a terminal and ``-q`` is not given.
(tqdm would replace only the bar's 60 lines; it is not a dependency.)
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["Progress", "activity", "show_activity"]


class Progress:
    """``with Progress(total, "simulate") as bar: bar.update()`` draws ``simulate [####....] 3/8 0:04<0:07``.

    Disabled (``enabled=False``) it does nothing. Redraws at most every ``min_interval``
    seconds, and always at the end.
    """

    def __init__(
        self,
        total: int,
        label: str = "",
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        width: int = 24,
        min_interval: float = 0.2,
    ) -> None:
        self.total = max(int(total), 0)
        self.label = label
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        if self.stream is None:  # no stderr at all (2>&-)
            self.enabled = False
        self.width = width
        self.min_interval = min_interval
        self.done = 0
        self._start = time.perf_counter()
        self._last_draw = -float("inf")
        self._drawn_done = -1

    def __enter__(self) -> Progress:
        self._draw(force=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        """Advance by ``n`` steps."""
        self.done = min(self.done + n, self.total)
        self._draw(force=self.done >= self.total)

    def close(self) -> None:
        """Final redraw and newline."""
        if self.enabled:
            if self._drawn_done != self.done:
                self._draw(force=True)
            self.enabled = False
            try:
                self.stream.write("\n")
                self.stream.flush()
            except (OSError, ValueError):  # stderr closed or gone (terminal hung up): no bar, no crash
                pass

    def render(self) -> str:
        """The current bar as text (without the leading carriage return)."""
        fraction = self.done / self.total if self.total else 1.0
        filled = int(round(fraction * self.width))
        elapsed = time.perf_counter() - self._start
        text = f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} {_clock(elapsed)}"
        if 0 < self.done < self.total:
            text += f"<{_clock(elapsed / self.done * (self.total - self.done))}"
        return text.lstrip()

    def _draw(self, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        self._drawn_done = self.done
        try:
            self.stream.write("\r" + self.render())
            self.stream.flush()
        except (OSError, ValueError):  # stderr closed or gone (terminal hung up): no bar, no crash
            self.enabled = False


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# ---------------------------------------------------------------------- activity line
_ACTIVITY = {"on": False, "stream": None}
_stack: list[tuple[str, float]] = []
_lock = threading.Lock()
_ACTIVITY_DELAY = 2.0  # seconds before a step is shown
_ACTIVITY_EVERY = 0.5


def show_activity(on: bool, stream: TextIO | None = None) -> None:
    """Turn the activity line on (stderr must be a terminal: the CLI decides) or off."""
    _ACTIVITY["on"] = bool(on)
    _ACTIVITY["stream"] = stream


@contextmanager
def activity(label: str, *, delay: float = _ACTIVITY_DELAY) -> Iterator[None]:
    """While the block runs longer than ``delay`` seconds, show ``label`` and its elapsed time on one
    stderr line (nested steps: ``round > fit 0:04``); the line is cleared when the step ends."""
    if not _ACTIVITY["on"]:
        yield
        return
    stop = threading.Event()
    entry = (label, time.perf_counter())
    with _lock:
        _stack.append(entry)
    drawer = threading.Thread(target=_draw_activity, args=(stop, delay, entry), daemon=True)
    drawer.start()
    try:
        yield
    finally:
        stop.set()
        drawer.join()
        with _lock:
            if entry in _stack:
                _stack.remove(entry)


def _draw_activity(stop: threading.Event, delay: float, entry: tuple[str, float]) -> None:
    """The innermost running step draws the line (outer steps wait); it clears what it drew."""
    if stop.wait(delay):
        return
    stream = _ACTIVITY["stream"] or sys.stderr
    width = 0
    try:
        while True:
            with _lock:
                innermost = bool(_stack) and _stack[-1] is entry
                names = " > ".join(name for name, _ in _stack)
            if innermost:
                text = f"dami: {names} {_clock(time.perf_counter() - entry[1])}"
                width = max(width, len(text))
                stream.write("\r" + text.ljust(width))
                stream.flush()
            if stop.wait(_ACTIVITY_EVERY):
                break
        if width:
            stream.write("\r" + " " * width + "\r")
            stream.flush()
    except (OSError, ValueError, AttributeError):  # stderr closed or gone: no line, no crash
        pass
