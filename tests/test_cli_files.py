"""The real ``dami`` process and the files around it: pipes, closed or full standard output,
signals, file modes. (Most bad-input cases run in-process in ``test_cli_bad_input.py``.)"""

from __future__ import annotations

import io
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DAMI = shutil.which("dami", path=str(Path(sys.executable).parent)) or shutil.which("dami")
SELECT = ["--label", "label", "--budget", "4", "--strategy", "margin", "--id", "key"]


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DAMI_DEBUG"}


def make_table(n: int = 80, labeled: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=n), rng.normal(size=n)
    label = np.where(a + 0.5 * b > 0, "yes", "no").astype(object)
    label[labeled:] = None
    return pd.DataFrame({"key": [f"k{i:03d}" for i in range(n)], "a": a, "b": b, "label": label})


@pytest.fixture()
def table(tmp_path: Path) -> Path:
    path = tmp_path / "table.csv"
    make_table().to_csv(path, index=False)
    return path


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    assert DAMI is not None, "the dami console script is not installed"
    kwargs.setdefault("capture_output", "stdout" not in kwargs)
    if "stdout" in kwargs:
        kwargs["stderr"] = subprocess.PIPE
    return subprocess.run([DAMI, *args], text=True, env=env(), timeout=300, **kwargs)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dami: error:"), result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    return lines[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_read_once_and_gives_the_same_picks(tmp_path: Path, table: Path):
    expected = run("select", str(table), *SELECT)
    assert expected.returncode == 0, expected.stderr
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    data = table.read_bytes()

    def feed() -> None:
        with open(fifo, "wb") as handle:  # blocks until dami opens the FIFO; written once
            handle.write(data)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    result = run("select", str(fifo), *SELECT)  # used to hang forever: pandas reopened the FIFO
    writer.join(timeout=10)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected.stdout


def test_standard_input_dash(table: Path):
    expected = run("select", str(table), *SELECT)
    result = run("select", "-", *SELECT, input=table.read_text())
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected.stdout


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_standard_output_is_an_error_not_a_success(table: Path):
    with open("/dev/full", "w") as full:
        result = run("select", str(table), *SELECT, stdout=full)
    assert result.returncode == 2
    assert "No space left on device" in one_error_line(result)


def test_closed_standard_output_is_refused_before_any_work(table: Path):
    started = time.perf_counter()
    result = subprocess.run(f'"{DAMI}" select "{table}" --label label --budget 4 >&-', shell=True,
                            capture_output=False, stderr=subprocess.PIPE, text=True, env=env(), timeout=300)
    assert result.returncode == 2
    assert "standard output is closed" in one_error_line(result)
    datasets = subprocess.run(f'"{DAMI}" datasets >&-', shell=True, stderr=subprocess.PIPE, text=True, env=env(),
                              timeout=300)
    assert datasets.returncode == 2 and "standard output is closed" in one_error_line(datasets)
    assert time.perf_counter() - started < 300


def test_a_reader_that_went_away_is_exit_141_without_noise():
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read: the first write gets EPIPE
    try:
        result = subprocess.run([DAMI, "datasets"], stdout=write_end, stderr=subprocess.PIPE, text=True, env=env(),
                                timeout=300)
    finally:
        os.close(write_end)
    assert result.returncode == 141, result.stderr
    assert result.stderr == ""


def test_out_to_a_device_is_written_in_place(table: Path):
    expected = run("select", str(table), *SELECT)
    result = run("select", str(table), *SELECT, "--out", "/dev/stdout")
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected.stdout


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_new_output_files_follow_the_umask(tmp_path: Path, table: Path, umask: int, mode: int):
    out = tmp_path / "picks.csv"
    result = run("select", str(table), *SELECT, "--out", str(out), preexec_fn=lambda: os.umask(umask))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == mode
    out.chmod(0o660)
    again = run("select", str(table), *SELECT, "--out", str(out), preexec_fn=lambda: os.umask(umask))
    assert again.returncode == 0, again.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o660  # an existing output keeps its mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["picks.csv", "table.csv"]


@pytest.mark.parametrize(("sig", "code", "jobs", "group"), [
    (signal.SIGTERM, 143, "1", False),  # timeout, docker stop: the main process only
    (signal.SIGTERM, 143, "2", False),  # ... which must stop its worker processes itself
    (signal.SIGTERM, 143, "2", True),  # CI cancellation: the whole process group
    (signal.SIGINT, 130, "2", True),  # Ctrl-C
])
def test_a_signal_stops_a_long_run_promptly_without_leaving_files(tmp_path: Path, sig, code, jobs, group):
    rng = np.random.default_rng(3)
    n = 600
    a, b = rng.normal(size=n), rng.normal(size=n)
    path = tmp_path / "full.csv"
    pd.DataFrame({"a": a, "b": b, "label": np.where(a * b > 0, "p", "q")}).to_csv(path, index=False)
    out = tmp_path / "run"
    process = subprocess.Popen(
        [DAMI, "simulate", str(path), "--label", "label", "--strategies", "random,margin", "--initial", "10",
         "--batch", "5", "--rounds", "60", "--seeds", "20", "--jobs", jobs, "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), start_new_session=True,
    )
    time.sleep(4.0)
    assert process.poll() is None, "the run ended before the signal; make it longer"
    if group:
        os.killpg(process.pid, sig)
    else:
        process.send_signal(sig)
    try:
        stdout, stderr = process.communicate(timeout=60)  # worker processes must not keep it alive
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError(f"dami simulate --jobs {jobs} did not stop within 60 s of the signal") from None
    assert process.returncode == code, stderr
    assert ("stopped by SIGTERM" if sig == signal.SIGTERM else "interrupted") in stderr
    assert "Traceback" not in stderr
    assert not out.exists()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # no worker process outlives the command
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError("worker processes were left running")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full.csv"]


def test_bad_input_leaves_every_file_as_it_was(tmp_path: Path, table: Path):
    previous = tmp_path / "picks.csv"
    previous.write_text("previous picks\n")
    previous.chmod(0o640)
    snapshot = {p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in tmp_path.iterdir()}
    cases = [
        ["select", str(table), "--label", "label", "--budget", "999", "--out", str(previous)],
        ["select", str(table), "--label", "nope", "--budget", "2", "--out", str(previous)],
        ["select", str(table), "--label", "label", "--budget", "2", "--out", str(tmp_path / "x.xlsx")],
        ["select", str(table), "--label", "label", "--budget", "2", "--exclude", "nope", "--out", str(previous)],
        ["simulate", str(table), "--label", "label", "--out", str(tmp_path / "sim")],  # unlabeled rows
    ]
    for argv in cases:
        result = run(*argv)
        assert result.returncode == 2, (argv, result.stderr)
        one_error_line(result)
    assert {p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in tmp_path.iterdir()} == snapshot
