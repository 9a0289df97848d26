"""Clocks behind a small interface, so time-dependent logic is tested with a fake.

``time()`` is wall-clock Unix seconds (for validity windows and records); ``monotonic()`` is for
durations and timers and never jumps.
"""

from __future__ import annotations

import time as _time
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock Unix time, seconds."""

    def monotonic(self) -> float:
        """Monotonic seconds, for durations."""


class SystemClock:
    """The real clocks of the machine."""

    def time(self) -> float:
        return _time.time()

    def monotonic(self) -> float:
        return _time.monotonic()


class FakeClock:
    """A clock that moves only when told; wall and monotonic time advance together."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._wall = start
        self._mono = 1000.0

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time only moves forward; use jump() for wall-clock steps")
        self._wall += seconds
        self._mono += seconds

    def jump(self, seconds: float) -> None:
        """Step the wall clock only (NTP correction, RTC-less boot); monotonic is unaffected."""
        self._wall += seconds
