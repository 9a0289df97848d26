"""What the Live page shows: open alerts, the newest scans and the door, fed by the EventBus.

:class:`Board` listens with :meth:`EventBus.on` (a quick callback on the publisher's thread:
only dictionary updates under a lock, never I/O) so its state is complete even when no page
is open. Alerts are keyed by the producer's alert id, so a later "update"/"end" event for the
same intrusion updates one row instead of adding another.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.core.events import Event, EventBus
from edge.core.records import EventKind

MAX_ALERTS = 200  # alerts kept for the page; older acknowledged ones are forgotten first
MAX_SCANS = 50  # scans kept for the page
# A new alert id for the same type, camera and zone as an open (unacknowledged, not ended)
# alert seen this recently joins that alert's row: a person pacing in front of a door is one
# event for the guard, not a storm of cards and beeps. Seconds.
GROUP_S = 300.0

# Only these fields of an access event reach the browser: decision and reason, never health.
SCAN_FIELDS = (
    "seq",
    "allow",
    "reasons",
    "sentence_zh",
    "sentence_en",
    "household",
    "direction",
    "needs_guard",  # a refusal the rules profile lets a guard lift (Decision.needs_guard)
)


def alert_key(event: Event) -> str:
    """The producer's id of an alert (``alert_id`` or ``id`` in its data), else the event id."""
    key = event.data.get("alert_id", event.data.get("id"))
    return str(key) if key is not None else f"e{event.id}"


def snapshot_path(data: dict[str, Any]) -> Path | None:
    """The snapshot file an alert event names (``snapshot`` or the last of ``snapshots``)."""
    snap = data.get("snapshot")
    if snap is None and isinstance(data.get("snapshots"), list) and data["snapshots"]:
        snap = data["snapshots"][-1]
    return Path(str(snap)) if snap else None


@dataclass
class AlertRow:
    """One intrusion or camera alert as the console tracks it. Times are Unix seconds."""

    key: str
    first_ts: float
    data: dict[str, Any]
    last_ts: float
    acked_by: str | None = None
    acked_ts: float | None = None
    note: str = ""
    escalated_by: str | None = None
    count: int = 1  # alerts grouped into this row (see GROUP_S)

    def to_json(self) -> dict[str, Any]:
        public = {k: v for k, v in self.data.items() if k not in ("snapshot", "snapshots")}
        return {
            **public,
            "key": self.key,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "has_snapshot": snapshot_path(self.data) is not None,
            "acked_by": self.acked_by,
            "acked_ts": self.acked_ts,
            "note": self.note,
            "escalated_by": self.escalated_by,
            "count": self.count,
        }

    def group(self) -> tuple[str, ...] | None:
        """What makes two alert ids one event: type, camera, zone, household (None: never)."""
        kind = self.data.get("type", self.data.get("alert"))
        if kind == "colour_change" and self.data.get("source") == "scan":
            # a resident whose code flips at the gate again and again is one warning (×N)
            holder = self.data.get("holder")
            return None if holder is None else (str(kind), "scan", str(holder))
        if kind is None or kind == "colour_change":  # each change of the lists is its own
            return None
        keys = ("camera", "zone", "household")
        return (str(kind), *(str(self.data.get(k)) for k in keys))


@dataclass
class Board:
    """Thread-safe live state of the gate for the console."""

    alerts: OrderedDict[str, AlertRow] = field(default_factory=OrderedDict)
    scans: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_SCANS))
    door: dict[str, Any] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # grouped alert id -> its row's key
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, bus: EventBus) -> None:
        bus.on(self.on_event)

    def on_event(self, event: Event) -> None:
        """Fold one event into the board (called on the publisher's thread: must be quick)."""
        with self._lock:
            if event.kind is EventKind.ACCESS:
                scan = {k: event.data.get(k) for k in SCAN_FIELDS}
                self.scans.appendleft({"ts": event.ts, **scan})
            elif event.kind is EventKind.ALERT:
                self._alert(event)
            elif event.kind is EventKind.DOOR:
                self.door = {"ts": event.ts, **event.data}

    def _alert(self, event: Event) -> None:
        key = alert_key(event)
        key = self.aliases.get(key, key)
        row = self.alerts.get(key)
        if row is None:
            row = AlertRow(key, event.ts, dict(event.data), event.ts)
            joined = self._open_like(row, event.ts)
            if joined is not None:
                self.aliases[key] = joined.key
                joined.count += 1
                joined.data, joined.last_ts = {**joined.data, **event.data}, event.ts
                return
            self.alerts[key] = row
        else:
            merged = {**row.data, **event.data}
            row.data, row.last_ts = merged, event.ts
        while len(self.alerts) > MAX_ALERTS:
            oldest = next((k for k, r in self.alerts.items() if r.acked_by), None)
            gone = oldest if oldest is not None else next(iter(self.alerts))
            self.alerts.pop(gone)
            self.aliases = {k: v for k, v in self.aliases.items() if v != gone}

    def _open_like(self, new: AlertRow, ts: float) -> AlertRow | None:
        group = new.group()
        if group is None:
            return None
        for row in reversed(self.alerts.values()):
            if ts - row.last_ts > GROUP_S:
                continue
            if row.acked_by is None and row.data.get("phase") != "end" and row.group() == group:
                return row
        return None

    def alert(self, key: str) -> AlertRow | None:
        with self._lock:
            return self.alerts.get(self.aliases.get(key, key))

    def unacked(self) -> list[AlertRow]:
        """Open alerts nobody has acknowledged yet, oldest first."""
        with self._lock:
            return [r for r in self.alerts.values() if r.acked_by is None]

    def acknowledge(self, key: str, user: str, ts: float, note: str) -> AlertRow | None:
        with self._lock:
            row = self.alerts.get(self.aliases.get(key, key))
            if row is not None:
                row.acked_by, row.acked_ts, row.note = user, ts, note
            return row

    def escalate(self, key: str, user: str) -> AlertRow | None:
        with self._lock:
            row = self.alerts.get(self.aliases.get(key, key))
            if row is not None:
                row.escalated_by = user
            return row

    def snapshot(self) -> dict[str, Any]:
        """Everything the Live page needs on load, newest alerts first."""
        with self._lock:
            return {
                "alerts": [r.to_json() for r in reversed(self.alerts.values())],
                "scans": list(self.scans),
                "door": dict(self.door),
            }
