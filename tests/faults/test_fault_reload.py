"""Reload faults: a FIFO named as the lists file, and SIGHUP after the central platform pushed
a key.

Before issue 16 a SIGHUP whose ``[lists] path`` named a FIFO blocked the gate's loop until a
writer appeared (17.9 s measured; SIGTERM ignored meanwhile), and a reload rebuilt trust and
rules from the file only, so a pass signed by a key central had pushed got DENY UNKNOWN_KEY.
"""

from __future__ import annotations

import base64
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from configkit import write_config
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from faultkit import (
    DAY,
    GateRun,
    NotifyListener,
    Pass,
    base_config,
    code_folder,
    decisions,
    every,
    wait_until,
)
from test_fault_broker import GATE, broker  # noqa: F401 (the fixture)

from edge.central.publisher import list_message
from edge.gate.credentials import passes
from edge.gate.credentials.trust import save_keypair
from edge.gate.credentials.verified import Role
from edge.sync.client import LinkSettings, MqttLink
from edge.tools.localbroker import PASSWORD, Broker


def test_sighup_with_a_fifo_as_lists_file_is_refused_and_never_blocks(
    tmp_path: Path,
    signed_pass: Pass,
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    camera = code_folder(tmp_path / "cam", every(signed_pass.text, 20, 40))
    sections = base_config(tmp_path, signed_pass, camera, tmp_path / "gate.sqlite3")
    gate = gate_run(sections, watchdog_usec=1_000_000)
    notify.wait_for("READY", "1")
    fifo = tmp_path / "lists.fifo"
    os.mkfifo(fifo)
    sections["lists"] = {"path": str(fifo)}
    write_config(gate.config, sections)
    sent = time.monotonic()
    gate.send(signal.SIGHUP)
    refused = notify.wait_for("STATUS", "last reload refused", timeout=10)
    assert "not a regular file" in refused["STATUS"]
    assert time.monotonic() - sent < 5.0
    wait_until("watchdog pings after the reload", lambda: notify.watchdog_times(since=sent + 1))
    t0 = time.monotonic()
    assert gate.stop(timeout=10) == 0
    assert time.monotonic() - t0 < 5.0, "SIGTERM must be acted on at once"


def test_sighup_keeps_a_key_the_central_platform_pushed(
    tmp_path: Path,
    signed_pass: Pass,
    broker: Broker,  # noqa: F811
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    """The real service, its sync on real mosquitto: central pushes an issuer key the config
    file does not know, a pass signed by it opens, SIGHUP, and it still opens."""
    central = Ed25519PrivateKey.generate()
    save_keypair(central, tmp_path / "central.key", tmp_path / "central.pub")
    pushed = Ed25519PrivateKey.generate()  # an issuer the config file does not know
    now = int(time.time())
    body = passes.PassBody("P-9", "h-9", "3", "2", "501", Role.RESIDENT, now - DAY, now + DAY, None)
    camera = code_folder(tmp_path / "cam", every(passes.issue(body, pushed), 20, 40))
    pw = tmp_path / "gate.pw"
    pw.write_text(PASSWORD)
    sync = {
        "enabled": True, "port": broker.tls, "username": GATE, "password_file": str(pw),
        "tls": True, "ca_file": str(broker.ca()), "central_keys": [str(tmp_path / "central.pub")],
        "reconnect_min_s": 0.1, "reconnect_max_s": 1.0,
    }  # fmt: skip
    sections = base_config(tmp_path, signed_pass, camera, tmp_path / "gate.sqlite3", sync=sync)
    gate = gate_run(sections)
    notify.wait_for("READY", "1")
    wait_until("a refusal: the key is unknown", lambda: decisions(gate.log()), gate=gate)
    assert decisions(gate.log())[0][:2] == ("DENY", "UNKNOWN_KEY")
    raw = pushed.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    spec = {"gate": GATE, "name": "trust", "version": 1, "mode": "full"}
    publish(broker, *list_message(central, {**spec, "data": [base64.b64encode(raw).decode()]}))
    wait_until(
        "a decision with the pushed key",
        lambda: any(v == "ALLOW" for v, _, _ in decisions(gate.log())),
        gate=gate,
    )
    gate.send(signal.SIGHUP)
    wait_until("the reload", lambda: "reload: new config applied" in gate.log(), gate=gate)
    after = len(decisions(gate.log()))
    wait_until("2 decisions after", lambda: len(decisions(gate.log())) >= after + 2, gate=gate)
    assert gate.stop() == 0
    log = gate.log()
    assert "kept what the central platform pushed" in log
    assert {v for v, _, _ in decisions(log)[after:]} == {"ALLOW"}, "the pushed key must survive"


def publish(mq: Broker, topic: str, payload: bytes) -> None:
    """Publish as central (QoS 1) and give the broker a moment to pass it on."""
    link = MqttLink(
        LinkSettings(
            port=mq.tls, client_id="central-push", username="central", password=PASSWORD,
            tls=True, ca_file=mq.ca(), reconnect_min_s=0.1,
        )
    )  # fmt: skip
    try:
        wait_until("the central link", lambda: (link.poll(0.05), link.connected)[1], timeout=10)
        link.publish(topic, payload)
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            link.poll(0.05)
    finally:
        link.close(None)
