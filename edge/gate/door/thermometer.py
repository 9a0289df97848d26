"""Thermometers behind a small interface, so the temperature rule is tested with a fake.

A reading is in °C. ``None`` means no thermometer is fitted (the rule is skipped); NaN means
the thermometer is fitted but gave no reading (refused with ``TEMPERATURE_UNAVAILABLE``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Protocol

MIN_PLAUSIBLE_C = 30.0  # colder than this is a missed forehead, not a person
MAX_PLAUSIBLE_C = 45.0


class Thermometer(Protocol):
    def read_c(self) -> float:
        """Body temperature in °C; NaN when no valid reading could be taken."""


def plausible(reading_c: float) -> float:
    """The reading, or NaN when it cannot be a human body temperature."""
    if math.isnan(reading_c) or not MIN_PLAUSIBLE_C <= reading_c <= MAX_PLAUSIBLE_C:
        return math.nan
    return reading_c


class FakeThermometer:
    """Returns the given readings in turn, then repeats the last one."""

    def __init__(self, readings: Iterable[float] = (36.5,)) -> None:
        self._readings = list(readings) or [math.nan]
        self._i = 0
        self.reads = 0

    def read_c(self) -> float:
        value = self._readings[min(self._i, len(self._readings) - 1)]
        self._i += 1
        self.reads += 1
        return plausible(value)
