"""Fixtures for the door tests: a fake clock, gpiozero mock pins, a door and its event log."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from door_rig import ALL_PINS, Rig
from gpiozero.pins.mock import MockFactory

from edge.core.clock import FakeClock
from edge.gate.door.controller import Door
from edge.gate.door.policy import DoorPolicy
from edge.gate.door.settings import DoorSettings


@pytest.fixture
def make_rig() -> Iterator[Callable[..., Rig]]:
    made: list[Door] = []

    def make(policy: DoorPolicy | None = None, **settings: Any) -> Rig:
        values = {**ALL_PINS, "held_open_warn_s": 10.0, "held_open_alarm_s": 20.0, **settings}
        clock, factory = FakeClock(), MockFactory()
        door = Door(DoorSettings(**values), clock, factory, policy)
        made.append(door)
        rig = Rig(door, factory, clock)
        for name in ("contact", "fire", "tamper"):  # idle: door shut, no fire, no tamper
            if values.get(f"{name}_pin") is not None:
                rig.input(name, False)
        door.tick()
        return rig

    yield make
    for door in made:
        door.close()


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """The CLI quietens the "edge" logger for its run; undo that for the other test dirs."""
    logger = logging.getLogger("edge")
    level = logger.level
    root_handlers = list(logging.getLogger().handlers)
    yield
    logger.setLevel(level)
    root = logging.getLogger()
    for h in list(root.handlers):
        if h not in root_handlers:
            root.removeHandler(h)
