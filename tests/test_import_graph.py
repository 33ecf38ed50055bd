"""Imports run one way: CLI -> select/query/simulate -> strategies -> model -> kernels."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path, package: str) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    parts = package.split(".")
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[: len(parts) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _modules(folder: Path, package: str):
    for path in sorted(folder.glob("*.py")):
        yield path, _imports(path, package)


def test_kernels_import_nothing_from_dami_np():
    offenders = {
        path.name: sorted(n for n in names if n == "dami_np" or (n.startswith("dami_np.") and not n.startswith("dami_np.kernels")))
        for path, names in _modules(ROOT / "kernels", "dami_np.kernels")
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, offenders


def test_strategies_do_not_import_the_round_or_the_cli():
    banned = ("dami_np._select", "dami_np._query", "dami_np.cli", "dami_np._simulate", "dami_np._pick_report")
    offenders = {
        path.name: sorted(n for n in names if n.startswith(banned))
        for path, names in _modules(ROOT / "dami_np" / "strategies", "dami_np.strategies")
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, offenders


def test_the_import_checker_sees_relative_imports():
    """The checker must resolve ``from .. import x`` (otherwise the tests above prove nothing)."""
    names = _imports(ROOT / "dami_np" / "strategies" / "_context.py", "dami_np.strategies")
    assert "dami_np._preprocess" in names
