"""Hostile downlink (issue 17): an oversize message never reaches the gate's memory.

Before: a 200 MiB message on a downlink topic raised the gate's peak memory from 99 MB to
720 MB before the 1 MiB cap refused it; the gate declared no MQTT 5 Maximum Packet Size.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from synckit import PASSWORD, GateProcess, gate_config, wait_for, write_gate_toml

from edge.sync import topics
from edge.tools.localbroker import Broker

pytestmark = pytest.mark.slow


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _publish(broker: Broker, topic: str, payload: bytes) -> None:
    """Publish as central with a bare paho client (ours refuses to send oversize)."""
    done = threading.Event()
    c = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id="central-hostile",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    c.username_pw_set("central", PASSWORD)
    c.on_publish = lambda *a: done.set()
    c.connect("127.0.0.1", broker.plain)
    c.loop_start()
    try:
        c.publish(topic, payload, qos=1)
        assert done.wait(60), "the broker never took the message"
    finally:
        c.loop_stop()
        c.disconnect()


def _gate_subscribed(broker: Broker, gate: str) -> bool:
    """The gate's retained status says online once it is connected and subscribed."""
    got: list[bytes] = []
    c = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="central-peek", protocol=MQTTProtocolVersion.MQTTv5
    )
    c.username_pw_set("central", PASSWORD)
    c.on_message = lambda _c, _u, m: got.append(m.payload)
    c.connect("127.0.0.1", broker.plain)
    c.subscribe(topics.up(gate, "status"), qos=1)
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and not got:
        c.loop(0.1)
    c.disconnect()
    return any(b"online" in p for p in got)


def test_200_mib_downlink_never_reaches_the_gate(
    broker: Broker, central_key: tuple[Ed25519PrivateKey, Path], tmp_path: Path
) -> None:
    gate = "gate-n"
    store = tmp_path / "gate.sqlite3"
    cfg = gate_config(broker, central_key[1], gate, store, "tls")
    sync = cfg.sync.model_dump(exclude_none=True, mode="json")
    log = tmp_path / "gate.log"
    proc = GateProcess(write_gate_toml(tmp_path / "gate.toml", gate, store, sync), log)
    proc.start()
    try:
        assert proc.proc is not None
        pid = proc.proc.pid
        wait_for(lambda: _gate_subscribed(broker, gate), 30, "gate online")
        time.sleep(1.0)
        before = _peak_mb(pid)
        _publish(broker, topics.down(gate, "lists"), b"\0" * (200 * 1024 * 1024))
        time.sleep(3.0)  # were it delivered, the gate would be reading it now
        assert proc.proc.poll() is None
        after = _peak_mb(pid)
        assert after - before < 50.0, f"gate peak memory {before:.0f} -> {after:.0f} MB"
    finally:
        proc.stop()
