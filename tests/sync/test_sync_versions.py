"""Versioning rules (docs/sync.md, "Compatibility"): a message of a future minor version — a
``minor`` the reader does not know, fields it does not know — is accepted and applied by
today's gate and today's receiver; a future major version is refused with the reason
``unsupported_version``. The signature still covers the whole body, unknown fields included."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synckit import central_link, gate_config, service_for, wait_for

from edge.central.db import CentralDB
from edge.central.publisher import ListFolder, command_message, list_message, publish_message
from edge.central.receiver import Receiver
from edge.gate.rules.lists import ListsSnapshot
from edge.gate.rules.profile import Rules
from edge.store.sqlite import Store
from edge.sync import topics
from edge.sync.client import LinkSettings, MqttLink
from edge.sync.downlink import DownlinkHandler
from edge.sync.lists_apply import GateHooks
from edge.sync.signing import Verifier, sign
from edge.tools.localbroker import PASSWORD, Broker

ROOT = Path(__file__).resolve().parents[2]
KEY = Ed25519PrivateKey.generate()
GATE = "gate-a"


def future(payload: bytes, **envelope: Any) -> bytes:
    """The signed envelope with fields changed or added outside the signed body."""
    return json.dumps({**json.loads(payload), **envelope}).encode()


class Gate:
    """Today's gate downlink on a real store, with the hooks it hands changes to."""

    def __init__(self, tmp: Path) -> None:
        self.store = Store(tmp / "gate.sqlite3")
        self.lists: list[ListsSnapshot] = []
        self.commands: list[tuple[str, dict[str, Any]]] = []
        self.configs: list[dict[str, Any]] = []
        hooks = GateHooks(
            on_lists=self.lists.append,
            on_command=self._command,
            on_config=self.configs.append,
        )
        self.handler = DownlinkHandler(self.store, Verifier([KEY.public_key()]), hooks)

    def _command(self, cmd: str, args: dict[str, Any]) -> bool:
        self.commands.append((cmd, args))
        return True

    def refused(self) -> list[tuple[str, str]]:
        return [
            (r.body["reason"], r.body["detail"])
            for r in self.store.records()
            if r.kind == "downlink_rejected"
        ]


@pytest.fixture
def gate(tmp_path: Path) -> Gate:
    return Gate(tmp_path)


def test_a_future_minor_list_with_added_fields_is_applied(gate: Gate) -> None:
    topic, payload = list_message(
        KEY,
        {
            "gate": GATE,
            "name": "households",
            "version": 3,
            "mode": "full",
            "note": "added by a newer central",  # an unknown field of the body
            "data": {"3-2-501": {"status": "normal", "pet": True}},  # an unknown household flag
        },
    )
    assert json.loads(json.loads(payload)["body"])["note"] == "added by a newer central"
    gate.handler.handle(topic, future(payload, minor=7, route="east"))
    assert gate.refused() == []
    assert gate.store.list_versions() == {"households": 3}
    assert list(gate.lists[-1].households) == ["3-2-501"]
    # a later delta (today's format) applies on top: the stored list is one this gate reads
    delta = {"upsert": {"3-2-601": {"colour": "red", "since": 5}}, "remove": []}
    gate.handler.handle(
        *list_message(
            KEY,
            {"gate": GATE, "name": "households", "version": 4, "mode": "delta", "base": 3,
             "data": delta},
        )
    )  # fmt: skip
    assert gate.refused() == [] and sorted(gate.lists[-1].households) == ["3-2-501", "3-2-601"]


def test_a_future_minor_command_and_config_are_applied(gate: Gate) -> None:
    topic, payload = command_message(KEY, GATE, "open", {"seconds": 3})
    body = json.loads(json.loads(payload)["body"])
    body["reason_text"] = "resident locked out"  # a newer central adds a field, and signs it
    gate.handler.handle(topic, future(sign(KEY, body), minor=2))
    assert gate.commands == [("open", {"seconds": 3})]
    cfg_topic = topics.down(GATE, "config")
    cfg = {"kind": "config", "topic": cfg_topic, "version": 2, "settings": {"a": 1}, "rev": "x"}
    gate.handler.handle(cfg_topic, future(sign(KEY, cfg), minor=1))
    assert gate.configs == [{"a": 1}] and gate.refused() == []


def test_a_future_major_message_is_refused_with_its_reason(gate: Gate) -> None:
    topic, payload = list_message(
        KEY, {"gate": GATE, "name": "revocations", "version": 1, "mode": "full", "data": []}
    )
    gate.handler.handle(topic, future(payload, v=2))
    # a new major may change anything, also the envelope: still that reason, not "malformed"
    reshaped = json.dumps({"v": 3, "sigs": [{"alg": "ML-DSA"}], "payload": "..."}).encode()
    gate.handler.handle(topic, reshaped)
    assert [r for r, _ in gate.refused()] == ["unsupported_version", "unsupported_version"]
    assert "major version 2" in gate.refused()[0][1]
    assert gate.store.list_versions() == {} and gate.lists == []


def test_the_signature_covers_unknown_fields(gate: Gate) -> None:
    topic, payload = list_message(
        KEY,
        {"gate": GATE, "name": "revocations", "version": 1, "mode": "full", "data": [],
         "note": "signed"},
    )  # fmt: skip
    env = json.loads(payload)
    env["body"] = env["body"].replace('"signed"', '"forged"')
    gate.handler.handle(topic, json.dumps(env).encode())
    assert [r for r, _ in gate.refused()] == ["bad_signature"]


def test_the_lists_folder_publishes_what_the_contract_accepts(tmp_path: Path, gate: Gate) -> None:
    folder = tmp_path / "lists"
    folder.mkdir()
    (folder / "h.json").write_text(
        json.dumps(
            {"gate": GATE, "name": "households", "version": 1, "mode": "full",
             "owner": "district 3", "data": {"1-1-101": {"colour": "green", "floor": 1}}}
        )
    )  # fmt: skip
    [(topic, payload)] = ListFolder(folder, KEY).changed()
    assert json.loads(json.loads(payload)["body"])["owner"] == "district 3"  # kept, signed
    gate.handler.handle(topic, payload)
    assert gate.refused() == [] and gate.store.list_versions() == {"households": 1}


def test_publish_signs_a_message_naming_its_topic_exactly_as_given() -> None:
    topic = topics.down(GATE, "lists", "zones")
    spec = {"kind": "list", "topic": topic, "name": "zones", "version": 2, "mode": "full",
            "data": {}, "ts": 1.7e9, "added": [1, 2]}  # fmt: skip
    got_topic, payload, retain = publish_message(KEY, spec)
    assert (got_topic, retain) == (topic, True)
    assert Verifier([KEY.public_key()]).open(topic, payload) == spec
    with pytest.raises(ValueError, match="downlink"):
        publish_message(KEY, {**spec, "topic": "gate/v1/gate-a/up/records"})
    with pytest.raises(ValueError, match="unknown message kind"):
        publish_message(KEY, {"kind": "sermon"})


# -- today's receiver, over a real broker ------------------------------------------------------


def _gate_link(broker: Broker, gate: str, subscriptions: tuple[str, ...] = ()) -> MqttLink:
    link = MqttLink(
        LinkSettings(
            port=broker.tls, client_id=f"{gate}-raw", username=gate, password=PASSWORD,
            tls=True, ca_file=broker.ca(), subscriptions=subscriptions, reconnect_min_s=0.1,
        )
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not link.connected and time.monotonic() < deadline:
        link.poll(0.05)
    assert link.connected
    return link


def _batch(gate: str, seqs: range, **extra: Any) -> bytes:
    records = [
        {"seq": s, "id": f"id-{gate}-{s}", "kind": "scan", "ts": 1.7e9 + s, "gate": gate,
         "direction": "in", "missing": ["health_code"]}
        for s in seqs
    ]  # fmt: skip
    return json.dumps({"v": 1, "gate": gate, "sent_at": time.time(), "records": records, **extra})


def test_the_receiver_stores_a_future_minor_batch_and_refuses_a_future_major_one(
    broker: Broker, central_key: tuple[Ed25519PrivateKey, Path], tmp_path: Path
) -> None:
    gate = "gate-v1"
    r = Receiver(
        str(tmp_path / "c.sqlite3"), central_link(broker, client_id="c-ver"), central_key[0]
    )
    r.start()
    assert r.ready.wait(10)
    link = _gate_link(broker, gate, (topics.down(gate, "ack"),))
    acks: list[dict[str, Any]] = []
    verifier = Verifier([central_key[0].public_key()])

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for ev in link.poll(0.05):
                if ev.kind == "message" and ev.payload:
                    acks.append(verifier.open(ev.topic, ev.payload))

    try:
        newer = json.loads(_batch(gate, range(1, 4), minor=5, region="pudong"))
        newer["records"][0]["temperature_c"] = 36.6  # a field a newer gate adds to a kind
        newer["records"].append({"seq": 4, "id": "id-4", "kind": "parcel", "ts": 1.7e9})
        link.publish(topics.up(gate, "records"), json.dumps(newer).encode())
        pump(0.5)
        wait_for(lambda: (pump(0.1), bool(acks) and acks[-1]["upto"] == 4)[1], 15, "ack of v1.5")
        db = CentralDB(r.db_url)
        assert db.seqs(gate) == [1, 2, 3, 4]
        link.publish(topics.up(gate, "records"), _batch(gate, range(5, 7), v=2).encode())
        link.publish(topics.up(gate, "heartbeat"), b'{"v": 2, "gate": "gate-v1"}')
        wait_for(lambda: r.refused.get("unsupported_version") == 2, 15, "refusal")
        pump(1.0)
        assert acks[-1]["upto"] == 4  # the v2 batch is neither stored nor acknowledged
        assert db.seqs(gate) == [1, 2, 3, 4]
        assert [s["rejected"] for s in db.stats() if s["gate"] == gate] == [2]
        db.close()
    finally:
        link.close()
        r.stop()


def test_central_publish_reaches_todays_gate_with_a_future_minor_list(
    broker: Broker, central_key: tuple[Ed25519PrivateKey, Path], tmp_path: Path
) -> None:
    gate = "gate-v2"
    key_pem = central_key[0].private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    (tmp_path / "central.key").write_bytes(key_pem)
    (tmp_path / "central.pw").write_text(PASSWORD)
    store = Store(tmp_path / "g.sqlite3")
    svc = service_for(gate_config(broker, central_key[1], gate, tmp_path / "g"), store)
    svc.start()
    spec = {"gate": gate, "name": "revocations", "version": 4, "mode": "full",
            "data": ["P-9"], "campaign": "2026-12"}  # fmt: skip
    (tmp_path / "rev.json").write_text(json.dumps(spec))
    try:
        out = subprocess.run(
            [sys.executable, "-m", "edge", "central", "publish", str(tmp_path / "rev.json"),
             "--port", str(broker.tls), "--ca", str(broker.ca()), "--username", "central",
             "--password-file", str(tmp_path / "central.pw"),
             "--sign-key", str(tmp_path / "central.key"), "--json"],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["topic"] == topics.down(gate, "lists", "revocations")
        wait_for(lambda: store.list_versions().get("revocations") == 4, 15, "list applied")
        bad = subprocess.run(
            [sys.executable, "-m", "edge", "central", "publish", str(tmp_path / "none.json"),
             "--sign-key", str(tmp_path / "central.key")],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert bad.returncode == 2 and "none.json" in bad.stderr
        # a future major over MQTT: the running gate refuses it with its reason, keeps v4
        topic, payload = list_message(
            central_key[0],
            {"gate": gate, "name": "revocations", "version": 5, "mode": "full", "data": []},
        )
        link = MqttLink(central_link(broker, client_id="c-major"))
        wait_for(lambda: bool(link.poll(0.05)) or link.connected, 10, "central link")
        link.publish(topic, future(payload, v=2))

        def refused() -> list[str]:
            link.poll(0.0)
            recs = store.records(limit=1000)
            return [r.body["reason"] for r in recs if r.kind == "downlink_rejected"]

        wait_for(lambda: refused() == ["unsupported_version"], 15, "major refused by the gate")
        assert store.list_versions().get("revocations") == 4
        link.close()
    finally:
        svc.stop()
        store.close()


def test_the_gate_writes_version_1_messages_that_older_readers_accept() -> None:
    """What today's code writes carries ``v`` and no ``minor`` (readers from before the
    versioning rules refused every field they did not know)."""
    topic, payload = list_message(KEY, {"name": "trust", "version": 1, "mode": "full", "data": []})
    env = json.loads(payload)
    assert env["v"] == 1 and "minor" not in env
    assert base64.b64decode(env["sig"]) and topic == topics.fleet("lists", "trust")


def test_a_running_gate_applies_a_future_minor_rules_push_with_nested_unknown_fields(
    broker: Broker, central_key: tuple[Ed25519PrivateKey, Path], tmp_path: Path
) -> None:
    """Unknown fields at every level of a pushed ``rules`` (a new top-level rule, a new colour
    class inside ``colour_in``) are dropped and the rest applied, over MQTT to a running gate;
    a future-major rules push is refused with its reason and the held rules kept."""
    gate = "gate-v1"
    store = Store(tmp_path / "g.sqlite3")
    applied: list[Rules] = []
    cfg = gate_config(broker, central_key[1], gate, tmp_path / "g")
    svc = service_for(cfg, store, hooks=GateHooks(on_rules=applied.append))
    svc.start()
    link = MqttLink(central_link(broker, client_id="c-rules"))
    try:
        wait_for(lambda: bool(link.poll(0.05)) or link.connected, 10, "central link")
        rules = {
            "temperature": "soft",
            "colour_in": {"red": "hard", "yellow": "hard", "orange": "guard"},  # nested unknown
            "colour_out": {"red": "hard", "lilac": "off"},
            "escort": {"mode": "guard", "max_people": 2},  # a whole new rule
        }
        topic, payload = list_message(
            central_key[0],
            {"gate": gate, "name": "rules", "version": 3, "mode": "full", "data": rules},
        )
        link.publish(topic, future(payload, minor=4), retain=True)
        wait_for(lambda: (link.poll(0.0), bool(applied))[1], 15, "rules applied")
        got = applied[-1]
        assert got.version == 3 and got.temperature == "soft"
        assert {str(k): str(v) for k, v in got.colour_in.items()} == {
            "red": "hard",
            "yellow": "hard",
        }
        assert {str(k): str(v) for k, v in got.colour_out.items()} == {"red": "hard"}
        assert store.list_versions().get("rules") == 3
        assert [r.body["name"] for r in store.records() if r.kind == "lists_applied"] == ["rules"]
        # a future major: refused with its reason, v3 kept
        topic, payload = list_message(
            central_key[0],
            {"gate": gate, "name": "rules", "version": 4, "mode": "full", "data": rules},
        )
        link.publish(topic, future(payload, v=2), retain=True)

        def refused() -> list[str]:
            link.poll(0.0)
            return [r.body["reason"] for r in store.records() if r.kind == "downlink_rejected"]

        wait_for(lambda: refused() == ["unsupported_version"], 15, "major refused by the gate")
        assert store.list_versions().get("rules") == 3 and len(applied) == 1
        link.publish(topic, b"", retain=True)  # leave no retained rules for later tests
        link.poll(0.2)
    finally:
        link.close()
        svc.stop()
        store.close()


def test_local_rules_stay_strict() -> None:
    """The config file's own ``rules`` still refuse a field they do not know (a typo must not
    pass silently); only what central pushes is read leniently."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Rules.model_validate({"temprature": "soft"})
    with pytest.raises(ValidationError):
        Rules.model_validate({"colour_in": {"orange": "guard"}})
