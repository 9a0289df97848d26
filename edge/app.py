"""App wiring: the one module that knows every concrete class.

Data flows one way: frame → codes → credentials → decision → record (durable) → door.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from edge.clock import Clock, SystemClock
from edge.config import Config
from edge.events import EventBus
from edge.gate.credentials import Credential, PassCredential
from edge.gate.decision import Decision, decide
from edge.gate.door import Door
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


@dataclass(frozen=True)
class Outcome:
    """What the gate did with one scanned code."""

    code: Code | None
    verification: Verification
    decision: Decision
    record: Record
    relay: str  # "pulse" or "none"

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "seq": self.record.seq,
            "allow": self.decision.allow,
            "reasons": [r.value for r in self.decision.reasons],
            "flags": [r.value for r in self.decision.flags],
            "sentence": self.decision.sentence(lang),
            "relay": self.relay,
        }


def access_body(
    gate_id: str, direction: Direction, v: Verification, d: Decision, relay: str
) -> dict[str, Any]:
    """The synced description of one access decision: outcome and hashes, never raw codes."""
    cred = v.credential
    body: dict[str, Any] = {
        "gate": gate_id,
        "direction": direction.value,
        "allow": d.allow,
        "reasons": [r.value for r in d.reasons],
        "flags": [r.value for r in d.flags],
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
        relay = "pulse" if decision.allow else "none"
        body = access_body(
            self.config.gate.id, direction, replace(v, credential=cred), decision, relay
        )
        with self.store.transaction() as db:
            record = Store.insert_record(db, "access", now, body, PRIORITY_ACCESS)
            if decision.allow and isinstance(cred, PassCredential) and cred.step is not None:
                Store.mark_step_used(db, cred.pass_id, cred.step, now)
        if decision.allow:
            self.door.grant()
        self.events.publish(
            "access",
            now,
            seq=record.seq,
            allow=decision.allow,
            reasons=[r.value for r in decision.reasons],
            sentence_zh=decision.sentence("zh"),
            sentence_en=decision.sentence("en"),
            household=decision.household,
            direction=direction.value,
        )
        log.info(
            "%s %s seq=%d",
            "ALLOW" if decision.allow else "DENY",
            ",".join(r.value for r in decision.reasons) or "-",
            record.seq,
        )
        return Outcome(code, v, decision, record, relay)

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
    door = Door(config.door.relay_pin, config.door.active_high, config.door.pulse_s, clock, factory)
    store = Store(config.store.path)
    return Gate(config, clock, store, door, Scanner(), trust, lists, config.rules)


__all__ = ["Gate", "Outcome", "build_gate"]
