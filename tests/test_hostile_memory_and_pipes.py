"""Out of memory is one line naming the step (exit 2); a reader that closes early is exit 141."""

from __future__ import annotations

import gzip
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dami_np._out_of_memory import out_of_memory_message, step

DAMI = str(Path(sys.executable).with_name("dami"))


def _limited(megabytes: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))
    return apply


def test_a_gzip_bomb_under_a_memory_limit_is_one_line(tmp_path):
    member = gzip.compress(b"1.5,2.5,x\n" * 1_600_000, compresslevel=1)  # 16 MB of CSV in ~70 kB
    bomb = tmp_path / "bomb.csv.gz"
    with open(bomb, "wb") as handle:
        handle.write(gzip.compress(b"a,b,y\n"))
        for _ in range(24):  # concatenated gzip members: 384 MB of CSV
            handle.write(member)
    assert bomb.stat().st_size < 4 << 20
    run = subprocess.run([DAMI, "select", str(bomb), "--label", "y", "--budget", "2", "--strategy", "random"],
                         capture_output=True, text=True, preexec_fn=_limited(600), timeout=300)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2 and len(lines) == 1, run.stderr
    assert lines[0].startswith(f"dami: error: out of memory while reading {bomb} ("), run.stderr
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr


def test_out_of_memory_names_the_innermost_step_and_the_size():
    with pytest.raises(MemoryError) as caught:
        with step("reading t.csv", 3 << 20), step("fit"):
            raise MemoryError("Unable to allocate 2.82 EiB for an array with shape (1, 2) and data type float64")
    text = out_of_memory_message(caught.value)
    assert text.startswith("out of memory while training the model (input 3 MiB, 2.82 EiB more was asked for); ")
    assert out_of_memory_message(MemoryError(), "select").startswith("out of memory while running dami select; ")
    with pytest.raises(OSError) as caught:
        with step("round"):
            raise OSError(12, "Cannot allocate memory")
    assert out_of_memory_message(caught.value).startswith("out of memory while choosing the rows;")


def test_a_thread_that_cannot_start_is_out_of_memory(tmp_path, capsys, monkeypatch):
    """Under ``ulimit -v`` a thread's stack may not fit: Python raises RuntimeError, not MemoryError."""
    with pytest.raises(RuntimeError) as caught:
        with step("fit"):
            raise RuntimeError("can't start new thread")
    assert out_of_memory_message(caught.value).startswith("out of memory while training the model;")
    from dami_np.cli import _select as select_command

    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "y": ["p", "q", None, None]}).to_csv(path, index=False)

    def no_thread(*args, **kwargs):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(select_command, "run_select", no_thread)
    from dami_np.cli import main

    code = main(["select", str(path), "--label", "y", "--budget", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("dami: error: out of memory while "), err
    assert "internal error" not in err


@pytest.fixture(scope="module")
def wide_output(tmp_path_factory):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(3000, 4)), columns=list("abcd"))
    frame["y"] = pd.Series(np.where(frame["a"] > 0, "p", "q"), dtype=object)
    frame.loc[40:, "y"] = None
    path = tmp_path_factory.mktemp("pipe") / "t.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_a_reader_that_closes_early_is_exit_141(wide_output, unbuffered):
    env = {**os.environ, "PYTHONUNBUFFERED": unbuffered}
    if not unbuffered:
        env.pop("PYTHONUNBUFFERED")
    process = subprocess.Popen([DAMI, "select", str(wide_output), "--label", "y", "--budget", "2000",
                                "--strategy", "random"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert process.stdout.read(10) == b"row,pick,d"
    process.stdout.close()
    stderr = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=120) == 141, stderr
    assert b"Traceback" not in stderr


def test_text_written_to_an_unbuffered_stdout_is_whole_or_a_broken_pipe():
    """Python's text layer on a raw stdout (PYTHONUNBUFFERED) drops what a pipe did not take;
    the CLI puts a buffered writer in between, so a closed reader is a BrokenPipeError."""
    code = ("import sys\nfrom dami_np.cli import _whole_writes_to_stdout\nrestore = _whole_writes_to_stdout()\n"
            "try:\n    sys.stdout.write('x' * 400000)\n    sys.stdout.flush()\n    print('complete', file=sys.stderr)\n"
            "except BrokenPipeError:\n    print('broken pipe', file=sys.stderr)\n")
    process = subprocess.Popen([sys.executable, "-u", "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.read(10) == b"x" * 10
    process.stdout.close()
    stderr = process.stderr.read()
    process.stderr.close()
    process.wait(timeout=60)
    assert b"broken pipe" in stderr and b"complete" not in stderr, stderr


@pytest.fixture(scope="module")
def million_rows(tmp_path_factory):
    rng = np.random.default_rng(0)
    block = pd.DataFrame(rng.normal(size=(1000, 5)).round(4), columns=list("abcde"))
    labeled = block.assign(y=np.where(block["a"] > 0, "p", "q")).iloc[:200]
    unlabeled = block.assign(y="").to_csv(index=False, header=False)
    path = tmp_path_factory.mktemp("big") / "million.csv"
    with open(path, "w") as handle:
        handle.write(labeled.to_csv(index=False))
        handle.write(unlabeled * 1000)  # 1,000,200 rows, 38 MB
    return path


@pytest.mark.parametrize("megabytes", [600, 750])
def test_a_million_rows_under_ulimit_v_is_one_line_naming_the_step(million_rows, megabytes):
    run = subprocess.run([DAMI, "select", str(million_rows), "--label", "y", "--budget", "5"],
                         capture_output=True, text=True, preexec_fn=_limited(megabytes), timeout=300)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    if run.returncode == 0:
        pytest.skip(f"the round fit into {megabytes} MB on this machine")
    assert run.returncode == 2 and len(lines) == 1, run.stderr
    assert lines[0].startswith("dami: error: out of memory while "), run.stderr
    assert "OpenBLAS" not in run.stderr and "internal error" not in run.stderr
