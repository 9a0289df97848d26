"""Typed records: the shipped per-kind JSON Schemas are the ones generated from the body models,
and every record the real pipeline writes (the demo's frames and perimeter alert, every door
scenario, guard actions, signed downlink, snapshots and their gaps, the load generator)
validates against its kind's schema and is reproduced exactly by its model."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gpiozero.pins.mock import MockFactory
from jsonschema import Draft202012Validator

from edge.app.config import Config
from edge.app.console_context import console_context
from edge.app.gate import Gate, build_gate
from edge.central.publisher import command_message, list_message
from edge.console.actions import Actions
from edge.console.auth import Accounts, User
from edge.console.board import Board
from edge.console.history import backfill
from edge.console.settings import ConsoleSettings
from edge.console.visitors import COMMITMENT_ID, register
from edge.core.clock import FakeClock
from edge.core.events import Event
from edge.core.records import (
    BODY_MODELS,
    DOOR_ALARM_EVENTS,
    PRIORITY,
    AccessBody,
    AlertBody,
    EventKind,
    RecordKind,
    on_alerts_topic,
    read_body,
    record_schemas,
)
from edge.gate.credentials import passes
from edge.gate.credentials.dsc import load_dsc_der
from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verified import Role
from edge.gate.door.machine import ALARMS, DoorEvent
from edge.gate.rules.profile import Mode, Rules
from edge.gate.settings import GateSettings
from edge.store.settings import StoreSettings
from edge.store.sqlite import Record, Store
from edge.sync import topics
from edge.sync.downlink import DownlinkHandler
from edge.sync.payloads import RECORD_SCHEMA_DIR, record_schema_texts
from edge.sync.signing import Verifier, sign
from edge.tools.demo import run_demo
from edge.tools.loadgen import generate
from edge.tools.scenario import load_scenario
from edge.tools.simulate import Simulator

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "gate"))  # real signed EU DCC test certificates
from healthkit import HOUR, NOW, OID_TEST, ec_key, hc1, kid_of, make_cert, pcr  # noqa: E402

KEY = Ed25519PrivateKey.generate()
GATE = "gate-a"


def test_every_kind_has_one_model_and_one_priority() -> None:
    assert set(BODY_MODELS) == set(RecordKind) == set(PRIORITY)
    assert all(BODY_MODELS[k].kind is k for k in RecordKind)


def test_committed_record_schemas_are_the_generated_ones() -> None:
    shipped = {p.name: p.read_text(encoding="utf-8") for p in RECORD_SCHEMA_DIR.glob("*.json")}
    assert shipped == record_schema_texts(), "run: .venv/bin/python scripts/gen-schemas.py"


def test_gen_schemas_script_writes_what_is_committed(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen-schemas.py"), str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "records/access.json" in run.stdout
    for path in (tmp_path / "records").glob("*.json"):
        assert path.read_bytes() == (RECORD_SCHEMA_DIR / path.name).read_bytes(), path.name
    assert len(list((tmp_path / "records").glob("*.json"))) == len(RecordKind)


def test_door_alarms_are_the_machines_alarms_and_ride_the_alerts_topic() -> None:
    assert {e.value for e in ALARMS} | {DoorEvent.ALARM_CLEARED.value} == DOOR_ALARM_EVENTS
    assert on_alerts_topic(RecordKind.DOOR, {"event": "forced_open"})
    assert on_alerts_topic(RecordKind.DOOR, {"event": "alarm_cleared"})
    assert not on_alerts_topic(RecordKind.DOOR, {"event": "opened"})
    assert on_alerts_topic(RecordKind.ALERT, {})
    assert not on_alerts_topic(RecordKind.ACCESS, {"event": "forced_open"})


def test_a_body_of_the_wrong_kind_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "g.sqlite3")
    body = AccessBody(
        gate=GATE, direction="in", allow=True, reasons=[], flags=[], relay="pulse",
        credentials=[], code_hashes=[], format="NONE", code_hash="",
    )  # fmt: skip
    with pytest.raises(ValueError, match="access body given for a door record"):
        store.append(RecordKind.DOOR, 1.0, body)
    rec = store.append(RecordKind.ACCESS, 1.0, body)
    assert "pass_id" not in rec.body  # unset optional fields are absent, never null
    store.close()


def test_unknown_event_kinds_are_refused() -> None:
    with pytest.raises(ValueError):
        Event(EventKind("status"), 1.0)


# --- every record the pipeline writes ------------------------------------------------------


def _demo_records(tmp_path: Path) -> list[Record]:
    got: list[Record] = []

    def after(gate: Gate) -> None:
        _guard_actions(gate)
        got.extend(gate.store.records(limit=100_000))

    assert run_demo(io.StringIO(), Config(), workdir=tmp_path, after_gate=after) == 0
    return got


def _guard_actions(gate: Gate) -> None:
    """Every console action that makes a guard record, on the demo's own gate."""
    ctx = console_context(gate, cameras=lambda: [{"id": "perimeter-1"}])
    board = Board()
    assert backfill(board, gate.store, gate.clock.time()) > 0  # the console's restart path
    actions = Actions(ctx, board, Accounts(gate.store), ConsoleSettings())
    alerts = board.snapshot()["alerts"]
    assert alerts, "the demo's perimeter scene raised no alert"
    key = alerts[0]["key"]
    guard = User("guard1", "guard", "en")
    admin = User("admin1", "admin", "en")
    assert actions.escalate(guard, key, {"note": "called the building"})[0] == 200
    assert actions.acknowledge(guard, key, {"note": "checked"})[0] == 200
    assert actions.open_door(admin, {"reason": "delivery"})[0] == 200
    zone = {
        "id": "z-601", "camera": "perimeter-1", "household": "3-2-601",
        "polygon": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]],
    }  # fmt: skip
    status, answer = actions.save_zone(admin, zone)
    assert status == 200, answer
    courier = {
        "visit": "courier", "name": "Li", "phone": "13800138000", "household": "3-2-501",
        "purpose": "parcel", "temperature_c": 36.5, "health_colour": "green",
        "accepted": True, "commitment": COMMITMENT_ID,
    }  # fmt: skip
    status, answer = register(ctx, guard, courier)  # a visitor record
    assert status == 200, answer


def _scenario_records(tmp_path: Path) -> list[Record]:
    got: list[Record] = []
    for path in sorted((ROOT / "examples").glob("*.toml")):
        if path.name == "edge-gate.toml":
            continue
        work = tmp_path / path.stem
        work.mkdir()
        Simulator(load_scenario(path), work, lambda line: None).run()
        store = Store(work / "simulate.sqlite3")
        got += store.records(limit=100_000)
        store.close()
    return got


def _downlink_and_store_records(tmp_path: Path) -> list[Record]:
    store = Store(tmp_path / "gate.sqlite3")
    handler = DownlinkHandler(store, Verifier([KEY.public_key()], 64 * 1024))
    spec = {"gate": GATE, "name": "households", "version": 2, "mode": "full", "data": {}}
    handler.handle(*list_message(KEY, spec))
    handler.handle(*command_message(KEY, GATE, "resync"))
    topic = topics.down(GATE, "config")
    body = {"kind": "config", "topic": topic, "ts": time.time(), "version": 3, "settings": {}}
    handler.handle(topic, sign(KEY, body))
    handler.handle(topics.down(GATE, "commands"), b'{"not": "signed"}')  # refused, recorded
    snaps = [store.add_snapshot(b"\xff\xd8" + bytes(500), 1.0, {"camera": "c1"}) for _ in "ab"]
    store.add_snapshot(b"\xff\xd8", 1.0, {"alert_id": "a1", "alert_seq": snaps[0].seq})
    store.enforce_snapshot_cap(600)  # the oldest JPEGs go: gap records
    generate(store, GATE, 60, alert_every=20)
    got = store.records(limit=100_000)
    store.close()
    return got


def _health_session_records(tmp_path: Path) -> list[Record]:
    """A pass that waits for a test result (scan), the result (access with a health proof's
    summary), and a pass whose window ends without one."""
    issuer, dsc_key = Ed25519PrivateKey.generate(), ec_key(3)
    der = make_cert(dsc_key, [OID_TEST])
    trust = TrustStore()
    trust.add_pass_issuer(issuer.public_key())
    trust.add_dsc(load_dsc_der(der))
    clock = FakeClock(start=NOW + 0.5 * HOUR)
    config = Config(
        store=StoreSettings(path=tmp_path / "g.sqlite3"),
        gate=GateSettings(session_window_s=20),
        rules=Rules(test=Mode.HARD, test_window_h=48),
    )
    gate = build_gate(config, clock=clock, pin_factory=MockFactory(), trust=trust)
    now = clock.time()
    cert = hc1(pcr(sc="2025-12-31T20:00:00Z"), dsc_key, kid_of(der), iat=now - HOUR, exp=now + HOUR)
    body = passes.PassBody("P-7", "h-7", "3", "2", "501", Role.RESIDENT, 0, 2_000_000_000)
    pass_text = passes.issue(body, issuer)
    assert gate.process_text(pass_text).pending
    assert gate.process_text(cert).decision.allow
    clock.advance(30.0)
    assert gate.process_text(pass_text).pending
    clock.advance(30.0)
    assert gate.tick() is not None  # the window ended: decided without the test
    got = gate.store.records(limit=1000)
    gate.close()
    return got


@pytest.fixture(scope="module")
def pipeline_records(tmp_path_factory: pytest.TempPathFactory) -> list[Record]:
    base = tmp_path_factory.mktemp("pipeline")
    (base / "demo").mkdir()
    (base / "sim").mkdir()
    (base / "sync").mkdir()
    (base / "health").mkdir()
    return (
        _health_session_records(base / "health")
        + _demo_records(base / "demo")
        + _scenario_records(base / "sim")
        + _downlink_and_store_records(base / "sync")
    )


def test_the_pipeline_writes_every_record_kind(pipeline_records: list[Record]) -> None:
    assert {r.kind for r in pipeline_records} == set(RecordKind)


def test_every_record_the_pipeline_writes_validates(pipeline_records: list[Record]) -> None:
    schemas = {
        p.stem: json.loads(p.read_text(encoding="utf-8")) for p in RECORD_SCHEMA_DIR.glob("*.json")
    }
    validators = {k: Draft202012Validator(s) for k, s in schemas.items()}
    assert set(validators) == {k.value for k in RecordKind}
    bad: list[str] = []
    for r in pipeline_records:
        item: dict[str, Any] = json.loads(json.dumps(r.to_json()))  # as it goes on the wire
        errors = [e.message for e in validators[r.kind].iter_errors(item)]
        # the schemas let readers accept fields a newer gate adds; this gate adds none
        undeclared = set(item) - set(schemas[r.kind]["properties"])
        if errors or undeclared:
            bad.append(f"{r.kind} seq={r.seq}: {errors[:2]} undeclared={sorted(undeclared)}")
    assert not bad, "\n".join(bad[:20])


def test_models_reproduce_every_stored_body_exactly(pipeline_records: list[Record]) -> None:
    for r in pipeline_records:
        assert r.typed().to_json() == r.body == read_body(r.kind, r.body).to_json(), r.seq


def test_schemas_refuse_a_record_missing_a_required_field() -> None:
    schema = record_schemas()["door"]
    good = {"seq": 1, "id": "x", "kind": "door", "ts": 1.0, "gate": GATE, "event": "opened"}
    assert list(Draft202012Validator(schema).iter_errors({**good, "state": "open"})) == []
    assert list(Draft202012Validator(schema).iter_errors(good))  # no state
    assert list(Draft202012Validator(schema).iter_errors({**good, "state": 1}))
    wrong_kind = {**good, "state": "open", "kind": "access"}
    assert list(Draft202012Validator(schema).iter_errors(wrong_kind))


# --- door alarms on the alerts topic, through a real broker ----------------------------------


def test_door_alarms_and_alerts_reach_central_on_the_alerts_topic(
    broker: Any, central_key: tuple[Ed25519PrivateKey, Path], tmp_path: Path
) -> None:
    from synckit import central_link, gate_config, service_for, wait_for

    from edge.core.records import AlertBody, DoorBody
    from edge.sync.client import LinkSettings, MqttLink

    gate = "gate-m"
    store = Store(tmp_path / "g.sqlite3")
    door = {"gate": gate, "state": "forced_open"}
    store.append(RecordKind.DOOR, 1.0, DoorBody(event="opened", **{**door, "state": "open"}))
    forced = store.append(RecordKind.DOOR, 2.0, DoorBody(event="forced_open", **door))
    cleared = store.append(
        RecordKind.DOOR, 3.0, DoorBody(event="alarm_cleared", alarm="forced_open", **door)
    )
    alert = store.append(RecordKind.ALERT, 4.0, AlertBody(alert="camera_down", reason="no frames"))
    watch = {"client_id": "watcher", "subscriptions": (f"gate/v1/{gate}/up/+",)}
    sub = MqttLink(LinkSettings(**{**central_link(broker).__dict__, **watch}))
    topic_of: dict[int, str] = {}
    svc = service_for(gate_config(broker, central_key[1], gate, tmp_path / "g"), store)
    try:
        svc.start()
        deadline = time.monotonic() + 15
        while len(topic_of) < 4 and time.monotonic() < deadline:
            for ev in sub.poll(0.05):
                name = ev.topic.rsplit("/", 1)[-1]
                if ev.kind == "message" and name in ("records", "alerts"):
                    for item in json.loads(ev.payload)["records"]:
                        topic_of[item["seq"]] = name
        wait_for(lambda: len(topic_of) >= 4, 1, "four records seen")
    finally:
        svc.stop()
        sub.close()
        store.close()
    assert topic_of == {
        1: "records",
        forced.seq: "alerts",
        cleared.seq: "alerts",
        alert.seq: "alerts",
    }


def test_central_reads_known_kinds_typed_and_keeps_unknown_ones() -> None:
    from edge.core.records import GapBody
    from edge.sync.payloads import RecordsBatch

    batch = RecordsBatch.model_validate_json(
        json.dumps(
            {
                "v": 1, "gate": GATE, "sent_at": 1.0,
                "records": [
                    {"seq": 1, "id": "a", "kind": "gap", "ts": 1.0, "what": "records",
                     "reason": "store_unavailable", "count": 3, "added_later": True},
                    {"seq": 2, "id": "b", "kind": "visitor_photo", "ts": 1.0, "x": 1},
                ],
            }
        )
    )  # fmt: skip
    gap, future = batch.records
    assert gap.typed() == GapBody(what="records", reason="store_unavailable", count=3)
    assert gap.body["added_later"] is True  # kept for storage, ignored by the model
    assert future.typed() is None and future.body == {"x": 1}


def test_a_kind_from_a_newer_release_is_still_sent_after_a_downgrade(tmp_path: Path) -> None:
    """A gate rolled back to this release after a newer one wrote a kind it does not know:
    the record is read, sent on the records topic and never blocks the outbox."""
    from edge.gate.credentials.trust import save_keypair
    from edge.sync.service import SyncService
    from edge.sync.settings import SyncSettings

    store = Store(tmp_path / "g.sqlite3")
    with store.transaction() as db:  # as the newer release wrote it
        db.execute(
            "INSERT INTO records (id, kind, ts, body) VALUES ('n1', 'visitor_photo', 1.0, '{}')"
        )
        db.execute("INSERT INTO outbox (seq, priority) VALUES (1, 0)")
    known = store.append(RecordKind.ALERT, 2.0, AlertBody(alert="camera_down", reason="x"))
    assert [r.kind for r in store.records()] == ["visitor_photo", RecordKind.ALERT]

    sent: list[tuple[str, dict[str, Any]]] = []

    class Link:
        connected, window = True, 64

        def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
            sent.append((topic, json.loads(payload)))
            return len(sent)

    save_keypair(KEY, tmp_path / "c.key", tmp_path / "c.pub")
    svc = SyncService(SyncSettings(central_keys=[tmp_path / "c.pub"]), GATE, store)
    svc.link = Link()  # type: ignore[assignment]
    svc._send(store.pending(10))
    got = {t.rsplit("/", 1)[1]: [r["seq"] for r in p["records"]] for t, p in sent}
    assert got == {"records": [1], "alerts": [known.seq]}
    store.close()
