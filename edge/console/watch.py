"""Things the console notices by looking, not by being told: colour changes in the lists and
alerts left unacknowledged too long.

* **Colour-change warnings.** When the synced lists change a household's colour class or
  status, or a resident's own colour, the guards must know at once (a green household turning
  red is a resident to stop at the gate). Each change becomes a durable ``alert`` record
  (``alert: "colour_change"``, synced on the alerts topic) and an alert on the board, so every
  page shows the badge, the banner and the count and the alarm sounds until a guard
  acknowledges it.
* **Escalation.** An alert nobody acknowledged within ``[console] escalate_after_s`` gets a
  ``guard`` record ``action: "auto_escalate"`` (user ``system``), which the platform receives
  like a guard's own escalation.

The console server runs the check every second and at once on an alert or a sync event
(:meth:`edge.console.server.ConsoleServer._watch`), so both happen with no browser open; a
page asking for its attention state runs it too.
"""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from edge.core.records import AlertBody, EventKind, GuardBody, RecordKind
from edge.gate.rules.lists import ListsSnapshot

if TYPE_CHECKING:
    from edge.console.exchange import Console

COLOUR_ZH = {"red": "红", "yellow": "黄", "green": "绿", "blue": "蓝", "grey": "灰", "black": "黑"}
STATUS_ZH = {
    "normal": "正常",
    "home_quarantine": "居家隔离",
    "sealed": "封控",
    "controlled": "管控",
}


def _view(lists: ListsSnapshot) -> dict[str, tuple[str, str]]:
    households = {k: (h.colour.value, h.status.value) for k, h in lists.households.items()}
    residents = {f"holder:{k}": (c.value, "") for k, c in lists.holder_colours.items()}
    return {**households, **residents}


def changes(before: ListsSnapshot, after: ListsSnapshot) -> list[dict[str, Any]]:
    """What changed between two lists, one dict per household or resident (pure)."""
    old, new = _view(before), _view(after)
    out = []
    for key in sorted(new):
        if key not in old or old[key] == new[key]:
            continue  # a new household is not a change of colour
        (c0, s0), (c1, s1) = old[key], new[key]
        resident = key.startswith("holder:")
        zh_what = f"颜色 {COLOUR_ZH.get(c0, c0)}→{COLOUR_ZH.get(c1, c1)}" if c0 != c1 else ""
        en_what = f"colour {c0} → {c1}" if c0 != c1 else ""
        if s0 != s1:
            status_zh = f"状态 {STATUS_ZH.get(s0, s0)}→{STATUS_ZH.get(s1, s1)}"
            zh_what += ("，" if zh_what else "") + status_zh
            en_what += f"{', ' if en_what else ''}status {s0} → {s1}"
        who_zh = "住户居民" if resident else f"住户 {key}"
        who_en = "a resident" if resident else f"household {key}"
        out.append(
            {
                "household": None if resident else key,
                "holder": key[len("holder:") :] if resident else None,
                "from": c0,
                "to": c1,
                "status_from": s0,
                "status_to": s1,
                "message": f"健康码分色变化：{who_zh} {zh_what}",
                "message_en": f"Colour change: {who_en} {en_what}",
                "reason": en_what,
            }
        )
    return out


class Watch:
    """Per-console state of the two checks; :meth:`check` is safe from any worker thread."""

    def __init__(self, con: Console) -> None:
        self.con = con
        self.lists = con.ctx.lists()
        self._lock = threading.Lock()

    def check(self, now: float) -> None:
        with self._lock:
            self._colours(now)
            self._escalate(now)

    def _colours(self, now: float) -> None:
        ctx = self.con.ctx
        current = ctx.lists()
        if current is self.lists or current.version == self.lists.version:
            self.lists = current
            return
        # each snapshot taken since the last tick in turn: a household pushed new and then
        # recoloured within one tick is a change, not a new household
        steps = ctx.lists_since(self.lists.version) if ctx.lists_since else []
        for snap in steps or [current]:
            self._compare(snap, now)

    def _compare(self, snap: ListsSnapshot, now: float) -> None:
        ctx = self.con.ctx
        if snap.version == self.lists.version:
            return
        current = snap
        found, self.lists = changes(self.lists, current), current
        for change in found:
            alert_id = "colour-" + uuid.uuid4().hex[:12]
            body = AlertBody(
                alert="colour_change",
                reason=change["reason"],
                gate=ctx.gate_id,
                alert_id=alert_id,
                phase="new",
                household=change["household"],
                started=now,
                source="lists",
                colour_from=change["from"],
                colour_to=change["to"],
            )
            record = ctx.store.append(RecordKind.ALERT, now, body)
            live = {k: v for k, v in change.items() if v is not None and k != "reason"}
            ctx.events.publish(
                EventKind.ALERT,
                now,
                seq=record.seq,
                id=alert_id,
                type="colour_change",
                phase="new",
                version=current.version,
                **live,
            )

    def _escalate(self, now: float) -> None:
        after = self.con.settings.escalate_after_s
        if after <= 0:
            return
        ctx, board = self.con.ctx, self.con.board
        for row in board.unacked():
            if row.escalated_by is not None or now - row.first_ts < after:
                continue
            body = GuardBody(
                gate=ctx.gate_id,
                action="auto_escalate",
                user="system",
                role="system",
                alert=row.key,
                household=row.data.get("household"),
                note=f"unacknowledged for {int(now - row.first_ts)} s",
            )
            record = ctx.store.append(RecordKind.GUARD, now, body)
            board.escalate(row.key, "system")
            ctx.events.publish(EventKind.GUARD, now, seq=record.seq, **record.body)


_WATCHES: WeakKeyDictionary[Any, Watch] = WeakKeyDictionary()
_GUARD = threading.Lock()


def check(con: Console, now: float) -> None:
    """Run both checks for ``con`` (its first call only remembers the current lists)."""
    with _GUARD:
        watch = _WATCHES.get(con)
        if watch is None:
            _WATCHES[con] = Watch(con)
            return
    watch.check(now)
