"""The door relay: released for a pulse on an allow, locked otherwise.

The relay is created with ``initial_value=False`` so it is never energised at start-up; the
pulse ends in :meth:`Door.tick`, driven by the app's loop with an injected clock, so the timing
is testable without sleeping.
"""

from __future__ import annotations

import logging
from typing import Any

from gpiozero import OutputDevice

from edge.clock import Clock

log = logging.getLogger(__name__)


class Door:
    """A fail-secure strike on one relay: energise to release."""

    def __init__(
        self, pin: int, active_high: bool, pulse_s: float, clock: Clock, pin_factory: Any
    ) -> None:
        self.relay = OutputDevice(
            pin, active_high=active_high, initial_value=False, pin_factory=pin_factory
        )
        self.pulse_s = pulse_s
        self._clock = clock
        self._release_until: float | None = None

    @property
    def released(self) -> bool:
        return bool(self.relay.value)

    def grant(self) -> None:
        """Release the lock for ``pulse_s`` seconds (a new grant extends an ongoing one)."""
        self._release_until = self._clock.monotonic() + self.pulse_s
        self.relay.on()

    def tick(self) -> None:
        """Re-lock when the pulse has run out. Call often (every frame)."""
        if self._release_until is not None and self._clock.monotonic() >= self._release_until:
            self.relay.off()
            self._release_until = None

    def close(self) -> None:
        """Lock and release the pin: the safe state for a fail-secure strike."""
        try:
            self.relay.off()
        finally:
            self.relay.close()
