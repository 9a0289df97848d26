"""The broker's Maximum Packet Size (CONNACK) is obeyed: paho would send an oversize publish
and get disconnected, and a naive resend would loop."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synckit import central_link, gate_config, service_for, wait_for

from edge.central.db import CentralDB
from edge.central.receiver import Receiver
from edge.gate.credentials.trust import save_keypair
from edge.store.sqlite import Store
from edge.tools.loadgen import generate
from edge.tools.localbroker import MOSQUITTO, Broker


@pytest.mark.skipif(not os.path.exists(MOSQUITTO), reason="mosquitto is not installed")
def test_broker_maximum_packet_size_from_connack(tmp_path: Path) -> None:
    broker = Broker.throwaway(gates=("gate-a",))
    broker.extra = "max_packet_size 6000"
    broker.setup()  # rewrite the config with the limit
    broker.start()
    key = Ed25519PrivateKey.generate()
    save_keypair(key, tmp_path / "c.key", tmp_path / "c.pub")
    r = Receiver(str(tmp_path / "c.sqlite3"), central_link(broker), key)
    store = Store(tmp_path / "g.sqlite3")
    try:
        r.start()
        assert r.ready.wait(10)
        generate(store, "gate-a", 500)
        svc = service_for(gate_config(broker, tmp_path / "c.pub", "gate-a", tmp_path / "g"), store)
        svc.start()
        try:
            wait_for(lambda: store.outbox_depth() == 0, 20, "drain under a 6000-byte limit")
            assert svc.link.max_packet == 6000 and svc.link.connects == 1  # never kicked off
        finally:
            svc.stop()
        assert CentralDB(r.db_url).seqs("gate-a") == list(range(1, 501))
    finally:
        r.stop()
        store.close()
        broker.cleanup()
