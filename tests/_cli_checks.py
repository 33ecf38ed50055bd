"""Assertions shared by the CLI tests: a problem is one line on stderr, exit code 2, no traceback."""

from __future__ import annotations


def assert_one_error_line(code: int, err: str, *fragments: str) -> None:
    """``code`` is 2 and ``err`` is one ``dami: error:`` line holding every fragment."""
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dami: error: "), lines[0]
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
