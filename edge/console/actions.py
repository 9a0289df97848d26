"""What a guard or admin can do from the console, each one checked and recorded.

Every action is a plain function of (console, user, JSON body) returning an HTTP status and
a JSON answer, so it is tested without a browser. Guard actions become durable ``guard``
records (who, role, when, what) *before* anything is changed, like access decisions; a zone
edit, a configuration change, is recorded once the zone store has accepted it. The sync
layer sends the records to the platform with the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.console.auth import LANGS, Accounts, User
from edge.console.board import Board
from edge.console.context import ConsoleContext
from edge.console.settings import ConsoleSettings
from edge.console.zones import ZoneError, check_zone
from edge.core.records import EventKind, GuardBody, RecordKind

log = logging.getLogger(__name__)

GONE_EN, GONE_ZH = "this alert is no longer on the board", "该告警已不在列表中"
Answer = tuple[int, dict[str, Any]]


def refuse(status: int, code: str, message: str) -> Answer:
    """A refusal the page shows as is: ``code`` is stable, ``message`` is for people."""
    return status, {"ok": False, "error": code, "message": message}


def say(user: User, en: str, zh: str) -> str:
    """The message in the user's language."""
    return zh if user.lang == "zh" else en


@dataclass
class Actions:
    ctx: ConsoleContext
    board: Board
    accounts: Accounts
    settings: ConsoleSettings
    _ack_lock: threading.Lock = field(default_factory=threading.Lock)

    def _text(self, user: User, body: dict[str, Any], key: str, required: bool) -> str | Answer:
        value = body.get(key, "")
        if not isinstance(value, str):
            return refuse(400, "bad_input", say(user, f"{key} must be text", "请输入文字"))
        value = value.strip()
        n = self.settings.note_max_chars
        if len(value) > n:
            msg = say(user, f"{key} is too long: at most {n} chars", f"内容过长：最多 {n} 个字")
            return refuse(413, "too_long", msg)
        if required and not value:
            return refuse(400, "missing", say(user, f"please give a {key}", "请填写原因"))
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
        body = GuardBody(
            gate=self.ctx.gate_id, action=action, user=user.name, role=user.role, **fields
        )
        record = self.ctx.store.append(RecordKind.GUARD, ts, body)
        if then is not None:
            then(ts)
        self.ctx.events.publish(EventKind.GUARD, ts, seq=record.seq, **record.body)
        return record.to_json()

    def acknowledge(self, user: User, key: str, body: dict[str, Any]) -> Answer:
        note = self._text(user, body, "note", required=False)
        if isinstance(note, tuple):
            return note
        with self._ack_lock:  # two guards clicking at once: one record, one refusal
            row = self.board.alert(key)
            if row is None:
                return refuse(404, "no_alert", say(user, GONE_EN, GONE_ZH))
            if row.acked_by is not None:
                by = row.acked_by
                msg = say(user, f"already acknowledged by {by}", f"已由 {by} 确认")
                return refuse(409, "already_acked", msg)
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
        note = self._text(user, body, "note", required=False)
        if isinstance(note, tuple):
            return note
        row = self.board.alert(key)
        if row is None:
            return refuse(404, "no_alert", say(user, GONE_EN, GONE_ZH))
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
            msg = say(user, "your account may not open the door by hand", "您的账号无权手动开门")
            return refuse(403, "forbidden", msg)
        reason = self._text(user, body, "reason", required=True)
        if isinstance(reason, tuple):
            return reason
        record = self._record(user, "manual_open", reason=reason)
        try:
            self.ctx.open_door()
        except Exception:  # the record stands; the guard must know the door did not move
            log.exception("manual open failed")
            msg = say(user, "the door did not respond; open it by key", "门没有响应，请用钥匙开门")
            return refuse(503, "door_failed", msg)
        return 200, {"ok": True, "record": record}

    def save_zone(self, user: User, body: dict[str, Any]) -> Answer:
        if user.role != "admin":
            return refuse(
                403,
                "forbidden",
                say(user, "only an admin may change zones", "只有管理员可以修改区域"),
            )
        if self.ctx.save_zone is None:
            msg = say(user, "zone editing is not available on this gate", "本门岗不支持区域编辑")
            return refuse(501, "not_available", msg)
        cameras = {str(c.get("id")) for c in self.ctx.cameras()}
        try:
            zone = check_zone(body, cameras)
            self.ctx.save_zone(zone, user.name)
        except ZoneError as exc:
            return refuse(400, "bad_zone", say(user, str(exc), exc.zh))
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
        answer: dict[str, Any] = {"ok": True, "zone": zone, "record": record}
        if self.ctx.lists().household(zone["household"]) is None:
            # Saved all the same: the lists may name it after the next sync.
            answer["warning"] = say(
                user,
                "household not in the current lists: the zone stays disarmed until it is",
                "当前名单中没有该住户：在名单中出现之前该区域不会布防",
            )
        return 200, answer

    def set_lang(self, user: User, body: dict[str, Any]) -> Answer:
        lang = body.get("lang")
        if lang not in LANGS:
            return refuse(
                400, "bad_input", say(user, "language must be zh or en", "语言应为 zh 或 en")
            )
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
