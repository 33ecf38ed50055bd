"""The real ``dami select`` with a damaged Numba cache: one warning line, same picks, exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_kernels_reference import JIT

pytestmark = pytest.mark.skipif(not JIT, reason="the on-disk cache needs the Numba JIT")

DAMI = Path(sys.executable).with_name("dami")


def _select(table: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAMI_", "NUMBA_"))}
    env["NUMBA_CACHE_DIR"] = str(cache)
    argv = [str(DAMI), "select", str(table), "--label", "label", "--budget", "6", "--seed", "0",
            "--strategy", "kcenter_input"]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)


def test_truncated_cache_file_gives_one_warning_line_and_the_same_picks(tmp_path):
    assert DAMI.exists(), "the dami console script is not installed next to the interpreter"
    rng = np.random.default_rng(0)
    n = 3000  # 1,000 labeled rows as centers: enough work for the Numba kernels (not the NumPy passes)
    a, b = rng.normal(size=n), rng.normal(size=n)
    label = np.where(a > b, "yes", "no").astype(object)
    label[1000:] = None
    table = tmp_path / "t.csv"
    pd.DataFrame({"a": a, "b": b, "c": rng.choice(["x", "y"], n), "label": label}).to_csv(table, index=False)
    cache = tmp_path / "cache"

    clean = _select(table, cache)
    assert clean.returncode == 0 and clean.stderr == "", clean.stderr
    entries = sorted(cache.rglob("*.nbc"))
    assert entries, "dami select used no cached kernel: the test would prove nothing"
    data = entries[0].read_bytes()
    entries[0].write_bytes(data[: len(data) // 3])

    damaged = _select(table, cache)
    assert damaged.returncode == 0, damaged.stderr
    lines = [ln for ln in damaged.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "NUMBA_CACHE_DIR" in lines[0] and str(tmp_path) not in lines[0], damaged.stderr
    assert damaged.stdout == clean.stdout and clean.stdout.strip()

    repaired = _select(table, cache)
    assert repaired.returncode == 0 and repaired.stderr == "" and repaired.stdout == clean.stdout
