"""Connecting to a Dask scheduler without hanging or crashing on whatever answers at the address.

``distributed.Client(address)`` waits far longer than its ``timeout`` for a port that accepts
but never replies, and a server that speaks first (SSH's banner) makes it read the banner as a
frame length and ask for exabytes.  So a ``tcp://`` address is probed first: the TCP connect and
the scheduler's greeting (it speaks first: an 8-byte length, then its handshake, which names
its compressions) must come within ``timeout`` seconds; then ``Client`` connects with that timeout and at least one
worker must join within it.  Every failure is a ``DaskConnectError`` (a ``ValueError``) of one
line naming the address.
"""

from __future__ import annotations

import socket
import time
from typing import Any

__all__ = ["DEFAULT_TIMEOUT", "DaskConnectError", "connect"]

# Seconds to connect, to hear the scheduler's greeting and to see a first worker.
DEFAULT_TIMEOUT = 10.0
# A scheduler's greeting is a few hundred bytes; anything claiming more is not one.
_MAX_GREETING = 1 << 20


class DaskConnectError(ValueError):
    """The address is not a Dask scheduler we can use; the message says why, in one line."""


def connect(address: str, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """A ``distributed.Client`` on the scheduler at ``address`` with at least one worker."""
    if not (isinstance(timeout, (int, float)) and timeout > 0 and timeout < 1e6):
        raise DaskConnectError(f"the Dask timeout must be a positive number of seconds, got {timeout!r}")
    host_port = _tcp_host_port(address)
    if host_port is not None:
        _probe(address, *host_port, timeout)
    from distributed import Client

    try:
        client = Client(address, timeout=timeout)
    except MemoryError:
        raise DaskConnectError(f"{address}: is not a Dask scheduler (its answer is not Dask's protocol)") from None
    except Exception as error:  # noqa: BLE001 - every error of Client() is one line
        raise DaskConnectError(f"cannot connect to the Dask scheduler at {address}: {_line(error)}") from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except Exception as error:  # noqa: BLE001 - TimeoutError, or the scheduler went away
        client.close()
        if isinstance(error, TimeoutError) or "timeout" in type(error).__name__.lower():
            raise DaskConnectError(f"the Dask scheduler at {address} has no workers (none joined within "
                                   f"{timeout:g} s); start workers (dask worker {address}) or use --dask local:N") from None
        raise DaskConnectError(f"the Dask scheduler at {address} failed: {_line(error)}") from None
    return client


def _tcp_host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a plain TCP address (``tcp://h:p`` or ``h:p``), else None (tls, ws, ...)."""
    text = str(address).strip()
    if text.startswith("tcp://"):
        text = text[len("tcp://"):]
    elif "://" in text:
        return None
    text = text.rstrip("/")
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise DaskConnectError(f"--dask {address!r} is not a scheduler address (tcp://HOST:PORT) or local:N")
    host = host.strip("[]") or "127.0.0.1"
    number = int(port)
    if not 0 < number < 65536:
        raise DaskConnectError(f"--dask {address!r}: port {number} is not a TCP port")
    return host, number


def _probe(address: str, host: str, port: int, timeout: float) -> None:
    """The scheduler at ``host:port`` accepts a connection and greets us within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.timeout:
        raise DaskConnectError(f"cannot connect to the Dask scheduler at {address}: no answer within {timeout:g} s") \
            from None
    except OSError as error:
        raise DaskConnectError(f"cannot connect to the Dask scheduler at {address}: "
                               f"{error.strerror or _line(error)}") from None
    with sock:
        try:
            head = _receive(sock, 8, deadline)
            if head is None:
                raise DaskConnectError(f"{address}: accepted the connection but sent nothing within {timeout:g} s: "
                                       "not a Dask scheduler (a web page, e.g. the dashboard, or a busy server?)")
            length = int.from_bytes(head, "little")
            body = _receive(sock, length, deadline) if 0 < length <= _MAX_GREETING else None
            if body is None or b"compression" not in body:  # Dask's handshake names its compressions
                shown = head.decode("ascii", "replace").strip()
                raise DaskConnectError(f"{address}: is not a Dask scheduler (it answered {shown!r}...; an SSH or "
                                       "other server?)")
        except OSError as error:
            raise DaskConnectError(f"cannot connect to the Dask scheduler at {address}: "
                                   f"{error.strerror or _line(error)}") from None


def _receive(sock: socket.socket, count: int, deadline: float) -> bytes | None:
    """``count`` bytes, or None when they do not all come before ``deadline`` or the peer closes."""
    data = b""
    while len(data) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            chunk = sock.recv(count - len(data))
        except socket.timeout:
            return None
        if not chunk:
            return None if not data else data.ljust(count, b"\0")
        data += chunk
    return data


def _line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return (text or type(error).__name__)[:200]
