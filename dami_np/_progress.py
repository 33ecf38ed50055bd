"""A tiny stderr progress bar (no tqdm)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


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
