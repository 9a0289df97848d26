"""The pure state machine, transition by transition (no pins, time passed in)."""

from __future__ import annotations

from collections.abc import Sequence

from edge.gate.door.machine import (
    Action,
    DoorEvent,
    DoorMachine,
    DoorState,
    Emit,
    SetLock,
    Timings,
)

T = Timings(pulse_s=3.0, max_unlock_s=30.0, held_open_warn_s=10.0, held_open_alarm_s=20.0)


def state(m: DoorMachine) -> DoorState:
    """The state, read through a call so mypy does not narrow it across transitions."""
    return m.state


def events(actions: Sequence[Action]) -> list[str]:
    return [a.event.value for a in actions if isinstance(a, Emit)]


def locks(actions: Sequence[Action]) -> list[bool]:
    return [a.released for a in actions if isinstance(a, SetLock)]


def test_grant_open_close_relocks() -> None:
    m = DoorMachine(T)
    a = m.on_grant(0.0)
    assert state(m) is DoorState.RELEASED and locks(a) == [True] and events(a) == ["granted"]
    a = m.on_contact(1.0, True)
    assert state(m) is DoorState.OPEN and events(a) == ["opened"] and locks(a) == []
    a = m.on_contact(2.0, False)
    assert state(m) is DoorState.LOCKED and locks(a) == [False]
    assert events(a) == ["closed", "relocked"]


def test_grant_unused_relocks_after_pulse() -> None:
    m = DoorMachine(T)
    m.on_grant(0.0)
    assert m.next_deadline() == 3.0
    assert m.tick(2.9) == []
    a = m.tick(3.0)
    assert state(m) is DoorState.LOCKED and locks(a) == [False] and events(a) == ["relocked"]


def test_repeated_grants_are_capped_by_max_unlock() -> None:
    m = DoorMachine(T)
    for t in range(0, 30, 2):  # a grant every 2 s keeps extending the 3 s pulse ...
        m.on_grant(float(t))
        assert m.tick(float(t) + 1.0) == []
    a = m.tick(30.0)  # ... but never past max_unlock_s after the first release
    assert state(m) is DoorState.LOCKED and not m.lock_released
    assert [x.data for x in a if isinstance(x, Emit)] == [{"why": "max_unlock"}]


def test_held_open_warn_alarm_clear() -> None:
    m = DoorMachine(T)
    m.on_grant(0.0)
    m.on_contact(1.0, True)
    assert events(m.tick(10.9)) == []
    assert events(m.tick(11.0)) == ["held_open"] and state(m) is DoorState.HELD_OPEN
    assert events(m.tick(21.0)) == ["held_open_alarm"] and m.alarm_active
    a = m.on_contact(25.0, False)
    assert events(a) == ["closed", "alarm_cleared", "relocked"]
    assert state(m) is DoorState.LOCKED and not m.alarm_active


def test_lock_reengages_at_max_unlock_while_door_stays_open() -> None:
    m = DoorMachine(Timings(3.0, 5.0, 10.0, 20.0))
    m.on_grant(0.0)
    m.on_contact(1.0, True)
    a = m.tick(5.0)
    assert locks(a) == [False] and events(a) == ["relocked"] and state(m) is DoorState.OPEN


def test_forced_open_alarm_until_closed() -> None:
    m = DoorMachine(T)
    a = m.on_contact(0.0, True)
    assert events(a) == ["opened", "forced_open"] and state(m) is DoorState.FORCED_OPEN
    assert locks(a) == [] and m.alarm_active
    a = m.on_contact(5.0, False)
    assert events(a) == ["closed", "alarm_cleared"] and state(m) is DoorState.LOCKED


def test_exit_request_allowed_releases_refused_does_not() -> None:
    m = DoorMachine(T)
    a = m.on_exit_request(0.0, allowed=False, why="OUTSIDE_SCHEDULE")
    assert events(a) == ["exit_request"] and locks(a) == [] and state(m) is DoorState.LOCKED
    a = m.on_exit_request(1.0, allowed=True)
    assert locks(a) == [True] and state(m) is DoorState.RELEASED
    assert events(m.on_contact(2.0, True)) == ["opened"]  # not forced


def test_fire_overrides_everything_and_restores() -> None:
    m = DoorMachine(T)
    m.on_contact(0.0, True)  # forced
    a = m.on_fire(1.0, True)
    assert events(a) == ["alarm_cleared", "emergency_release"] and locks(a) == [True]
    assert state(m) is DoorState.EMERGENCY
    assert events(m.on_contact(2.0, False)) == ["closed"]
    assert events(m.on_contact(3.0, True)) == ["opened"]  # no forced alarm in a fire
    assert events(m.on_grant(4.0)) == ["granted"] and state(m) is DoorState.EMERGENCY
    assert m.on_hold(4.5, True) == [] and state(m) is DoorState.EMERGENCY  # remembered
    m.on_hold(4.6, False)
    a = m.on_fire(5.0, False)  # door still open: authorised, re-locks when it closes
    assert events(a) == ["emergency_restored"] and state(m) is DoorState.OPEN
    assert m.lock_released
    assert events(m.on_contact(6.0, False)) == ["closed", "relocked"]


def test_fire_restores_into_a_hold() -> None:
    m = DoorMachine(T)
    m.on_hold(0.0, True)
    m.on_fire(1.0, True)
    a = m.on_fire(2.0, False)
    assert events(a) == ["emergency_restored", "hold_started"] and state(m) is DoorState.HOLD
    assert m.lock_released


def test_hold_opens_without_alarms_and_ends_relocked() -> None:
    m = DoorMachine(T)
    a = m.on_hold(0.0, True, "schedule")
    assert events(a) == ["hold_started"] and locks(a) == [True]
    assert events(m.on_contact(1.0, True)) == ["opened"]
    assert events(m.tick(100.0)) == []  # no held-open alarm during a hold
    a = m.on_hold(101.0, False, "schedule")
    assert events(a) == ["hold_ended"] and state(m) is DoorState.OPEN
    a = m.on_contact(102.0, False)
    assert events(a) == ["closed", "relocked"] and not m.lock_released


def test_tamper_is_its_own_alarm() -> None:
    m = DoorMachine(T)
    assert events(m.on_tamper(0.0, True)) == ["tamper"] and m.alarm_active
    assert state(m) is DoorState.LOCKED
    assert events(m.on_tamper(1.0, False)) == ["alarm_cleared"] and not m.alarm_active


def test_every_event_kind_is_a_string() -> None:
    assert {e.value for e in DoorEvent} >= {
        "granted",
        "opened",
        "closed",
        "held_open",
        "forced_open",
        "exit_request",
        "emergency_release",
        "alarm_cleared",
    }
