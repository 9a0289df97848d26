"""A downlink is acknowledged only once the gate runs it, over real mosquitto.

The acknowledgement of a pushed list is its ``lists_applied`` record (synced to central like
every record), carrying the version now in force. Before issue 16 that record was committed
before the running gate was handed the list: a hook that failed left central believing the
gate ran a list it did not, and a store that refused the write ended the message in a
"sync worker error" traceback, neither applied nor refused.
"""

from __future__ import annotations

import base64
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from faultkit import SmallDisk, UpWatch, wait_until
from test_fault_broker import GATE, broker  # noqa: F401 (the fixture)

from edge.central.publisher import list_message
from edge.gate.credentials.trust import TrustStore, save_keypair
from edge.gate.rules.profile import Rules
from edge.store.sqlite import Store
from edge.sync.lists_apply import GateHooks
from edge.sync.service import SyncService
from edge.sync.settings import SyncSettings
from edge.tools.localbroker import PASSWORD, Broker


@pytest.fixture
def central(tmp_path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    save_keypair(key, tmp_path / "central.key", tmp_path / "central.pub")
    return key


def settings(tmp_path: Path, mq: Broker) -> SyncSettings:
    pw = tmp_path / "gate.pw"
    pw.write_text(PASSWORD)
    return SyncSettings.model_validate(
        {
            "enabled": True, "port": mq.tls, "username": GATE, "password_file": pw,
            "tls": True, "ca_file": mq.ca(), "central_keys": [tmp_path / "central.pub"],
            "reconnect_min_s": 0.1, "reconnect_max_s": 1.0, "ack_timeout_s": 3.0,
        }
    )  # fmt: skip


@pytest.fixture
def records_topic(broker: Broker) -> Iterator[UpWatch]:  # noqa: F811
    watch = UpWatch(broker, GATE, "records")
    wait_until("the central watcher", lambda: watch.connected, timeout=10)
    yield watch
    watch.close()


def committed(db: Path, kind: str) -> list[dict[str, Any]]:
    """Records of ``kind`` committed so far, read on a connection of its own."""
    import json

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT body FROM records WHERE kind=?", (kind,)).fetchall()
    finally:
        con.close()
    return [json.loads(r[0]) for r in rows]


def trust_list(key: Ed25519PrivateKey, version: int) -> dict[str, Any]:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    data = [base64.b64encode(raw).decode()]
    return {"gate": GATE, "name": "trust", "version": version, "mode": "full", "data": data}


def publish(svc: SyncService, mq: Broker, topic: str, payload: bytes) -> None:
    from edge.sync.client import LinkSettings, MqttLink

    link = MqttLink(
        LinkSettings(
            port=mq.tls, client_id="central-push", username="central", password=PASSWORD,
            tls=True, ca_file=mq.ca(), reconnect_min_s=0.1,
        )
    )  # fmt: skip
    try:
        wait_until("the pushing link", lambda: (link.poll(0.05), link.connected)[1], timeout=10)
        link.publish(topic, payload)
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            link.poll(0.05)
    finally:
        link.close(None)


def test_a_list_is_acknowledged_after_the_gate_runs_it_and_a_failed_one_refused(
    tmp_path: Path,
    broker: Broker,  # noqa: F811
    central: Ed25519PrivateKey,
    records_topic: UpWatch,
) -> None:
    db = tmp_path / "gate.sqlite3"
    store = Store(db)
    acks_when_handed: list[int] = []
    trusts: list[TrustStore] = []

    def on_trust(trust: TrustStore) -> None:
        # what central could have seen at this instant: no acknowledgement yet
        acks_when_handed.append(len(committed(db, "lists_applied")))
        trusts.append(trust)

    def on_rules(rules: Rules) -> None:
        raise RuntimeError("rules engine refused the profile")

    svc = SyncService(
        settings(tmp_path, broker),
        GATE,
        store,
        hooks=GateHooks(on_trust=on_trust, on_rules=on_rules),
    )
    svc.start()
    try:
        wait_until("the gate's link", lambda: svc.link.connected, timeout=10)
        issuer = Ed25519PrivateKey.generate()
        publish(svc, broker, *list_message(central, trust_list(issuer, 7)))
        ack = wait_until(
            "lists_applied at central", lambda: records_topic.kinds("lists_applied"), timeout=20
        )[0]
        assert (ack["name"], ack["version"]) == ("trust", 7)
        assert acks_when_handed == [0], "acknowledged before the gate ran the list"
        assert trusts and len(trusts[-1].pass_issuers) == 1

        rules = {"gate": GATE, "name": "rules", "version": 3, "mode": "full"}
        publish(svc, broker, *list_message(central, {**rules, "data": {"temperature": "soft"}}))
        refusal = wait_until(
            "the refusal at central",
            lambda: [r for r in records_topic.kinds("downlink_rejected") if "rules" in r["topic"]],
            timeout=20,
        )[0]
        assert refusal["reason"] == "apply_failed"
        assert "rules engine refused the profile" in refusal["detail"]
        time.sleep(0.5)
        assert [r["name"] for r in records_topic.kinds("lists_applied")] == ["trust"]
        assert "rules" not in store.list_versions(), "a list the gate did not run stays unstored"
    finally:
        svc.stop()
        store.close()


def test_a_list_the_store_cannot_keep_is_refused_and_the_refusal_follows(
    tmp_path: Path,
    broker: Broker,  # noqa: F811
    central: Ed25519PrivateKey,
    records_topic: UpWatch,
    small_disk: Callable[[int], SmallDisk],
) -> None:
    disk = small_disk(2048)
    db = disk.path / "gate.sqlite3"
    store = Store(db)
    trusts: list[TrustStore] = []
    svc = SyncService(
        settings(tmp_path, broker), GATE, store, hooks=GateHooks(on_trust=trusts.append)
    )
    svc.start()
    try:
        wait_until("the gate's link", lambda: svc.link.connected, timeout=10)
        filler = disk.fill()
        publish(svc, broker, *list_message(central, trust_list(Ed25519PrivateKey.generate(), 2)))
        wait_until("the refusal waiting in memory", lambda: store.pending_count() >= 1, timeout=10)
        # the commit failed after the gate was handed the list: it gets the stored one back
        assert not trusts or not trusts[-1].pass_issuers, "the gate runs a list it did not keep"
        assert "trust" not in store.list_versions()
        filler.unlink()
        store.flush()
        refusal = wait_until(
            "the refusal at central", lambda: records_topic.kinds("downlink_rejected"), timeout=20
        )[0]
        assert refusal["reason"] == "store_unavailable" and "full" in refusal["detail"]
        assert not records_topic.kinds("lists_applied")
    finally:
        svc.stop()
        store.close()
