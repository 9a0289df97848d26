"""The door never waits: a relay pulse keeps its length and the fire input releases at once
while the rest of the gate waits on a black-holed online check or a locked database.

Before issue 16 the door was ticked by the frame loop: a health code checked against an
endpoint that accepts and never answers held a 1.0 s pulse for 5.11 s, and the watchdog went
unfed for as long.
"""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from configkit import write_config
from faultkit import (
    BlackHole,
    GateRun,
    NotifyListener,
    Pass,
    base_config,
    code_folder,
    decisions,
    pulse_kept,
    pulses,
    read_records,
    wait_until,
)
from gpiozero.pins.mock import MockFactory

from edge.app.notify import Notifier
from edge.app.service import Service
from edge.tools.render import render_frame
from edge.vision.camera.sources import FrameSource, SyntheticSource

HEALTH_TIMEOUT_S = 3.0
FIRE_PIN = 22


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


def test_pulse_and_watchdog_kept_while_online_check_hangs(
    tmp_path: Path,
    signed_pass: Pass,
    black_hole: BlackHole,
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    # A pass, then 0.3 s later a health code whose online check hangs for the full deadline.
    frames: list[str | None] = [None] * 40
    frames[0] = signed_pass.text
    frames[3] = "HC:black-hole-test-code"
    camera = code_folder(tmp_path / "cam", frames)
    health = {
        "enabled": True,
        "endpoint": black_hole.url,
        "timeout_s": HEALTH_TIMEOUT_S,
        "cache_ttl_s": 0.0,
        "code_prefixes": ["HC:"],
    }
    sections = base_config(tmp_path, signed_pass, camera, tmp_path / "gate.sqlite3", health=health)
    gate = gate_run(sections, watchdog_usec=1_000_000)
    notify.wait_for("READY", "1")
    start = time.monotonic()
    wait_until("two hung online checks", lambda: black_hole.connections >= 2, timeout=40, gate=gate)
    wait_until("two pulses", lambda: len(pulses(gate.log())) >= 2, gate=gate)
    assert gate.alive()
    pings = notify.watchdog_times(since=start)
    assert gate.stop() == 0
    log = gate.log()
    lengths = pulses(log)
    assert all(pulse_kept(x) for x in lengths), lengths
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    # WatchdogSec=1 s: pings every 0.5 s, never a gap near the 3 s the frame loop waited
    assert gaps and max(gaps) < 1.0, gaps
    assert any(v == "ALLOW" for v, _, _ in decisions(log))


def camera_on_demand(show: threading.Event, text: str) -> Callable[[str, int, int], FrameSource]:
    """Blank frames at 20 fps; ``text`` in three frames each time ``show`` is set."""
    code = render_frame(text, 0, width=640, height=480)

    def frames() -> Iterator[np.ndarray]:
        while True:
            time.sleep(0.05)
            if show.is_set():
                show.clear()
                for _ in range(3):  # held up for 0.15 s, read (and decided) once
                    yield code
                    time.sleep(0.05)
            else:
                yield np.full((480, 640, 3), 120, dtype=np.uint8)

    return lambda spec, w, h: SyntheticSource(frames(), spec)


def serving(service: Service, since: float) -> bool:
    """The service's frame loop has run since ``since`` (monotonic s): frames are decided."""
    return service.gate is not None and service.alive() and service.main_beat > since


def test_fire_releases_within_50ms_while_the_store_is_locked_and_the_loop_waits(
    tmp_path: Path, signed_pass: Pass, black_hole: BlackHole, restore_signals: None
) -> None:
    db_path = tmp_path / "gate.sqlite3"
    health = {
        "enabled": True,
        "endpoint": black_hole.url,
        "timeout_s": HEALTH_TIMEOUT_S,
        "cache_ttl_s": 0.0,
        "code_prefixes": ["HC:"],
    }
    sections = base_config(
        tmp_path,
        signed_pass,
        tmp_path,
        db_path,
        health=health,
        door={"fire_pin": FIRE_PIN, "fire_contact_kind": "no"},
    )
    sections["camera"] = {"source": "injected"}
    config = write_config(tmp_path / "gate.toml", sections)
    show = threading.Event()
    service = Service(
        config,
        Notifier({}),
        pin_factory=MockFactory(),
        opener=camera_on_demand(show, "HC:hang-the-frame-loop"),
    )
    seen: dict[str, float] = {}

    def drive() -> None:
        try:
            mark = time.monotonic()
            wait_until("the gate", lambda: serving(service, mark))
            assert service.gate is not None
            door = service.gate.door
            other = sqlite3.connect(db_path, timeout=0.1)
            other.execute("BEGIN IMMEDIATE")  # another writer holds the database: SQLITE_BUSY
            show.set()
            wait_until("the frame loop to hang", lambda: black_hole.connections >= 1)
            t0 = time.monotonic()
            door.io.simulate_input("fire", True)
            while not door.released and time.monotonic() - t0 < 1.0:
                time.sleep(0.001)
            seen["release_s"] = time.monotonic() - t0
            time.sleep(0.5)
            door.io.simulate_input("fire", False)
            time.sleep(0.5)
            other.rollback()  # the database is writable again
            other.close()
            wait_until(
                "the fire records",
                lambda: service.gate is not None and service.gate.store.durable,
                timeout=20,
            )
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    helper = threading.Thread(target=drive)
    helper.start()
    status = service.run()
    helper.join()
    assert status == 0
    assert seen["release_s"] < 0.05, seen
    events = [b.get("event") for _, k, b in read_records(db_path) if k == "door"]
    assert "emergency_release" in events and "emergency_restored" in events, events
