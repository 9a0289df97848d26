"""Load that looks like the field: many gates, one MQTT client (and ACL user) each, records of
the field's mix built from the typed bodies; the receiver stores and acks them all, every
record validates against its kind's schema, and an operator sees them per kind
(`central stats`) and exports them (`central export`, JSON lines)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from brokerkit import running_broker
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synckit import central_link

from edge.central.db import CentralDB
from edge.central.receiver import Receiver
from edge.core.records import record_schemas
from edge.gate.reasons import Reason
from edge.store.sqlite import Store
from edge.sync import topics
from edge.sync.client import LinkSettings
from edge.sync.signing import Verifier
from edge.tools.loadgen import Fleet, GateModel, generate, rush_factor
from edge.tools.localbroker import PASSWORD, Broker

ROOT = Path(__file__).resolve().parents[2]
FLEET = tuple(f"lg-{i:05d}" for i in range(1, 25))
PER_GATE = 60


@pytest.fixture(scope="module")
def fleet_broker() -> Iterator[Broker]:
    with running_broker(FLEET, prefix="edge-mq-fleet-") as b:
        yield b


def test_the_mix_is_the_fields() -> None:
    """Passages make scan, access and door records; refusals carry real reason codes; one
    record in alert_every is a perimeter alert; door alarms begin and end."""
    model = GateModel("gate-a", seed=3, alert_every=50)
    bodies = [model.next() for _ in range(6000)]
    kinds = Counter(b.kind.value for b in bodies)
    assert set(kinds) == {"access", "scan", "door", "alert"}
    assert kinds["alert"] == 6000 // 50
    assert 0.8 * kinds["access"] < kinds["door"] / 3 < 1.0 * kinds["access"]
    reasons = {r for b in bodies if b.kind.value == "access" for r in b.reasons}  # type: ignore[attr-defined]
    assert reasons and reasons <= {r.value for r in Reason}
    events = Counter(b.event for b in bodies if b.kind.value == "door")  # type: ignore[attr-defined]
    assert events["held_open_alarm"] == events["alarm_cleared"] > 0
    phases = [b.phase for b in bodies if b.kind.value == "alert"]  # type: ignore[attr-defined]
    assert phases[:6] == ["new", "update", "end", "new", "update", "end"]
    assert rush_factor(8.0) > rush_factor(18.0) > rush_factor(12.0) > rush_factor(3.0)


def test_generated_records_validate_against_their_schemas(tmp_path: Path) -> None:
    store = Store(tmp_path / "g.sqlite3")
    generate(store, "gate-a", 3000, alert_every=40)
    schemas = {k: jsonschema.Draft202012Validator(v) for k, v in record_schemas().items()}
    seen = Counter()
    for rec in store.records(limit=10_000):
        doc = {"seq": rec.seq, "id": rec.id, "kind": rec.kind, "ts": rec.ts, **rec.body}
        schemas[rec.kind].validate(doc)
        seen[rec.kind] += 1
    store.close()
    assert sum(seen.values()) == 3000 and len(seen) == 4


def test_a_fleet_of_gates_one_client_each_is_stored_acked_counted_and_exported(
    fleet_broker: Broker, tmp_path: Path
) -> None:
    key = Ed25519PrivateKey.generate()
    db_path = tmp_path / "central.sqlite3"
    r = Receiver(str(db_path), central_link(fleet_broker, client_id="central-fleet"), key)
    r.start()
    assert r.ready.wait(10)

    def link_for(gate: str) -> LinkSettings:
        return LinkSettings(
            port=fleet_broker.tls, client_id=gate, username=gate, password=PASSWORD, tls=True,
            ca_file=fleet_broker.ca(), session_expiry_s=0, reconnect_min_s=0.2,
            subscriptions=(topics.down(gate, "ack"),),
        )  # fmt: skip

    fleet = Fleet(
        link_for, list(FLEET), PER_GATE, rate=0.0, batch=20, alert_every=25,
        verify=Verifier([key.public_key()]).open,
    )  # fmt: skip
    try:
        result = fleet.run(ack_timeout=60).as_dict()
    finally:
        fleet.close()
        r.stop()
    assert result["connected"] == len(FLEET)
    assert result["drained"] and result["acked"] == result["records"] == len(FLEET) * PER_GATE
    db = CentralDB(str(db_path))
    for gate in FLEET:
        assert db.seqs(gate) == list(range(1, PER_GATE + 1)), gate
    stats = {s["gate"]: s for s in db.stats()}
    db.close()
    assert all(stats[g]["last_heartbeat"] is not None for g in FLEET)  # heartbeats arrived
    assert all(stats[g]["alerts"] == PER_GATE // 25 for g in FLEET)

    out = subprocess.run(
        [sys.executable, "-m", "edge", "central", "stats", "--db", str(db_path), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    rows = json.loads(out.stdout)
    per_kind = Counter()
    for row in rows:
        assert sum(row["kinds"].values()) == row["records"] == PER_GATE
        per_kind.update(row["kinds"])
    assert dict(per_kind) == result["kinds"]
    text = subprocess.run(
        [sys.executable, "-m", "edge", "central", "stats", "--db", str(db_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert f"access {per_kind['access']}" in text

    export = tmp_path / "door.jsonl"
    subprocess.run(
        [sys.executable, "-m", "edge", "central", "export", "--db", str(db_path),
         "--kind", "door", "--out", str(export)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    lines = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == per_kind["door"]
    assert [(x["gate"], x["seq"]) for x in lines] == sorted((x["gate"], x["seq"]) for x in lines)
    door_schema = jsonschema.Draft202012Validator(record_schemas()["door"])
    for x in lines:
        door_schema.validate({k: x[k] for k in ("seq", "id", "kind", "ts")} | x["body"])
    one = subprocess.run(
        [sys.executable, "-m", "edge", "central", "export", "--db", str(db_path),
         "--gate", FLEET[0]],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert [json.loads(x)["seq"] for x in one] == list(range(1, PER_GATE + 1))


def test_export_pages_through_a_large_table(tmp_path: Path) -> None:
    """Keyset paging: every record once, in order, across page and gate boundaries."""
    from edge.sync.payloads import RecordItem

    db = CentralDB(str(tmp_path / "c.sqlite3"))
    for gate in ("g-a", "g-b", "g-c"):
        db.ensure_gate(gate)
        items = [
            RecordItem(seq=s, id=f"{gate}{s}", kind="scan", ts=float(s)) for s in range(1, 251)
        ]
        db.store_records(gate, items, 0.0)
    db.commit()
    got = [(x["gate"], x["seq"]) for x in db.export(page=7)]
    assert got == [(g, s) for g in ("g-a", "g-b", "g-c") for s in range(1, 251)]
    assert [x["seq"] for x in db.export(gate="g-b", since=200.0, page=16)] == list(range(200, 251))
    db.close()


def test_the_cli_refuses_more_gates_than_one_process_can_hold() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "edge", "loadgen", "--fleet", "400", "--per-gate", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2 and "at most 320" in out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "edge", "loadgen"], cwd=ROOT, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert out.returncode == 2 and "--events" in out.stderr
