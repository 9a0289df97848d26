"""Contract and CLI: shipped JSON schemas match the models, the AsyncAPI document names every
topic, back-off is jittered, MQTT 3.1.1 works, and `edge-gate loadgen` drains through a broker."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synckit import OldBroker, central_link, gate_config, service_for, wait_for, write_gate_toml

from edge.central.db import CentralDB
from edge.central.receiver import Receiver
from edge.store.sqlite import Store
from edge.sync.client import backoff_delay
from edge.sync.payloads import SCHEMA_DIR, SCHEMAS, schema_text
from edge.tools.localbroker import PASSWORD, Broker

ROOT = Path(__file__).resolve().parents[2]
TOPICS = (
    *("up/records", "up/alerts", "up/snapshots/{id}", "up/status", "up/heartbeat"),
    *("down/ack", "down/lists/{name}", "down/config", "down/commands", "fleet/v1/down"),
)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_shipped_schema_matches_model(name: str) -> None:
    assert (SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8") == schema_text(name)


def test_asyncapi_names_every_topic_and_schema() -> None:
    doc = (ROOT / "docs" / "asyncapi.yaml").read_text(encoding="utf-8")
    for t in TOPICS:
        assert t in doc, t
    for name in SCHEMAS:
        assert f"{name}.json" in doc, name


def test_reconnect_backoff_is_jittered_and_bounded() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(4, 1.0, 60.0, rng) for _ in range(1000)]
    assert min(delays) >= 8.0 and max(delays) <= 16.0  # cap 16 s at attempt 4: half fixed
    assert len({round(d, 2) for d in delays}) > 500  # a fleet spreads out
    assert max(backoff_delay(50, 1.0, 60.0, rng) for _ in range(100)) <= 60.0


def test_mqtt_311_session_also_delivers(
    broker: Broker, central_key: tuple[Ed25519PrivateKey, Path], tmp_path: Path
) -> None:
    r = Receiver(str(tmp_path / "c.sqlite3"), central_link(broker), central_key[0])
    r.start()
    assert r.ready.wait(10)
    store = Store(tmp_path / "g.sqlite3")
    for i in range(100):
        store.append("access", float(i), {"i": i})
    svc = service_for(
        gate_config(broker, central_key[1], "gate-b", tmp_path / "g", protocol="v311"), store
    )
    svc.start()
    try:
        wait_for(lambda: store.outbox_depth() == 0, 15, "3.1.1 drain")
        assert svc.link.protocol == "v311"
    finally:
        svc.stop()
        r.stop()
        store.close()


def test_falls_back_to_311_when_the_broker_refuses_5(
    broker: Broker, central_key: tuple[Ed25519PrivateKey, Path], tmp_path: Path
) -> None:
    old = OldBroker(broker.plain)
    r = Receiver(str(tmp_path / "c.sqlite3"), central_link(broker), central_key[0])
    r.start()
    assert r.ready.wait(10)
    store = Store(tmp_path / "g.sqlite3")
    store.append("access", time.time(), {"old": "broker"})
    cfg = gate_config(broker, central_key[1], "gate-e", tmp_path / "g", "plain", port=old.port)
    svc = service_for(cfg, store)
    svc.start()
    try:
        wait_for(lambda: store.outbox_depth() == 0, 15, "drain via the 3.1.1 fallback")
        assert svc.link.protocol == "v311" and old.refused >= 1
    finally:
        svc.stop()
        r.stop()
        old.close()
        store.close()


def test_loadgen_cli_pushes_through_the_real_path(
    broker: Broker, central_key: tuple[Ed25519PrivateKey, Path], tmp_path: Path
) -> None:
    r = Receiver(str(tmp_path / "c.sqlite3"), central_link(broker), central_key[0])
    r.start()
    assert r.ready.wait(10)
    store_path = tmp_path / "lg.sqlite3"
    cfg = gate_config(broker, central_key[1], "gate-c", store_path)
    toml = write_gate_toml(
        tmp_path / "g.toml",
        "gate-c",
        store_path,
        cfg.sync.model_dump(exclude_none=True, mode="json"),
    )
    try:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "edge",
                "loadgen",
                "--config",
                str(toml),
                "--events",
                "400",
                "--rate",
                "0",
                "--timeout",
                "30",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        r.stop()
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["drained"] and summary["acked_upto"] == 400
    assert CentralDB(r.db_url).seqs("gate-c") == list(range(1, 401))
    status = subprocess.run(
        [sys.executable, "-m", "edge", "sync", "status", "--config", str(toml), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert json.loads(status.stdout)["outbox_depth"] == 0


def test_central_cli_receives_publishes_lists_and_stops_on_sigterm(
    broker: Broker, central_key: tuple[Ed25519PrivateKey, Path], tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization

    key_pem = central_key[0].private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    (tmp_path / "central.key").write_bytes(key_pem)
    (tmp_path / "central.pw").write_text(PASSWORD)
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "rev.json").write_text(
        json.dumps(
            {
                "gate": "gate-f",
                "name": "revocations",
                "version": 1,
                "mode": "full",
                "data": ["P-77"],
            }
        )
    )
    db = tmp_path / "central.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge", "central", "--db", str(db), "--port", str(broker.tls),
         "--ca", str(broker.ca()), "--username", "central", "--password-file",
         str(tmp_path / "central.pw"), "--sign-key", str(tmp_path / "central.key"),
         "--lists", str(lists), "--client-id", "central-cli"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    store = Store(tmp_path / "g.sqlite3")
    for i in range(50):
        store.append("access", time.time(), {"i": i})
    svc = service_for(gate_config(broker, central_key[1], "gate-f", tmp_path / "g"), store)
    svc.start()
    try:
        wait_for(lambda: store.list_versions().get("revocations") == 1, 15, "list from CLI")
        wait_for(lambda: store.outbox_depth() == 0, 15, "CLI receiver acks")
    finally:
        svc.stop()
        proc.terminate()
        assert proc.wait(10) == 0
        store.close()
    assert CentralDB(str(db)).seqs("gate-f") == list(range(1, 52))  # 50 + lists_applied


def test_last_will_says_offline_when_the_gate_process_dies(
    broker: Broker, central_key: tuple[Ed25519PrivateKey, Path], tmp_path: Path
) -> None:
    from synckit import GateProcess, central_link_for

    from edge.sync import topics
    from edge.sync.client import MqttLink

    store_path = tmp_path / "w.sqlite3"
    cfg = gate_config(broker, central_key[1], "gate-g", store_path)
    toml = write_gate_toml(
        tmp_path / "w.toml",
        "gate-g",
        store_path,
        cfg.sync.model_dump(exclude_none=True, mode="json"),
    )
    status_topic = topics.up("gate-g", "status")
    proc = GateProcess(toml, tmp_path / "w.log")
    proc.start()

    def retained_state() -> str | None:
        link = MqttLink(central_link_for(broker, "will-check", (status_topic,)))
        deadline = time.monotonic() + 3
        state = None
        while time.monotonic() < deadline and state is None:
            for ev in link.poll(0.02):
                if ev.kind == "message" and ev.payload:
                    state = json.loads(ev.payload)["state"]
        link.close()
        return state

    try:
        wait_for(lambda: retained_state() == "online", 20, "retained online")
        proc.kill()  # SIGKILL: no clean goodbye, the broker publishes the will
        wait_for(lambda: retained_state() == "offline", 10, "last will")
    finally:
        proc.stop()
