"""The door as one explicit, pure state machine: events and a time in, actions out.

No I/O and no clock reads: every call takes ``now`` (monotonic seconds) and returns the actions
the caller must perform (drive the lock, emit a door event). The hardware side lives in
:mod:`~edge.gate.door.io`; :mod:`~edge.gate.door.controller` glues the two with a clock.
States, events and transitions are documented with a diagram in ``docs/door.md``; every
transition has a test.

Lock and door contact are tracked separately on purpose: the state says *why* the lock is in its
position, ``door_open`` says what the contact reports, so a door opened during a fire release or a
schedule hold is never mistaken for a forced door.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class DoorState(StrEnum):
    LOCKED = "locked"  # lock engaged, door shut (or just closed)
    RELEASED = "released"  # momentary unlock after a grant/exit request, door not yet opened
    OPEN = "open"  # authorised opening in progress
    HELD_OPEN = "held_open"  # authorised, open too long: warning
    HELD_OPEN_ALARM = "held_open_alarm"  # open far too long: alarm
    FORCED_OPEN = "forced_open"  # opened without grant or exit request: alarm
    HOLD = "hold"  # continuous unlock (schedule or command)
    EMERGENCY = "emergency"  # fire alarm: released, overrides everything


class DoorEvent(StrEnum):
    """What the machine reports; each one becomes a durable record of kind "door"."""

    GRANTED = "granted"
    EXIT_REQUEST = "exit_request"
    OPENED = "opened"
    CLOSED = "closed"
    RELOCKED = "relocked"
    HELD_OPEN = "held_open"
    HELD_OPEN_ALARM = "held_open_alarm"
    FORCED_OPEN = "forced_open"
    ALARM_CLEARED = "alarm_cleared"
    HOLD_STARTED = "hold_started"
    HOLD_ENDED = "hold_ended"
    EMERGENCY_RELEASE = "emergency_release"
    EMERGENCY_RESTORED = "emergency_restored"
    TAMPER = "tamper"


# Events that are alarms for the guard (red light, buzzer) until an ALARM_CLEARED.
ALARMS = frozenset({DoorEvent.HELD_OPEN_ALARM, DoorEvent.FORCED_OPEN, DoorEvent.TAMPER})


@dataclass(frozen=True)
class Timings:
    """Door timings in seconds (validated by :class:`~edge.gate.door.settings.DoorSettings`)."""

    pulse_s: float = 3.0  # momentary unlock when nobody opens the door
    max_unlock_s: float = 30.0  # hard cap of any momentary unlock, door open or not
    held_open_warn_s: float = 15.0  # after opening: warning
    held_open_alarm_s: float = 30.0  # after opening: alarm


@dataclass(frozen=True)
class SetLock:
    """Drive the lock: ``released`` True unlocks, False locks."""

    released: bool


@dataclass(frozen=True)
class Emit:
    """Report a door event with details (kept small and JSON-able)."""

    event: DoorEvent
    data: dict[str, Any] = field(default_factory=dict)


Action = SetLock | Emit


@dataclass
class DoorMachine:
    """The door's state machine. Call :meth:`tick` often and the ``on_*`` methods on inputs."""

    timings: Timings = field(default_factory=Timings)
    state: DoorState = DoorState.LOCKED
    door_open: bool = False
    lock_released: bool = False
    hold_wanted: bool = False
    fire: bool = False
    tamper: bool = False
    release_until: float | None = None  # monotonic s: end of a momentary unlock
    unlock_cap: float | None = None  # monotonic s: max_unlock_s after the release began
    opened_at: float | None = None  # monotonic s: start of the held-open timer
    _out: list[Action] = field(default_factory=list, repr=False)

    # -- helpers -------------------------------------------------------------------------
    def _lock(self, released: bool) -> None:
        if released != self.lock_released:
            self.lock_released = released
            self._out.append(SetLock(released))

    def _emit(self, event: DoorEvent, **data: Any) -> None:
        self._out.append(Emit(event, data))

    def _flush(self) -> list[Action]:
        out, self._out = self._out, []
        return out

    def _go(self, state: DoorState) -> None:
        self.state = state
        if state not in (DoorState.RELEASED, DoorState.OPEN, DoorState.HELD_OPEN):
            self.release_until = self.unlock_cap = None
        if state not in (DoorState.OPEN, DoorState.HELD_OPEN, DoorState.HELD_OPEN_ALARM):
            self.opened_at = None

    def _clear_alarm(self, why: str) -> None:
        """Leaving an alarm or warning state always says so, so the guard's alert ends."""
        alarm = {
            DoorState.HELD_OPEN: "held_open",
            DoorState.HELD_OPEN_ALARM: "held_open_alarm",
            DoorState.FORCED_OPEN: "forced_open",
        }.get(self.state)
        if alarm is not None:
            self._emit(DoorEvent.ALARM_CLEARED, alarm=alarm, why=why)

    def _relock(self, why: str) -> None:
        was = self.lock_released
        self._go(DoorState.LOCKED)
        self._lock(False)
        if was:
            self._emit(DoorEvent.RELOCKED, why=why)

    def _release(self, now: float, seconds: float | None = None) -> None:
        """Start (or extend) a momentary unlock of ``seconds`` (default ``pulse_s``); the
        ``max_unlock_s`` cap counts from the first release and always wins."""
        self.release_until = now + (self.timings.pulse_s if seconds is None else seconds)
        if self.unlock_cap is None:
            self.unlock_cap = now + self.timings.max_unlock_s
        self._lock(True)

    def _settle(self, now: float, why: str) -> None:
        """Where to go when a hold or an emergency ends: never straight into an alarm."""
        if self.hold_wanted and not self.fire:
            self._go(DoorState.HOLD)
            self._lock(True)
        elif self.door_open:
            # Treated as an authorised opening: re-locks when the door closes.
            self._go(DoorState.OPEN)
            self.opened_at = now
            self.unlock_cap = now + self.timings.max_unlock_s
            self.release_until = None
        else:
            self._relock(why)

    # -- inputs --------------------------------------------------------------------------
    def on_grant(self, now: float, seconds: float | None = None, **data: Any) -> list[Action]:
        """An access decision allowed a passage (the record is already durable); ``seconds``
        overrides the unlock time (a remote open for N s), within ``max_unlock_s``."""
        self._emit(DoorEvent.GRANTED, **data)
        if self.state in (DoorState.LOCKED, DoorState.RELEASED):
            self._go(DoorState.RELEASED)
            self._release(now, seconds)
        elif self.state in (DoorState.OPEN, DoorState.HELD_OPEN):
            # A second person passing through an open door restarts the held-open timer.
            self._clear_alarm("granted")
            self._go(DoorState.OPEN)
            self.opened_at = now
        return self._flush()

    def on_exit_request(self, now: float, allowed: bool, why: str = "") -> list[Action]:
        """The request-to-exit button, already debounced; ``allowed`` by the exit schedule."""
        self._emit(DoorEvent.EXIT_REQUEST, allowed=allowed, **({"why": why} if why else {}))
        if allowed and self.state in (DoorState.LOCKED, DoorState.RELEASED):
            self._go(DoorState.RELEASED)
            self._release(now)
        return self._flush()

    def on_contact(self, now: float, door_open: bool) -> list[Action]:
        """The door contact changed (already translated from NO/NC to open/closed)."""
        if door_open == self.door_open:
            return self._flush()
        self.door_open = door_open
        if door_open:
            self._emit(DoorEvent.OPENED, from_state=self.state.value)
            if self.state is DoorState.RELEASED:
                self._go(DoorState.OPEN)
                self.opened_at = now
            elif self.state is DoorState.LOCKED:
                self._go(DoorState.FORCED_OPEN)
                self._emit(DoorEvent.FORCED_OPEN)
        else:
            self._emit(DoorEvent.CLOSED, from_state=self.state.value)
            if self.state in (
                DoorState.OPEN,
                DoorState.HELD_OPEN,
                DoorState.HELD_OPEN_ALARM,
                DoorState.FORCED_OPEN,
            ):
                self._clear_alarm("door_closed")
                self._relock("door_closed")
        return self._flush()

    def on_hold(self, now: float, wanted: bool, source: str = "command") -> list[Action]:
        """Continuous unlock wanted or not (by the unlock schedule or a guard's command)."""
        if wanted == self.hold_wanted:
            return self._flush()
        self.hold_wanted = wanted
        if self.state is DoorState.EMERGENCY:
            return self._flush()  # remembered; applied when the fire alarm ends
        if wanted:
            self._clear_alarm("hold")
            self._go(DoorState.HOLD)
            self._lock(True)
            self._emit(DoorEvent.HOLD_STARTED, source=source)
        else:
            self._emit(DoorEvent.HOLD_ENDED, source=source)
            self._settle(now, "hold_ended")
        return self._flush()

    def on_fire(self, now: float, active: bool) -> list[Action]:
        """Fire alarm / emergency release input: releases at once, whatever the state."""
        if active == self.fire:
            return self._flush()
        self.fire = active
        if active:
            self._clear_alarm("emergency")
            self._go(DoorState.EMERGENCY)
            self._lock(True)
            self._emit(DoorEvent.EMERGENCY_RELEASE)
        else:
            self._emit(DoorEvent.EMERGENCY_RESTORED, door_open=self.door_open)
            if self.hold_wanted:
                self._emit(DoorEvent.HOLD_STARTED, source="restore")
            self._settle(now, "emergency_restored")
        return self._flush()

    def on_tamper(self, now: float, active: bool) -> list[Action]:
        """The enclosure tamper switch: an alarm of its own, the lock is not touched."""
        del now
        if active != self.tamper:
            self.tamper = active
            if active:
                self._emit(DoorEvent.TAMPER)
            else:
                self._emit(DoorEvent.ALARM_CLEARED, alarm="tamper", why="tamper_restored")
        return self._flush()

    def tick(self, now: float) -> list[Action]:
        """Run the timers: momentary unlock end, unlock cap, held-open warning and alarm."""
        t = self.timings
        if (
            self.state is DoorState.RELEASED
            and self.release_until is not None
            and now >= self.release_until
        ):
            self._relock("not_opened")
        if self.unlock_cap is not None and now >= self.unlock_cap and self.lock_released:
            if self.state is DoorState.RELEASED:
                self._relock("max_unlock")  # repeated grants never keep it open for ever
            else:
                # The lock engages while the door is still open; it latches when it closes.
                self.unlock_cap = None
                self._lock(False)
                self._emit(DoorEvent.RELOCKED, why="max_unlock")
        if self.opened_at is not None:
            open_s = now - self.opened_at
            if self.state is DoorState.OPEN and open_s >= t.held_open_warn_s:
                self._go(DoorState.HELD_OPEN)
                self._emit(DoorEvent.HELD_OPEN, open_s=round(open_s, 3))
            if self.state is DoorState.HELD_OPEN and open_s >= t.held_open_alarm_s:
                self._go(DoorState.HELD_OPEN_ALARM)
                self._emit(DoorEvent.HELD_OPEN_ALARM, open_s=round(open_s, 3))
        return self._flush()

    def next_deadline(self) -> float | None:
        """The earliest monotonic time at which :meth:`tick` will change something."""
        times = [self.unlock_cap if self.lock_released else None]
        if self.state is DoorState.RELEASED:
            times.append(self.release_until)
        if self.opened_at is not None and self.state is DoorState.OPEN:
            times.append(self.opened_at + self.timings.held_open_warn_s)
        if self.opened_at is not None and self.state is DoorState.HELD_OPEN:
            times.append(self.opened_at + self.timings.held_open_alarm_s)
        found = [x for x in times if x is not None]
        return min(found) if found else None

    @property
    def alarm_active(self) -> bool:
        return self.state in (DoorState.HELD_OPEN_ALARM, DoorState.FORCED_OPEN) or self.tamper


__all__ = [
    "ALARMS",
    "Action",
    "DoorEvent",
    "DoorMachine",
    "DoorState",
    "Emit",
    "SetLock",
    "Timings",
]
