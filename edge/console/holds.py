"""Visitor passes awaiting their household's confirmation, shared by the console (which
registers and confirms visitors) and the gate (which asks about every visitor pass)."""

from __future__ import annotations

import threading

from edge.core.records import RecordKind
from edge.store.sqlite import Store

SCAN_BACK = 5000  # records looked at for today's registrations and confirmations


class VisitorHolds:
    """Visitor passes awaiting their household's confirmation (registered with
    ``needs_confirmation``; a ``visitor_confirm`` guard record lifts the hold). The gate asks
    :meth:`held` for every visitor pass it decides; the profile's ``visitor_confirmation``
    says what a held pass gets. Thread-safe; rebuilt from the store at start."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, float] = {}  # pass id -> valid until, Unix seconds

    @classmethod
    def load(cls, store: Store, now: float) -> VisitorHolds:
        holds = cls()
        hi = store.max_seq()
        for r in store.records(after_seq=max(0, hi - SCAN_BACK), limit=SCAN_BACK):
            pid = r.body.get("pass_id")
            if r.kind == RecordKind.VISITOR and r.body.get("needs_confirmation") and pid:
                if float(r.body.get("valid_until") or 0) > now:
                    holds.hold(str(pid), float(r.body["valid_until"]))
            elif r.kind == RecordKind.GUARD and r.body.get("action") == "visitor_confirm" and pid:
                holds.release(str(pid))
        return holds

    def hold(self, pass_id: str, until: float) -> None:
        with self._lock:
            self._held[pass_id] = until

    def release(self, pass_id: str) -> bool:
        with self._lock:
            return self._held.pop(pass_id, None) is not None

    def held(self, pass_id: str) -> bool:
        with self._lock:
            return pass_id in self._held
