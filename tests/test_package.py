"""Packaging invariants: the public surface and the `kernels` subpackage mapping."""

import subprocess
import sys

import dami_np


def _run_python(code: str) -> None:
    """Run ``code`` in a fresh interpreter; it must print ``ok``."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_import_does_not_create_top_level_kernels_module():
    _run_python(
        "import sys, dami_np, dami_np.kernels; "
        "assert 'kernels' not in sys.modules, sorted(m for m in sys.modules if m.startswith('kernels')); "
        "assert dami_np.kernels.__name__ == 'dami_np.kernels'; print('ok')"
    )


def test_import_does_not_pull_heavy_optional_dependencies():
    _run_python(
        "import sys, dami_np; dami_np.MLPClassifier; dami_np.query; dami_np.kernels; dami_np.datasets; "
        "heavy = [m for m in ('torch', 'matplotlib', 'sklearn') if m in sys.modules]; "
        "assert not heavy, heavy; print('ok')"
    )


def test_public_surface_is_documented_names():
    for name in ("MLPClassifier", "query", "simulate", "kernels", "datasets"):
        assert name in dami_np.__all__
        assert getattr(dami_np, name) is not None
    assert isinstance(dami_np.__version__, str)


def test_unknown_attribute_raises_attribute_error():
    try:
        dami_np.does_not_exist  # noqa: B018
    except AttributeError as error:
        assert "does_not_exist" in str(error)
    else:
        raise AssertionError("expected AttributeError")
