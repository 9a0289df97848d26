"""Sender behaviour through a real broker: PUBACK 0x10 retried, live before backlog, packet
size respected, lists pushed from central's folder reach the gate and are acknowledged."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synckit import central_link, gate_config, service_for, wait_for

from edge.central.db import CentralDB
from edge.central.publisher import command_message
from edge.central.receiver import Receiver
from edge.gate.rules.lists import ListsSnapshot
from edge.store.sqlite import Store
from edge.sync.client import LinkSettings, MqttLink
from edge.sync.lists_apply import GateHooks
from edge.tools.loadgen import generate
from edge.tools.localbroker import Broker

Key = tuple[Ed25519PrivateKey, Path]


def start_receiver(broker: Broker, key: Key, db: Path, lists: Path | None = None) -> Receiver:
    r = Receiver(str(db), central_link(broker), key[0], lists_dir=lists)
    r.start()
    assert r.ready.wait(10)
    return r


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "gate.sqlite3")
    yield s
    s.close()


def test_no_subscriber_puback_0x10_is_retried(
    broker: Broker, central_key: Key, tmp_path: Path, store: Store
) -> None:
    # first test of the module: the fresh broker has no receiver session yet
    generate(store, "gate-k", 50)
    svc = service_for(gate_config(broker, central_key[1], "gate-k", tmp_path / "g"), store)
    svc.start()
    try:
        wait_for(lambda: svc.counters["puback_failures"] > 0, 10, "a 0x10 PUBACK")
        assert store.outbox_depth() == 50  # a PUBACK is not delivery: nothing was removed
        r = start_receiver(broker, central_key, tmp_path / "c.sqlite3")
        wait_for(lambda: store.outbox_depth() == 0, 15, "drain once central listens")
        r.stop()
    finally:
        svc.stop()
    assert CentralDB(r.db_url).seqs("gate-k") == list(range(1, 51))


def test_live_records_overtake_the_backlog(
    broker: Broker, central_key: Key, tmp_path: Path, store: Store
) -> None:
    r = start_receiver(broker, central_key, tmp_path / "c.sqlite3")
    generate(store, "gate-l", 1500)
    cfg = gate_config(broker, central_key[1], "gate-l", tmp_path / "g", backlog_rate=500.0)
    svc = service_for(cfg, store)
    svc.start()
    try:
        time.sleep(0.5)
        live = store.append("access", time.time(), {"live": True})
        wait_for(lambda: store.outbox_depth() == 0, 20, "drain")
    finally:
        svc.stop()
        r.stop()
    db = CentralDB(r.db_url)
    got = dict(db.conn.execute("SELECT seq, received_at FROM records WHERE gate='gate-l'"))
    assert len(got) == 1501
    assert got[live.seq] < got[1500] - 1.0  # stored while the backlog still had >1 s to go
    assert got[live.seq] - live.ts < 0.5


def test_broker_packet_size_is_respected(
    broker: Broker, central_key: Key, tmp_path: Path, store: Store
) -> None:
    r = start_receiver(broker, central_key, tmp_path / "c.sqlite3")
    generate(store, "gate-m", 400)
    # bytes on the wire: compact UTF-8 JSON, as the sender writes it
    wire = [json.dumps(r.body, separators=(",", ":"), ensure_ascii=False) for r in store.records()]
    size = sum(len(text.encode()) for text in wire)
    cfg = gate_config(broker, central_key[1], "gate-m", tmp_path / "g", max_packet_bytes=4096)
    svc = service_for(cfg, store)
    svc.start()
    try:
        rec = svc.add_snapshot(b"\xff\xd8" + b"j" * 9000, time.time(), {"camera": "c1"})
        wait_for(lambda: store.outbox_depth() == 0, 20, "drain in small packets")
    finally:
        svc.stop()
        r.stop()
    assert svc.counters["batches"] >= size // 4096 > 5  # split far below batch_max
    db = CentralDB(r.db_url)
    assert db.seqs("gate-m") == list(range(1, 403))  # 400 + snapshot + its gap record
    gap = db.conn.execute("SELECT body FROM records WHERE gate='gate-m' AND kind='gap'").fetchone()
    assert json.loads(gap[0])["reason"] == "oversize"
    snap = db.conn.execute(
        "SELECT body FROM records WHERE gate='gate-m' AND seq=?", (rec.seq,)
    ).fetchone()
    assert json.loads(snap[0])["blob_dropped"] == "oversize"


def test_lists_from_central_folder_reach_gate_and_commands_run_once(
    broker: Broker, central_key: Key, tmp_path: Path, store: Store
) -> None:
    folder = tmp_path / "lists"
    folder.mkdir()
    (folder / "households.json").write_text(
        json.dumps(
            {
                "gate": "gate-n",
                "name": "households",
                "version": 2,
                "mode": "full",
                "data": {"5-1-302": {"status": "sealed"}},
            }
        )
    )
    seen: list[ListsSnapshot] = []
    opened: list[dict[str, object]] = []

    def on_command(cmd: str, args: dict[str, object]) -> bool:
        opened.append(args)
        return True

    hooks = GateHooks(on_lists=seen.append, on_command=on_command)
    r = start_receiver(broker, central_key, tmp_path / "c.sqlite3", lists=folder)
    svc = service_for(
        gate_config(broker, central_key[1], "gate-n", tmp_path / "g"), store, hooks=hooks
    )
    svc.start()
    try:
        wait_for(lambda: bool(seen), 10, "list applied")
        assert seen[-1].households["5-1-302"].status.value == "sealed"
        link = MqttLink(LinkSettings(**{**central_link(broker).__dict__, "client_id": "cmd-1"}))
        while not link.connected:
            link.poll(0.02)
        topic, payload = command_message(central_key[0], "gate-n", "open", {"seconds": 4})
        link.publish(topic, payload)
        link.publish(topic, payload)  # replayed by an attacker who captured it
        for _ in range(20):
            link.poll(0.02)
        link.close()
        wait_for(lambda: store.outbox_depth() == 0 and len(store.records()) >= 3, 10, "acks")
    finally:
        svc.stop()
        r.stop()
    assert opened == [{"seconds": 4}]
    kinds = {rr.kind: rr.body for rr in store.records()}
    assert kinds["lists_applied"] == {"name": "households", "version": 2, "mode": "full"}
    assert kinds["downlink_rejected"]["reason"] == "replay"
    central_kinds = (
        CentralDB(r.db_url)
        .conn.execute("SELECT kind FROM records WHERE gate='gate-n' ORDER BY seq")
        .fetchall()
    )
    assert [k[0] for k in central_kinds] == ["lists_applied", "command", "downlink_rejected"]


def test_receiver_names_a_persistent_gap_in_its_ack(
    broker: Broker, central_key: Key, tmp_path: Path
) -> None:
    from edge.sync import topics
    from edge.sync.payloads import AckBody
    from edge.sync.signing import Verifier
    from edge.tools.localbroker import PASSWORD

    r = Receiver(str(tmp_path / "c.sqlite3"), central_link(broker), central_key[0], gap_wait_s=0.3)
    r.start()
    assert r.ready.wait(10)
    gate = MqttLink(
        LinkSettings(
            port=broker.plain, client_id="gap-gate", username="gate-k", password=PASSWORD,
            subscriptions=(topics.down("gate-k", "ack"),),
        )
    )  # fmt: skip
    while not gate.connected:
        gate.poll(0.02)
    gate.poll(0.2)
    verifier = Verifier([central_key[0].public_key()])
    acks: list[AckBody] = []

    def send(seqs: list[int]) -> None:
        recs = [{"seq": s, "id": f"id-{s}", "kind": "access", "ts": time.time()} for s in seqs]
        batch = {"v": 1, "gate": "gate-k", "sent_at": time.time(), "records": recs}
        gate.publish(topics.up("gate-k", "records"), json.dumps(batch).encode())
        deadline = time.monotonic() + 0.6
        while time.monotonic() < deadline:
            for ev in gate.poll(0.02):
                if ev.kind == "message":
                    acks.append(AckBody.model_validate(verifier.open(ev.topic, ev.payload)))

    try:
        send([1, 2, 3, 6, 7])
        send([8])  # the gap 4..5 has now lasted longer than gap_wait_s
        assert acks[0].upto == 3
        assert any(a.resend == [(4, 5)] for a in acks)
        send([4, 5])
        assert acks[-1].upto == 8 and acks[-1].resend == []
    finally:
        gate.close()
        r.stop()


def test_reinstalled_gate_is_not_mistaken_for_duplicates(
    broker: Broker, central_key: Key, tmp_path: Path
) -> None:
    r = start_receiver(broker, central_key, tmp_path / "c.sqlite3")
    try:
        for n, name in ((5, "old.sqlite3"), (3, "new.sqlite3")):  # the disk was replaced
            store = Store(tmp_path / name)
            generate(store, "gate-h", n)
            svc = service_for(gate_config(broker, central_key[1], "gate-h", tmp_path / "g"), store)
            svc.start()
            try:
                wait_for(lambda s=store: s.outbox_depth() == 0, 15, f"drain of {name}")  # type: ignore[misc]
            finally:
                svc.stop()
                store.close()
    finally:
        r.stop()
    db = CentralDB(r.db_url)
    assert db.seqs("gate-h") == [1, 2, 3]
    gates = {s["gate"]: s for s in db.stats()}
    archived = [g for g in gates if g.startswith("gate-h~")]
    assert len(archived) == 1 and gates[archived[0]]["records"] == 5
