"""Long steps on a terminal (issue 25): the activity line shows the innermost step and its elapsed
time, clears itself, and is silent unless the CLI turned it on (a terminal, no -q)."""

from __future__ import annotations

import io
import time

from dami_np import _progress
from dami_np.cli import main


def test_activity_line_shows_the_running_step_then_clears(monkeypatch):
    stream = io.StringIO()
    _progress.show_activity(True, stream)
    try:
        with _progress.activity("round", delay=0.05):
            with _progress.activity("fit", delay=0.05):
                time.sleep(0.3)
    finally:
        _progress.show_activity(False)
    text = stream.getvalue()
    assert "\rdami: round > fit 0:00" in text and text.endswith("\r")
    assert text.split("\r")[-2].strip() == ""  # the last thing drawn is the blank that clears the line
    quiet = io.StringIO()
    _progress.show_activity(False, quiet)
    with _progress.activity("fit", delay=0.0):
        time.sleep(0.1)
    assert quiet.getvalue() == ""


def test_cli_turns_the_activity_line_on_only_for_a_terminal(monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(_progress, "show_activity", lambda on, stream=None: seen.append(on))
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    main(["datasets"])
    main(["datasets", "-q"])
    assert seen == [True, False]
