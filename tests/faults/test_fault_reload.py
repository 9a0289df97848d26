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
import threading
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
    every,
    wait_until,
)
from gpiozero.pins.mock import MockFactory
from test_fault_door import camera_on_demand, serving

from edge.app.notify import Notifier
from edge.app.service import Service
from edge.central.publisher import list_message
from edge.gate.credentials import passes
from edge.gate.credentials.verified import Role
from edge.sync.downlink import DownlinkHandler
from edge.sync.lists_apply import GateHooks
from edge.sync.signing import Verifier


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
    tmp_path: Path, signed_pass: Pass, restore_signals: None
) -> None:
    central = Ed25519PrivateKey.generate()
    pushed = Ed25519PrivateKey.generate()  # an issuer the config file does not know
    now = int(time.time())
    body = passes.PassBody("P-9", "h-9", "3", "2", "501", Role.RESIDENT, now - DAY, now + DAY, None)
    text = passes.issue(body, pushed)
    db = tmp_path / "gate.sqlite3"
    sections = base_config(tmp_path, signed_pass, tmp_path, db)
    sections["camera"] = {"source": "injected"}
    config = write_config(tmp_path / "gate.toml", sections)
    show = threading.Event()
    service = Service(
        config, Notifier({}), pin_factory=MockFactory(), opener=camera_on_demand(show, text)
    )
    verdicts: list[bool] = []

    def drive() -> None:
        try:
            mark = time.monotonic()
            wait_until("the gate", lambda: serving(service, mark))
            gate = service.gate
            assert gate is not None
            gate.events.on(
                lambda e: verdicts.append(bool(e.data["allow"])) if e.kind == "access" else None
            )
            # What the sync component does with a signed trust push: store it, hand it over.
            hooks = GateHooks(on_trust=lambda t: setattr(gate, "trust", t))
            handler = DownlinkHandler(gate.store, Verifier([central.public_key()], 65536), hooks)
            raw = pushed.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            spec = {"name": "trust", "version": 1, "mode": "full"}
            handler.handle(
                *list_message(central, {**spec, "data": [base64.b64encode(raw).decode()]})
            )
            show.set()
            wait_until("a decision with the pushed key", lambda: len(verdicts) >= 1)
            service.request_reload()
            wait_until("the reload", lambda: service.last_reload is not None)
            time.sleep(0.5)  # the code leaves the view: the next showing is a new appearance
            show.set()
            wait_until("a decision after the reload", lambda: len(verdicts) >= 2)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    helper = threading.Thread(target=drive)
    helper.start()
    assert service.run() == 0
    helper.join()
    assert service.last_reload is not None and service.last_reload.applied
    assert verdicts == [True, True], "the pushed key must survive SIGHUP"
