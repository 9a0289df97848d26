"""URL routing of the console: pages, login/logout, the JSON API and the event stream.

Every route but ``/login`` and ``/static`` needs a live session; every POST needs the
session's CSRF token (header ``X-CSRF-Token`` or form field ``csrf``) and a same-site Origin.
An expired session sends pages to the login form with a message and API calls a 401 the
page script turns into the same redirect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from edge.console import booth, overrule, pages, search, visitors, watch
from edge.console.auth import User, csrf_ok
from edge.console.board import SCAN_FIELDS, alert_key, snapshot_path
from edge.console.context import HEALTH_KEYS

if TYPE_CHECKING:
    from edge.console.auth import Session
    from edge.console.exchange import Console, Exchange
    from edge.core.events import Event

MAX_IMAGE = 5 * 1024 * 1024  # bytes; a snapshot larger than this is not ours
KEEPALIVE_S = 15.0  # seconds between SSE comments, so proxies and browsers keep the stream
_ALERT = re.compile(r"^/api/alerts/([A-Za-z0-9_.:-]{1,80})/(ack|escalate|snapshot)$")
_CAMERA = re.compile(r"^/api/cameras/([A-Za-z0-9_-]{1,32})/snapshot$")
_HOUSEHOLD = re.compile(r"^/api/households/([A-Za-z0-9]{1,8}-[A-Za-z0-9]{1,8}-[A-Za-z0-9]{1,8})$")


Action = Callable[
    ["Console", "Session", dict[str, Any], tuple[str, ...]], tuple[int, dict[str, Any]]
]


def _set_lang(con: Console, session: Session, body: dict[str, Any], _: tuple[str, ...]) -> Any:
    status, answer = con.actions.set_lang(session.user, body)
    if status == 200:
        con.sessions.set_lang(session.token, answer["lang"])
    return status, answer


# The console's actions (POST, JSON body, CSRF checked before): path pattern -> function of
# (console, session, body, path groups) giving (HTTP status, JSON answer). Add new actions here.
POST_ROUTES: list[tuple[re.Pattern[str], Action]] = [
    (
        re.compile(r"^/api/alerts/([A-Za-z0-9_.:-]{1,80})/ack$"),
        lambda con, s, body, g: con.actions.acknowledge(s.user, g[0], body),
    ),
    (
        re.compile(r"^/api/alerts/([A-Za-z0-9_.:-]{1,80})/escalate$"),
        lambda con, s, body, g: con.actions.escalate(s.user, g[0], body),
    ),
    (re.compile(r"^/api/door/open$"), lambda con, s, body, g: con.actions.open_door(s.user, body)),
    (re.compile(r"^/api/zones$"), lambda con, s, body, g: con.actions.save_zone(s.user, body)),
    (re.compile(r"^/api/lang$"), _set_lang),
    (
        re.compile(r"^/api/scans/([0-9]{1,12})/decide$"),
        lambda con, s, body, g: overrule.decide(con, s.user, g[0], body),
    ),
    (
        re.compile(r"^/api/visitors$"),
        lambda con, s, body, g: visitors.register(con.ctx, s.user, body),
    ),
    (
        re.compile(r"^/api/visitors/(V-[0-9a-f]{1,16})/confirm$"),
        lambda con, s, body, g: visitors.confirm(con.ctx, s.user, g[0], body),
    ),
]


def dispatch(h: Exchange, method: str, path: str) -> None:
    if path.startswith("/static/") and method == "GET":
        found = pages.static_files().get(path[len("/static/") :])
        if found is None:
            h.send_json(404, {"ok": False, "error": "not_found", "message": "no such file"})
        else:
            h.send(200, found[0], found[1])
        return
    if path == "/login":
        return _login(h, method)
    session = h.session()
    if session is None:
        expired = "eg_session" in h.cookies()
        if path.startswith("/api/"):
            code = "session_expired" if expired else "login_required"
            h.send_json(401, {"ok": False, "error": code, "message": "please log in"})
        else:
            h.redirect("/login?expired=1" if expired else "/login")
        return
    user = session.user
    con = h.console
    if method == "GET":
        if path == "/":
            return h.redirect("/live")
        name = path.strip("/")
        if name == "kiosk":  # the resident's screen: its own page, no guard controls
            return h.send_html(200, pages.kiosk_page(_gate_label(con), session.csrf))
        if name in pages.PAGES:
            can_open = "1" if user.role in con.settings.manual_open_roles else ""
            extra = {"can_open": can_open, "note_max": str(con.settings.note_max_chars)}
            extra["tz"] = con.settings.zone()  # every page shows the gate's time, not the browser's
            if user.role in con.settings.overrule_roles:  # the Live page offers the prompt
                extra["overrule"] = ",".join(con.settings.overrule_reasons)
            return h.send_html(200, pages.page(name, session, _gate_label(con), extra))
        return _api_get(h, path, user)
    body = h.json_body() if path.startswith("/api/") else h.form_body()
    if body is None:
        return
    token = h.headers.get("X-CSRF-Token") or body.get("csrf")
    if not h.check_csrf(session, token if isinstance(token, str) else None):
        return
    if path == "/logout":
        con.sessions.drop(session.token)
        cookie = "eg_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
        return h.redirect("/login", {"Set-Cookie": cookie})
    for pattern, action in POST_ROUTES:
        m = pattern.match(path)
        if m:
            status, answer = action(con, session, body, m.groups())
            break
    else:
        status, answer = 404, {"ok": False, "error": "not_found", "message": "no such action"}
    h.send_json(status, answer)


def _gate_label(con: Console) -> str:
    """The gate's name, with its id when the name does not say it ("Main gate · demo-gate"):
    the guard must see which gate the console belongs to."""
    name, gate_id = con.ctx.gate_name, con.ctx.gate_id
    return name if gate_id.lower() in name.lower() else f"{name} · {gate_id}"


def _login(h: Exchange, method: str) -> None:
    con = h.console
    lang = "en" if "en" in h.headers.get("Accept-Language", "")[:2] else "zh"
    if method == "GET":
        token, cookie = h.new_pre_token()
        msg = pages.t(lang, "login_expired") if "expired=1" in h.path else ""
        return h.send_html(200, pages.login_page(lang, con.ctx.gate_name, token, msg), cookie)
    form = h.form_body()
    if form is None:
        return
    name, password = form.get("username", "").strip(), form.get("password", "")
    pre = h.cookies().get("eg_login")
    token, cookie = h.new_pre_token()
    if not pre or not h.same_origin() or not csrf_ok(pre, form.get("csrf", "")):
        page = pages.login_page(lang, con.ctx.gate_name, token, pages.t(lang, "login_csrf"))
        return h.send_html(403, page, cookie)
    keys = (f"user:{name.lower()}", f"addr:{h.client_address[0]}")
    wait = con.throttle.begin(*keys)  # reserved and counted before the slow hash
    if wait > 0:
        msg = pages.t(lang, "login_locked").replace("{s}", str(int(wait) + 1))
        return h.send_html(429, pages.login_page(lang, con.ctx.gate_name, token, msg), cookie)
    user = con.accounts.verify(name, password)
    if user is None:
        msg = pages.t(lang, "login_failed")
        page = pages.login_page(lang, con.ctx.gate_name, token, msg, name)
        return h.send_html(401, page, cookie)
    con.throttle.succeeded(*keys)
    session = con.sessions.create(user)
    h.redirect(
        "/live", {"Set-Cookie": f"eg_session={session.token}; Path=/; HttpOnly; SameSite=Strict"}
    )


def _api_get(h: Exchange, path: str, user: User) -> None:
    con, ctx = h.console, h.console.ctx
    if path == "/api/live":
        data = con.board.snapshot()
        data["door"] = {**ctx.door_state(), **data["door"]}
        data["zones"] = ctx.zones()
        return h.send_json(200, data)
    if path == "/api/events":
        return _stream(h)
    if path == "/api/attention":
        watch.check(con, ctx.now())  # colour changes in the lists, overdue alerts
        return h.send_json(200, booth.attention(con.board, ctx.now()))
    if path in ("/api/history", "/api/history.csv"):
        try:
            query = search.Query.parse(urlsplit(h.path).query)
        except search.QueryError as exc:
            return h.send_json(400, {"ok": False, "error": "bad_input", "message": str(exc)})
        if path == "/api/history":
            return h.send_json(200, search.search(ctx.store, query))
        name = f"{ctx.gate_id}-history.csv".replace('"', "")
        disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
        table = search.to_csv(ctx.store, query, con.settings.zone())
        return h.send(200, table, "text/csv; charset=utf-8", disposition)
    m = _HOUSEHOLD.match(path)
    if m:
        card = search.household_card(ctx.store, ctx.lists(), ctx.zones(), m.group(1))
        if card is None:
            return h.send_json(
                404, {"ok": False, "error": "not_found", "message": "no such household"}
            )
        return h.send_json(200, card)
    if path == "/api/visitors":
        data = {"recent": visitors.recent(ctx), "commitment": visitors.commitment()}
        return h.send_json(200, {**data, "available": ctx.visitor_key is not None})
    if path == "/api/kiosk":
        return h.send_json(200, booth.kiosk_state(con.board))
    if path == "/api/households":
        return h.send_json(200, con.actions.households())
    if path == "/api/health":
        info = ctx.health()
        data = {"keys": list(HEALTH_KEYS), "values": info, "now": ctx.now()}
        return h.send_json(200, {**data, "time_zone": con.settings.zone()})
    if path == "/api/cameras":
        households = sorted(ctx.lists().households)
        role_ok = user.role == "admin" and ctx.save_zone is not None
        data = {"cameras": ctx.cameras(), "zones": ctx.zones(), "households": households}
        return h.send_json(200, {**data, "can_edit": role_ok})
    m = _CAMERA.match(path)
    if m:
        known = {str(c.get("id")) for c in ctx.cameras()}
        jpeg = ctx.camera_snapshot(m.group(1)) if m.group(1) in known else None
        return _image(h, jpeg, "image/jpeg")
    m = _ALERT.match(path)
    if m and m.group(2) == "snapshot":
        row = con.board.alert(m.group(1))
        snap = snapshot_path(row.data) if row else None
        if snap is not None and not snap.is_absolute():
            # Recorded alerts name only the file; it lives in the perimeter's snapshot folder.
            snap = ctx.snapshot_dir / snap.name if ctx.snapshot_dir else None
        return _image(
            h, _read_image(snap), "image/png" if snap and snap.suffix == ".png" else "image/jpeg"
        )
    h.send_json(404, {"ok": False, "error": "not_found", "message": "no such page"})


def _read_image(path: Path | None) -> bytes | None:
    try:
        if path is None or not path.is_file() or path.stat().st_size > MAX_IMAGE:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _image(h: Exchange, data: bytes | None, ctype: str) -> None:
    if data is None:
        h.send_json(404, {"ok": False, "error": "no_picture", "message": "no picture"})
    else:
        h.send(200, data, ctype)


def _stream(h: Exchange) -> None:
    """Server-sent events: the server streams :func:`sse_frame` of each event for the session."""
    session = h.session()
    if session is None:
        h.send_json(401, {"ok": False, "error": "login_required", "message": "please log in"})
        return
    h.stream = session


def sse_frame(con: Console, event: Event) -> bytes | None:
    """One event as an SSE frame: scans in full, alert/door/guard changes as a nudge to
    refresh; None for kinds the page does not show."""
    if event.kind not in ("access", "alert", "door", "guard"):
        return None
    if event.kind == "alert" and con.board.alert(alert_key(event)) is None:
        con.board.on_event(event)  # the board's callback runs after queues fill
    data: dict[str, object] = {"kind": event.kind, "ts": event.ts}
    if event.kind == "access":
        scan = {k: event.data.get(k) for k in SCAN_FIELDS}
        data["scan"] = {"ts": event.ts, **scan}
    payload = json.dumps(data, ensure_ascii=False)
    return f"event: {event.kind}\ndata: {payload}\n\n".encode()
