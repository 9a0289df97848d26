"""Choose gpiozero's pin factory: the real GPIO on a Raspberry Pi, ``MockFactory`` elsewhere.

The real factories are imported lazily (by gpiozero itself) so nothing breaks off the Pi.
"""

from __future__ import annotations

import importlib
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
    if kind == "lgpio":
        return glitch_free_lgpio_factory()
    raise ValueError(f"unknown pin factory {kind!r}: use auto, mock or lgpio")


def claim_output_atomically(pin: Any, state: bool) -> None:
    """Claim ``pin``'s line as an output *with* its level ``state``, in one lgpio call."""
    lgpio: Any = importlib.import_module("lgpio")  # only on a Pi (the 'pi' extra)
    if pin._callback is not None:
        pin._callback.cancel()
        pin._callback = None
    lgpio.gpio_claim_output(pin.factory._handle, pin._number, int(bool(state)))


def glitch_free_lgpio_factory(chip: int | None = None) -> Any:
    """gpiozero's lgpio factory whose pins claim outputs at their initial level atomically.

    gpiozero 2.0's lgpio pin claims an output line at level 0 and only then writes the initial
    level: on an active-low relay board that is a brief "energised" blip at every start. The
    library documents ``output_with_state`` as the hook for exactly this; a pin class of our
    own fills it in, chosen through the factory's ``pin_class`` as gpiozero intends — no class
    of the library is patched.
    """
    from gpiozero.pins.lgpio import LGPIOFactory, LGPIOPin

    class GlitchFreeLGPIOPin(LGPIOPin):  # type: ignore[misc]
        def output_with_state(self, state: bool) -> None:
            claim_output_atomically(self, state)

    class GlitchFreeLGPIOFactory(LGPIOFactory):  # type: ignore[misc]
        def __init__(self, chip: int | None = None) -> None:
            super().__init__(chip)
            self.pin_class = GlitchFreeLGPIOPin

    return GlitchFreeLGPIOFactory(chip)
