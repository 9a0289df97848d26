"""The door's hardware through gpiozero: lock relay, door contact, exit button, fire and tamper
inputs, green and red LEDs and a buzzer. Every pin comes from
:class:`~edge.gate.door.settings.DoorSettings`.

Lock types:

* ``fail_secure`` (electric strike): energise the relay to *unlock*; unpowered it stays locked.
* ``fail_safe`` (maglock): energise the relay to *lock*; unpowered it is open (life safety).

The relay is created already at its locked level (``initial_value``), so gpiozero drives the pin
once and there is no on-off blip at start-up (the glitch that left esp-rfid doors open at every
reboot). "Safe state" means the lock's *declared* unpowered behaviour: the relay de-energised.
It is applied by :meth:`DoorIO.close` (the app's shutdown) and by an ``atexit`` hook (an
unhandled exception or ``sys.exit``); a power cut or a hard kill de-energises the relay anyway
once the pin is released, which is exactly the same state by construction.

Inputs use the internal pull-up with the switch wired to ground: "circuit closed" reads active.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gpiozero import LED, Buzzer, DigitalInputDevice, OutputDevice

if TYPE_CHECKING:
    from edge.gate.door.settings import DoorSettings

log = logging.getLogger(__name__)


def _safe_at_exit(ref: weakref.ReferenceType[DoorIO]) -> None:
    io = ref()
    if io is not None:
        io.close()


class DoorIO:
    """gpiozero devices for one door. ``set_lock``/``set_lights`` drive, the ``*_active``
    properties read logical input states (already translated from NO/NC wiring)."""

    def __init__(self, settings: DoorSettings, pin_factory: Any) -> None:
        self.settings = settings
        self.fail_secure = settings.lock_type == "fail_secure"
        self._lock = threading.Lock()
        self._closed = False
        # Locked at start: de-energised for a strike, energised for a maglock.
        self.relay = OutputDevice(
            settings.relay_pin,
            active_high=settings.active_high,
            initial_value=not self.fail_secure,
            pin_factory=pin_factory,
        )
        self._devices: list[Any] = [self.relay]
        self._energised = not self.fail_secure  # last commanded relay state

        def inp(pin: int | None) -> DigitalInputDevice | None:
            if pin is None:
                return None
            dev = DigitalInputDevice(pin, pull_up=True, pin_factory=pin_factory)
            self._devices.append(dev)
            return dev

        def out(cls: Any, pin: int | None) -> Any:
            if pin is None:
                return None
            dev = cls(
                pin,
                active_high=settings.indicators_active_high,
                initial_value=False,
                pin_factory=pin_factory,
            )
            self._devices.append(dev)
            return dev

        self.contact = inp(settings.contact_pin)
        self.exit_button = inp(settings.exit_pin)
        self.fire = inp(settings.fire_pin)
        self.tamper = inp(settings.tamper_pin)
        self.green = out(LED, settings.green_led_pin)
        self.red = out(LED, settings.red_led_pin)
        self.buzzer = out(Buzzer, settings.buzzer_pin)
        atexit.register(_safe_at_exit, weakref.ref(self))

    @property
    def closed(self) -> bool:
        return self._closed

    # -- outputs -------------------------------------------------------------------------
    def set_lock(self, released: bool) -> None:
        """Unlock (``released``) or lock, translating through the lock type."""
        with self._lock:
            if self._closed:
                return
            energise = released if self.fail_secure else not released
            self.relay.value = energise
            self._energised = energise

    @property
    def released(self) -> bool:
        """Whether the lock is driven to unlocked (also after close: the safe state's answer)."""
        return self._energised if self.fail_secure else not self._energised

    def set_lights(self, green: bool, red: bool, buzzer: bool) -> None:
        with self._lock:
            if self._closed:
                return
            for dev, on in ((self.green, green), (self.red, red), (self.buzzer, buzzer)):
                if dev is not None and bool(dev.value) != on:
                    dev.value = on

    # -- inputs --------------------------------------------------------------------------
    @staticmethod
    def _level(dev: DigitalInputDevice | None, nc: bool) -> bool | None:
        """Logical "alarm/open" state: for NC wiring that is the circuit being open."""
        if dev is None:
            return None
        closed_circuit = bool(dev.value)
        return not closed_circuit if nc else closed_circuit

    @property
    def door_open(self) -> bool | None:
        """None when no contact is fitted."""
        return self._level(self.contact, self.settings.contact_kind == "nc")

    @property
    def exit_pressed(self) -> bool:
        return bool(self._level(self.exit_button, nc=False))

    @property
    def fire_active(self) -> bool:
        return bool(self._level(self.fire, self.settings.fire_contact_kind == "nc"))

    @property
    def tamper_active(self) -> bool:
        return bool(self._level(self.tamper, self.settings.tamper_contact_kind == "nc"))

    def simulate_input(self, name: str, active: bool) -> None:
        """Drive a *mock* input pin to a logical state ("contact" active = door open, "exit"
        = pressed, "fire", "tamper"), honouring its NO/NC wiring. For tests and the simulator
        with gpiozero's MockFactory only; real pins cannot be driven."""
        dev, nc = {
            "contact": (self.contact, self.settings.contact_kind == "nc"),
            "exit": (self.exit_button, False),
            "fire": (self.fire, self.settings.fire_contact_kind == "nc"),
            "tamper": (self.tamper, self.settings.tamper_contact_kind == "nc"),
        }[name]
        if dev is None:
            raise ValueError(f"no {name} input is configured (set door.{name}_pin)")
        closed_circuit = active != nc
        # Pull-up wiring: a closed circuit pulls the pin to ground.
        if closed_circuit:
            dev.pin.drive_low()
        else:
            dev.pin.drive_high()

    def on_input(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` on any input edge (gpiozero's thread on a Pi), so a fire alarm
        releases the door at once instead of at the next tick of the main loop."""
        for dev in (self.contact, self.exit_button, self.fire, self.tamper):
            if dev is not None:
                dev.when_activated = callback
                dev.when_deactivated = callback

    # -- shutdown ------------------------------------------------------------------------
    def safe_state(self) -> None:
        """De-energise the relay (the lock's declared unpowered state) and silence outputs."""
        with self._lock:
            if self._closed:
                return
            self.relay.off()
            self._energised = False
            for dev in (self.green, self.red, self.buzzer):
                if dev is not None:
                    dev.off()

    def close(self) -> None:
        """Safe state, then release every pin. Idempotent; also run at interpreter exit."""
        try:
            self.safe_state()
        finally:
            self._release_pins()

    def _release_pins(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for dev in reversed(self._devices):
                try:
                    dev.close()
                except Exception:  # keep closing the others
                    log.exception("closing %r failed", dev)


__all__ = ["DoorIO"]
