"""The door on gpiozero MockFactory pins: relay levels per lock type, no start-up glitch,
safe state on shutdown, inputs (contact NO/NC, exit button, fire, tamper), indicators."""

from __future__ import annotations

import gc
from collections.abc import Callable

import pytest
from door_rig import BUZZER, GREEN, RED, RELAY, Rig
from gpiozero.pins.mock import MockFactory

from edge.core.clock import FakeClock
from edge.gate.door.controller import Door
from edge.gate.door.io import _safe_at_exit
from edge.gate.door.policy import DoorPolicy, DoorRulesSettings
from edge.gate.door.settings import DoorSettings

# (lock type, active_high) → pin level that *locks* the door
LOCKED_LEVEL = {
    ("fail_secure", True): False,  # strike de-energised; energised = high
    ("fail_secure", False): True,  # strike de-energised; energised = low
    ("fail_safe", True): True,  # maglock energised = high
    ("fail_safe", False): False,  # maglock energised = low
}
CASES = list(LOCKED_LEVEL)


@pytest.mark.parametrize(("lock_type", "active_high"), CASES)
def test_relay_levels_at_start_grant_and_shutdown(
    make_rig: Callable[..., Rig], lock_type: str, active_high: bool
) -> None:
    rig = make_rig(lock_type=lock_type, active_high=active_high)
    locked = LOCKED_LEVEL[(lock_type, active_high)]
    relay = rig.pin(RELAY)
    assert relay.state == locked and not rig.door.released
    rig.door.grant()
    assert relay.state == (not locked) and rig.door.released
    rig.later(5.0)
    assert relay.state == locked
    rig.door.close()
    # Shutdown: de-energised — locked for a strike, open for a maglock (its declared safe state).
    assert relay.state == (not active_high)  # the de-energised level
    assert rig.door.released == (lock_type == "fail_safe")


@pytest.mark.parametrize(("lock_type", "active_high"), CASES)
def test_no_relay_glitch_at_start(lock_type: str, active_high: bool) -> None:
    """From the moment gpiozero claims the pin it only ever shows the locked level."""
    factory = MockFactory()
    settings = DoorSettings(lock_type=lock_type, active_high=active_high)  # type: ignore[arg-type]
    door = Door(settings, FakeClock(), factory)
    door.tick()
    door.tick()
    history = [s.state for s in factory.pin(RELAY).states]
    locked = LOCKED_LEVEL[(lock_type, active_high)]
    # states[0] is the mock's level before the pin was claimed; afterwards: locked, no blips.
    assert all(level == locked for level in history[1:])
    assert len(history) <= 2
    if active_high and lock_type == "fail_secure":
        assert history == [False]  # never driven high at all
    door.close()


def test_safe_state_at_interpreter_exit() -> None:
    factory = MockFactory()
    door = Door(DoorSettings(), FakeClock(), factory)
    door.grant()
    assert factory.pin(RELAY).state is True
    import weakref

    _safe_at_exit(weakref.ref(door.io))  # what atexit runs on a crash or sys.exit
    assert factory.pin(RELAY).state is False
    door.close()  # idempotent
    del door
    gc.collect()


def test_grant_open_close_relock_with_pins(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    rig.door.grant(access_seq=1)
    rig.later(1.0)
    rig.input("contact", True)
    rig.later(1.0)
    assert rig.door.released
    rig.input("contact", False)
    rig.door.tick()
    assert not rig.door.released and rig.pin(RELAY).state is False
    assert rig.take() == ["granted", "opened", "closed", "relocked"]


@pytest.mark.parametrize("kind", ["nc", "no"])
def test_contact_wiring(make_rig: Callable[..., Rig], kind: str) -> None:
    rig = make_rig(contact_kind=kind)
    assert rig.door.io.door_open is False
    rig.input("contact", True)
    # NC: the reed opens the loop (pin pulled high); NO: it closes it (pin pulled low).
    assert rig.pin(5).state is (kind == "nc")
    assert rig.door.io.door_open is True
    assert rig.take() == ["opened", "forced_open"]


def test_held_open_with_indicators(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    rig.door.grant()
    rig.input("contact", True)
    rig.later(10.0)
    assert rig.take()[-1] == "held_open"
    assert rig.pin(RED).state is True  # warning: red
    rig.later(10.0)
    assert rig.take() == ["held_open_alarm"]
    assert rig.pin(RED).state and rig.pin(BUZZER).state  # alarm: red + buzzer
    rig.input("contact", False)
    rig.door.tick()
    assert rig.take() == ["closed", "alarm_cleared", "relocked"]
    assert not rig.pin(RED).state and not rig.pin(BUZZER).state


def test_fire_input_releases_at_once_without_a_tick(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    rig.input("fire", True)  # gpiozero's edge callback, no tick needed
    assert rig.door.released and rig.take() == ["emergency_release"]
    rig.input("contact", True)
    rig.door.tick()
    assert rig.take() == ["opened"]
    rig.input("fire", False)
    rig.input("contact", False)
    rig.door.tick()
    assert not rig.door.released
    assert rig.take() == ["emergency_restored", "closed", "relocked"]


def test_fire_nc_wire_cut_releases(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(fire_contact_kind="nc")
    rig.pin(13).drive_high()  # the loop is broken: a cut wire looks like an alarm
    assert rig.door.released


def test_exit_button_debounced(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(exit_debounce_s=0.3)
    for _ in range(3):  # contact bounce within one press
        rig.input("exit", True)
        rig.input("exit", False)
    assert rig.take() == ["exit_request"]
    rig.later(1.0)
    rig.input("exit", True)
    rig.input("exit", False)
    assert rig.take() == ["exit_request"]


def _office_policy() -> DoorPolicy:
    rules = DoorRulesSettings.model_validate(
        {
            "exit_schedule": "office",
            "calendar": {
                "utc_offset_h": 0,
                "holidays": ["2026-01-01"],
                "schedules": {"office": {"windows": [{"start": "08:00", "end": "18:00"}]}},
            },
        }
    )
    return DoorPolicy.from_settings(rules)


def test_exit_button_inside_and_outside_schedule(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(policy=_office_policy())
    # FakeClock starts 2026-01-01 00:00 UTC: a holiday and night — refused.
    rig.input("exit", True)
    rig.input("exit", False)
    assert not rig.door.released
    assert rig.events[-1] == (
        "exit_request",
        {"allowed": False, "why": "OUTSIDE_SCHEDULE", "state": "locked"},
    )
    rig.later(86_400 + 9 * 3600)  # Friday 2026-01-02 09:00: inside
    rig.take()
    rig.input("exit", True)
    rig.input("exit", False)
    assert rig.door.released and rig.events[-1][1]["allowed"] is True
    rig.input("contact", True)
    assert rig.take() == ["exit_request", "opened"]  # not a forced opening


def test_allow_and_refuse_patterns(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(contact_pin=None)
    rig.door.refuse()
    assert rig.pin(RED).state and rig.pin(BUZZER).state and not rig.pin(GREEN).state
    rig.later(3.0)
    assert not rig.pin(RED).state and not rig.pin(BUZZER).state
    red_changes = len(rig.pin(RED).states)
    rig.door.grant()
    assert rig.pin(GREEN).state and rig.pin(BUZZER).state and not rig.pin(RED).state
    rig.later(0.2)
    assert rig.pin(GREEN).state and not rig.pin(BUZZER).state  # one short beep
    assert len(rig.pin(RED).states) == red_changes


def test_next_wakeup_points_at_the_pulse_end(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(green_led_pin=None, red_led_pin=None, buzzer_pin=None)
    rig.door.grant()
    assert rig.door.machine.next_deadline() == pytest.approx(rig.clock.monotonic() + 3.0)
    wake = rig.door.next_wakeup()
    assert wake is not None and wake <= rig.clock.monotonic() + 3.0


def test_lgpio_outputs_are_claimed_at_their_level(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """gpiozero's lgpio pins would claim the line low, then write: our factory's pin class does
    both in one call, and the library's own pin class is left as it is (no patching)."""
    import sys
    import types

    from edge.gate.door import pins

    calls: list[tuple[object, ...]] = []
    fake = types.ModuleType("lgpio")
    fake.gpio_claim_output = lambda *a: calls.append(a)  # type: ignore[attr-defined]
    fake.gpiochip_open = lambda chip: 3  # type: ignore[attr-defined]
    fake.gpiochip_close = lambda handle: None  # type: ignore[attr-defined]
    fake.__getattr__ = lambda name: 0  # type: ignore[attr-defined]  # the flag constants
    monkeypatch.setitem(sys.modules, "lgpio", fake)
    saved = sys.modules.pop("gpiozero.pins.lgpio", None)  # imported afresh over the fake
    request.addfinalizer(
        lambda: (
            sys.modules.update({"gpiozero.pins.lgpio": saved})
            if saved is not None
            else sys.modules.pop("gpiozero.pins.lgpio", None)
        )
    )
    from gpiozero.pins.lgpio import LGPIOPin

    original = LGPIOPin.output_with_state
    factory = pins.glitch_free_lgpio_factory(chip=0)
    assert factory.pin_class is not LGPIOPin and issubclass(factory.pin_class, LGPIOPin)

    class Pin:
        _callback = None
        _number = 17

    pin = Pin()
    pin.factory = factory  # type: ignore[attr-defined]
    factory.pin_class.output_with_state(pin, True)
    assert calls == [(3, 17, 1)]
    assert LGPIOPin.output_with_state is original
    factory._handle = None  # nothing real to close


def test_nothing_moves_the_lock_after_shutdown(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    rig.door.close()
    history = len(rig.pin(RELAY).states)
    rig.door.grant()
    rig.later(1.0)
    rig.door.hold(True)
    assert len(rig.pin(RELAY).states) == history and not rig.door.released
