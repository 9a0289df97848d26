"""A remote open for N seconds: the unlock lasts N s, never past ``max_unlock_s``."""

from __future__ import annotations

from edge.gate.door.machine import DoorMachine, DoorState, SetLock, Timings


def _lock_levels(actions: list[object]) -> list[bool]:
    return [a.released for a in actions if isinstance(a, SetLock)]


def test_grant_for_n_seconds_then_relock() -> None:
    m = DoorMachine(Timings(pulse_s=3.0, max_unlock_s=30.0))
    assert _lock_levels(m.on_grant(0.0, seconds=10.0)) == [True]
    assert m.state is DoorState.RELEASED
    m.tick(9.9)
    assert m.state is DoorState.RELEASED  # a plain pulse would have re-locked at 3 s
    assert _lock_levels(m.tick(10.0)) == [False]
    assert m.state is DoorState.LOCKED


def test_grant_seconds_never_exceed_the_cap() -> None:
    m = DoorMachine(Timings(pulse_s=3.0, max_unlock_s=30.0))
    m.on_grant(0.0, seconds=600.0)
    m.tick(29.9)
    assert m.state is DoorState.RELEASED
    assert _lock_levels(m.tick(30.0)) == [False]
