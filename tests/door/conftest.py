"""Fixtures for the door tests: a fake clock, gpiozero mock pins, a door and its event log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from edge.clock import FakeClock
from edge.config import DoorSettings
from edge.gate.door import Door
from edge.gate.door_machine import DoorEvent
from edge.gate.door_policy import DoorPolicy

RELAY, CONTACT, EXIT, FIRE, TAMPER, GREEN, RED, BUZZER = 17, 5, 6, 13, 19, 22, 23, 24
ALL_PINS = {
    "contact_pin": CONTACT,
    "exit_pin": EXIT,
    "fire_pin": FIRE,
    "tamper_pin": TAMPER,
    "green_led_pin": GREEN,
    "red_led_pin": RED,
    "buzzer_pin": BUZZER,
}


class Rig:
    """A door on mock pins with every event it reported, as (event name, details)."""

    def __init__(self, door: Door, factory: MockFactory, clock: FakeClock) -> None:
        self.door, self.factory, self.clock = door, factory, clock
        self.events: list[tuple[str, dict[str, Any]]] = []
        door.listeners.append(lambda e, d, ts: self.events.append((e.value, d)))

    def names(self) -> list[str]:
        return [e for e, _ in self.events]

    def take(self) -> list[str]:
        """The event names since the last call."""
        out = self.names()
        self.events.clear()
        return out

    def input(self, name: str, active: bool) -> None:
        self.door.io.simulate_input(name, active)

    def later(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.door.tick()

    def pin(self, number: int) -> Any:
        return self.factory.pin(number)


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


__all__ = ["ALL_PINS", "DoorEvent", "Rig"]
