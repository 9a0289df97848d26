"""One request and its answer, free of any web framework: what :mod:`edge.console.routes` sees.

The server (:mod:`edge.console.server`) reads the request within its limits, builds an
:class:`Exchange`, runs :func:`edge.console.routes.dispatch` on a worker thread and writes
``exchange.answer`` (or streams events when the route asked for the live stream). Cookies,
CSRF, same-origin checks and body parsing live here so routes stay a table of small functions.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from edge.console.actions import Actions
from edge.console.auth import Accounts, LoginThrottle, Session, Sessions, csrf_ok
from edge.console.board import Board
from edge.console.context import ConsoleContext
from edge.console.history import backfill
from edge.console.settings import ConsoleSettings
from edge.core.limits import LimitError, load_json

SESSION_COOKIE = "eg_session"
PRE_COOKIE = "eg_login"  # double-submit token guarding the login form itself
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
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


@dataclass
class Answer:
    status: int
    body: bytes
    ctype: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Exchange:
    """A request already read in full (``body`` bytes) and the answer the route gives."""

    console: Console
    command: str  # "GET", "HEAD" or "POST"
    path: str  # path and query as sent, e.g. "/login?expired=1"
    headers: Mapping[str, str]
    client_address: tuple[str, int]
    body: bytes = b""
    answer: Answer | None = None
    stream: Session | None = None  # set by the live-stream route: the server streams events

    # --- reading ----------------------------------------------------------------------------
    def cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie", ""))
        except CookieError:
            return {}
        return {k: m.value for k, m in jar.items()}

    def session(self) -> Session | None:
        return self.console.sessions.get(self.cookies().get(SESSION_COOKIE))

    def json_body(self) -> dict[str, Any] | None:
        """The body as a JSON object, or None after answering 400 (malformed or too deep)."""
        try:
            data = load_json(self.body or b"{}")
        except LimitError:
            data = None
        if not isinstance(data, dict):
            self.send_json(400, {"ok": False, "error": "bad_json", "message": "send a JSON object"})
            return None
        return data

    def form_body(self) -> dict[str, str] | None:
        try:
            parsed = parse_qs(self.body.decode("utf-8"), max_num_fields=20)
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

    # --- answering --------------------------------------------------------------------------
    def send(
        self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        self.answer = Answer(int(status), body, ctype, dict(headers or {}))

    def send_json(self, status: int, data: dict[str, Any]) -> None:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        self.send(status, body, "application/json; charset=utf-8")

    def send_html(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        self.send(status, text.encode(), "text/html; charset=utf-8", headers)

    def redirect(self, to: str, headers: dict[str, str] | None = None) -> None:
        self.send(HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": to, **(headers or {})})
