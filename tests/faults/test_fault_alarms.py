"""Alarms are live first: a perimeter alarm and a forced door reach the guard's live events at
once while the store cannot write, and their records follow when it can.

Before issue 16 a perimeter alarm was stored before it was published: when the store append
failed (disk full), the live alarm was swallowed — nothing published, nothing on the console.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from faultkit import Pass, SmallDisk, UpWatch, read_records, wait_until
from gpiozero.pins.mock import MockFactory
from test_fault_broker import GATE, broker  # noqa: F401 (the fixture)

from edge.app.config import Config
from edge.app.gate import build_gate
from edge.app.sync_wiring import start_sync
from edge.app.wiring import AlertRecorder
from edge.core.clock import SystemClock
from edge.core.records import AlertBody, RecordKind
from edge.gate.credentials.trust import save_keypair
from edge.tools.localbroker import PASSWORD, Broker
from edge.vision.perimeter.alerts import Alert, AlertKind, AlertPhase


def test_perimeter_and_door_alarms_are_live_while_the_disk_is_full(
    tmp_path: Path, signed_pass: Pass, small_disk: Callable[[int], SmallDisk]
) -> None:
    disk = small_disk(2048)
    db = disk.path / "gate.sqlite3"
    config = Config.model_validate(
        {
            "gate": {"id": "alarm-gate"},
            "store": {"path": str(db)},
            "door": {"contact_pin": 5, "contact_kind": "no", "pulse_s": 1.0},
            "trust": {"pass_issuer_keys": [str(signed_pass.pub)]},
            "clock": {"check": "off"},
        }
    )
    gate = build_gate(config, clock=SystemClock(), pin_factory=MockFactory())
    live: list[tuple[str, dict[str, Any]]] = []
    gate.events.on(lambda e: live.append((str(e.kind), dict(e.data))))
    gate.door.start_loop()
    snapshot = tmp_path / "snap.jpg"
    cv2.imwrite(str(snapshot), np.full((120, 160, 3), 80, dtype=np.uint8))
    try:
        filler = disk.fill()
        now = time.time()
        alert = Alert(
            "a-1",
            AlertKind.PERSON_IN_ZONE,
            AlertPhase.NEW,
            time.monotonic(),
            now,
            now,
            camera="north",
            zone="z1",
            score=0.9,
            snapshot=snapshot,
        )
        AlertRecorder(gate, gate.store.add_snapshot).emit(alert)
        assert [d for k, d in live if k == "alert" and d.get("alert_id") == "a-1"], live
        gate.door.io.simulate_input("contact", True)  # the door forced open while locked
        wait_until(
            "the forced-open alarm live",
            lambda: any(k == "door" and d.get("event") == "forced_open" for k, d in live),
            timeout=5,
        )
        assert not gate.store.durable  # the disk really refused them
        filler.unlink()
        gate.store.flush()
        assert gate.store.durable
    finally:
        gate.close()
    records = read_records(db)
    assert any(k == "alert" and b.get("alert_id") == "a-1" for _, k, b in records)
    assert any(k == "door" and b.get("event") == "forced_open" for _, k, b in records)


def test_a_forced_door_reaches_mqtt_at_once_while_the_disk_is_full(
    tmp_path: Path,
    signed_pass: Pass,
    small_disk: Callable[[int], SmallDisk],
    broker: Broker,  # noqa: F811
) -> None:
    """The door alarm, not only the perimeter's: on ``…/up/alerts`` from the real sync
    service on real mosquitto while the store refuses writes; the record follows."""
    disk = small_disk(2048)
    db = disk.path / "gate.sqlite3"
    central = Ed25519PrivateKey.generate()
    save_keypair(central, tmp_path / "central.key", tmp_path / "central.pub")
    pw = tmp_path / "gate.pw"
    pw.write_text(PASSWORD)
    config = Config.model_validate(
        {
            "gate": {"id": GATE},
            "store": {"path": str(db)},
            "door": {"contact_pin": 5, "contact_kind": "no", "pulse_s": 1.0},
            "trust": {"pass_issuer_keys": [str(signed_pass.pub)]},
            "clock": {"check": "off"},
            "sync": {
                "enabled": True,
                "port": broker.tls,
                "username": GATE,
                "password_file": str(pw),
                "tls": True,
                "ca_file": str(broker.ca()),
                "central_keys": [str(tmp_path / "central.pub")],
                "reconnect_min_s": 0.1,
                "reconnect_max_s": 1.0,
            },
        }
    )
    gate = build_gate(config, clock=SystemClock(), pin_factory=MockFactory())
    alerts = UpWatch(broker, GATE, "alerts")
    gate.door.start_loop()
    sync = start_sync(gate)
    assert sync is not None
    try:
        wait_until("the gate's link", lambda: sync.link.connected and alerts.connected, 10)
        filler = disk.fill()
        gate.store.append(RecordKind.ALERT, time.time(), AlertBody(alert="test", reason="fill"))
        assert not gate.store.durable  # the disk really refuses writes now
        forced = time.time()
        gate.door.io.simulate_input("contact", True)  # the door forced open while locked
        arrived, record = wait_until(
            "forced_open on MQTT",
            lambda: [(t, r) for t, r in alerts.seen if r.get("event") == "forced_open"],
            timeout=10,
        )[0]
        assert arrived - forced < 2.0, f"took {arrived - forced:.2f} s"
        assert record["kind"] == "door"
        filler.unlink()
        gate.store.flush()
        assert gate.store.durable
    finally:
        sync.stop()
        alerts.close()
        gate.close()
    stored = {body.get("event"): seq for seq, kind, body in read_records(db) if kind == "door"}
    assert stored.get("forced_open") == record["seq"]
