"""Test helpers for the door: pin numbers and a door on mock pins with its event log.

A module of its own (not conftest) so test files can import it without clashing with the
other test directories' conftest modules."""

from __future__ import annotations

from typing import Any

from gpiozero.pins.mock import MockFactory

from edge.core.clock import FakeClock
from edge.gate.door.controller import Door

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
