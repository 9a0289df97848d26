"""Issue 22 on a running gate (the real service, in-process: ``Service.run`` with its config
file, camera folder, sync to a real mosquitto and the console), with no browser open:

* the console's visitor key is created under the data directory (0600) and trusted by the
  gate, so a visitor pass issued at the booth is ALLOWed by the gate's own camera pipeline;
* a colour change pushed by the platform becomes an alert record on MQTT, and the alert left
  unacknowledged for ``[console] escalate_after_s`` escalates (a guard record on MQTT) by
  itself — no page polls;
* the Health page's values are real after a sync: broker, last sync, clock, camera fps,
  detector time and the service's workers and components.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from brokerkit import running_broker
from configkit import write_config
from console_rig import Client
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gpiozero.pins.mock import MockFactory

from edge.central.publisher import list_message
from edge.central.receiver import Receiver
from edge.console.auth import Accounts
from edge.gate.credentials.trust import save_keypair
from edge.store.sqlite import Store
from edge.sync.client import LinkSettings, MqttLink
from edge.tools.localbroker import PASSWORD, Broker, free_port
from edge.tools.render import render_frame

GATE = "gate-booth"
HOUSEHOLD = "3-1-103"


@pytest.fixture
def broker() -> Iterator[Broker]:
    with running_broker((GATE,), prefix="edge-mq-") as b:
        yield b


@pytest.fixture
def restore_signals() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def central_link(broker: Broker, client_id: str) -> LinkSettings:
    return LinkSettings(
        port=broker.tls, client_id=client_id, username="central", password=PASSWORD, tls=True,
        ca_file=broker.ca(), reconnect_min_s=0.1, reconnect_max_s=1.0,
    )  # fmt: skip


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 20.0) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def run_service(config: Path, probe: Callable[[Any], Any], timeout: float = 30.0) -> Any:
    """``edge-gate run``'s Service on this (main) thread; ``probe(service)`` on another once
    the gate is up, then SIGTERM. Returns what ``probe`` returned (re-raises its error)."""
    from edge.app.notify import Notifier
    from edge.app.service import Service

    service = Service(config, Notifier({}), pin_factory=MockFactory())
    result: dict[str, Any] = {}
    done = threading.Event()

    def watch() -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end and not (service.gate is not None and service.healthy):
            if done.wait(0.02):
                return
        try:
            result["value"] = probe(service)
        except BaseException as exc:
            result["error"] = exc
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        status = service.run()
    finally:
        done.set()
        thread.join()
    if "error" in result:
        raise result["error"]
    assert status == 0
    return result.get("value")


def corridor_video(folder: Path, frames: int = 60) -> Path:
    """A short MJPG recording of a corridor for the perimeter camera."""
    path = folder / "corridor.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (320, 240))
    for i in range(frames):
        writer.write(np.full((240, 320, 3), 60 + i % 100, dtype=np.uint8))
    writer.release()
    return path


def central_records(db: Path, kind: str) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "SELECT seq, body FROM records WHERE gate = ? AND kind = ? ORDER BY seq", (GATE, kind)
        ).fetchall()
    return [{"seq": seq, **json.loads(body)} for seq, body in rows]


def households(key: Ed25519PrivateKey, version: int, colour: str) -> tuple[str, bytes]:
    data = {HOUSEHOLD: {"status": "normal", "colour": colour}}
    spec = {"gate": GATE, "name": "households", "version": version, "mode": "full", "data": data}
    return list_message(key, spec)


def test_booth_on_a_running_gate_with_no_browser(
    broker: Broker, tmp_path: Path, restore_signals: None
) -> None:
    central_key = Ed25519PrivateKey.generate()
    save_keypair(central_key, tmp_path / "central.key", tmp_path / "central.pub")
    issuer = Ed25519PrivateKey.generate()
    save_keypair(issuer, tmp_path / "issuer.key", tmp_path / "issuer.pub")
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):  # an empty scene until the visitor holds up the pass
        cv2.imwrite(str(frames / f"a{i}.png"), np.full((240, 320, 3), 90 + i, np.uint8))
    (tmp_path / "gate.pw").write_text(PASSWORD)
    data = tmp_path / "data"
    data.mkdir()
    store_path = data / "gate.sqlite3"
    store = Store(store_path)  # a guard account, as `edge-gate user add` makes it
    Accounts(store).add("guard1", "guard-pass-1", "guard", "en")
    store.close()
    port = free_port()
    config = write_config(
        tmp_path / "gate.toml",
        {
            "gate": {"id": GATE, "name": "Booth test gate"},
            "camera": {
                "source": str(frames),
                # the folder is read again after each pass through it: new pictures appear
                "reconnect_min_s": 0.2,
                "reconnect_max_s": 0.3,
                "stale_after_s": 5.0,
            },
            "store": {"path": str(store_path)},
            "trust": {"pass_issuer_keys": [str(tmp_path / "issuer.pub")]},
            "service": {"pin_factory": "mock"},
            "clock": {"check": "off"},
            "sync": {
                "enabled": True,
                "port": broker.tls,
                "tls": True,
                "ca_file": str(broker.ca()),
                "username": GATE,
                "password_file": str(tmp_path / "gate.pw"),
                "central_keys": [str(tmp_path / "central.pub")],
                "reconnect_min_s": 0.1,
                "reconnect_max_s": 1.0,
                "backlog_rate": 0.0,
            },
            # a perimeter camera whose zone is armed by hand, so the detector runs
            "perimeter": {
                "enabled": True,
                "snapshot_dir": str(tmp_path / "snaps"),
                "cameras": [{"id": "cam-601", "source": str(corridor_video(tmp_path))}],
                "zones": [
                    {
                        "id": "door-601",
                        "camera": "cam-601",
                        "household": "3-2-601",
                        "arm": "on",
                        "polygon": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]],
                    }
                ],
            },
            "console": {
                "enabled": True,
                "port": port,
                "escalate_after_s": 2.0,
                "timezone": "Asia/Shanghai",
            },
        },
    )
    receiver = Receiver(str(tmp_path / "central.sqlite3"), central_link(broker, "c-1"), central_key)
    receiver.start()
    assert receiver.ready.wait(10)
    central = tmp_path / "central.sqlite3"
    publisher = MqttLink(central_link(broker, "pub-1"))

    def publish(topic_payload: tuple[str, bytes]) -> None:
        publisher.publish(*topic_payload, retain=True)
        for _ in range(10):
            publisher.poll(0.02)

    def probe(service: Any) -> dict[str, Any]:
        client = Client(f"http://127.0.0.1:{port}")
        assert client.login("guard1", "guard-pass-1") == 200
        wait_for("the uplink", lambda: client.api("GET", "/api/health")[1]["values"][
            "broker_connected"])  # fmt: skip
        while not publisher.connected:
            publisher.poll(0.02)
        publish(households(central_key, 1, "green"))
        wait_for("lists v1", lambda: service.gate.lists.version >= 1)
        # --- a visitor registered at the booth, the pass shown to the gate's camera --------
        status, answer = client.api(
            "POST",
            "/api/visitors",
            {
                "visit": "visitor", "name": "王五", "phone": "13800001234",
                "household": HOUSEHOLD, "purpose": "探亲", "temperature_c": 36.4,
                "health_colour": "green", "health_source": "typed", "accepted": True,
                "commitment": client.api("GET", "/api/visitors")[1]["commitment"]["id"],
                "hours": 2,
            },
        )  # fmt: skip
        assert status == 200, answer
        pass_text = answer["pass"]["text"]
        cv2.imwrite(str(frames / "b-visitor.png"), render_frame(pass_text, width=640, height=480))

        def admitted() -> list[dict[str, Any]]:
            rows = client.api("GET", "/api/history?kind=access")[1]["rows"]
            return [r for r in rows if r["household"] == HOUSEHOLD]

        visitor_rows = wait_for("the visitor's passage", admitted)
        # --- a colour change pushed by the platform; nobody acknowledges it ---------------
        publish(households(central_key, 2, "red"))

        def applied_v2() -> bool:
            publisher.poll(0.02)  # a loaded machine may need more than the first polls
            return bool(service.gate.lists.version >= 2)

        wait_for("lists v2 (the colour change) at the gate", applied_v2)

        def escalated() -> list[dict[str, Any]]:
            guard = central_records(central, "guard")
            return [g for g in guard if g.get("action") == "auto_escalate"]

        escalation = wait_for("the escalation at central", escalated, timeout=30)
        health = wait_for(
            "the detector's time",
            lambda: (h := client.api("GET", "/api/health")[1])["values"]["detector_ms"] and h,
        )
        return {
            "visitor": visitor_rows,
            "escalation": escalation,
            "alerts": central_records(central, "alert"),
            "health": health,
        }

    try:
        out = run_service(config, probe, timeout=60)
    finally:
        publisher.close()
        receiver.stop()
    # the visitor key: created next to the store, private, and what the gate trusted
    key_file = data / "visitor.key"
    assert key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600
    assert (data / "visitor.pub").exists()
    first = out["visitor"][-1]  # oldest first at the end: the first showing of the pass
    assert first["outcome"] == "allow", first
    # the colour change: an alert record on MQTT, then the escalation by itself
    [change] = [a for a in out["alerts"] if a.get("alert") == "colour_change"]
    assert change["household"] == HOUSEHOLD and "green → red" in change["reason"]
    [auto] = out["escalation"]
    assert auto["user"] == "system" and auto["alert"] == change["alert_id"]
    assert auto["household"] == HOUSEHOLD
    # Health: real values after a sync
    values = out["health"]["values"]
    assert values["broker_connected"] is True
    assert isinstance(values["last_sync_ts"], float) and values["last_sync_ts"] > 0
    assert values["list_versions"]["lists"] >= 2
    assert isinstance(values["clock_trusted"], bool)
    assert values["camera_fps"] and all(isinstance(v, float) for v in values["camera_fps"].values())
    assert isinstance(values["detector_ms"], float) and values["detector_ms"] > 0
    assert out["health"]["time_zone"] == "Asia/Shanghai"
    # the service's supervised parts, as the Health page's table shows them
    workers = {w["name"]: w for w in values["workers"]}
    assert {"store writer", "sync", "console", "perimeter"} <= set(workers)
    assert workers["sync"]["state"] == "running" and workers["sync"]["problem"] == ""
    assert all(set(w) == {"name", "state", "restarts", "problem"} for w in workers.values())
