"""App wiring: the one module that knows every concrete class.

Data flows one way: frame → codes → credentials (per person, in a scan session) → decision →
record (durable) → door. A person may show a pass, then health proofs; the session decides
once they are complete, or when its window ends (:meth:`Gate.tick`).
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

import numpy as np

from edge.app.config import Config
from edge.app.outcome import Outcome, access_body, scan_body
from edge.core.clock import Clock, SystemClock
from edge.core.events import EventBus
from edge.core.records import DoorBody, EventKind, RecordKind
from edge.gate.colour_watch import REBUILD_RECORDS, ColourWatch
from edge.gate.credentials import passes
from edge.gate.credentials.clock_trust import ClockTrust
from edge.gate.credentials.regional import HealthCodeClient, client_from_settings
from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verified import PassCredential
from edge.gate.door.controller import Door
from edge.gate.door.machine import DoorEvent
from edge.gate.door.pins import make_pin_factory
from edge.gate.door.policy import DoorPolicy, DoorReason, DoorVerdict
from edge.gate.door.thermometer import Thermometer
from edge.gate.rules.decision import Decision
from edge.gate.rules.lists import ListsSnapshot, load_lists
from edge.gate.rules.profile import Direction, Rules
from edge.gate.session import ScanSession, ScanStep
from edge.store.settings import WhenNotDurable
from edge.store.sqlite import Store
from edge.vision.qr.codes import Code
from edge.vision.qr.dedupe import Deduper
from edge.vision.qr.scanner import Scanner

log = logging.getLogger(__name__)
LISTS_LOG = 32  # lists snapshots kept for the console's colour-change check (Gate.lists_log)
DECIDED_KEPT = 50  # decided sessions kept for a guard's confirmation (Gate.decided)


__all__ = ["Gate", "Outcome", "build_gate"]


class Gate:
    """The entrance gate: reads codes, decides, records, drives the door."""

    def __init__(
        self,
        config: Config,
        clock: Clock,
        store: Store,
        door: Door,
        scanner: Scanner,
        trust: TrustStore,
        lists: ListsSnapshot,
        rules: Rules,
        events: EventBus | None = None,
        *,
        thermometer: Thermometer | None = None,
        health_client: HealthCodeClient | None = None,
        clock_trust: ClockTrust | None = None,
    ) -> None:
        self.config = config
        self.events = events or EventBus()
        self.clock = clock
        self.store = store
        self.door = door
        self.scanner = scanner
        self.trust = trust
        # every snapshot the gate takes, in order: the console's colour-change check walks
        # them, so a list pushed twice within its one-second tick is not seen as one jump
        self.lists_log: deque[ListsSnapshot] = deque(maxlen=LISTS_LOG)
        self.lists = lists
        self.rules = rules
        self.direction = config.gate.direction
        self.thermometer = thermometer
        self.health_client = health_client
        self.clock_trust = clock_trust
        self._session: ScanSession | None = None
        # Recently decided sessions by access record seq, so a guard's confirmation at the
        # console re-decides the real session (ScanSession.confirm, the profile's rules).
        self.decided: OrderedDict[int, ScanSession] = OrderedDict()
        # Set by the console: a visitor pass still awaiting its household's confirmation.
        self.visitor_unconfirmed: Callable[[PassCredential], bool] | None = None
        self._session_code: Code | None = None
        self.deduper = Deduper.from_settings(config.scanner)
        self.door.listeners.append(self._on_door_event)
        # The last health-code colour each resident showed, rebuilt from the newest records:
        # a scan showing another colour warns the guards (access events carry no colour).
        self.colours = ColourWatch()
        try:
            recent = store.records(max(0, store.max_seq() - REBUILD_RECORDS), REBUILD_RECORDS)
            self.colours.learn(r.body for r in recent if r.kind == RecordKind.ACCESS)
        except Exception:  # a store that cannot be read only starts the memory empty
            log.exception("could not read the last health-code colours from the store")

    @property
    def lists(self) -> ListsSnapshot:
        return self._lists

    @lists.setter
    def lists(self, snapshot: ListsSnapshot) -> None:
        self._lists = snapshot  # one assignment: the next decision sees the new snapshot
        self.lists_log.append(snapshot)

    def _on_door_event(self, event: DoorEvent, data: dict[str, Any], ts: float) -> None:
        """Every door event becomes a record and a live event for the guard. The store never
        raises a disk fault (the record waits in memory), so an alarm is never hidden by it."""
        body = DoorBody(gate=self.config.gate.id, event=event.value, **data)
        record = self.store.append(RecordKind.DOOR, ts, body)
        self.events.publish(EventKind.DOOR, ts, seq=record.seq, **record.body)

    def clock_trusted(self, now: float) -> bool:
        """Whether time-dependent checks may run now (fails closed: see ClockTrust)."""
        if self.clock_trust is None:
            return True
        return self.clock_trust.status(now, self.clock.monotonic()).trusted

    def process_frame(self, frame: np.ndarray, t: float | None = None) -> list[Outcome]:
        """Read every code in ``frame`` and act on each one not already acted on.

        The one frame path of the gate — service, demo, simulator and ``bench pipeline`` all
        come through here: scan, drop codes still held in view (``t``: the frame's monotonic
        capture time, default now), then decide, record and drive the door per code.
        """
        self.tick()
        now = self.clock.monotonic() if t is None else t
        codes = self.deduper.filter(self.scanner.scan(frame), now)
        return [self.process_text(code.text, code) for code in codes]

    def _open_session(self, text: str, now: float, direction: Direction) -> ScanSession:
        s = self._session
        if s is not None and not s.decided:
            # the next person's pass (or a change of reader direction) ends the last session
            if (
                s.expired(now)
                or s.direction is not direction
                or (
                    text.startswith(passes.PREFIX)
                    and any(isinstance(c, PassCredential) for c in s.credentials)
                )
            ):
                self._finish(s, now)
            else:
                return s
        s = ScanSession(
            self.rules,
            self.trust,
            now,
            direction,
            window_s=self.config.gate.session_window_s,
            health_code_prefixes=tuple(self.config.health.code_prefixes),
            clock_trusted=self.clock_trusted(now),
            is_replay=lambda c: c.step is not None and self.store.step_used(c.pass_id, c.step),
            unconfirmed=self.visitor_unconfirmed,
        )
        self._session = s
        return s

    def process_text(
        self, text: str, code: Code | None = None, direction: Direction | None = None
    ) -> Outcome:
        """Take one scanned text: wait for more proofs, or decide, record, drive the door."""
        direction = direction or self.direction
        now = self.clock.time()
        session = self._open_session(text, now, direction)
        self._session_code = code
        step = session.scan(text, now)
        if step.online_code is not None:
            if self.health_client is None:
                log.warning("a health code was shown but the online check is not configured")
            else:
                session.offer(self.health_client.check(step.online_code, now))
        if session.ready(now):
            return self._finish(session, now, code, step)
        return self._pending(session, step, now, code)

    def _pending(
        self, session: ScanSession, step: ScanStep, now: float, code: Code | None
    ) -> Outcome:
        missing = tuple(n.value for n in session.missing())
        body = scan_body(self.config.gate.id, session.direction, step.verification, missing)
        record = self.store.append(RecordKind.SCAN, now, body)
        prompt = (session.prompt("zh"), session.prompt("en"))
        self.events.publish(
            EventKind.PROMPT,
            now,
            seq=record.seq,
            missing=list(missing),
            sentence_zh=prompt[0],
            sentence_en=prompt[1],
            direction=session.direction.value,
        )
        return Outcome(
            code,
            step.verification,
            Decision(False),
            record,
            "none",
            missing=missing,
            prompt=prompt,
        )

    def _temperature(self) -> float | None:
        if self.thermometer is None:
            return None
        try:
            return self.thermometer.read_c()
        except Exception:  # a broken sensor is a failed reading, never a crash
            log.exception("thermometer read failed")
            return math.nan

    def _finish(
        self,
        session: ScanSession,
        now: float,
        code: Code | None = None,
        step: ScanStep | None = None,
    ) -> Outcome:
        """Decide ``session``, make the record durable, then drive the door — in that order."""
        session.end()
        direction = session.direction
        decision = session.decide(self.lists, now, temperature_c=self._temperature())
        assert decision is not None  # an ended session is always ready
        door_verdict = self.door.policy.check(decision, direction, now)
        if decision.allow and not self._may_open_unrecorded(direction):
            door_verdict = DoorVerdict(
                False, (DoorReason.RECORDS_NOT_DURABLE, *door_verdict.reasons), door_verdict.flags
            )
        if not door_verdict.allow and decision.allow:
            decision = Decision(
                False, decision.reasons, decision.flags, decision.holder, decision.household
            )
        relay = "pulse" if decision.allow else "none"
        creds = session.credentials
        body = access_body(
            self.config.gate.id, direction, creds, decision, relay, door_verdict, now
        )
        pass_cred = next((c for c in creds if isinstance(c, PassCredential)), None)
        used = None
        if decision.allow and pass_cred is not None and pass_cred.step is not None:
            used = (pass_cred.pass_id, pass_cred.step)
        # Durable before the door moves; on a disk fault it waits in memory ([store] policy).
        record = self.store.record(RecordKind.ACCESS, now, body, used_step=used)
        self.decided[record.seq] = session
        while len(self.decided) > DECIDED_KEPT:
            self.decided.popitem(last=False)
        verification = step.verification if step is not None else None
        outcome = Outcome(code, verification, decision, record, relay, door_verdict)
        if decision.allow:
            passage = (decision.holder, direction, now)  # for anti-passback, once it opens
            self.door.grant(passage, access_seq=record.seq, direction=direction.value)
        else:
            self.door.refuse()
        self.events.publish(
            EventKind.ACCESS,
            now,
            seq=record.seq,
            allow=decision.allow,
            reasons=body.reasons,  # decision and door reasons, as recorded
            flags=body.flags,
            sentence_zh=outcome.sentence("zh"),
            sentence_en=outcome.sentence("en"),
            household=decision.household,
            direction=direction.value,
            needs_guard=decision.needs_guard,  # a refusal the profile lets a guard lift
        )
        change = self.colours.scan(creds)
        if change is not None:  # one alert record and event, the console's colour_change shape
            alert = self.store.append(RecordKind.ALERT, now, change.alert(self.config.gate.id, now))
            self.events.publish(EventKind.ALERT, now, seq=alert.seq, **change.event())
        if decision.guard_alert:
            self.events.publish(
                EventKind.GUARD_ALERT,
                now,
                seq=record.seq,
                household=decision.household,
                reasons=body.reasons,
                direction=direction.value,
            )
        log.info(
            "%s %s seq=%d",
            "ALLOW" if decision.allow else "DENY",
            ",".join(r.value for r in decision.reasons) or "-",
            record.seq,
        )
        return outcome

    def _may_open_unrecorded(self, direction: Direction) -> bool:
        """``[store] when_not_durable``: may a pass open the door while records wait in
        memory? (The exit button and the fire input are never held back by the store.)"""
        if self.store.durable:
            return True
        policy = self.config.store.when_not_durable
        if policy is WhenNotDurable.OPEN:
            return True
        return policy is WhenNotDurable.EXIT_ONLY and direction is Direction.OUT

    def tick(self) -> Outcome | None:
        """Run timers: the door's, and a scan session whose window has ended."""
        self.door.tick()
        s = self._session
        if s is not None and not s.decided and s.expired(self.clock.time()):
            return self._finish(s, self.clock.time(), self._session_code)
        return None

    def close(self) -> None:
        """Lock the door first, then close the store."""
        try:
            self.door.close()
        finally:
            self.store.close()


def build_gate(
    config: Config,
    clock: Clock | None = None,
    pin_factory: Any = None,
    trust: TrustStore | None = None,
    lists: ListsSnapshot | None = None,
    thermometer: Thermometer | None = None,
) -> Gate:
    """Wire a gate from ``config``; explicit arguments override what the config names.

    An injected ``clock`` (tests, the simulator, the demo) is trusted as it is; with the
    system clock, ``[clock]`` decides how far it is trusted.
    """
    clock_trust = None
    if clock is None:
        clock = SystemClock()
        if config.clock.check != "off":
            floor = config.clock.floor_file or config.store.path.parent / "clock-floor"
            clock_trust = ClockTrust(floor, require_ntp=config.clock.check == "ntp")
    if trust is None:
        trust = TrustStore.from_files(
            config.trust.pass_issuer_keys,
            config.trust.dsc_files,
            config.trust.shc_jwks_files,
            config.trust.shc_crl_files,
        )
    if lists is None:
        lists = load_lists(config.lists.path) if config.lists.path else ListsSnapshot()
    factory = pin_factory if pin_factory is not None else make_pin_factory()
    door = Door(config.door, clock, factory, DoorPolicy.from_settings(config.door_rules))
    store = Store(config.store.path, pending_max=config.store.pending_max, check=True)
    return Gate(
        config,
        clock,
        store,
        door,
        Scanner(config.scanner),
        trust,
        lists,
        config.rules,
        thermometer=thermometer,
        health_client=client_from_settings(config.health, config.gate.id),
        clock_trust=clock_trust,
    )
