"""Guard decisions on refusals a guard may overrule.

Some refusals are not about who the person is but about what the gate could not check by
itself: the regional health-code service unreachable, no temperature reading, a visitor the
household has not confirmed. The **rules profile** says which: a rule in ``guard`` mode
refuses until a guard confirms (``Decision.needs_guard``; e.g. ``health_code_offline =
"guard_confirm"``, ``temperature = "guard"``, ``visitor_confirmation = "guard"``). The Live
page shows such a refusal with *let through* / *keep refused* for ``overrule_roles``, for
``overrule_window_s`` after the scan (the person is still at the gate); ``[console]
overrule_reasons`` narrows it further (every reason of the refusal must be listed). A
refusal the profile does not let a guard lift — a forged or expired pass, a red code,
quarantine, any ``hard`` rule — never gets the prompt, and the server checks the same rule.

*Let through* asks the gate to decide the real session again as confirmed by a guard
(``ScanSession.confirm``): only if the profile then admits the person is a durable ``guard``
record (``action`` ``overrule_allow``, ``access_seq`` of the refused scan, the guard's
``reason``, user and role) written and the door opened. *Keep refused* records
``overrule_deny`` the same way.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from edge.console.actions import Answer, refuse, say
from edge.console.auth import User
from edge.core.records import EventKind, GuardBody, RecordKind

if TYPE_CHECKING:
    from edge.console.exchange import Console

log = logging.getLogger(__name__)
_LOCK = threading.Lock()  # two guards deciding the same scan: one record, one refusal


def overrulable(con: Console, scan: dict[str, Any]) -> bool:
    """Whether a refused ``scan`` (the board's dict) is one the guard may decide: the
    profile let a guard lift it and the console's list allows every reason (pure)."""
    reasons = list(scan.get("reasons") or [])
    allowed = set(con.settings.overrule_reasons)
    return scan.get("needs_guard") is True and bool(reasons) and all(r in allowed for r in reasons)


def _decided(con: Console, seq: int) -> GuardBody | None:
    hi = con.ctx.store.max_seq()
    for r in reversed(con.ctx.store.records(after_seq=max(0, hi - 500), limit=500)):
        if r.kind == RecordKind.GUARD and r.body.get("access_seq") == seq:
            return GuardBody.read(r.body)
    return None


def decide(con: Console, user: User, seq_text: str, body: dict[str, Any]) -> Answer:
    """``body``: ``{"allow": bool, "reason": text}`` for the refused scan ``seq``."""
    if user.role not in con.settings.overrule_roles:
        msg = say(user, "your account may not overrule a refusal", "您的账号无权处理拒绝通行")
        return refuse(403, "forbidden", msg)
    allow = body.get("allow")
    if not isinstance(allow, bool):
        return refuse(
            400, "bad_input", say(user, "allow must be true or false", "请选择放行或拒绝")
        )
    reason = con.actions._text(user, body, "reason", required=allow)
    if isinstance(reason, tuple):
        return reason
    seq = int(seq_text)
    scan = next((s for s in con.board.snapshot()["scans"] if s.get("seq") == seq), None)
    if scan is None or scan.get("allow"):
        msg = say(user, "no refused scan with that number", "没有该条被拒绝的通行记录")
        return refuse(404, "no_scan", msg)
    if not overrulable(con, scan):
        msg = say(user, "this refusal cannot be overruled", "此项拒绝不可由门岗放行")
        return refuse(409, "not_overrulable", msg)
    now = con.ctx.now()
    if now - float(scan.get("ts") or 0) > con.settings.overrule_window_s:
        msg = say(user, "too late: ask the person to scan again", "已超时：请让其重新扫码")
        return refuse(409, "too_late", msg)
    with _LOCK:
        done = _decided(con, seq)
        if done is not None:
            msg = say(user, f"already decided by {done.user}", f"已由 {done.user} 处理")
            return refuse(409, "already_decided", msg)
        flags: list[str] = []
        if allow and con.ctx.confirm_scan is not None:
            again = con.ctx.confirm_scan(seq)  # the profile decides, as confirmed by a guard
            if again is None:
                msg = say(user, "too late: ask the person to scan again", "已超时：请让其重新扫码")
                return refuse(409, "too_late", msg)
            if not again.get("allow"):
                msg = say(
                    user,
                    "the rules do not let a guard admit this person",
                    "防控规则不允许门岗放行此人",
                )
                return refuse(409, "not_overrulable", msg)
            flags = [str(f) for f in again.get("flags") or []]
        record = con.ctx.store.append(
            RecordKind.GUARD,
            now,
            GuardBody(
                gate=con.ctx.gate_id,
                action="overrule_allow" if allow else "overrule_deny",
                user=user.name,
                role=user.role,
                access_seq=seq,
                reason=reason or None,
                household=scan.get("household"),
                # which refusals the guard lifted, e.g. "TEMPERATURE_UNAVAILABLE GUARD_CONFIRMED"
                note=" ".join(flags) or None,
            ),
        )
    con.ctx.events.publish(EventKind.GUARD, now, seq=record.seq, **record.body)
    if allow:
        try:
            con.ctx.open_door()
        except Exception:  # the record stands; the guard must know the door did not move
            log.exception("overrule: door did not open")
            msg = say(user, "the door did not respond; open it by key", "门没有响应，请用钥匙开门")
            return refuse(503, "door_failed", msg)
    return 200, {"ok": True, "record": record.to_json()}
