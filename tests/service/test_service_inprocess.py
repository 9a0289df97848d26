"""The service in this process, on mock pins: SIGTERM while the door is released, live reload."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from configkit import write_config
from gpiozero.pins.mock import MockFactory
from svckit import RecordingPin, issuer_key, recording_factory

from edge.app.config import load_config
from edge.app.gate import build_gate
from edge.app.notify import Notifier
from edge.app.reload import reload_config
from edge.app.service import Service
from edge.core.clock import SystemClock
from edge.gate.credentials import passes
from edge.gate.credentials.verified import Role
from edge.gate.rules.lists import Household, ListsSnapshot
from edge.tools.render import render_frame
from edge.vision.camera.sources import FrameSource, SyntheticSource

DAY = 86_400


@pytest.fixture
def pass_config(tmp_path: Path) -> tuple[Path, str]:
    """A config whose issuer signed one valid pass; returns (config path, pass text)."""
    key, pub = issuer_key(tmp_path)
    now = int(time.time())
    body = passes.PassBody("P-7", "h-7", "3", "2", "501", Role.RESIDENT, now - DAY, now + DAY, None)
    lists = tmp_path / "lists.json"
    lists.write_text(
        ListsSnapshot(version=1, households={"3-2-501": Household()}).model_dump_json()
    )
    config = write_config(
        tmp_path / "gate.toml",
        {
            "camera": {"source": "injected"},
            "door": {"pulse_s": 30.0},
            "store": {"path": str(tmp_path / "gate.sqlite3")},
            "trust": {"pass_issuer_keys": [str(pub)]},
            "lists": {"path": str(lists)},
            # The service applies [clock] trust to the system clock; this host may lack NTP.
            "clock": {"check": "off"},
        },
    )
    return config, passes.issue(body, key)


def camera_with(first: np.ndarray) -> Callable[[str, int, int], FrameSource]:
    """An opener whose camera shows ``first`` once, then blank frames at 20 fps forever."""

    def frames() -> Iterator[np.ndarray]:
        yield first
        while True:
            time.sleep(0.05)
            yield np.full((240, 320), 120, dtype=np.uint8)

    return lambda spec, w, h: SyntheticSource(frames(), spec)


def test_sigterm_while_door_released_leaves_relay_de_energised(
    pass_config: tuple[Path, str], restore_signals: None
) -> None:
    config, text = pass_config
    factory = recording_factory()
    service = Service(
        config, Notifier({}), pin_factory=factory, opener=camera_with(render_frame(text))
    )
    seen_released = threading.Event()

    def terminate_once_released() -> None:
        end = time.monotonic() + 20
        while time.monotonic() < end:
            gate = service.gate
            if gate is not None and gate.door.released:
                seen_released.set()
                break
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=terminate_once_released)
    killer.start()
    status = service.run()
    killer.join()
    assert status == 0
    assert seen_released.is_set(), "the valid pass should have released the door"
    # The relay pin was still an output, driven low (de-energised), when it was released.
    assert RecordingPin.closed_states[17] is False
    # The decision reached the metrics: one allowed scan and its frame-to-decision latency.
    sample = service.metrics.registry.get_sample_value
    assert sample("edge_gate_scans_total", {"outcome": "allow", "reason": "none"}) == 1.0
    assert sample("edge_gate_decision_latency_seconds_count") == 1.0


def test_reload_applies_rules_keeps_door_and_refuses_bad_config(
    pass_config: tuple[Path, str], tmp_path: Path
) -> None:
    config_path, text = pass_config
    config = load_config(config_path)
    gate = build_gate(config, clock=SystemClock(), pin_factory=MockFactory())
    try:
        gate.process_text(text)
        assert gate.door.released
        door = gate.door

        original = config_path.read_text()
        config_path.write_text(original + '\n[gate]\ndirection = "sideways"\n')
        refused = reload_config(config_path, config, gate)
        assert not refused.applied and "gate.direction" in refused.problems[0]
        assert gate.config is config and refused.config is config

        config_path.write_text(
            original.replace("pulse_s = 30.0", "pulse_s = 4.0") + '\n[gate]\ndirection = "out"\n'
        )
        applied = reload_config(config_path, config, gate)
        assert applied.applied and applied.pending_restart == ["door"]
        assert gate.direction.value == "out" and gate.config.gate.direction.value == "out"
        assert gate.config.door.pulse_s == 30.0  # the running door's settings stay in force
        assert gate.door is door and gate.door.released, "a reload must not touch the door"
    finally:
        gate.close()
