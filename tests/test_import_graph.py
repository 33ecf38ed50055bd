"""Imports run one way: CLI -> round (select/query/simulate) -> strategies -> model -> kernels.

Every layering rule of the README's development section is checked here on the source (AST, no
import), and the checker itself is tested on a synthetic package that breaks each rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# the layers, as module names (a name ending in "." is a package: every module in it)
KERNELS = ("dami_np.kernels.",)
STRATEGIES = ("dami_np.strategies.",)
MODEL = ("dami_np._mlp", "dami_np._mlp_math", "dami_np._local_linear", "dami_np._model_io", "dami_np._preprocess",
         "dami_np._labels", "dami_np._stratified", "dami_np._fit_table", "dami_np._validation",
         "dami_np._model_adapter", "dami_np._model_file_checks", "dami_np._network_weights", "dami_np._npz_reader",
         "dami_np._stable_rows", "dami_np._ensemble", "dami_np._self_training", "dami_np._pool_learner",
         "dami_np._pretrain", "dami_np._column_stats")
ROUND = ("dami_np._round", "dami_np._round_report", "dami_np._select", "dami_np._simulate")
CLI = ("dami_np.cli.",)
DASK = ("dami_np._dask.",)


def _imports(path: Path, package: str) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved), of every
    name imported from a module (``module.name``), and of every attribute read from a name an
    import bound (``import dami_np._round as r; r._f`` -> ``dami_np._round._f``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    parts = package.split(".")
    names: set[str] = set()
    bound: dict[str, str] = {}  # local name -> the absolute name it was imported as
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            bound.update((a.asname, a.name) for a in node.names if a.asname)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[: len(parts) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
            bound.update((a.asname or a.name, f"{module}.{a.name}") for a in node.names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
            names.add(f"{bound[node.value.id]}.{node.attr}")
    return names


def _source_modules(root: Path) -> dict[str, Path]:
    """Every module under ``root/dami_np`` and ``root/kernels`` (installed as ``dami_np.kernels``)."""
    found: dict[str, Path] = {}
    for base, prefix in ((root / "dami_np", "dami_np"), (root / "kernels", "dami_np.kernels")):
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(base).with_suffix("").parts
            if rel[-1] == "__init__":
                rel = rel[:-1]
            found[".".join((prefix, *rel))] = path
    return found


def _in(module: str, layer: tuple[str, ...]) -> bool:
    """``module`` (or a name imported from it) belongs to ``layer``."""
    for p in layer:
        if p.endswith(".") and (module.startswith(p) or module == p[:-1]):
            return True
        if module == p or module.startswith(p + "."):
            return True
    return False


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rsplit(".", 1)[0]


def _private_of(name: str, layer: tuple[str, ...]) -> bool:
    """``name`` is a private module of a package in ``layer`` (``dami_np.strategies._x``), or a
    private name imported from one (``dami_np.strategies._x.f``)."""
    for prefix in layer:
        if prefix.endswith(".") and name.startswith(prefix):
            return name[len(prefix):].startswith("_")
    return False


def _private_name_from(name: str, layer: tuple[str, ...]) -> bool:
    """``name`` is ``module._private`` for a module of ``layer``."""
    module, _, attr = name.rpartition(".")
    return _in(module, layer) and attr.startswith("_") and not attr.startswith("__")


def _face_imports(path: Path, package: str) -> set[str]:
    """Names reached through the package's lazy ``__getattr__`` instead of their module:
    ``from dami_np import kernels`` (or ``from .. import kernels``, ``select``, ``query``) and
    ``dami_np.select``/``dami_np.kernels`` after ``import dami_np``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    parts = package.split(".")
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = (".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
                      if node.level else (node.module or ""))
            if module == "dami_np":
                found.update(f"dami_np.{a.name}" for a in node.names if a.name in _FACE)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "dami_np":
            if node.attr in _FACE:
                found.add(f"dami_np.{node.attr}")
    return found


_FACE = ("kernels", "select", "query")
_ANY = (lambda n: True)  # noqa: E731

RULES = {
    "kernels import nothing from dami_np":
        (KERNELS, _imports, lambda n: n == "dami_np" or (n.startswith("dami_np.") and not _in(n, KERNELS))),
    "strategies never import the round, the CLI or Dask":
        (STRATEGIES, _imports, lambda n: _in(n, ROUND) or _in(n, CLI) or _in(n, DASK)),
    "the model never imports strategies, the round, the CLI or Dask":
        (MODEL, _imports, lambda n: _in(n, STRATEGIES) or _in(n, ROUND) or _in(n, CLI) or _in(n, DASK)),
    "the round never imports the CLI":
        (ROUND, _imports, lambda n: _in(n, CLI)),
    "the CLI never imports a private module of strategies":
        (CLI, _imports, lambda n: _private_of(n, STRATEGIES)),
    "Dask never imports a private name of the round":
        (DASK, _imports, lambda n: _private_name_from(n, ROUND)),
    "the round and Dask never import a private module of strategies":
        (ROUND + DASK, _imports, lambda n: _private_of(n, STRATEGIES)),
    "kernels and the round are imported by name, not through the lazy package face":
        (("dami_np.",), _face_imports, _ANY),
}


def _violations(root: Path) -> dict[str, dict[str, list[str]]]:
    """For each rule: module -> the imports that break it."""
    modules = _source_modules(root)
    out: dict[str, dict[str, list[str]]] = {}
    for rule, (layer, collect, banned) in RULES.items():
        for module, path in modules.items():
            if not _in(module, layer):
                continue
            bad = sorted(n for n in collect(path, _package_of(module, path)) if banned(n))
            if bad:
                out.setdefault(rule, {})[module] = bad
    return out


@pytest.mark.parametrize("rule", list(RULES))
def test_layering_rule_holds(rule):
    assert _violations(ROOT).get(rule, {}) == {}, rule


def test_every_module_a_rule_names_exists():
    """A rule naming a deleted module would silently prove nothing."""
    modules = _source_modules(ROOT)
    for layer in (KERNELS, STRATEGIES, MODEL, ROUND, CLI, DASK):
        for name in layer:
            if name.endswith("."):
                assert any(m.startswith(name) for m in modules), name
            else:
                assert name in modules, name


def test_the_import_checker_sees_relative_imports():
    """The checker must resolve ``from .. import x`` (otherwise the tests above prove nothing)."""
    names = _imports(ROOT / "dami_np" / "_fit_table.py", "dami_np")
    assert "dami_np._preprocess" in names and "dami_np._labels.encode_labels" in names
    names = _imports(ROOT / "dami_np" / "strategies" / "_context.py", "dami_np.strategies")
    assert "dami_np._fit_table" in names


_BAD_PACKAGE = {
    "dami_np/__init__.py": "",
    "dami_np/_round.py": "def _helper():\n    pass\n",
    "dami_np/_mlp.py": "from .strategies import margin\n",
    "dami_np/_select.py": "from .cli import main\n",
    "dami_np/strategies/__init__.py": "",
    "dami_np/strategies/_dami.py": "def f():\n    from .._round import run_round\n",
    "dami_np/strategies/_other.py": "from .. import kernels\n",
    "dami_np/cli/__init__.py": "",
    "dami_np/cli/_select.py": "import dami_np\nfrom ..strategies._dami import f\n\ndef g():\n    return dami_np.select\n",
    "dami_np/_dask/__init__.py": "",
    "dami_np/_dask/_round.py": "from .._round import _helper\n",
    "dami_np/_dask/_report.py": "from ..strategies._selection import Selection\n",
    "kernels/__init__.py": "",
    "kernels/_kcenter.py": "from dami_np._mlp import MLPClassifier\n",
}


def test_the_checker_catches_every_broken_rule(tmp_path):
    for name, text in _BAD_PACKAGE.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    found = _violations(tmp_path)
    assert found == {
        "kernels import nothing from dami_np": {"dami_np.kernels._kcenter": ["dami_np._mlp", "dami_np._mlp.MLPClassifier"]},
        "strategies never import the round, the CLI or Dask": {
            "dami_np.strategies._dami": ["dami_np._round", "dami_np._round.run_round"]},
        "the model never imports strategies, the round, the CLI or Dask": {
            "dami_np._mlp": ["dami_np.strategies", "dami_np.strategies.margin"]},
        "the round never imports the CLI": {"dami_np._select": ["dami_np.cli", "dami_np.cli.main"]},
        "the CLI never imports a private module of strategies": {
            "dami_np.cli._select": ["dami_np.strategies._dami", "dami_np.strategies._dami.f"]},
        "Dask never imports a private name of the round": {"dami_np._dask._round": ["dami_np._round._helper"]},
        "the round and Dask never import a private module of strategies": {
            "dami_np._dask._report": ["dami_np.strategies._selection", "dami_np.strategies._selection.Selection"]},
        "kernels and the round are imported by name, not through the lazy package face": {
            "dami_np.cli._select": ["dami_np.select"], "dami_np.strategies._other": ["dami_np.kernels"]},
    }


def test_the_checker_sees_private_names_read_through_a_module_and_the_newer_model_modules(tmp_path):
    """``from .. import _round`` then ``_round._helper()`` reaches a private name as surely as
    ``from .._round import _helper``; the model modules added since (pool learners, model-file
    readers) are held to the model's rule."""
    files = {
        "dami_np/__init__.py": "",
        "dami_np/_round.py": "def _helper():\n    pass\n",
        "dami_np/strategies/__init__.py": "",
        "dami_np/strategies/_dami.py": "",
        "dami_np/_dask/__init__.py": "",
        "dami_np/_dask/_remote_blocks.py": "from .. import _round\n\ndef f():\n    return _round._helper()\n",
        "dami_np/_dask/_report.py": "import dami_np.strategies._dami as d\n",
        "dami_np/cli/__init__.py": "",
        "dami_np/cli/_select.py": "from .. import strategies\n\ndef g():\n    return strategies._dami\n",
        "kernels/__init__.py": "",
    }
    for name in MODEL:
        files[name.replace(".", "/") + ".py"] = "from .strategies import margin\n"
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    found = _violations(tmp_path)
    assert found["Dask never imports a private name of the round"] == {"dami_np._dask._remote_blocks": ["dami_np._round._helper"]}
    assert found["the CLI never imports a private module of strategies"] == {"dami_np.cli._select": ["dami_np.strategies._dami"]}
    assert found["the round and Dask never import a private module of strategies"] == {
        "dami_np._dask._report": ["dami_np.strategies._dami"]}
    assert sorted(found["the model never imports strategies, the round, the CLI or Dask"]) == sorted(MODEL)
