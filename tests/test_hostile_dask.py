"""``--dask`` addresses that are not (usable) schedulers: one line within the timeout, never a hang
or a 2.82 EiB MemoryError; Parquet inputs with nothing to read are one line naming them."""

from __future__ import annotations

import socket
import threading
import time

import pytest

pytest.importorskip("distributed")

from dami_np.cli import main  # noqa: E402
from _cli_checks import assert_one_error_line  # noqa: E402


def _run(capsys, *argv):
    start = time.monotonic()
    code = main([str(a) for a in argv])
    _, err = capsys.readouterr()
    return code, err, time.monotonic() - start


@pytest.fixture()
def server():
    """A loopback listener that answers each connection as ``kind`` says; closed after the test."""
    sockets = []

    def start(kind: str) -> int:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        sockets.append(listener)

        def serve() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                sockets.append(conn)
                if kind == "banner":
                    conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
                elif kind == "http":
                    try:
                        conn.recv(65536)
                        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    except OSError:
                        return
                elif kind == "close":
                    conn.close()

        threading.Thread(target=serve, daemon=True).start()
        return listener.getsockname()[1]

    yield start
    for sock in sockets:
        sock.close()


@pytest.fixture()
def parquet_dir(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.4], "y": ["p", "q", None, None]})
    folder = tmp_path / "parts"
    folder.mkdir()
    frame.to_parquet(folder / "part.0.parquet")
    return folder


@pytest.mark.parametrize("kind, needles", [
    ("silent", ("sent nothing within 1 s",)),
    ("http", ("sent nothing within 1 s",)),
    ("banner", ("is not a Dask scheduler", "SSH")),
    ("close", ("127.0.0.1",)),
])
def test_a_port_that_is_not_a_scheduler_is_one_line_within_the_timeout(capsys, server, parquet_dir, kind, needles):
    port = server(kind)
    code, err, took = _run(capsys, "select", parquet_dir, "--label", "y", "--budget", 1,
                           "--dask", f"127.0.0.1:{port}", "--dask-timeout", 1)
    assert_one_error_line(code, err, *needles)
    assert "MemoryError" not in err and took < 20


def test_a_refused_port_is_one_line_at_once(capsys, parquet_dir):
    code, err, took = _run(capsys, "select", parquet_dir, "--label", "y", "--budget", 1, "--dask", "tcp://127.0.0.1:1")
    assert_one_error_line(code, err, "tcp://127.0.0.1:1", "refused")
    assert took < 10


@pytest.mark.parametrize("address", ["127.0.0.1", "tcp://127.0.0.1:99999", "nohost:port"])
def test_an_address_that_is_not_one(capsys, parquet_dir, address):
    code, err, _ = _run(capsys, "select", parquet_dir, "--label", "y", "--budget", 1, "--dask", address)
    assert_one_error_line(code, err, address)


def test_a_scheduler_without_workers_is_reported_within_the_timeout(parquet_dir):
    import subprocess
    import sys
    from pathlib import Path

    from distributed import LocalCluster

    dami = str(Path(sys.executable).with_name("dami"))
    with LocalCluster(n_workers=0, processes=False, protocol="tcp://", dashboard_address=None,
                      host="127.0.0.1") as cluster:
        start = time.monotonic()
        run = subprocess.run([dami, "select", str(parquet_dir), "--label", "y", "--budget", "1",
                              "--dask", cluster.scheduler_address, "--dask-timeout", "1"],
                             capture_output=True, text=True, timeout=120)
        took = time.monotonic() - start
    assert_one_error_line(run.returncode, run.stderr, "no workers", cluster.scheduler_address)
    assert took < 60


@pytest.mark.parametrize("what", ["empty", "glob", "missing"])
def test_nothing_to_read_is_one_line_naming_it(capsys, tmp_path, what):
    empty = tmp_path / "empty"
    empty.mkdir()
    table = {"empty": empty, "glob": tmp_path / "*.parquet", "missing": tmp_path / "nope"}[what]
    code, err, took = _run(capsys, "select", table, "--label", "y", "--budget", 1, "--dask", "tcp://127.0.0.1:1")
    assert_one_error_line(code, err, str(table))
    assert took < 10


@pytest.mark.parametrize("value", ["0", "-1", "abc", "inf"])
def test_dask_timeout_must_be_positive_seconds(capsys, parquet_dir, value):
    code, err, _ = _run(capsys, "select", parquet_dir, "--label", "y", "--budget", 1, "--dask", "local:1",
                        "--dask-timeout", value)
    assert_one_error_line(code, err, "--dask-timeout")


def test_a_real_scheduler_with_a_worker_still_works(capsys, parquet_dir):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                      dashboard_address=None, host="127.0.0.1") as cluster:
        code = main(["select", str(parquet_dir), "--label", "y", "--budget", "1", "--strategy", "random",
                     "--dask", cluster.scheduler_address, "--dask-timeout", "5"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.splitlines()[0].startswith("row,")


@pytest.mark.parametrize("address", ["local:0", "local:99999", "local:two"])
def test_a_local_cluster_size_out_of_range_is_one_line(capsys, parquet_dir, address):
    code, err, took = _run(capsys, "select", parquet_dir, "--label", "y", "--budget", 1, "--dask", address)
    assert_one_error_line(code, err, address, "1 to 1024")
    assert took < 10


def test_a_continuous_dask_label_is_refused_like_on_one_machine():
    dd = pytest.importorskip("dask.dataframe")
    import numpy as np
    import pandas as pd
    from distributed import Client, LocalCluster

    import dami_np

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 2)), columns=["a", "b"])
    frame["y"] = np.round(rng.uniform(10, 100, 40), 2)
    frame.loc[25:, "y"] = np.nan
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster):
        data = dd.from_pandas(frame, npartitions=2)
        with pytest.raises(ValueError, match="continuous.*classes_anyway=True"):
            dami_np.select(data[["a", "b"]], data["y"], budget=2, random_state=0, strategy="random")
        picks = dami_np.query(data[["a", "b"]], data["y"], budget=2, random_state=0, strategy="random",
                              classes_anyway=True)
    assert len(picks) == 2


def test_a_server_that_sends_a_small_binary_greeting_is_not_taken_for_a_scheduler(capsys, parquet_dir):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            conn.sendall((16).to_bytes(8, "little") + b"\x00" * 16)
            time.sleep(5)
            conn.close()
        except OSError:
            return

    threading.Thread(target=serve, daemon=True).start()
    try:
        code, err, took = _run(capsys, "select", parquet_dir, "--label", "y", "--budget", 1,
                               "--dask", f"127.0.0.1:{listener.getsockname()[1]}", "--dask-timeout", 2)
    finally:
        listener.close()
    assert_one_error_line(code, err, "is not a Dask scheduler")
    assert took < 20
