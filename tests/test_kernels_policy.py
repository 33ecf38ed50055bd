"""The Numba policy module: disabling, cache fallback, threads."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from dami_np import kernels as K
from dami_np.kernels import _numba_policy as P

_SCRIPT = """
import json, sys, numpy as np
import dami_np.kernels as K
rng = np.random.default_rng(5)
x = rng.integers(0, 4, size=(120, 6)).astype(np.float32)
x[60:] = x[:60]
out = {"enabled": K.NUMBA_ENABLED, "numba_loaded": "numba" in sys.modules}
for m in K.METHODS:
    p, r = K.kcenter_greedy(x, 50, [0, 61], return_radii=True, method=m)
    out[m] = [p.tolist(), r.tolist()]
d, j = K.nearest_sq_distances(x, x[:7])
out["nearest"] = [d.tolist(), j.tolist()]
print(json.dumps(out))
"""


def _run(env_extra: dict) -> dict:
    env = dict(os.environ, **env_extra)
    res = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_disable_env_var_gives_numpy_path_with_identical_results():
    off = _run({"DAMI_NP_DISABLE_NUMBA": "1"})
    assert off["enabled"] is False and off["numba_loaded"] is False
    on = _run({"DAMI_NP_DISABLE_NUMBA": "0"})
    assert on["enabled"] is (importlib.util.find_spec("numba") is not None)
    for key in list(K.METHODS) + ["nearest"]:
        assert off[key] == on[key], key
    assert all(on[m] == on["plain"] for m in K.METHODS)


@pytest.mark.skipif(not K.NUMBA_ENABLED, reason="needs Numba")
def test_cache_failure_warns_and_compiles_uncached(monkeypatch):
    real = P._njit
    calls = []

    def flaky(fn, sigs, parallel, cache):
        calls.append(cache)
        if cache:
            raise RuntimeError("cannot cache function 'f': no locator available for file '/ro/f.py'")
        return real(fn, sigs, parallel, cache)

    monkeypatch.setattr(P, "_njit", flaky)
    monkeypatch.setattr(P, "_cache_ok", True)

    def add_one(v):
        return v + 1.0

    with pytest.warns(P.NumbaCacheWarning, match="without cache"):
        f = P.kernel(lambda: [P.types().float64(P.types().float64)])(add_one)
    assert f(1.0) == 2.0 and calls == [True, False]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once; later kernels go straight to uncached
        g = P.kernel(lambda: [P.types().float64(P.types().float64)])(add_one)
    assert g(2.0) == 3.0 and calls == [True, False, False]


@pytest.mark.skipif(not K.NUMBA_ENABLED, reason="needs Numba")
def test_unrelated_compile_errors_are_not_swallowed(monkeypatch):
    def broken(fn, sigs, parallel, cache):
        raise RuntimeError("some typing problem")

    monkeypatch.setattr(P, "_njit", broken)
    monkeypatch.setattr(P, "_cache_ok", True)
    with pytest.raises(RuntimeError, match="typing"):
        P.kernel(lambda: [])(lambda v: v)


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
    assert set(K.METHODS) == {"auto", "screened", "pruned", "plain", "numpy"}
    assert np.asarray(K.kcenter_greedy(np.eye(3), 1)).dtype == np.int64
