"""Refill the Live board from the store when the console starts.

The EventBus only carries what happens from now on; after a restart of the gate service an
unacknowledged intrusion must still be on the guard's screen, and so must the last scans.
The durable records hold everything needed: ``access`` (decision and reasons — the reason
sentence is rebuilt by the decision core's own wording), ``alert`` (as the service records
them), ``guard`` (acknowledgements and escalations) and ``door`` (its last event).
"""

from __future__ import annotations

import logging

from pydantic import ValidationError

from edge.console.board import Board
from edge.core.events import Event
from edge.core.records import AccessBody, EventKind, GuardBody, RecordKind
from edge.gate.reasons import Reason
from edge.gate.rules.decision import Decision
from edge.store.sqlite import Record, Store

log = logging.getLogger(__name__)

WINDOW = 2000  # newest records read at start; a busy gate makes ~1000 a day
MAX_AGE_S = 86_400.0  # older records are history for the platform, not the booth, seconds


def _sentences(body: AccessBody) -> tuple[str, str]:
    try:
        reasons = tuple(Reason(r) for r in body.reasons)
    except ValueError:  # a reason this version does not know: show none rather than guess
        return "", ""
    decision = Decision(allow=body.allow, reasons=reasons)
    return decision.sentence("zh"), decision.sentence("en")


def _event(record: Record) -> Event | None:
    """The live event that ``record`` stood for, when the board shows its kind."""
    if record.kind is RecordKind.ACCESS:
        body = AccessBody.read(record.body)
        zh, en = _sentences(body)
        data = {
            "seq": record.seq,
            "allow": body.allow,
            "reasons": body.reasons,
            "sentence_zh": zh,
            "sentence_en": en,
            "household": body.household,
            "direction": body.direction,
        }
        return Event(EventKind.ACCESS, record.ts, data)
    if record.kind is RecordKind.ALERT:
        return Event(EventKind.ALERT, record.ts, {"seq": record.seq, **record.body})
    if record.kind is RecordKind.DOOR:
        return Event(EventKind.DOOR, record.ts, {"seq": record.seq, **record.body})
    return None


def _guard(board: Board, record: Record) -> bool:
    """Fold a guard's acknowledgement or escalation back in; True if it was one."""
    body = GuardBody.read(record.body)
    if body.alert is None:
        return False
    if body.action == "ack":
        board.acknowledge(body.alert, body.user, record.ts, body.note or "")
        return True
    if body.action in ("escalate", "auto_escalate"):
        board.escalate(body.alert, body.user)
        return True
    return False


def backfill(board: Board, store: Store, now: float) -> int:
    """Fold the recent records of ``store`` into ``board``; returns how many were used.

    ``now`` is wall-clock Unix seconds. Never raises: a console without history still works.
    """
    try:
        first = max(0, store.max_seq() - WINDOW)
        records = store.records(after_seq=first, limit=WINDOW)
    except Exception:  # a damaged store must not keep the guard from seeing live events
        log.exception("console: cannot read recent records")
        return 0
    used = 0
    for record in records:
        if now - record.ts > MAX_AGE_S:
            continue
        try:
            event = _event(record)
            if event is not None:
                board.on_event(event)
                used += 1
            elif record.kind is RecordKind.GUARD and _guard(board, record):
                used += 1
        except ValidationError:  # one malformed record (a test's, a bug's) must not hide others
            log.warning("console: record seq=%d has a malformed %s body", record.seq, record.kind)
    return used
