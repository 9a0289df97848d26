"""Green and red LEDs and a buzzer: what a resident and a guard see and hear at the door.

Patterns are pure data (steps of ``duration_s`` with the three outputs) and played against an
injected time, never with gpiozero's ``blink()`` threads, so they are testable with a fake clock
and the simulator prints every change at the right moment. Patterns are deliberately few and
distinct: one beep and green = pass; two beeps and red = refused; red with a steady buzzer =
alarm for the guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from edge.gate.door.machine import DoorState


@dataclass(frozen=True)
class Lights:
    """The three outputs at one moment."""

    green: bool = False
    red: bool = False
    buzzer: bool = False


@dataclass(frozen=True)
class LightStep:
    duration_s: float
    lights: Lights


@dataclass(frozen=True)
class Pattern:
    """A sequence of steps; ``repeat`` loops it, otherwise the last step ends the pattern."""

    name: str
    steps: tuple[LightStep, ...]
    repeat: bool = False

    @property
    def length_s(self) -> float:
        return sum(s.duration_s for s in self.steps)

    def at(self, elapsed: float) -> Lights | None:
        """Outputs ``elapsed`` seconds into the pattern, None once a one-shot has ended."""
        if elapsed < 0:
            return None
        if self.repeat:
            elapsed %= self.length_s
        for step in self.steps:
            if elapsed < step.duration_s:
                return step.lights
            elapsed -= step.duration_s
        return None

    def next_change(self, elapsed: float) -> float | None:
        """Seconds from ``elapsed`` until the outputs may change, None when they never will."""
        if len(self.steps) == 1 and self.repeat:
            return None
        base = elapsed
        if self.repeat:
            base = elapsed % self.length_s
        acc = 0.0
        for step in self.steps:
            acc += step.duration_s
            if base < acc:
                return acc - base
        return None


class Signal(StrEnum):
    ALLOW = "allow"
    REFUSE = "refuse"


OFF = Lights()
GREEN = Lights(green=True)
RED = Lights(red=True)
BEEP_GREEN = Lights(green=True, buzzer=True)
BEEP_RED = Lights(red=True, buzzer=True)

PATTERNS: dict[str, Pattern] = {
    # one-shots, on a decision
    "allow": Pattern("allow", (LightStep(0.15, BEEP_GREEN), LightStep(1.85, GREEN))),
    "refuse": Pattern(
        "refuse",
        (
            LightStep(0.15, BEEP_RED),
            LightStep(0.1, RED),
            LightStep(0.15, BEEP_RED),
            LightStep(1.6, RED),
        ),
    ),
    # backgrounds, from the door state
    "idle": Pattern("idle", (LightStep(1.0, OFF),), repeat=True),
    "free": Pattern("free", (LightStep(1.0, GREEN),), repeat=True),
    "warn": Pattern("warn", (LightStep(0.2, BEEP_RED), LightStep(1.8, RED)), repeat=True),
    "alarm": Pattern("alarm", (LightStep(1.0, BEEP_RED),), repeat=True),
}


def background_for(state: DoorState, alarm: bool) -> Pattern:
    """The steady pattern for a door state; an active alarm always wins."""
    if alarm:
        return PATTERNS["alarm"]
    if state is DoorState.HELD_OPEN:
        return PATTERNS["warn"]
    if state in (DoorState.RELEASED, DoorState.OPEN, DoorState.HOLD, DoorState.EMERGENCY):
        return PATTERNS["free"]
    return PATTERNS["idle"]


class IndicatorPlayer:
    """Plays a background pattern with one-shot patterns on top, against a given time (s)."""

    def __init__(self) -> None:
        self.background = PATTERNS["idle"]
        self._bg_since = 0.0
        self.foreground: Pattern | None = None
        self._fg_since = 0.0

    def set_background(self, pattern: Pattern, now: float) -> None:
        if pattern is not self.background:
            self.background, self._bg_since = pattern, now

    def play(self, signal: Signal, now: float) -> None:
        """Start a one-shot (a new one replaces one still playing)."""
        self.foreground, self._fg_since = PATTERNS[signal.value], now

    def lights(self, now: float) -> Lights:
        """What the outputs should be at ``now``; alarms and warnings override one-shots."""
        urgent = self.background.name in ("alarm", "warn")
        if self.foreground is not None and not urgent:
            fg = self.foreground.at(now - self._fg_since)
            if fg is not None:
                return fg
            self.foreground = None
        return self.background.at(now - self._bg_since) or OFF

    def next_change(self, now: float) -> float | None:
        """The next time (same scale as ``now``) at which :meth:`lights` may change."""
        found = []
        if self.foreground is not None:
            d = self.foreground.next_change(now - self._fg_since)
            if d is not None:
                found.append(now + d)
        d = self.background.next_change(now - self._bg_since)
        if d is not None:
            found.append(now + d)
        return min(found) if found else None


__all__ = [
    "PATTERNS",
    "IndicatorPlayer",
    "LightStep",
    "Lights",
    "Pattern",
    "Signal",
    "background_for",
]
