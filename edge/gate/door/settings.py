"""Settings of the door's hardware and timings (``[door]``, see docs/door.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from edge.core.settings import Section

Pin = int | None


ContactKind = Literal["nc", "no"]


class DoorSettings(Section):
    """The ``[door]`` table: lock, inputs, indicators (BCM pin numbers) and timings (seconds).

    See docs/door.md. Optional devices are off when their pin is not set.
    """

    relay_pin: int = Field(default=17, ge=0, le=27, description="BCM GPIO pin driving the relay")
    active_high: bool = Field(
        default=True, description="true when the relay board energises on a high pin"
    )
    lock_type: Literal["fail_secure", "fail_safe"] = Field(
        default="fail_secure",
        description="'fail_secure' strike (energise to unlock) or 'fail_safe' maglock "
        "(energise to lock)",
    )
    pulse_s: float = Field(
        default=3.0, ge=0.2, le=30.0, description="seconds the lock stays released on an allow"
    )
    max_unlock_s: float = Field(
        default=30.0, ge=1.0, le=600.0, description="longest momentary unlock, seconds"
    )
    held_open_warn_s: float = Field(
        default=15.0, ge=1.0, le=3600.0, description="door open this long: warning, seconds"
    )
    held_open_alarm_s: float = Field(
        default=30.0, ge=1.0, le=7200.0, description="door open this long: alarm, seconds"
    )
    contact_pin: Pin = Field(default=None, ge=0, le=27, description="BCM pin of the door contact")
    contact_kind: ContactKind = Field(
        default="nc", description="'nc': circuit closed while the door is shut; 'no': open"
    )
    exit_pin: Pin = Field(default=None, ge=0, le=27, description="BCM pin of the exit button")
    exit_debounce_s: float = Field(
        default=0.3, ge=0.0, le=5.0, description="exit button presses closer than this are bounce"
    )
    fire_pin: Pin = Field(default=None, ge=0, le=27, description="BCM pin of the fire alarm input")
    fire_contact_kind: ContactKind = Field(
        default="nc", description="'nc': alarm when the circuit opens (a cut wire releases)"
    )
    tamper_pin: Pin = Field(default=None, ge=0, le=27, description="BCM pin of the tamper switch")
    tamper_contact_kind: ContactKind = Field(
        default="nc", description="'nc': tamper when the circuit opens"
    )
    green_led_pin: Pin = Field(default=None, ge=0, le=27, description="BCM pin of the green LED")
    red_led_pin: Pin = Field(default=None, ge=0, le=27, description="BCM pin of the red LED")
    buzzer_pin: Pin = Field(default=None, ge=0, le=27, description="BCM pin of the buzzer")
    indicators_active_high: bool = Field(
        default=True, description="true when LEDs and buzzer are on with a high pin"
    )

    @model_validator(mode="after")
    def _check(self) -> DoorSettings:
        used: dict[int, str] = {}
        for key in PIN_KEYS:
            pin = getattr(self, key)
            if pin is None:
                continue
            if pin in (0, 1):
                raise ValueError(
                    f"door.{key}: GPIO {pin} is reserved for the HAT ID EEPROM (ID_SD/ID_SC) — "
                    "use a pin from 2 to 27"
                )
            if pin in used:
                raise ValueError(
                    f"door.{key}: pin {pin} is already door.{used[pin]} — "
                    "give every device its own pin"
                )
            used[pin] = key
        if self.pulse_s > self.max_unlock_s:
            raise ValueError(
                f"door.pulse_s ({self.pulse_s}) is longer than door.max_unlock_s "
                f"({self.max_unlock_s}) — raise max_unlock_s or shorten pulse_s"
            )
        if self.held_open_alarm_s <= self.held_open_warn_s:
            raise ValueError(
                f"door.held_open_alarm_s ({self.held_open_alarm_s}) must be longer than "
                f"door.held_open_warn_s ({self.held_open_warn_s}) — the warning comes first"
            )
        return self


PIN_KEYS = (
    "relay_pin",
    "contact_pin",
    "exit_pin",
    "fire_pin",
    "tamper_pin",
    "green_led_pin",
    "red_led_pin",
    "buzzer_pin",
)
