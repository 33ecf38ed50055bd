"""The Numba policy module: disabling, lazy compilation, the cache policy, the notice, threads."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from dami_np import kernels as K
from dami_np.kernels import _numba_policy as P

from test_kernels_reference import JIT, ref_kcenter

needs_numba_jit = pytest.mark.skipif(not JIT, reason="compilation and caching need the Numba JIT")

# Calls the kernels (small input forced onto the kernel paths) and reports what compiled.
_SCRIPT = """
import json, sys, numpy as np
import dami_np.kernels as K
from dami_np.kernels import _numba_policy as P
out = {"enabled": K.NUMBA_ENABLED, "numba_loaded": "numba" in sys.modules,
       "compiled_at_import": sum(len(d.signatures) for d in P.dispatchers())}
P.SMALL_WORK = 0 if len(sys.argv) < 2 else float(sys.argv[1])
rng = np.random.default_rng(5)
x = rng.integers(0, 4, size=(120, 6)).astype(np.float64)
x[60:] = x[:60]
for m in K.METHODS:
    p, r = K.kcenter_greedy(x, 50, [0, 61], return_radii=True, method=m)
    out[m] = [p.tolist(), r.tolist()]
d, j = K.nearest_sq_distances(x, x[:7])
out["nearest"] = [d.tolist(), j.tolist()]
out["signatures"] = [str(s) for disp in P.dispatchers() for s in disp.signatures]
out["hits"] = sum(sum(disp.stats.cache_hits.values()) for disp in P.dispatchers() if hasattr(disp, "stats"))
out["misses"] = sum(sum(disp.stats.cache_misses.values()) for disp in P.dispatchers() if hasattr(disp, "stats"))
print(json.dumps(out))
"""


def _run(env_extra: dict, *args: str, script: str = _SCRIPT) -> tuple[dict, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAMI_NP_", "NUMBA_CACHE_DIR"))}
    env.update(env_extra)
    res = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1]), res.stderr


def _reference() -> dict:
    rng = np.random.default_rng(5)
    x = rng.integers(0, 4, size=(120, 6)).astype(np.float64)
    x[60:] = x[:60]
    p, r = ref_kcenter(x, 50, [0, 61])
    return {"picks": p.tolist(), "radii": r.tolist()}


def test_disable_env_var_gives_numpy_path_with_identical_results(tmp_path, request):
    off, _ = _run({"DAMI_NP_DISABLE_NUMBA": "1"})
    assert off["enabled"] is False and off["numba_loaded"] is False
    cache = _copy_of(request.getfixturevalue("populated"), tmp_path) if JIT else tmp_path
    on, _ = _run({"DAMI_NP_DISABLE_NUMBA": "0", "NUMBA_CACHE_DIR": str(cache)})
    assert on["enabled"] is (importlib.util.find_spec("numba") is not None)
    ref = _reference()
    for res in (off, on):
        for m in K.METHODS:
            assert res[m] == [ref["picks"], ref["radii"]], m
    assert off["nearest"] == on["nearest"]


@pytest.fixture(scope="module")
def populated(tmp_path_factory):
    """One clean run on an empty cache directory: (result, stderr, directory)."""
    if not JIT:
        pytest.skip("compilation and caching need the Numba JIT")
    cache = tmp_path_factory.mktemp("numba-cache")
    res, err = _run({"NUMBA_CACHE_DIR": str(cache)})
    return res, err, cache


def _copy_of(populated, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(populated[2], tmp_path / "cache"))


@needs_numba_jit
def test_import_compiles_nothing_and_first_calls_compile_only_the_dtype_used(populated):
    res, err, _ = populated
    assert res["compiled_at_import"] == 0
    assert len(P.dispatchers()) >= 10  # the spy sees the kernels
    assert res["signatures"] and res["misses"] > 0 and res["hits"] == 0, "the forced kernel paths compiled nothing"
    assert err == ""  # compiling is quiet unless the notice is asked for
    # float64 input: no float32 (or uint32 row bits) variant was built; only the BLAS screen's
    # dot products are float32 whatever the input
    for sig in res["signatures"]:
        assert not sig.startswith("(Array(float32") and "uint32" not in sig, sig


@needs_numba_jit
def test_small_problems_compile_nothing(tmp_path):
    res, _ = _run({"NUMBA_CACHE_DIR": str(tmp_path)}, str(float(P.SMALL_WORK)))
    assert res["signatures"] == [] and res["misses"] == 0
    ref = _reference()
    assert res["auto"] == [ref["picks"], ref["radii"]]


@needs_numba_jit
@pytest.mark.parametrize("damage", ["truncate data", "truncate index", "garbage data"])
def test_a_damaged_cache_entry_costs_one_warning_line_then_is_repaired(populated, tmp_path, damage):
    clean = populated[0]
    cache = _copy_of(populated, tmp_path)
    env = {"NUMBA_CACHE_DIR": str(cache)}
    suffix = ".nbc" if "data" in damage else ".nbi"
    victim = sorted(cache.rglob(f"*_greedy_cells*{suffix}"))
    assert len(victim) == 1
    data = victim[0].read_bytes()
    victim[0].write_bytes(data[: len(data) // 2] if "truncate" in damage else b"not a pickle" * 10)
    damaged, err = _run(env)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "NumbaCacheWarning" in lines[0] and "NUMBA_CACHE_DIR" in lines[0]
    assert str(tmp_path) not in lines[0] and "/" not in lines[0].split("(", 1)[1]  # no absolute paths
    assert damaged["misses"] == 1  # only the damaged entry was compiled again
    for key in list(K.METHODS) + ["nearest"]:
        assert damaged[key] == clean[key], key
    again, err = _run(env)  # the fresh entry replaced the damaged one
    assert err.strip() == "" and again["misses"] == 0 and again["hits"] == clean["misses"]
    assert again["auto"] == clean["auto"]


@needs_numba_jit
def test_cache_off_and_compile_notice(populated, tmp_path):
    notice = {"DAMI_NP_COMPILE_NOTICE": "1"}
    first, err = _run(dict(notice, NUMBA_CACHE_DIR=str(tmp_path / "fresh")))
    assert err.splitlines() == [f"compiling kernels (first run only, ~{P.COMPILE_SECONDS_ESTIMATE} s)..."]
    second, err = _run(dict(notice, NUMBA_CACHE_DIR=str(_copy_of(populated, tmp_path))))
    assert err == "" and second["misses"] == 0 and second["auto"] == first["auto"]  # loaded: no notice
    script = _SCRIPT.replace("import dami_np.kernels as K", "import dami_np.kernels as K; K.set_compile_notice(True)")
    off, err = _run({"NUMBA_CACHE_DIR": str(tmp_path / "off"), "DAMI_NP_CACHE": "0"}, script=script)
    assert off["hits"] == 0 and off["misses"] > 0 and off["auto"] == first["auto"]
    assert err.splitlines() == [f"compiling kernels (~{P.COMPILE_SECONDS_ESTIMATE} s)..."]
    assert not (tmp_path / "off").exists()  # nothing written with the cache off


def _add_one(v):  # pragma: no cover - compiled
    return v + 1.0


@needs_numba_jit
def test_stamp_covers_every_kernel_source(tmp_path, monkeypatch):
    """Numba only checks the decorated function's own file; the stamp adds every kernels/*.py."""
    import numba

    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(P, "_dispatchers", [])
    h = hashlib.sha256()
    for path in sorted((Path(K.__file__).parent).glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    assert P.sources_hash() == h.hexdigest()

    def stats(f):
        return sum(f.stats.cache_hits.values()), sum(f.stats.cache_misses.values())

    f = P.kernel()(_add_one)
    assert f(1.0) == 2.0 and stats(f) == (0, 1)
    g = P.kernel()(_add_one)
    assert g(1.0) == 2.0 and stats(g) == (1, 0)  # same sources: loaded
    monkeypatch.setattr(P, "_sources_hash", "an edited _rowdist.py")
    h2 = P.kernel()(_add_one)
    assert h2(1.0) == 2.0 and stats(h2) == (0, 1)  # another source stamp: not loaded


@needs_numba_jit
def test_unwritable_cache_warns_once_and_compiles(tmp_path, monkeypatch):
    import numba
    from numba.core import caching

    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(P, "_dispatchers", [])
    monkeypatch.setattr(P, "_warned", False)

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "x.nbi"))

    monkeypatch.setattr(caching.IndexDataCacheFile, "_save_index", refuse)
    with pytest.warns(P.NumbaCacheWarning, match=r"PermissionError: Permission denied.*NUMBA_CACHE_DIR") as rec:
        f = P.kernel()(_add_one)
        assert f(1.0) == 2.0
    assert len(rec) == 1 and str(tmp_path) not in str(rec[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once per process
        g = P.kernel()(lambda v: v * 3.0)
        assert g(2.0) == 6.0


@needs_numba_jit
def test_unrelated_compile_errors_are_not_swallowed():
    import numba

    def broken(v):  # pragma: no cover - does not type
        return v + "text"

    with pytest.raises(numba.core.errors.TypingError):
        P.kernel()(broken)(1.0)


def test_thread_count_roundtrip_and_validation():
    before = K.get_num_threads()
    try:
        K.set_num_threads(1)
        assert K.get_num_threads() == 1
        for bad in (0, -1, 1.5, True) + ((10**6,) if K.NUMBA_ENABLED else ()):
            with pytest.raises(ValueError, match="set_num_threads"):
                K.set_num_threads(bad)
    finally:
        K.set_num_threads(before)
    assert K.get_num_threads() == before


def test_flags_exported():
    assert isinstance(K.NUMBA_ENABLED, bool)
    assert K.METHODS == ("auto", "numpy")
    assert np.asarray(K.kcenter_greedy(np.eye(3), 1)).dtype == np.int64


def test_kernels_import_nothing_from_dami_np():
    for path in Path(K.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert "dami_np" not in "\n".join(
            ln for ln in text.splitlines() if ln.lstrip().startswith(("import ", "from "))
        ), path.name
        assert "from .." not in text, path.name


@needs_numba_jit
def test_notice_follows_the_environment_at_compile_time_and_the_explicit_switch_wins(monkeypatch, capsys):
    monkeypatch.setattr(P, "_dispatchers", [])
    monkeypatch.setenv("DAMI_NP_CACHE", "0")  # always a real compilation
    expected = f"compiling kernels (~{P.COMPILE_SECONDS_ESTIMATE} s)...\n"
    cases = [(None, "1", expected), (False, "1", ""), (True, "0", expected), (None, "0", "")]
    for i, (switch, env, out) in enumerate(cases):
        monkeypatch.setattr(P, "_notice", switch)
        monkeypatch.setattr(P, "_noticed", False)
        monkeypatch.setenv("DAMI_NP_COMPILE_NOTICE", env)  # set after the import: still seen
        f = P.kernel()(eval(f"lambda v: v + {i}.5"))  # a new function: nothing to reuse
        assert f(1.0) == 1.5 + i and f(2.0) == 2.5 + i  # the second call compiles nothing
        assert capsys.readouterr().err == out, (switch, env)
