"""What a guard or admin can do from the console, each one checked and recorded.

Every action is a plain function of (console, user, JSON body) returning an HTTP status and
a JSON answer, so it is tested without a browser. Guard actions become durable ``guard``
records (who, role, when, what) *before* anything is changed, like access decisions; the
sync layer sends them to the platform with the other records.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.config import ConsoleSettings
from edge.console.auth import LANGS, Accounts, User
from edge.console.board import Board
from edge.console.context import ConsoleContext
from edge.console.zones import ZoneError, check_zone

log = logging.getLogger(__name__)

PRIORITY_GUARD = 10  # guard actions sync as early as access records
Answer = tuple[int, dict[str, Any]]


def refuse(status: int, code: str, message: str) -> Answer:
    """A refusal the page shows as is: ``code`` is stable, ``message`` is for people."""
    return status, {"ok": False, "error": code, "message": message}


@dataclass
class Actions:
    ctx: ConsoleContext
    board: Board
    accounts: Accounts
    settings: ConsoleSettings
    _ack_lock: threading.Lock = field(default_factory=threading.Lock)

    def _text(self, body: dict[str, Any], key: str, required: bool) -> str | Answer:
        value = body.get(key, "")
        if not isinstance(value, str):
            return refuse(400, "bad_input", f"{key} must be text")
        value = value.strip()
        if len(value) > self.settings.note_max_chars:
            return refuse(
                413, "too_long", f"{key} is too long: at most {self.settings.note_max_chars} chars"
            )
        if required and not value:
            return refuse(400, "missing", f"please give a {key}")
        return value

    def _record(
        self,
        user: User,
        action: str,
        then: Callable[[float], object] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Make the action a durable record, apply ``then(ts)``, then tell the live pages.

        The board changes only after the record is safe, and before the event goes out, so a
        page refreshing on the event already sees the change. ``ts`` is Unix seconds.
        """
        ts = self.ctx.now()
        body = {"gate": self.ctx.gate_id, "action": action, "user": user.name, "role": user.role}
        body.update(fields)
        record = self.ctx.store.append("guard", ts, body, PRIORITY_GUARD)
        if then is not None:
            then(ts)
        self.ctx.events.publish("guard", ts, seq=record.seq, **body)
        return record.to_json()

    def acknowledge(self, user: User, key: str, body: dict[str, Any]) -> Answer:
        note = self._text(body, "note", required=False)
        if isinstance(note, tuple):
            return note
        with self._ack_lock:  # two guards clicking at once: one record, one refusal
            row = self.board.alert(key)
            if row is None:
                return refuse(404, "no_alert", "this alert is no longer on the board")
            if row.acked_by is not None:
                return refuse(409, "already_acked", f"already acknowledged by {row.acked_by}")
            record = self._record(
                user,
                "ack",
                lambda ts: self.board.acknowledge(key, user.name, ts, note),
                alert=key,
                note=note,
                household=row.data.get("household"),
            )
        return 200, {"ok": True, "record": record}

    def escalate(self, user: User, key: str, body: dict[str, Any]) -> Answer:
        note = self._text(body, "note", required=False)
        if isinstance(note, tuple):
            return note
        row = self.board.alert(key)
        if row is None:
            return refuse(404, "no_alert", "this alert is no longer on the board")
        record = self._record(
            user,
            "escalate",
            lambda ts: self.board.escalate(key, user.name),
            alert=key,
            note=note,
            household=row.data.get("household"),
        )
        return 200, {"ok": True, "record": record}

    def open_door(self, user: User, body: dict[str, Any]) -> Answer:
        if user.role not in self.settings.manual_open_roles:
            return refuse(403, "forbidden", "your account may not open the door by hand")
        reason = self._text(body, "reason", required=True)
        if isinstance(reason, tuple):
            return reason
        record = self._record(user, "manual_open", reason=reason)
        try:
            self.ctx.open_door()
        except Exception:  # the record stands; the guard must know the door did not move
            log.exception("manual open failed")
            return refuse(503, "door_failed", "the door did not respond; open it by key")
        return 200, {"ok": True, "record": record}

    def save_zone(self, user: User, body: dict[str, Any]) -> Answer:
        if user.role != "admin":
            return refuse(403, "forbidden", "only an admin may change zones")
        if self.ctx.save_zone is None:
            return refuse(501, "not_available", "zone editing is not available on this gate")
        cameras = {str(c.get("id")) for c in self.ctx.cameras()}
        try:
            zone = check_zone(body, cameras)
            self.ctx.save_zone(zone, user.name)
        except ZoneError as exc:
            return refuse(400, "bad_zone", str(exc))
        except ValueError as exc:  # the perimeter refused it (e.g. its own stricter check)
            return refuse(400, "bad_zone", str(exc))
        record = self._record(
            user,
            "zone_save",
            zone=zone["id"],
            camera=zone["camera"],
            household=zone["household"],
            polygon=zone["polygon"],
        )
        return 200, {"ok": True, "zone": zone, "record": record}

    def set_lang(self, user: User, body: dict[str, Any]) -> Answer:
        lang = body.get("lang")
        if lang not in LANGS:
            return refuse(400, "bad_input", "language must be zh or en")
        self.accounts.set_lang(user.name, str(lang))
        return 200, {"ok": True, "lang": lang}

    def households(self) -> dict[str, Any]:
        snap = self.ctx.lists()
        rows = [
            {
                "key": k,
                "colour": h.colour.value,
                "status": h.status.value,
                "quarantine_until": h.quarantine_until,
            }
            for k, h in sorted(snap.households.items())
        ]
        return {"version": snap.version, "households": rows}
