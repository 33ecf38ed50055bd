"""A named section of a generated Markdown report that another generator owns.

``bench/results/label-efficiency.md`` is written by ``label_efficiency.py``; the learner comparison
(``label_efficiency_learners.py``) keeps its summary in the same file between two markers.  Each
generator rewrites only its own part: the learner script replaces its section, and
``label_efficiency.py`` carries every marked section over when it rewrites the rest.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_BLOCK = re.compile(r"<!-- section (?P<name>[\w-]+): begin -->\n.*?<!-- section (?P=name): end -->\n", re.S)


def marked(name: str, body: str) -> str:
    """``body`` between the begin and end markers of section ``name``."""
    return f"<!-- section {name}: begin -->\n{body.rstrip()}\n<!-- section {name}: end -->\n"


def sections(text: str) -> list[str]:
    """Every marked section of ``text``, markers included, in order."""
    return [m.group(0) for m in _BLOCK.finditer(text)]


def replace_section(path: Path, name: str, body: str) -> None:
    """Write section ``name`` of ``path`` (appended when absent), leaving the rest of the file as it is."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = marked(name, body)
    pattern = re.compile(rf"<!-- section {re.escape(name)}: begin -->\n.*?<!-- section {re.escape(name)}: end -->\n", re.S)
    new = pattern.sub(lambda _: block, text, count=1) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)
