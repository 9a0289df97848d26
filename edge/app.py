"""App wiring: the one module that knows every concrete class.

Data flows one way: frame → codes → credentials → decision → record (durable) → door.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from edge.clock import Clock, SystemClock
from edge.config import Config
from edge.events import EventBus
from edge.gate.credentials import Credential, PassCredential
from edge.gate.decision import Decision, decide
from edge.gate.door import Door
from edge.gate.door_machine import DoorEvent
from edge.gate.door_policy import DoorPolicy, DoorVerdict
from edge.gate.lists import ListsSnapshot, load_lists
from edge.gate.pins import make_pin_factory
from edge.gate.rules import Direction, Rules
from edge.gate.trust import TrustStore
from edge.gate.verify import Verification, verify_text
from edge.store import Record, Store
from edge.vision.codes import Code
from edge.vision.scanner import Scanner

log = logging.getLogger(__name__)

PRIORITY_ACCESS = 10  # access records sync before bulk records
PRIORITY_DOOR = 10  # door events (alarms, emergency release) are as urgent as access


@dataclass(frozen=True)
class Outcome:
    """What the gate did with one scanned code."""

    code: Code | None
    verification: Verification
    decision: Decision
    record: Record
    relay: str  # "pulse" or "none"
    door: DoorVerdict = field(default_factory=DoorVerdict)  # schedule, anti-passback, ...

    def sentence(self, lang: str = "zh") -> str:
        """The decision core's sentence, or the door rule's when only the door refused."""
        return self.decision.sentence(lang) or self.door.sentence(lang)

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "seq": self.record.seq,
            "allow": self.decision.allow,
            "reasons": [r.value for r in (*self.decision.reasons, *self.door.reasons)],
            "flags": [r.value for r in (*self.decision.flags, *self.door.flags)],
            "sentence": self.sentence(lang),
            "relay": self.relay,
        }


def access_body(
    gate_id: str,
    direction: Direction,
    v: Verification,
    d: Decision,
    relay: str,
    door: DoorVerdict | None = None,
) -> dict[str, Any]:
    """The synced description of one access decision: outcome and hashes, never raw codes."""
    door = door or DoorVerdict()
    cred = v.credential
    body: dict[str, Any] = {
        "gate": gate_id,
        "direction": direction.value,
        "allow": d.allow,
        "reasons": [r.value for r in (*d.reasons, *door.reasons)],
        "flags": [r.value for r in (*d.flags, *door.flags)],
        "format": v.format,
        "code_hash": cred.code_hash,
        "relay": relay,
    }
    if isinstance(cred, PassCredential):
        body.update(
            pass_id=cred.pass_id,
            holder=cred.holder,
            household=cred.household,
            role=cred.role.value,
            dynamic=cred.dynamic,
        )
    return body


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
    ) -> None:
        self.config = config
        self.events = events or EventBus()
        self.clock = clock
        self.store = store
        self.door = door
        self.scanner = scanner
        self.trust = trust
        self.lists = lists
        self.rules = rules
        self.direction = config.gate.direction
        self.door.listeners.append(self._on_door_event)

    def _on_door_event(self, event: DoorEvent, data: dict[str, Any], ts: float) -> None:
        """Every door event becomes a durable record, then a live event for the guard."""
        body = {"gate": self.config.gate.id, "event": event.value, **data}
        record = self.store.append("door", ts, body, PRIORITY_DOOR)
        self.events.publish("door", ts, seq=record.seq, **body)

    def process_frame(self, frame: np.ndarray) -> list[Outcome]:
        """Read every code in ``frame`` and act on each."""
        self.door.tick()
        return [self.process_text(code.text, code) for code in self.scanner.scan(frame)]

    def _check_replay(self, cred: Credential) -> Credential:
        if (
            isinstance(cred, PassCredential)
            and cred.step is not None
            and not cred.problems
            and self.store.step_used(cred.pass_id, cred.step)
        ):
            return replace(cred, replayed=True)
        return cred

    def process_text(
        self, text: str, code: Code | None = None, direction: Direction | None = None
    ) -> Outcome:
        """Verify, decide, record durably, then drive the door — in that order."""
        direction = direction or self.direction
        now = self.clock.time()
        v = verify_text(text, self.trust, now)
        cred = self._check_replay(v.credential)
        decision = decide([cred], self.lists, self.rules, now, direction)
        door_verdict = self.door.policy.check(decision, direction, now)
        if not door_verdict.allow:
            decision = replace(decision, allow=False)
        relay = "pulse" if decision.allow else "none"
        body = access_body(
            self.config.gate.id,
            direction,
            replace(v, credential=cred),
            decision,
            relay,
            door_verdict,
        )
        with self.store.transaction() as db:
            record = Store.insert_record(db, "access", now, body, PRIORITY_ACCESS)
            if decision.allow and isinstance(cred, PassCredential) and cred.step is not None:
                Store.mark_step_used(db, cred.pass_id, cred.step, now)
        outcome = Outcome(code, v, decision, record, relay, door_verdict)
        if decision.allow:
            passage = (decision.holder, direction, now)  # for anti-passback, once it opens
            self.door.grant(passage, access_seq=record.seq, direction=direction.value)
        else:
            self.door.refuse()
        self.events.publish(
            "access",
            now,
            seq=record.seq,
            allow=decision.allow,
            reasons=outcome.to_json()["reasons"],
            sentence_zh=outcome.sentence("zh"),
            sentence_en=outcome.sentence("en"),
            household=decision.household,
            direction=direction.value,
        )
        log.info(
            "%s %s seq=%d",
            "ALLOW" if decision.allow else "DENY",
            ",".join(r.value for r in decision.reasons) or "-",
            record.seq,
        )
        return outcome

    def tick(self) -> None:
        self.door.tick()

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
) -> Gate:
    """Wire a gate from ``config``; explicit arguments override what the config names."""
    clock = clock or SystemClock()
    if trust is None:
        trust = TrustStore.from_files(config.trust.pass_issuer_keys)
    if lists is None:
        lists = load_lists(config.lists.path) if config.lists.path else ListsSnapshot()
    factory = pin_factory if pin_factory is not None else make_pin_factory()
    door = Door(config.door, clock, factory, DoorPolicy.from_settings(config.door_rules))
    store = Store(config.store.path)
    return Gate(config, clock, store, door, Scanner(), trust, lists, config.rules)


__all__ = ["Gate", "Outcome", "build_gate"]
