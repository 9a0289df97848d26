"""Issue 22 item 4, the scan half: a resident whose health code shows another colour at the
gate than last time warns the guards.

Through the real gate pipeline (a rendered camera frame → QR scanner → pass verified with the
demo issuer's key → health code checked online against a platform on loopback → decision →
records) and the real console over HTTP: the gate remembers the last colour per resident and
writes one ``colour_change`` alert record (``reason: "scan: colour green → yellow"``) that the
console's attention API shows; the access events keep carrying no health details.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from brokerkit import running_broker
from console_rig import OUTPUT, PASSWORDS, Client, colour_map
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gpiozero.pins.mock import MockFactory

from edge.app.config import Config
from edge.app.console_context import console_context
from edge.app.gate import Gate, build_gate
from edge.central.receiver import Receiver
from edge.console import ConsoleServer
from edge.console.board import SCAN_FIELDS, Board
from edge.console.booth import attention
from edge.console.settings import ConsoleSettings
from edge.core.events import Event
from edge.core.records import EventKind
from edge.gate.credentials import passes
from edge.gate.credentials.settings import ClockSettings, HealthOnlineSettings
from edge.gate.credentials.trust import save_keypair
from edge.gate.credentials.verified import Role
from edge.gate.rules.profile import Mode, Rules
from edge.gate.settings import GateSettings
from edge.store.settings import StoreSettings
from edge.sync.client import LinkSettings
from edge.sync.service import SyncService
from edge.sync.settings import SyncSettings
from edge.tools.demo import demo_trust
from edge.tools.localbroker import PASSWORD, Broker
from edge.tools.render import render_frame

GATE = "gate-colour"
HEALTH_CODE = "HC:zhang-san-0001"  # the resident's own 健康码: the platform says its colour
HOUSEHOLD = ("3", "1", "103")  # colour_map(): a green, normal household


class Platform(BaseHTTPRequestHandler):
    """The regional health-code platform's check interface: the colour set for the code."""

    colours: ClassVar[dict[str, str]] = {}

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        asked = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        body = json.dumps({"data": {"codeColor": self.colours[asked["code"]]}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def platform() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Platform)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/check"
    server.shutdown()
    server.server_close()
    thread.join()


def config(tmp: Path, platform: str, sync: SyncSettings | None = None) -> Config:
    health = HealthOnlineSettings(
        enabled=True, endpoint=platform, timeout_s=2.0, cache_ttl_s=0.0, code_prefixes=["HC:"]
    )
    return Config().model_copy(
        update={
            "gate": GateSettings(id=GATE),
            "store": StoreSettings(path=tmp / "gate.sqlite3"),
            "health": health,
            "clock": ClockSettings(check="off"),  # no NTP in the test machine
            "rules": Rules(health_code=Mode.HARD),  # the health code must be green to enter
            **({"sync": sync} if sync is not None else {}),
        }
    )


def gate_for(tmp: Path, platform: str, sync: SyncSettings | None = None) -> Gate:
    return build_gate(
        config(tmp, platform, sync),
        trust=demo_trust(),
        lists=colour_map(),
        pin_factory=MockFactory(),
    )


def resident_pass() -> str:
    # the demo issuer's deterministic key (edge.tools.demo), which demo_trust() trusts
    issuer = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"demo-issuer").digest())
    now = int(time.time())
    body = passes.PassBody(
        "P-ZS1", "h-zhangsan", *HOUSEHOLD, Role.RESIDENT, now - 86_400, now + 30 * 86_400
    )
    return passes.issue(body, issuer)


PASS = resident_pass()
FRAMES = {t: render_frame(t, 0, width=640, height=480) for t in (PASS, HEALTH_CODE)}


@dataclass
class Walk:
    """The resident walking up to the camera: pass, then health code, once a minute."""

    gate: Gate
    t: float = 1000.0  # the frames' capture times (monotonic s): a minute between visits

    def visit(self, colour: str) -> bool:
        """The platform now says ``colour``; the resident shows both codes. ALLOWed?"""
        Platform.colours[HEALTH_CODE] = colour
        self.t += 60.0
        first = self.gate.process_frame(FRAMES[PASS], t=self.t)
        assert [o.missing for o in first] == [("health_code",)], "the pass was not read"
        second = self.gate.process_frame(FRAMES[HEALTH_CODE], t=self.t + 1.0)
        assert len(second) == 1 and not second[0].pending, "the health code was not read"
        return second[0].decision.allow


def colour_alerts(gate: Gate) -> list[dict[str, Any]]:
    return [
        r.body
        for r in gate.store.records()
        if r.kind == "alert" and r.body["alert"] == "colour_change"
    ]


@pytest.fixture
def rig(tmp_path: Path, platform: str) -> Iterator[tuple[Gate, Client]]:
    gate = gate_for(tmp_path, platform)
    server = ConsoleServer(console_context(gate), ConsoleSettings(port=0)).start()
    server.console.accounts.add("guard1", PASSWORDS["guard1"], "guard", "en")
    client = Client(server.url.rstrip("/"))
    assert client.login("guard1") == 200
    try:
        yield gate, client
    finally:
        server.stop()
        gate.close()


def test_a_scan_showing_another_colour_warns_once(rig: tuple[Gate, Client]) -> None:
    gate, client = rig
    walk = Walk(gate)
    assert walk.visit("green")  # first time seen: nothing to compare with, no warning
    assert colour_alerts(gate) == []
    assert client.api("GET", "/api/attention")[1]["count"] == 0

    assert not walk.visit("yellow")  # refused at the door (health code must be green) …
    [record] = colour_alerts(gate)  # … and one warning, with the change and no other detail
    assert record["reason"] == "scan: colour green → yellow"
    assert (record["source"], record["colour_from"], record["colour_to"]) == (
        "scan",
        "green",
        "yellow",
    )
    assert record["household"] == "3-1-103" and record["gate"] == GATE
    _, attention = client.api("GET", "/api/attention")
    assert attention["count"] == 1
    [row] = attention["alerts"]
    assert row["type"] == "colour_change" and row["source"] == "scan"
    assert (row["from"], row["to"], row["household"]) == ("green", "yellow", "3-1-103")
    assert "绿码→黄码" in row["message"] and "showed yellow (last time green)" in row["message_en"]
    # the alert syncs to the platform like every alert: it waits in the outbox
    assert any(r.body.get("alert_id") == record["alert_id"] for r in gate.store.pending(100))
    # the scans on Live still say nothing of anyone's health
    _, live = client.api("GET", "/api/live")
    assert all(set(scan) == {"ts", *SCAN_FIELDS} for scan in live["scans"])

    assert not walk.visit("yellow")  # yellow again: no second warning
    assert len(colour_alerts(gate)) == 1
    assert client.api("GET", "/api/attention")[1]["count"] == 1


def test_a_resident_flipping_again_and_again_is_one_warning(rig: tuple[Gate, Client]) -> None:
    gate, client = rig
    walk = Walk(gate)
    for colour in ("green", "yellow", "green", "yellow"):
        walk.visit(colour)
    reasons = [a["reason"] for a in colour_alerts(gate)]
    assert reasons == [  # every change is recorded for the platform …
        "scan: colour green → yellow",
        "scan: colour yellow → green",
        "scan: colour green → yellow",
    ]
    _, attention = client.api("GET", "/api/attention")
    assert attention["count"] == 1  # … but the guards see one warning, ×3, latest colours
    [row] = attention["alerts"]
    assert row["count"] == 3 and (row["from"], row["to"]) == ("green", "yellow")
    status, _ = client.api("POST", f"/api/alerts/{row['key']}/ack", {"note": "called her"})
    assert status == 200
    assert client.api("GET", "/api/attention")[1]["count"] == 0


def test_the_last_colours_survive_a_restart(tmp_path: Path, platform: str) -> None:
    gate = gate_for(tmp_path, platform)
    try:
        assert Walk(gate).visit("green")
    finally:
        gate.close()
    gate = gate_for(tmp_path, platform)  # the service restarted on the same store
    try:
        assert gate.colours.last("h-zhangsan") == "green"
        assert not Walk(gate, t=5000.0).visit("red")
        [record] = colour_alerts(gate)
        assert record["reason"] == "scan: colour green → red"
    finally:
        gate.close()


def test_board_groups_scan_changes_per_resident_and_keeps_list_changes_apart() -> None:
    board = Board()

    def change(ts: float, alert_id: str, **data: Any) -> None:
        board.on_event(Event(EventKind.ALERT, ts, {"id": alert_id, "type": "colour_change",
                                                   "phase": "new", **data}))  # fmt: skip

    change(100.0, "s1", source="scan", holder="h1", household="3-1-103", to="yellow")
    change(110.0, "s2", source="scan", holder="h1", household="3-1-103", to="green")
    change(120.0, "s3", source="scan", holder="h2", household="3-1-103", to="red")
    change(130.0, "l1", household="3-1-103", to="red")  # the lists: each change its own
    change(131.0, "l2", household="3-1-103", to="grey")
    rows = {a["key"]: a["count"] for a in attention(board, 140.0)["alerts"]}
    assert rows == {"s1": 2, "s3": 1, "l1": 1, "l2": 1}
    row = board.alert("s2")
    assert row is not None and row.key == "s1" and row.data["to"] == "green"  # the latest


@pytest.fixture
def broker() -> Iterator[Broker]:
    with running_broker((GATE,), prefix="edge-mq-") as b:
        yield b


def central_alerts(db: Path) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "SELECT body FROM records WHERE gate = ? AND kind = 'alert' ORDER BY seq", (GATE,)
        ).fetchall()
    return [json.loads(body) for (body,) in rows]


def test_the_scan_warning_reaches_the_central_over_mqtt(
    tmp_path: Path, platform: str, broker: Broker
) -> None:
    """The gate's uplink to a real mosquitto and the reference central receiver."""
    central_key = Ed25519PrivateKey.generate()
    save_keypair(central_key, tmp_path / "central.key", tmp_path / "central.pub")
    (tmp_path / "gate.pw").write_text(PASSWORD)
    sync = SyncSettings.model_validate(
        {
            "enabled": True, "port": broker.tls, "tls": True, "ca_file": broker.ca(),
            "username": GATE, "password_file": tmp_path / "gate.pw",
            "central_keys": [tmp_path / "central.pub"], "reconnect_min_s": 0.1,
            "reconnect_max_s": 1.0, "backlog_rate": 0.0,
        }
    )  # fmt: skip
    link = LinkSettings(
        port=broker.tls, client_id="central-colour", username="central", password=PASSWORD,
        tls=True, ca_file=broker.ca(), reconnect_min_s=0.1, reconnect_max_s=1.0,
    )  # fmt: skip
    central = tmp_path / "central.sqlite3"
    receiver = Receiver(str(central), link, central_key)
    receiver.start()
    assert receiver.ready.wait(10)
    gate = gate_for(tmp_path, platform, sync)
    uplink = SyncService(gate.config.sync, GATE, gate.store, gate.events)
    uplink.start()
    try:
        walk = Walk(gate)
        walk.visit("green")
        walk.visit("red")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not central_alerts(central):
            time.sleep(0.1)
        [alert] = central_alerts(central)
        assert alert["alert"] == "colour_change" and alert["reason"] == "scan: colour green → red"
        assert alert["household"] == "3-1-103" and "holder" not in alert
    finally:
        uplink.stop()
        receiver.stop()
        gate.close()


@pytest.mark.parametrize(("size", "viewport"), [("desktop", (1366, 768)), ("phone", (390, 844))])
def test_browser_shows_the_scan_warning_on_another_page(
    rig: tuple[Gate, Client], browser: Any, size: str, viewport: tuple[int, int]
) -> None:
    """The walk-through at the booth PC's size and a volunteer's phone: the guard is on the
    colour map when a resident shows another colour at the gate."""
    gate, client = rig
    width, height = viewport
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(client.base + "/login")
        page.fill("#username", "guard1")
        page.fill("#password", PASSWORDS["guard1"])
        page.click("#login-btn")
        page.wait_for_url("**/live")
        page.click('nav a[data-nav="households"]')
        page.locator("body[data-stream=open]").wait_for()
        page.wait_for_function("document.body.dataset.unacked === '0'")
        walk = Walk(gate)
        walk.visit("green")
        walk.visit("yellow")
        page.locator("[data-testid=alert-badge]").wait_for(state="visible", timeout=5000)
        page.wait_for_function("document.title.startsWith('(1) ')")
        banner = page.locator("[data-testid=attention]").inner_text()
        assert "showed yellow (last time green)" in banner and "3-1-103" in banner
        shots = Path(__file__).resolve().parents[2] / (
            "docs/console" if os.environ.get("EDGE_UPDATE_SCREENSHOTS") == "1" else OUTPUT
        )
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / f"colour-change-scan-{size}.png"))
    finally:
        context.close()
