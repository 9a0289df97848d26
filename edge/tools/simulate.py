"""``edge-gate simulate``: a dry run of the real gate over a scenario's timeline.

The scenario (:mod:`edge.tools.scenario`) is fed into the application built by
:func:`edge.app.gate.build_gate` — the same verify → decide → door policy → store → door path as on
the device — with gpiozero's ``MockFactory`` pins and a :class:`FakeClock`. Between steps the
clock advances to every timer deadline of the door (and at least every ``tick_s``), so held-open
warnings and re-locks happen at their exact time without waiting. Every output is one line:
decisions, door events (each a durable record), relay/LED/buzzer pin changes and any other
record, each with ``t`` (seconds since the start) and the wall-clock ``time``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.app.gate import Gate, Outcome, build_gate
from edge.core.clock import FakeClock
from edge.core.events import Event
from edge.core.records import EventKind
from edge.gate.credentials import passes
from edge.gate.credentials.trust import TrustStore
from edge.gate.door.pins import make_pin_factory
from edge.gate.door.thermometer import FakeThermometer
from edge.store.settings import StoreSettings
from edge.tools.scenario import Scenario, ScenarioError, Step

DAY = 86_400.0
Line = dict[str, Any]


def scenario_key(label: str) -> Ed25519PrivateKey:
    """Deterministic key from a label: the same scheme as the demo's (never for real use)."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


def token(line: Line) -> str | None:
    """The short form of an output line used by ``[expect].sequence``."""
    if line["kind"] == "decision":
        codes = ",".join(line["reasons"] if not line["allow"] else line["flags"])
        word = "allow" if line["allow"] else "deny"
        return f"{word}({codes})" if codes else word
    if line["kind"] == "door":
        refused = "(refused)" if line.get("allowed") is False else ""
        return f"door:{line['event']}{refused}"
    if line["kind"] == "event":
        return f"event:{line['event']}"
    return None


class Simulator:
    """Runs one scenario; ``emit`` receives every output line as it happens."""

    def __init__(self, scenario: Scenario, workdir: Path, emit: Callable[[Line], None]) -> None:
        self.sc = scenario
        self._emit = emit
        self.lines: list[Line] = []
        config = scenario.config.model_copy(
            update={"store": StoreSettings(path=workdir / "simulate.sqlite3")}
        )
        self.clock = FakeClock(start=scenario.start)
        self._mono0 = self.clock.monotonic()
        trust = TrustStore()
        for k in scenario.keys:
            if k.trusted:
                trust.add_pass_issuer(scenario_key(k.name).public_key())
        self.factory = make_pin_factory("mock")
        # A thermometer is fitted only when the timeline has temperature readings; until the
        # first one it reads NaN (no valid reading yet), as a real one would.
        self.thermometer: FakeThermometer | None = None
        if any(step.action == "temperature" for step in scenario.steps):
            self.thermometer = FakeThermometer([math.nan])
        self.gate: Gate = build_gate(
            config,
            clock=self.clock,
            pin_factory=self.factory,
            trust=trust,
            lists=scenario.lists,
            thermometer=self.thermometer,
        )
        io = self.gate.door.io
        # Idle inputs before the first tick: door shut, no fire, no tamper, button up.
        for name, dev in (("contact", io.contact), ("fire", io.fire), ("tamper", io.tamper)):
            if dev is not None:
                io.simulate_input(name, False)
        if io.exit_button is not None:
            io.simulate_input("exit", False)
        # The MockPin objects themselves: a device forgets its pin once it is closed.
        self.outputs = {
            name: dev.pin
            for name, dev in (
                ("relay", io.relay),
                ("green", io.green),
                ("red", io.red),
                ("buzzer", io.buzzer),
            )
            if dev is not None
        }
        # states[0] is the mock pin's level before gpiozero claimed it, not an output we drove.
        self._seen_pin = {name: 1 for name in self.outputs}
        self._pending: list[Line] = []
        self._announced: set[int] = set()
        self._last_seq = 0
        self.texts = self._issue_passes()
        self.gate.events.on(self._on_event)

    # -- output --------------------------------------------------------------------------
    @property
    def t(self) -> float:
        return round(self.clock.monotonic() - self._mono0, 3)

    def _line(self, kind: str, **data: Any) -> None:
        offset = dt.timedelta(hours=self.sc.config.door_rules.calendar.utc_offset_h)
        when = dt.datetime.fromtimestamp(self.clock.time(), dt.timezone(offset))
        line: Line = {"t": self.t, "time": when.isoformat(timespec="milliseconds"), "kind": kind}
        line.update(data)
        self.lines.append(line)
        self._emit(line)

    def _on_event(self, event: Event) -> None:
        seq = event.data.get("seq")
        if isinstance(seq, int):
            self._announced.add(seq)
        if event.kind is EventKind.ACCESS:
            return  # printed as the "decision" line, with more detail
        data = {k: v for k, v in event.data.items() if k != "gate"}
        if event.kind is EventKind.DOOR:
            self._pending.append({"kind": "door", **data})
        else:
            self._pending.append({"kind": "event", "event": event.kind, **data})

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for p in pending:
            self._line(**p)
        for name, pin in self.outputs.items():
            states = pin.states
            for st in states[self._seen_pin[name] :]:
                extra: dict[str, Any] = {}
                if name == "relay":
                    energised = bool(st.state) == self.sc.config.door.active_high
                    extra = {"energised": energised, "lock": self._lock_word(energised)}
                self._line("pin", device=name, pin=str(pin), level=int(bool(st.state)), **extra)
            self._seen_pin[name] = len(states)
        for rec in self.gate.store.records(after_seq=self._last_seq):
            self._last_seq = rec.seq
            if rec.seq not in self._announced:
                self._line("record", seq=rec.seq, record=rec.kind, body=rec.body)

    def _lock_word(self, energised: bool) -> str:
        fail_secure = self.sc.config.door.lock_type == "fail_secure"
        return "released" if energised == fail_secure else "locked"

    # -- running -------------------------------------------------------------------------
    def _issue_passes(self) -> dict[str, str]:
        texts = {}
        start = self.sc.start
        for p in self.sc.passes.values():
            device = (
                passes.device_public_bytes(scenario_key(f"{p.name}-phone")) if p.dynamic else None
            )
            body = passes.PassBody(
                p.pass_id,
                p.holder,
                *p.household,
                p.role,
                int(start + p.valid_from_days * DAY),
                int(start + p.valid_until_days * DAY),
                device,
            )
            texts[p.name] = passes.issue(body, scenario_key(p.key))
        return texts

    def _advance_to(self, target: float) -> None:
        """Move the clock to ``target`` (s since start), ticking at every door deadline."""
        while self.t < target:
            nxt = min(target, self.t + self.sc.tick_s)
            wake = self.gate.door.next_wakeup()
            if wake is not None:
                # A hair past the deadline so float rounding cannot leave it one tick short.
                w = round(wake - self._mono0 + 1e-6, 6)
                if self.t < w < nxt:
                    nxt = w
            self.clock.advance(max(nxt - (self.clock.monotonic() - self._mono0), 0.0))
            self.gate.tick()
            self._flush()

    def _decision(self, o: Outcome, step: Step, direction: str) -> None:
        j = o.to_json(lang="en")
        self._line("decision", step=step.index, direction=direction, **j)

    def _apply(self, step: Step) -> None:
        gate, io, v = self.gate, self.gate.door.io, step.value
        direction = step.direction
        if step.reader is not None:
            direction = gate.door.policy.direction_of(step.reader)
        direction = direction or gate.direction
        if step.action in ("scan", "text"):
            text = v if step.action == "text" else self.texts[v]
            spec = self.sc.passes.get(v) if step.action == "scan" else None
            if spec is not None and spec.dynamic:
                text = passes.dynamic_code(
                    text, scenario_key(f"{spec.name}-phone"), self.clock.time()
                )
            self._decision(gate.process_text(text, direction=direction), step, direction.value)
        elif step.action == "image":
            import cv2

            path = self.sc.base_dir / v
            frame = cv2.imread(str(path))
            if frame is None:
                raise ScenarioError(f"{step.where}: image: cannot read {path}")
            gate.direction = direction
            outcomes = gate.process_frame(frame)
            for o in outcomes:
                self._decision(o, step, direction.value)
            if not outcomes:
                self._line("no_code", step=step.index)  # nothing readable in the frame
        elif step.action == "door":
            io.simulate_input("contact", v == "open")
        elif step.action == "exit":
            io.simulate_input("exit", True)
            io.simulate_input("exit", False)
        elif step.action in ("fire", "tamper"):
            io.simulate_input(step.action, bool(v))
        elif step.action == "temperature":
            assert self.thermometer is not None  # fitted for every timeline with readings
            self.thermometer = FakeThermometer([float(v)])
            gate.thermometer = self.thermometer
        elif step.action == "lists":
            gate.lists = v
        elif step.action == "closed_management":
            gate.door.policy.closed_management = bool(v)
        elif step.action == "hold":
            gate.door.hold({"on": True, "off": False}.get(v))
        elif step.action == "jump":
            self.clock.jump(float(v))
        gate.tick()
        self._flush()

    def run(self) -> list[Line]:
        """Run every step, then shut the gate down; returns all output lines."""
        door = self.sc.config.door
        self._line(
            "start",
            scenario=self.sc.name,
            lock_type=door.lock_type,
            active_high=door.active_high,
            relay_level=int(bool(self.gate.door.relay.pin.state)),
            lock="released" if self.gate.door.released else "locked",
        )
        self._flush()  # the relay's level right after start-up: proves there was no glitch
        self.gate.tick()
        self._flush()
        try:
            for step in self.sc.steps:
                self._advance_to(step.at)
                data: dict[str, Any] = {"step": step.index, step.action: _jsonable(step.value)}
                if step.reader is not None:
                    data["reader"] = step.reader
                if step.direction is not None:
                    data["direction"] = step.direction.value
                if step.note:
                    data["note"] = step.note
                self._line("input", **data)
                self._apply(step)
            self._advance_to(max(self.sc.end, self.t))
        finally:
            self._line("shutdown")
            self.gate.door.close()  # the lock's safe state, as the app's close does first
            self._flush()
            self.gate.close()
        return self.lines


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


__all__ = ["Line", "Simulator", "scenario_key", "token"]
