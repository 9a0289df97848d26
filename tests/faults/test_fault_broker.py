"""The broker goes down (SIGKILL) under a running gate and comes back: the gate keeps
deciding with its pulses intact and its watchdog fed, and every decision reaches central."""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from brokerkit import running_broker
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from faultkit import (
    GateRun,
    NotifyListener,
    Pass,
    base_config,
    code_folder,
    decisions,
    every,
    pulse_kept,
    pulses,
    wait_until,
)
from needs import unavailable

from edge.central.db import CentralDB
from edge.central.receiver import Receiver
from edge.core.records import AlertBody, RecordKind
from edge.gate.credentials.trust import save_keypair
from edge.store.sqlite import Store
from edge.sync.client import LinkSettings
from edge.sync.service import SyncService
from edge.sync.settings import SyncSettings
from edge.tools.localbroker import MOSQUITTO, PASSWORD, Broker

GATE = "fault-gate"
DOWN_S = 6.0


@pytest.fixture
def broker() -> Iterator[Broker]:
    with running_broker((GATE,), prefix="edge-mq-fault-") as b:
        yield b


def test_broker_down_and_back_loses_nothing_and_never_holds_the_door(
    tmp_path: Path,
    signed_pass: Pass,
    broker: Broker,
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    central = Ed25519PrivateKey.generate()
    save_keypair(central, tmp_path / "central.key", tmp_path / "central.pub")
    link = LinkSettings(
        port=broker.tls, client_id="central-fault", username="central", password=PASSWORD,
        tls=True, ca_file=broker.ca(), reconnect_min_s=0.1, reconnect_max_s=1.0,
    )  # fmt: skip
    receiver = Receiver(str(tmp_path / "central.sqlite3"), link, central)
    receiver.start()
    assert receiver.ready.wait(10)
    pw = tmp_path / "gate.pw"
    pw.write_text(PASSWORD)
    sync = {
        "enabled": True,
        "port": broker.tls,
        "username": GATE,
        "password_file": str(pw),
        "tls": True,
        "ca_file": str(broker.ca()),
        "central_keys": [str(tmp_path / "central.pub")],
        "reconnect_min_s": 0.1,
        "reconnect_max_s": 1.0,
        "ack_timeout_s": 3.0,
    }
    camera = code_folder(tmp_path / "cam", every(signed_pass.text, 20, 40))
    db = tmp_path / "gate.sqlite3"
    gate = gate_run(base_config(tmp_path, signed_pass, camera, db, sync=sync))
    try:
        notify.wait_for("READY", "1")
        wait_until("a first decision", lambda: decisions(gate.log()), gate=gate)
        broker.kill()  # SIGKILL: what it acknowledged since its last save is gone too
        down = time.monotonic()
        made = len(decisions(gate.log()))
        time.sleep(DOWN_S)
        assert len(decisions(gate.log())) >= made + 2, "decisions stopped with the broker"
        broker.start()
        central_db = CentralDB(receiver.db_url)
        allowed = [seq for v, _, seq in decisions(gate.log()) if v == "ALLOW"]
        try:
            wait_until(
                "every decision at central",
                lambda: set(allowed) <= set(central_db.seqs(GATE)),
                timeout=40,
                gate=gate,
            )
        finally:
            central_db.close()
        assert gate.alive()
        pings = notify.watchdog_times(since=down)
        gaps = [b - a for a, b in itertools.pairwise(pings)]
        assert gaps and max(gaps) < 1.0, gaps
        assert gate.stop() == 0
        lengths = pulses(gate.log())
        assert lengths and all(pulse_kept(x) for x in lengths), lengths
    finally:
        receiver.stop()


def test_a_record_larger_than_the_broker_takes_goes_to_the_dead_letter_table(
    tmp_path: Path,
) -> None:
    """Before issue 16 such a record stayed in the outbox and was resent forever."""
    if not os.path.exists(MOSQUITTO):
        unavailable("mosquitto is not installed (make bootstrap installs it)")
    b = Broker(Path(tempfile.mkdtemp(prefix="edge-mq-fault-")), gates=(GATE,))
    b.extra = "max_packet_size 6000"
    b.setup()
    b.start()
    central = Ed25519PrivateKey.generate()
    save_keypair(central, tmp_path / "central.key", tmp_path / "central.pub")
    link = LinkSettings(
        port=b.tls, client_id="central-dl", username="central", password=PASSWORD,
        tls=True, ca_file=b.ca(), reconnect_min_s=0.1, reconnect_max_s=1.0,
    )  # fmt: skip
    receiver = Receiver(str(tmp_path / "central.sqlite3"), link, central)
    store = Store(tmp_path / "gate.sqlite3")
    pw = tmp_path / "gate.pw"
    pw.write_text(PASSWORD)
    settings = SyncSettings.model_validate(
        {
            "enabled": True,
            "port": b.tls,
            "username": GATE,
            "password_file": pw,
            "tls": True,
            "ca_file": b.ca(),
            "central_keys": [tmp_path / "central.pub"],
            "reconnect_min_s": 0.1,
            "reconnect_max_s": 1.0,
            "ack_timeout_s": 3.0,
        }
    )
    now = time.time()
    for i in range(5):
        store.append(RecordKind.ALERT, now, AlertBody(alert="test", reason=f"before {i}"))
    big = store.append(RecordKind.ALERT, now, AlertBody(alert="test", reason="x" * 20_000))
    for i in range(5):
        store.append(RecordKind.ALERT, now, AlertBody(alert="test", reason=f"after {i}"))
    svc = SyncService(settings, GATE, store)
    try:
        receiver.start()
        assert receiver.ready.wait(10)
        svc.start()
        wait_until("the outbox to drain", lambda: store.outbox_depth() == 0, timeout=30)
    finally:
        svc.stop()
        receiver.stop()
        b.cleanup()
    assert store.dead_letters() == [(big.seq, "oversize", store.dead_letters()[0][2])]
    alerts = [r for r in store.records() if r.body.get("alert") == "dead_letter"]
    assert alerts and alerts[0].body["of_seq"] == big.seq
    central_db = CentralDB(receiver.db_url)
    try:
        at_central = set(central_db.seqs(GATE))
    finally:
        central_db.close()
    assert {r.seq for r in store.records()} - {big.seq} <= at_central
    store.close()
