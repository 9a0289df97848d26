"""The door controller: the pure :class:`DoorMachine` driven by a clock, its actions applied to
the hardware (:class:`DoorIO`), its events handed to listeners (the app makes them durable
records and live events), and the LEDs and buzzer following along.

Input edges arrive two ways: gpiozero callbacks (immediate, e.g. a fire alarm) and polling in
:meth:`Door.tick`. Both go through :meth:`Door.poll` under one lock, so a transition is never
applied twice or half.

In the service the door runs its own loop (:meth:`Door.start_loop`): a thread that ticks the
door every few milliseconds and does nothing else — no network, disk or subprocess — so a
relay pulse keeps its length and the fire input is acted on at once whatever the rest of the
gate is waiting for. Its events then go to a second thread that calls the listeners (which
write records), so a slow disk never holds the door's lock. Without the loop (tests, tools)
listeners are called at once, in the caller's thread.

Order inside a step: lock actions first, then events. Releasing a door in a fire must not wait
for a disk write; an access grant is different, and the app records it *before* calling
:meth:`Door.grant`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from edge.core.clock import Clock
from edge.gate.door.indicators import IndicatorPlayer, Signal, background_for
from edge.gate.door.io import DoorIO
from edge.gate.door.machine import Action, DoorEvent, DoorMachine, Emit, SetLock, Timings
from edge.gate.door.policy import DoorPolicy
from edge.gate.rules.profile import Direction

if TYPE_CHECKING:
    from edge.gate.door.settings import DoorSettings

log = logging.getLogger(__name__)

# (event, details, wall-clock Unix seconds)
DoorListener = Callable[[DoorEvent, dict[str, Any], float], None]
# (holder, direction, wall-clock Unix seconds) of a granted passage, for anti-passback
Passage = tuple[str | None, Direction, float]

LOOP_PERIOD_S = 0.005  # the door loop's longest sleep: input polling and timers, s


class Door:
    """One door: lock, contact, exit button, fire/tamper inputs, indicators, and its rules."""

    def __init__(
        self,
        settings: DoorSettings,
        clock: Clock,
        pin_factory: Any,
        policy: DoorPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.policy = policy or DoorPolicy()
        self.machine = DoorMachine(
            Timings(
                pulse_s=settings.pulse_s,
                max_unlock_s=settings.max_unlock_s,
                held_open_warn_s=settings.held_open_warn_s,
                held_open_alarm_s=settings.held_open_alarm_s,
            )
        )
        self.io = DoorIO(settings, pin_factory)
        self.indicators = IndicatorPlayer()
        self.listeners: list[DoorListener] = []
        self._lock = threading.RLock()
        self._exit_was_pressed = False
        self._last_exit: float | None = None  # monotonic s of the last accepted press
        # Inputs are read from the first tick on, so wiring up (and a test or the simulator
        # setting the idle input levels) never produces a spurious alarm or release.
        self._started = False
        self._passages: list[Passage] = []  # granted, waiting for the door to open
        # The door's own loop (start_loop): its thread, its wake-up, and its last beat
        # (monotonic s), which the service turns into watchdog pings.
        self._loop: threading.Thread | None = None
        self._dispatcher: threading.Thread | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._outbox: queue.SimpleQueue[tuple[DoorEvent, dict[str, Any], float] | None] = (
            queue.SimpleQueue()
        )
        self._commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.beat = 0.0
        self.io.on_input(self.poll)

    # -- what the app uses ---------------------------------------------------------------
    @property
    def relay(self) -> Any:
        """The lock relay (a gpiozero ``OutputDevice``)."""
        return self.io.relay

    @property
    def released(self) -> bool:
        """Whether the lock is driven to unlocked."""
        return self.io.released

    def grant(
        self, passage: Passage | None = None, seconds: float | None = None, **data: Any
    ) -> None:
        """An allowed passage: momentary unlock, green light and one beep.

        ``passage`` counts for anti-passback only once the door really opens (with a contact
        fitted), so a resident who hesitates until the lock re-engages can scan again.
        ``seconds`` overrides the configured pulse (capped by ``max_unlock_s``).
        """
        with self._lock:
            if self.io.closed:
                log.error("grant after shutdown ignored: the door stays in its safe state")
                return
            now = self.clock.monotonic()
            if passage is not None:
                if self.io.contact is None:
                    self.policy.passback.passed(*passage)
                else:
                    self._passages.append(passage)
            self.indicators.play(Signal.ALLOW, now)
            self._apply(self.machine.on_grant(now, seconds, **data))
            self._lights(now)

    def refuse(self) -> None:
        """A refused passage: red light and two beeps; the lock is not touched."""
        with self._lock:
            now = self.clock.monotonic()
            self.indicators.play(Signal.REFUSE, now)
            self._lights(now)

    def hold(self, wanted: bool | None) -> None:
        """A guard's command: hold unlocked (True), keep locked (False), or follow the
        unlock schedule again (None)."""
        with self._lock:
            self.policy.hold_command = wanted
            self.tick()

    def tick(self) -> None:
        """Poll inputs, follow the unlock schedule and run the timers. Call every frame."""
        with self._lock:
            if self.io.closed:
                return  # after shutdown the lock stays in its safe state
            self._started = True
            self.poll()
            now = self.clock.monotonic()
            want = self.policy.hold_wanted(self.clock.time())
            source = "command" if self.policy.hold_command is not None else "schedule"
            self._apply(self.machine.on_hold(now, want, source))
            self._apply(self.machine.tick(now))
            self._lights(now)

    def poll(self) -> None:
        """Feed input changes to the machine (also called from gpiozero's callbacks)."""
        with self._lock:
            if not self._started or self.io.closed:
                return
            now = self.clock.monotonic()
            io, m = self.io, self.machine
            # Fire first: an emergency must win over whatever else changed at the same time.
            self._apply(m.on_fire(now, io.fire_active))
            self._apply(m.on_tamper(now, io.tamper_active))
            door_open = io.door_open
            if door_open is not None:
                self._apply(m.on_contact(now, door_open))
            pressed = io.exit_pressed
            if pressed and not self._exit_was_pressed:
                self._exit_press(now)
            self._exit_was_pressed = pressed
            self._lights(now)

    def next_wakeup(self) -> float | None:
        """The next monotonic time a timer or an indicator pattern needs a :meth:`tick`."""
        with self._lock:
            now = self.clock.monotonic()
            times = [self.machine.next_deadline(), self.indicators.next_change(now)]
            found = [t for t in times if t is not None]
            return min(found) if found else None

    def start_loop(self) -> None:
        """Run the door on its own thread from now on (idempotent)."""
        if self._loop is not None:
            return
        self._stop.clear()
        self._dispatcher = threading.Thread(target=self._dispatch, name="door-events", daemon=True)
        self._dispatcher.start()
        self._loop = threading.Thread(target=self._run_loop, name="door-loop", daemon=True)
        self._loop.start()

    @property
    def looping(self) -> bool:
        return self._loop is not None and self._loop.is_alive()

    def submit(self, command: Callable[[], None]) -> None:
        """Run ``command`` (e.g. a central "open") as a message on the door's loop, so no other
        thread ever drives the door; runs at once when the door has no loop."""
        if self._loop is None:
            command()
            return
        self._commands.put(command)
        self._wake.set()

    def _run_loop(self) -> None:
        while not self._stop.is_set():
            try:
                while True:
                    try:
                        command = self._commands.get_nowait()
                    except queue.Empty:
                        break
                    command()
                self.tick()
            except Exception:  # the loop must outlive any one bad step
                log.exception("door loop step failed")
            self.beat = time.monotonic()
            nxt = self.next_wakeup()
            delay = LOOP_PERIOD_S
            if nxt is not None:
                delay = min(delay, max(0.0, nxt - self.clock.monotonic()))
            self._wake.wait(delay)
            self._wake.clear()

    def _dispatch(self) -> None:
        while True:
            item = self._outbox.get()
            if item is None:
                return
            self._notify(*item)

    def _notify(self, event: DoorEvent, data: dict[str, Any], wall: float) -> None:
        for listener in list(self.listeners):
            try:
                listener(event, data, wall)
            except Exception:  # a listener must never stop the door
                log.exception("door listener failed on %s", event.value)

    def close(self) -> None:
        """Drive the lock to its declared safe state and release every pin."""
        self._stop.set()
        self._wake.set()
        loop, self._loop = self._loop, None
        if loop is not None and loop is not threading.current_thread():
            loop.join(timeout=1.0)
        with self._lock:
            self.io.close()
        dispatcher, self._dispatcher = self._dispatcher, None
        if dispatcher is not None:
            self._outbox.put(None)  # after the events already queued: they are still recorded
            dispatcher.join(timeout=5.0)

    # -- internals -----------------------------------------------------------------------
    def _exit_press(self, now: float) -> None:
        debounce = self.settings.exit_debounce_s
        if self._last_exit is not None and now - self._last_exit < debounce:
            return  # contact bounce of the press we already took
        self._last_exit = now
        allowed, why = self.policy.exit_allowed(self.clock.time())
        self.indicators.play(Signal.ALLOW if allowed else Signal.REFUSE, now)
        self._apply(self.machine.on_exit_request(now, allowed, why))

    def _apply(self, actions: list[Action]) -> None:
        for a in actions:
            if isinstance(a, SetLock):
                self.io.set_lock(a.released)
        wall = self.clock.time()
        for a in actions:
            if isinstance(a, Emit):
                self._track_passages(a)
                log.info("door %s %s", a.event.value, a.data or "")
                data = dict(a.data, state=self.machine.state.value)
                if self._dispatcher is not None:
                    self._outbox.put((a.event, data, wall))  # listeners write: off this thread
                else:
                    self._notify(a.event, data, wall)

    def _track_passages(self, a: Emit) -> None:
        if a.event is DoorEvent.OPENED:
            for passage in self._passages:
                self.policy.passback.passed(*passage)
            self._passages.clear()
        elif a.event is DoorEvent.RELOCKED and a.data.get("why") == "not_opened":
            self._passages.clear()  # nobody went through

    def _lights(self, now: float) -> None:
        m = self.machine
        self.indicators.set_background(background_for(m.state, m.alarm_active), now)
        lights = self.indicators.lights(now)
        self.io.set_lights(lights.green, lights.red, lights.buzzer)


__all__ = ["Door", "DoorListener"]
