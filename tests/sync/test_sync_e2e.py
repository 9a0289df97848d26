"""End to end through a real mosquitto: gate outbox → broker → receiver DB → signed ack."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synckit import gate_config, service_for, wait_for

from edge.central.db import CentralDB
from edge.central.receiver import Receiver
from edge.store.sqlite import Store
from edge.tools.localbroker import Broker


@pytest.mark.parametrize(
    ("mode", "gate"), [("plain", "gate-c"), ("tls", "gate-d"), ("mtls", "gate-e")]
)
def test_records_reach_central_and_are_acked(
    broker: Broker,
    central_key: tuple[Ed25519PrivateKey, Path],
    receiver: Receiver,
    tmp_path: Path,
    mode: str,
    gate: str,
) -> None:
    store = Store(tmp_path / "gate.sqlite3")
    for i in range(300):
        store.append("alert" if i % 50 == 0 else "access", time.time(), {"i": i})
    svc = service_for(gate_config(broker, central_key[1], gate, tmp_path / "g", mode), store)
    svc.start()
    try:
        wait_for(lambda: store.outbox_depth() == 0, 20, "outbox to drain")
        store.append("access", time.time(), {"live": True})
        wait_for(lambda: store.outbox_depth() == 0, 10, "live record ack")
    finally:
        svc.stop()
    db = CentralDB(receiver.db_url)

    def status() -> str | None:
        st: str | None = {s["gate"]: s for s in db.stats()}[gate]["status"]
        return st

    wait_for(lambda: status() == "offline", 5, "retained offline status")  # clean stop says so
    seqs = db.seqs(gate)
    assert seqs == list(range(1, 302))
    stats = {s["gate"]: s for s in db.stats()}[gate]
    assert stats["gaps"] == 0 and stats["alerts"] == 6 and stats["contiguous_upto"] == 301
    db.close()
    store.close()


def test_snapshot_blob_travels_raw(
    broker: Broker, central_key: tuple[Ed25519PrivateKey, Path], receiver: Receiver, tmp_path: Path
) -> None:
    store = Store(tmp_path / "gate.sqlite3")
    cfg = gate_config(broker, central_key[1], "gate-b", tmp_path / "g", heartbeat_s=1.0)
    svc = service_for(cfg, store)
    svc.start()
    jpeg = b"\xff\xd8\xff" + bytes(range(256)) * 40 + b"\xff\xd9"
    try:
        rec = svc.add_snapshot(jpeg, time.time(), {"camera": "door-3"})
        wait_for(lambda: store.outbox_depth() == 0, 15, "snapshot ack")
    finally:
        svc.stop()
    db = CentralDB(receiver.db_url)
    row = db.conn.execute(
        "SELECT data FROM snapshots WHERE gate='gate-b' AND id=?", (rec.body["snapshot_id"],)
    ).fetchone()
    assert bytes(row[0]) == jpeg
    beat = db.conn.execute("SELECT heartbeat FROM gates WHERE gate='gate-b'").fetchone()[0]
    assert json.loads(beat)["outbox_depth"] >= 0
    db.close()
    store.close()
