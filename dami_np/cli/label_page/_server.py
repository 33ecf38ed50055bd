"""The HTTP side of ``dami label``: static files and a small JSON API, standard library only.

``GET /`` the page, ``GET /static/NAME`` its files, ``GET /api/state`` the session's state
(``?sync=1``: read the table again if another program changed it), ``POST /api/answer``
``{"token", "row", "label", "note"}``, ``POST /api/skip`` ``{"token", "row"}``, ``POST /api/undo``
``{"token"}``, ``POST /api/retry``.  Refusals are JSON ``{"error": "..."}`` with a 4xx status.

Served on loopback by default.  On another interface every request must carry the random access
token printed in the URL (``?key=...``, or the ``X-Dami-Key`` header the page sends).  POST
requests need the ``X-Dami-Page`` header and a JSON body (a page of another site cannot send
them without the browser asking first), and the Host header must name this server (DNS
rebinding).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
import socket
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._session import LabelSession, SessionError

_STATIC = {"index.html": "text/html; charset=utf-8", "page.js": "text/javascript; charset=utf-8",
           "page.css": "text/css; charset=utf-8"}
_MAX_BODY = 64 * 1024


class PortInUseError(OSError):
    """The port cannot be bound (in use, or not allowed)."""


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class LabelServer(ThreadingHTTPServer):
    """A threading HTTP server bound to one ``LabelSession``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, session: LabelSession) -> None:
        self.session = session
        self.key = None if is_loopback(host) else secrets.token_urlsafe(18)
        self.address_family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
        try:
            super().__init__((host.strip("[]"), port), _Handler)
        except OSError as error:
            raise PortInUseError(error.errno, _bind_message(host, port, error)) from None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else str(host)
        return f"http://{shown}:{port}/" + (f"?key={self.key}" if self.key else "")

    def allowed_hosts(self) -> set[str]:
        host, port = self.server_address[:2]
        names = {str(host), f"[{host}]"}
        if is_loopback(str(host)):
            names |= {"localhost", "127.0.0.1", "[::1]"}
        return {f"{name}:{port}" for name in names} | names


def _bind_message(host: str, port: int, error: OSError) -> str:
    if error.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
        return f"port {port} on {host} is in use (another dami label?); pick another with --port"
    return f"cannot serve on {host} port {port}: {error.strerror or error}"


class _Handler(BaseHTTPRequestHandler):
    server: LabelServer
    server_version = "dami-label"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return  # the session logs what matters; no line per request

    # ------------------------------------------------------------------ routing
    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        self._safely(self._get)

    def do_POST(self) -> None:  # noqa: N802
        self._safely(self._post)

    def _safely(self, handle: Any) -> None:
        """An unexpected error is one JSON line for the page and one line on the terminal, no traceback."""
        try:
            handle()
        except Exception as error:  # noqa: BLE001
            text = f"internal error: {type(error).__name__}: {' '.join(str(error).split())}"
            self.server.session.log(text)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, text)

    def _get(self) -> None:
        url = urlsplit(self.path)
        if not self._allowed(url):
            return
        if url.path in ("/", "/index.html"):
            self._static("index.html")
        elif url.path.startswith("/static/"):
            self._static(url.path[len("/static/"):])
        elif url.path == "/api/state":
            sync = parse_qs(url.query).get("sync", ["0"])[0] == "1"
            session = self.server.session
            self._json(HTTPStatus.OK, session.sync() if sync else session.state())
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no page {url.path}")

    def _post(self) -> None:
        url = urlsplit(self.path)
        if not self._allowed(url):
            return
        if self.headers.get("X-Dami-Page") != "1":
            self._error(HTTPStatus.FORBIDDEN, "requests must come from the labeling page (X-Dami-Page header)")
            return
        body = self._body()
        if body is None:
            return
        session = self.server.session
        try:
            if url.path == "/api/answer":
                state = session.answer(str(body.get("token", "")), body.get("row"), _text(body, "label"),
                                       _text(body, "note", required=False))
            elif url.path == "/api/skip":
                state = session.skip(str(body.get("token", "")), body.get("row"))
            elif url.path == "/api/undo":
                state = session.undo(str(body.get("token", "")))
            elif url.path == "/api/retry":
                state = session.retry()
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no action {url.path}")
                return
        except SessionError as error:
            self._error(HTTPStatus(error.status), str(error))
            return
        self._json(HTTPStatus.OK, state)

    # ------------------------------------------------------------------ checks
    def _allowed(self, url: Any) -> bool:
        host = self.headers.get("Host", "")
        if self.server.key is None and host not in self.server.allowed_hosts():
            self._error(HTTPStatus.FORBIDDEN, f"unexpected Host {host!r}")
            return False
        key = self.server.key
        if key is None:
            return True
        given = self.headers.get("X-Dami-Key") or parse_qs(url.query).get("key", [""])[0]
        if url.path.startswith("/static/") or hmac.compare_digest(given.encode(), key.encode()):
            return True
        self._error(HTTPStatus.FORBIDDEN, "this page needs the access key printed by dami label (?key=...)")
        return False

    def _body(self) -> dict[str, Any] | None:
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON (Content-Type: application/json)")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > _MAX_BODY:
            self._error(HTTPStatus.BAD_REQUEST, "bad Content-Length")
            return None
        try:
            body = json.loads(self.rfile.read(length).decode("utf-8") or "{}")
        except (ValueError, UnicodeDecodeError):
            self._error(HTTPStatus.BAD_REQUEST, "the request body is not JSON")
            return None
        if not isinstance(body, dict):
            self._error(HTTPStatus.BAD_REQUEST, "the request body must be a JSON object")
            return None
        return body

    # ------------------------------------------------------------------ responses
    def _static(self, name: str) -> None:
        kind = _STATIC.get(name)
        if kind is None:
            self._error(HTTPStatus.NOT_FOUND, f"no file {name}")
            return
        data = resources.files(__package__).joinpath("static", name).read_bytes()
        self._send(HTTPStatus.OK, data, kind)

    def _json(self, status: HTTPStatus, value: Any) -> None:
        self._send(status, json.dumps(value, allow_nan=False, default=str).encode("utf-8"),
                   "application/json; charset=utf-8")

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._json(status, {"error": message})

    def _send(self, status: HTTPStatus, data: bytes, kind: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Security-Policy",
                             "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:")
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise SessionError(400, f"the request has no {name!r}")
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise SessionError(400, f"{name!r} must be text")
    return str(value)
