"""The console's HTTP server: stdlib ``ThreadingHTTPServer``, server-sent events, no framework.

A booth PC or phone talks to the gate over the LAN; the server is a few threads in the gate
process (one per open request, one per open Live page, capped by ``max_streams``), so it
adds a few MB to the gate's memory and nothing when idle. Routing lives in
:mod:`edge.console.routes`; this module owns sockets, cookies, CSRF, limits and errors.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
import threading
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from edge.console.actions import Actions
from edge.console.auth import Accounts, LoginThrottle, Session, Sessions, csrf_ok
from edge.console.board import Board
from edge.console.context import ConsoleContext
from edge.console.history import backfill
from edge.console.settings import ConsoleSettings

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # bytes; a zone or a note is far smaller, anything bigger is refused
SESSION_COOKIE = "eg_session"
PRE_COOKIE = "eg_login"  # double-submit token guarding the login form itself
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class Console:
    """Shared state of one console: accounts, sessions, throttle, board and actions."""

    def __init__(self, ctx: ConsoleContext, settings: ConsoleSettings) -> None:
        self.ctx = ctx
        self.settings = settings
        self.accounts = Accounts(ctx.store)
        self.sessions = Sessions(settings.session_idle_s, settings.session_max_s)
        self.throttle = LoginThrottle(
            settings.login_max_failures, settings.login_window_s, settings.lockout_s
        )
        self.board = Board()
        backfill(self.board, ctx.store, ctx.now())  # what happened before a restart
        self.board.attach(ctx.events)
        self.actions = Actions(ctx, self.board, self.accounts, settings)
        self.streams = threading.BoundedSemaphore(settings.max_streams)


class Handler(BaseHTTPRequestHandler):
    """One HTTP request. ``self.server.console`` is the shared :class:`Console`."""

    server: ConsoleHTTPServer
    # HTTP/1.0: one request per connection. With HTTP/1.1 keep-alive the browser tests saw a
    # request now and then never answered (about one full console run in three); a booth's
    # handful of requests does not need connection reuse, and SSE works the same.
    protocol_version = "HTTP/1.0"
    timeout = 60  # seconds a connection may sit silent (slow or idle clients free their thread)
    server_version = "edge-gate-console"
    sys_version = ""

    # --- plumbing -------------------------------------------------------------------------
    @property
    def console(self) -> Console:
        return self.server.console

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie", ""))
        except CookieError:
            return {}
        return {k: m.value for k, m in jar.items()}

    def session(self) -> Session | None:
        return self.console.sessions.get(self.cookies().get(SESSION_COOKIE))

    def send(
        self,
        status: int,
        body: bytes,
        ctype: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in {**SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, data: dict[str, Any]) -> None:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        self.send(status, body, "application/json; charset=utf-8")

    def send_html(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        self.send(status, text.encode(), "text/html; charset=utf-8", headers)

    def redirect(self, to: str, headers: dict[str, str] | None = None) -> None:
        self.send(HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": to, **(headers or {})})

    def read_body(self) -> bytes | None:
        """The request body, or None after answering 411/413 (missing or too large)."""
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.send_json(411, {"ok": False, "error": "length", "message": "length required"})
            return None
        if length < 0 or length > MAX_BODY:
            self.close_connection = True  # do not read a huge body just to discard it
            self.send_json(413, {"ok": False, "error": "too_large", "message": "request too large"})
            return None
        return self.rfile.read(length)

    def json_body(self) -> dict[str, Any] | None:
        raw = self.read_body()
        if raw is None:
            return None
        try:
            data = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            self.send_json(400, {"ok": False, "error": "bad_json", "message": "send a JSON object"})
            return None
        return data

    def form_body(self) -> dict[str, str] | None:
        raw = self.read_body()
        if raw is None:
            return None
        try:
            parsed = parse_qs(raw.decode("utf-8"), max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            parsed = {}
        return {k: v[0] for k, v in parsed.items()}

    def same_origin(self) -> bool:
        """Refuse a POST a browser marks as coming from another site (the token is checked too).

        Browsers send ``Origin`` (sometimes ``"null"``, e.g. under a strict referrer policy)
        and ``Sec-Fetch-Site``; scripts and old browsers send neither.
        """
        fetch_site = self.headers.get("Sec-Fetch-Site")
        if fetch_site is not None and fetch_site not in ("same-origin", "none"):
            return False
        origin = self.headers.get("Origin")
        if origin is None or origin == "null":
            return origin is None or fetch_site == "same-origin"
        return urlsplit(origin).netloc == self.headers.get("Host", "")

    def new_pre_token(self) -> tuple[str, dict[str, str]]:
        """The login form's double-submit token: kept while the browser has one, so two
        tabs (or a browser fetching the form twice) do not invalidate each other."""
        token = self.cookies().get(PRE_COOKIE, "")
        if not re.fullmatch(r"[A-Za-z0-9_-]{32}", token):
            token = secrets.token_urlsafe(24)
        cookie = f"{PRE_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict"
        return token, {"Set-Cookie": cookie}

    def check_csrf(self, session: Session, given: str | None) -> bool:
        if self.same_origin() and csrf_ok(session.csrf, given):
            return True
        self.send_json(
            403,
            {"ok": False, "error": "csrf", "message": "security token missing or wrong; reload"},
        )
        return False

    # --- entry points -----------------------------------------------------------------------
    def do_GET(self) -> None:
        self._guarded("GET")

    def do_HEAD(self) -> None:
        self._guarded("GET")

    def do_POST(self) -> None:
        self._guarded("POST")

    def _guarded(self, method: str) -> None:
        from edge.console.routes import dispatch

        try:
            dispatch(self, method, urlsplit(self.path).path)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away; nothing to answer
        except Exception:
            log.exception("console: %s %s failed", method, self.path)
            with contextlib.suppress(OSError):
                self.send_json(500, {"ok": False, "error": "internal", "message": "server error"})


class ConsoleHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # open Live pages must never keep the gate from shutting down
    console: Console
    # At most this many connections are served at once (one thread each); more are closed
    # at once, so a flood on the LAN cannot exhaust the Pi's memory with threads.
    max_connections = 32
    _slots: threading.BoundedSemaphore

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class ConsoleServer:
    """A running console. ``url`` is where to point the browser; ``stop()`` shuts it down."""

    def __init__(self, ctx: ConsoleContext, settings: ConsoleSettings) -> None:
        self.console = Console(ctx, settings)
        self.httpd = ConsoleHTTPServer((settings.bind, settings.port), Handler)
        self.httpd.console = self.console
        self.httpd._slots = threading.BoundedSemaphore(ConsoleHTTPServer.max_connections)
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{shown!s}:{port}/"

    def start(self) -> ConsoleServer:
        self._thread.start()
        log.info("guard console at %s", self.url)
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


def start_console(ctx: ConsoleContext, settings: ConsoleSettings) -> ConsoleServer:
    """Serve the console for ``ctx`` in a background thread; raises OSError if the port is busy."""
    return ConsoleServer(ctx, settings).start()
