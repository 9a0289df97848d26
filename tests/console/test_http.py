"""Bad input over HTTP: every refusal is clear (status + message) and nothing crashes."""

from __future__ import annotations

import json
from pathlib import Path

from console_rig import Client, Env, make_env

from edge.console import ConsoleServer
from edge.console.settings import ConsoleSettings
from edge.tools.console_demo import ZONE


def test_login_required_and_wrong_password(client: Client) -> None:
    status, body = client.api("GET", "/api/live")
    assert status == 401 and body["error"] == "login_required"
    assert client.login("guard1", "wrong-password") == 401
    assert client.login("nobody", "whatever-pass") == 401
    assert client.login("guard1") == 200
    assert client.api("GET", "/api/live")[0] == 200


def test_login_form_without_its_token_is_refused(env: Env) -> None:
    c = Client(env.url)
    form = b"username=guard1&password=guard-pass-1&csrf=forged"
    status, page, _ = c.request("POST", "/login", form, {"Accept-Language": "en"})
    assert status == 403 and b"too old" in page


def test_login_throttle_locks_after_repeated_failures(tmp_path: Path) -> None:
    gen = make_env(tmp_path, login_max_failures=3)
    env = next(gen)
    try:
        c = Client(env.url)
        assert [c.login("guard1", "nope-nope") for _ in range(3)] == [401, 401, 401]
        status = c.login("guard1")  # even the right password waits out the lockout
        assert status == 429
        _, _page, _ = c.request("GET", "/login")
        assert c.login("guard1") == 429
    finally:
        gen.close()


def test_forged_or_missing_csrf_is_refused(client: Client, env: Env) -> None:
    client.login("admin1")
    status, body = client.api("POST", "/api/door/open", {"reason": "delivery"}, csrf="forged")
    assert status == 403 and body["error"] == "csrf"
    status, _raw, _ = client.request(
        "POST", "/api/door/open", b'{"reason": "x"}', {"Content-Type": "application/json"}
    )
    assert status == 403
    status, body = client.api("POST", "/api/lang", {"lang": "en"})
    assert status == 200  # the real token works
    assert [r for r in env.guard_records() if r["action"] == "manual_open"] == []


def test_cross_site_origin_is_refused(client: Client) -> None:
    client.login("admin1")
    headers = {
        "Content-Type": "application/json",
        "X-CSRF-Token": client.csrf,
        "Origin": "http://evil.example",
    }
    status, _raw, _ = client.request("POST", "/api/door/open", b'{"reason":"x"}', headers)
    assert status == 403


def test_expired_session(client: Client, env: Env) -> None:
    client.login("guard1")
    sessions = env.server.console.sessions
    sessions.clock = lambda: 10**9  # far in the future: idle and absolute limits both passed
    status, body = client.api("GET", "/api/live")
    assert status == 401 and body["error"] == "session_expired"
    status, _, url = client.request("GET", "/live")
    assert url.endswith("/login?expired=1")


def test_guard_cannot_do_admin_actions(client: Client, env: Env) -> None:
    client.login("guard1")
    status, body = client.api("POST", "/api/door/open", {"reason": "resident forgot phone"})
    assert status == 403 and "may not open" in body["message"]
    zone = {k: v for k, v in ZONE.items() if k != "source"}
    status, body = client.api("POST", "/api/zones", zone)
    assert status == 403 and "admin" in body["message"]
    assert env.guard_records() == []


def test_admin_manual_open_is_recorded_before_the_door_moves(client: Client, env: Env) -> None:
    client.login("admin1")
    status, body = client.api("POST", "/api/door/open", {"reason": ""})
    assert status == 400 and body["error"] == "missing"
    status, body = client.api("POST", "/api/door/open", {"reason": "elderly resident, no phone"})
    assert status == 200, body
    rec = body["record"]
    assert rec["kind"] == "guard" and rec["action"] == "manual_open"
    assert rec["user"] == "admin1" and rec["role"] == "admin" and rec["ts"] > 0
    assert env.gate.door.released


def test_malformed_zones_are_refused_with_a_reason(client: Client, env: Env) -> None:
    client.login("admin1")
    base = {"id": "z1", "camera": "corridor-3-2", "household": "3-2-601"}
    cases = {
        "corners": [[0.1, 0.1], [0.2, 0.2]],
        "outside": [[0.1, 0.1], [1.5, 0.1], [0.5, 0.9]],
        "cross": [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]],
        "area": [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]],
        "[x, y]": [[0.1], [0.2, 0.2], [0.3, 0.1]],
        "numbers": [["a", "b"], [0.2, 0.2], [0.3, 0.1]],
    }
    for words, polygon in cases.items():
        status, body = client.api("POST", "/api/zones", {**base, "polygon": polygon})
        assert status == 400 and words in body["message"], (words, body)
    ok = [[0.1, 0.1], [0.4, 0.1], [0.4, 0.5]]
    bad_fields = [
        ({"camera": "no-such-camera"}, "cameras"),
        ({"household": "<script>"}, "building-unit-room"),
        ({"id": "a b"}, "zone name"),
    ]
    for extra, words in bad_fields:
        status, body = client.api("POST", "/api/zones", {**base, "polygon": ok, **extra})
        assert status == 400 and words in body["message"], (extra, body)
    assert env.ctx.zones() == []


def test_huge_note_and_huge_body_and_bad_json(client: Client, env: Env) -> None:
    client.login("guard1")
    env.gate.events.publish("alert", 1.0, id="a9", household="3-2-601")
    status, body = client.api("POST", "/api/alerts/a9/ack", {"note": "x" * 501})
    assert status == 413 and "too long" in body["message"]
    status, body = client.api("POST", "/api/alerts/a9/ack", {"note": "y" * 70_000})
    assert status == 413 and body["error"] == "too_large"
    headers = {"Content-Type": "application/json", "X-CSRF-Token": client.csrf}
    status, raw, _ = client.request("POST", "/api/alerts/a9/ack", b"{not json", headers)
    assert status == 400 and json.loads(raw)["error"] == "bad_json"
    status, body = client.api("POST", "/api/alerts/a9/ack", {"note": 42})
    assert status == 400
    status, body = client.api("POST", "/api/alerts/nope/ack", {"note": "ok"})
    assert status == 404
    status, body = client.api("POST", "/api/alerts/a9/ack", {"note": "seen"})
    assert status == 200
    status, body = client.api("POST", "/api/alerts/a9/ack", {"note": "again"})
    assert status == 409 and "guard1" in body["message"]
    assert len([r for r in env.guard_records() if r["action"] == "ack"]) == 1


def test_escalate_is_recorded(client: Client, env: Env) -> None:
    client.login("guard1")
    env.gate.events.publish("alert", 1.0, id="a10", household="3-2-601")
    status, _body = client.api("POST", "/api/alerts/a10/escalate", {"note": "no answer at door"})
    assert status == 200
    rec = next(r for r in env.guard_records() if r["action"] == "escalate")
    assert rec["alert"] == "a10" and rec["household"] == "3-2-601" and rec["user"] == "guard1"


def test_pages_static_and_unknown_paths(client: Client) -> None:
    assert client.request("GET", "/static/console.js")[0] == 200
    assert client.request("GET", "/static/../auth.py")[0] == 404
    client.login("guard1")
    for page in ("/live", "/cameras", "/households", "/health"):
        status, html, _ = client.request("GET", page)
        assert status == 200 and b"Content-Security" not in html
    assert client.request("GET", "/nope")[0] == 404
    assert client.request("GET", "/api/cameras/nope/snapshot")[0] == 404
    assert client.request("GET", "/api/cameras/corridor-3-2/snapshot")[1][:2] == b"\xff\xd8"
    assert client.api("POST", "/api/nope", {})[0] == 404
    status, _body = client.api("POST", "/api/lang", {"lang": "fr"})
    assert status == 400


def test_scan_events_never_carry_health_details(client: Client, env: Env) -> None:
    client.login("guard1")
    outcome = env.gate.process_text("https://shop.example/coupon/42")
    _status, body = client.api("GET", "/api/live")
    scan = body["scans"][0]
    assert set(scan) == {
        "ts",
        "seq",
        "allow",
        "reasons",
        "sentence_zh",
        "sentence_en",
        "household",
        "direction",
        "needs_guard",  # whether a guard may lift the refusal: the profile, not health
    }
    assert scan["sentence_en"] == outcome.decision.sentence("en") != ""


def test_recorded_alert_snapshot_is_found_in_the_snapshot_folder(client: Client, env: Env) -> None:
    """The service's alert records name only the snapshot file, relative to snapshot_dir."""
    env.ctx.snapshot_dir = env.tmp / "snaps"
    env.ctx.snapshot_dir.mkdir()
    (env.ctx.snapshot_dir / "abc.jpg").write_bytes(b"\xff\xd8fake-jpeg")
    client.login("guard1")
    env.gate.events.publish(
        "alert", 1.0, alert_id="abc", alert="person_in_zone", phase="new", snapshot="abc.jpg"
    )
    status, raw, _ = client.request("GET", "/api/alerts/abc/snapshot")
    assert status == 200 and raw.startswith(b"\xff\xd8")
    env.gate.events.publish("alert", 2.0, alert_id="evil", snapshot="../../etc/passwd")
    assert client.request("GET", "/api/alerts/evil/snapshot")[0] == 404


def test_door_state_and_last_event(client: Client, env: Env) -> None:
    client.login("admin1")
    assert client.api("GET", "/api/live")[1]["door"]["state"] == "locked"
    client.api("POST", "/api/door/open", {"reason": "ambulance crew"})
    door = client.api("GET", "/api/live")[1]["door"]
    assert door["state"] == "released" and door.get("event") == "granted"
    assert door.get("source") == "console"


def test_a_restarted_console_shows_recent_scans_alerts_and_acks(tmp_path: Path) -> None:
    gen = make_env(tmp_path)
    env = next(gen)
    try:
        gate = env.gate
        outcome = gate.process_text("https://shop.example/coupon/42")
        body = {"alert_id": "r1", "alert": "person_in_zone", "phase": "new", "household": "3-2-601"}
        rec = gate.store.append("alert", gate.clock.time(), body)
        gate.events.publish("alert", rec.ts, seq=rec.seq, **body)
        body2 = {"alert_id": "r2", "alert": "camera_offline", "phase": "new", "camera": "c1"}
        gate.store.append("alert", gate.clock.time(), body2)
        c = Client(env.url)
        c.login("guard1")
        assert c.api("POST", "/api/alerts/r1/ack", {"note": "seen"})[0] == 200
        env.server.stop()
        env.server = ConsoleServer(env.ctx, ConsoleSettings(port=0)).start()
        c = Client(env.url)
        c.login("guard1")
        live = c.api("GET", "/api/live")[1]
        alerts = {a["key"]: a for a in live["alerts"]}
        assert alerts["r1"]["acked_by"] == "guard1" and alerts["r1"]["note"] == "seen"
        assert alerts["r2"]["acked_by"] is None and alerts["r2"]["alert"] == "camera_offline"
        assert live["scans"][0]["sentence_en"] == outcome.decision.sentence("en") != ""
    finally:
        gen.close()


def test_logout_ends_the_session(client: Client) -> None:
    client.login("guard1")
    status, _, _ = client.request("POST", "/logout", b"csrf=forged")
    assert status == 403  # a forged logout is refused too
    status, _, url = client.request("POST", "/logout", f"csrf={client.csrf}".encode())
    assert url.endswith("/login")
    assert client.api("GET", "/api/live")[0] == 401


def test_refusals_speak_the_users_language(env: Env) -> None:
    c = Client(env.url)
    c.login("zhguard")
    status, body = c.api("POST", "/api/door/open", {"reason": "x"})
    assert status == 403 and body["message"] == "您的账号无权手动开门"
    env.gate.events.publish("alert", 1.0, id="z1")
    status, body = c.api("POST", "/api/alerts/z1/ack", {"note": "字" * 501})
    assert status == 413 and "最多 500 个字" in body["message"]


def test_zone_for_a_household_not_in_the_lists_is_saved_with_a_warning(client: Client) -> None:
    client.login("admin1")
    zone = {"id": "z9", "camera": "corridor-3-2", "household": "9-9-909"}
    status, body = client.api("POST", "/api/zones", {**zone, "polygon": [[0, 0], [1, 0], [1, 1]]})
    assert status == 200 and "disarmed" in body["warning"]
    zone["household"] = "3-2-601"
    status, body = client.api("POST", "/api/zones", {**zone, "polygon": [[0, 0], [1, 0], [1, 1]]})
    assert status == 200 and "warning" not in body
