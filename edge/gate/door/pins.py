"""Choose gpiozero's pin factory: the real GPIO on a Raspberry Pi, ``MockFactory`` elsewhere.

The real factories are imported lazily (by gpiozero itself) so nothing breaks off the Pi.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MODEL_FILE = Path("/proc/device-tree/model")


def on_raspberry_pi() -> bool:
    try:
        return "raspberry pi" in MODEL_FILE.read_text(errors="replace").lower()
    except OSError:
        return False


def make_pin_factory(kind: str = "auto") -> Any:
    """A gpiozero pin factory: ``"auto"``, ``"mock"`` or a gpiozero factory name ("lgpio")."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    if kind == "mock" or (
        kind == "auto" and not on_raspberry_pi() and not os.environ.get("GPIOZERO_PIN_FACTORY")
    ):
        log.info("not on a Raspberry Pi: using gpiozero MockFactory (no real pins are driven)")
        return MockFactory()
    if kind == "auto":
        return Device._default_pin_factory()
    from gpiozero.pins import lgpio

    if kind == "lgpio":
        return lgpio.LGPIOFactory()
    raise ValueError(f"unknown pin factory {kind!r}: use auto, mock or lgpio")
