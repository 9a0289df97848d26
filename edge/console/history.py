"""Refill the Live board from the store when the console starts.

The EventBus only carries what happens from now on; after a restart of the gate service an
unacknowledged intrusion must still be on the guard's screen, and so must the last scans.
The durable records hold everything needed: ``access`` (decision and reasons — the reason
sentence is rebuilt by the decision core's own wording), ``alert`` (as the service records
them), ``guard`` (acknowledgements and escalations) and ``door`` (its last event).
"""

from __future__ import annotations

import logging
from typing import Any

from edge.console.board import Board
from edge.core.events import Event
from edge.gate.reasons import Reason
from edge.gate.rules.decision import Decision
from edge.store.sqlite import Record, Store

log = logging.getLogger(__name__)

WINDOW = 2000  # newest records read at start; a busy gate makes ~1000 a day
MAX_AGE_S = 86_400.0  # older records are history for the platform, not the booth, seconds


def _sentences(body: dict[str, Any]) -> tuple[str, str]:
    try:
        reasons = tuple(Reason(r) for r in body.get("reasons", []))
    except ValueError:  # a reason this version does not know: show none rather than guess
        return "", ""
    decision = Decision(allow=bool(body.get("allow")), reasons=reasons)
    return decision.sentence("zh"), decision.sentence("en")


def _event(record: Record) -> Event | None:
    """The live event that ``record`` stood for, when the board shows its kind."""
    body = record.body
    if record.kind == "access":
        zh, en = _sentences(body)
        data = {
            "seq": record.seq,
            "allow": body.get("allow"),
            "reasons": body.get("reasons", []),
            "sentence_zh": zh,
            "sentence_en": en,
            "household": body.get("household"),
            "direction": body.get("direction"),
        }
        return Event("access", record.ts, data)
    if record.kind in ("alert", "door"):
        return Event(record.kind, record.ts, {"seq": record.seq, **body})
    return None


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
        event = _event(record)
        if event is not None:
            board.on_event(event)
            used += 1
        elif record.kind == "guard":
            key, user = record.body.get("alert"), str(record.body.get("user", "?"))
            if record.body.get("action") == "ack" and key is not None:
                board.acknowledge(str(key), user, record.ts, str(record.body.get("note", "")))
                used += 1
            elif record.body.get("action") == "escalate" and key is not None:
                board.escalate(str(key), user)
                used += 1
    return used
