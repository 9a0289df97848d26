"""The broker ACL and TLS: a gate cannot publish as another gate nor read its downlink."""

from __future__ import annotations

import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synckit import central_link_for as central_link

from edge.central.publisher import command_message
from edge.sync import topics
from edge.sync.client import LinkEvent, LinkSettings, MqttLink
from edge.tools.localbroker import PASSWORD, Broker, make_pki


def gate_link(broker: Broker, gate: str, mode: str, **kw: object) -> LinkSettings:
    if mode == "mtls":
        cert, key = broker.cert(gate)
        base = {"port": broker.mtls, "tls": True, "ca_file": broker.ca(), "cert_file": cert,
                "key_file": key}  # fmt: skip
    else:
        base = {"port": broker.tls, "tls": True, "ca_file": broker.ca(), "username": gate,
                "password": PASSWORD}  # fmt: skip
    base.update(client_id=f"acl-{gate}-{mode}", reconnect_min_s=0.1, reconnect_max_s=0.5)
    base.update(kw)
    return LinkSettings(**base)  # type: ignore[arg-type]


def run(link: MqttLink, seconds: float) -> list[LinkEvent]:
    out: list[LinkEvent] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        out += link.poll(0.02)
    return out


def connect(s: LinkSettings, seconds: float = 5.0) -> MqttLink:
    link = MqttLink(s)
    deadline = time.monotonic() + seconds
    while not link.connected and time.monotonic() < deadline:
        link.poll(0.02)
    return link


def test_gate_cannot_publish_as_another_gate(broker: Broker) -> None:
    spy = connect(central_link(broker, "spy-1", ("gate/v1/+/up/#",)))
    for mode in ("tls", "mtls"):
        a = connect(gate_link(broker, "gate-i", mode))
        assert a.connected, mode
        run(spy, 0.3)
        own = a.publish(topics.up("gate-i", "records"), b"own")
        forged = a.publish(topics.up("gate-j", "records"), b"forged")
        evs = run(a, 0.5)
        codes = {e.mid: e.code for e in evs if e.kind == "published"}
        assert codes[forged] == 0x87  # MQTT 5: not authorised (3.1.1 would say "ok" and drop)
        assert codes[own] < 0x80
        got = [(e.topic, e.payload) for e in run(spy, 0.5) if e.kind == "message"]
        assert (topics.up("gate-i", "records"), b"own") in got
        assert all(p != b"forged" for _, p in got)
        a.close()
    spy.close()


def test_gate_cannot_read_another_gates_downlink(
    broker: Broker, central_key: tuple[Ed25519PrivateKey, Path]
) -> None:
    snoop = connect(gate_link(broker, "gate-i", "mtls", subscriptions=("gate/v1/gate-j/down/#",)))
    owner = connect(gate_link(broker, "gate-j", "tls", subscriptions=("gate/v1/gate-j/down/#",)))
    central = connect(central_link(broker, "central-acl", ()))
    assert snoop.connected and owner.connected and central.connected
    run(snoop, 0.3)
    topic, payload = command_message(central_key[0], "gate-j", "open", {"seconds": 3})
    central.publish(topic, payload)
    run(central, 0.3)
    assert [e.payload for e in run(owner, 0.7) if e.kind == "message"] == [payload]
    assert [e for e in run(snoop, 0.3) if e.kind == "message"] == []
    for link in (snoop, owner, central):
        link.close()


def test_tls_refuses_wrong_ca_missing_cert_and_bad_password(broker: Broker, tmp_path: Path) -> None:
    make_pki(tmp_path / "other", ("gate-i",))
    wrong_ca = gate_link(broker, "gate-i", "tls", ca_file=tmp_path / "other" / "ca.pem")
    no_cert = gate_link(broker, "gate-i", "mtls", cert_file=None, key_file=None)
    bad_pw = gate_link(broker, "gate-i", "tls", password="wrong")
    foreign_cert = gate_link(
        broker, "gate-i", "mtls",
        cert_file=tmp_path / "other" / "gate-i.pem", key_file=tmp_path / "other" / "gate-i.key",
    )  # fmt: skip
    for s in (wrong_ca, no_cert, bad_pw, foreign_cert):
        link = connect(s, 1.5)
        assert not link.connected, s
        link.close()
