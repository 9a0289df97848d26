"""start_sync() updates a running gate in place; the demo step reports delivery or queueing."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synckit import central_link, gate_config, wait_for

from edge.app.sync_wiring import start_sync
from edge.central.publisher import command_message, list_message
from edge.central.receiver import Receiver
from edge.core.events import EventBus
from edge.gate.credentials.trust import TrustStore
from edge.gate.rules.lists import ListsSnapshot
from edge.gate.rules.profile import Rules
from edge.store.sqlite import Store
from edge.sync.client import LinkSettings, MqttLink
from edge.tools import demo_sync as demo_step
from edge.tools.localbroker import Broker


class FakeDoor:
    def __init__(self) -> None:
        self.grants = 0
        self.seconds: list[float | None] = []

    def grant(self, seconds: float | None = None, **data: Any) -> None:
        self.grants += 1
        self.seconds.append(seconds)

    def submit(self, command: Callable[[], None]) -> None:
        """Commands reach a real door as messages to its loop; this one runs them at once."""
        command()


def fake_gate(config: Any, store: Store) -> Any:
    return SimpleNamespace(
        config=config, store=store, events=EventBus(), lists=ListsSnapshot(),
        trust=TrustStore(), rules=Rules(), door=FakeDoor(),
    )  # fmt: skip


def test_start_sync_updates_the_gate(
    broker: Broker, central_key: tuple[Ed25519PrivateKey, Path], tmp_path: Path
) -> None:
    r = Receiver(str(tmp_path / "c.sqlite3"), central_link(broker), central_key[0])
    r.start()
    assert r.ready.wait(10)
    store = Store(tmp_path / "g.sqlite3")
    gate = fake_gate(gate_config(broker, central_key[1], "gate-d", tmp_path / "g"), store)
    events = gate.events.subscribe()
    svc = start_sync(gate)
    assert svc is not None
    wait_for(lambda: svc.link.connected, 10, "gate connected")
    link = MqttLink(LinkSettings(**{**central_link(broker).__dict__, "client_id": "pub-w"}))
    try:
        while not link.connected:
            link.poll(0.02)
        for topic, payload in (
            list_message(central_key[0], {"gate": "gate-d", "name": "revocations", "version": 3,
                                          "mode": "full", "data": ["P-9"]}),
            list_message(central_key[0], {"name": "rules", "version": 2, "mode": "full",
                                          "data": {"require_registered_household": True}}),
            command_message(central_key[0], "gate-d", "open", {"seconds": 3}),
        ):  # fmt: skip
            link.publish(topic, payload, retain="/lists/" in topic)  # as central does
        for _ in range(10):
            link.poll(0.02)
        wait_for(lambda: gate.rules.version == 2 and gate.lists.revoked_passes, 10, "lists")
        if not gate.door.grants:  # the command went out before the gate had subscribed
            link.publish(*command_message(central_key[0], "gate-d", "open", {"seconds": 3}))
            for _ in range(10):
                link.poll(0.02)
        wait_for(lambda: gate.door.grants == 1, 10, "open command")
        assert gate.door.seconds == [3.0]  # open for the N seconds central asked for
    finally:
        link.close()
        svc.stop()
        r.stop()
    assert gate.lists.revoked_passes == frozenset({"P-9"})
    assert gate.rules.require_registered_household
    kinds = []
    while (ev := events.get(timeout=0.01)) is not None:
        kinds.append(ev.kind)
    assert "command" in kinds and "sync" in kinds
    store.close()


def test_start_sync_is_off_by_default(tmp_path: Path) -> None:
    from edge.app.config import Config

    store = Store(tmp_path / "g.sqlite3")
    assert start_sync(fake_gate(Config(), store)) is None
    store.close()


def test_demo_step_without_mosquitto_shows_the_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edge.app.config import Config

    monkeypatch.setattr(demo_step, "MOSQUITTO", str(tmp_path / "no-such-mosquitto"))
    store = Store(tmp_path / "g.sqlite3")
    for i in range(7):
        store.append("access", time.time(), {"i": i})
    out = io.StringIO()
    demo_step.demo_sync(fake_gate(Config(), store), out)
    assert "7 records stay queued" in out.getvalue()
    store.close()
