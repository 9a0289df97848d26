"""Visitors and couriers registered at the booth (三个务必: asked, registered, temperature taken).

A visitor gets a time-limited pass signed by the gate's delegated visitor key
(:mod:`edge.gate.credentials.visitor`), shown as a QR code on screen and printable; the gate then
verifies it like any pass and records every entry and exit. A courier is a drop-off: registered,
no pass, no entry. Every registration is a durable ``visitor`` record written before the pass is
shown, synced to the platform like the others.
"""

from __future__ import annotations

import hashlib
import re
import threading
from typing import TYPE_CHECKING, Any

import segno

from edge.console.actions import Answer, refuse, say
from edge.console.auth import User
from edge.console.holds import SCAN_BACK
from edge.core.records import EventKind, GuardBody, RecordKind, VisitorBody
from edge.gate.credentials.visitor import (
    VisitorPassError,
    holder_ref,
    issue_visitor_pass,
    visitor_pass_id,
)
from edge.gate.rules.lists import HouseholdStatus
from edge.store.sqlite import Store

if TYPE_CHECKING:
    from edge.console.context import ConsoleContext

COMMITMENT_ZH = (
    "本人承诺：以上登记信息真实准确；近 14 天内未到访中高风险地区，无发热、干咳、乏力等症状；"
    "进入小区后全程佩戴口罩，只前往登记的住户，按时离开。如有隐瞒或虚报，愿承担相应法律责任。"
)
COMMITMENT_EN = (
    "I declare that the details above are true; that in the last 14 days I have not been to a "
    "medium- or high-risk area and have no fever, dry cough or fatigue; that inside the "
    "community I will wear a mask, go only to the household registered and leave on time. I "
    "accept legal responsibility for anything I have hidden or misstated."
)
# Which text was accepted travels in the record (the text itself is the same on every gate).
COMMITMENT_ID = "c1-" + hashlib.sha256((COMMITMENT_ZH + COMMITMENT_EN).encode()).hexdigest()[:12]
FEVER_C = 37.3  # a reading at or above this is a fever: no registration, °C
MAX_HOURS = 24  # the visitor key's own limit (passes.VISITOR_MAX_S)
_HOUSEHOLD = re.compile(r"^([A-Za-z0-9]{1,8})-([A-Za-z0-9]{1,8})-([A-Za-z0-9]{1,8})$")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")


def commitment() -> dict[str, str]:
    return {"id": COMMITMENT_ID, "zh": COMMITMENT_ZH, "en": COMMITMENT_EN}


def _field(body: dict[str, Any], key: str, most: int) -> str | None:
    value = body.get(key, "")
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if 0 < len(value) <= most else None


def register(ctx: ConsoleContext, user: User, body: dict[str, Any]) -> Answer:
    """Check the form, write the ``visitor`` record, then issue the pass (visitors only)."""

    def bad(en: str, zh: str) -> Answer:
        return refuse(400, "bad_input", say(user, en, zh))

    visit = body.get("visit")
    if visit not in ("visitor", "courier"):
        return bad("choose visitor or courier", "请选择访客或快递")
    name = _field(body, "name", 24)
    if name is None:
        return bad("name: 1 to 24 characters", "姓名：1 到 24 个字")
    phone = _field(body, "phone", 20)
    if phone is None or not _PHONE.match(phone):
        return bad("phone number: digits only", "手机号码格式不正确")
    household = _field(body, "household", 26) or ""
    m = _HOUSEHOLD.match(household)
    if m is None:
        return bad(
            "unit visited: building-unit-room, e.g. 3-2-501", "拜访住户：楼-单元-室，如 3-2-501"
        )
    purpose = _field(body, "purpose", 100)
    if purpose is None:
        return bad("purpose: 1 to 100 characters", "来访事由：1 到 100 个字")
    try:
        temperature = float(body.get("temperature_c"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return bad("temperature: a number in °C", "体温：请输入数字（°C）")
    if not 34.0 <= temperature <= 43.0:
        return bad("temperature out of range (34–43 °C)", "体温超出范围（34–43 °C）")
    colour = body.get("health_colour")
    if colour not in ("green", "yellow", "red"):
        return bad("health code colour: green, yellow or red", "健康码颜色：绿、黄或红")
    source = body.get("health_source", "typed")
    if source not in ("camera", "typed"):
        return bad("health code source: camera or typed", "健康码来源：摄像头或手动")
    if body.get("accepted") is not True or body.get("commitment") != COMMITMENT_ID:
        return bad("the commitment must be read and accepted", "请阅读并接受承诺书")
    confirmed = body.get("confirmed_by_household") is True
    # the household must confirm before the pass admits (unless it has already, by phone)
    needs_confirmation = body.get("needs_confirmation") is True and not confirmed
    if temperature >= FEVER_C:
        msg = say(
            user,
            "fever: no entry, follow the fever procedure",
            "体温异常：不得进入，请按发热流程处置",
        )
        return refuse(409, "fever", msg)
    if colour != "green":
        msg = say(user, "health code not green: no entry", "健康码非绿码：不得进入")
        return refuse(409, "health_code", msg)
    known = ctx.lists().household(household)
    if known is None:
        return refuse(404, "no_household", say(user, "no such household", "名单中没有该住户"))
    fields: dict[str, Any] = {}
    if needs_confirmation and visit == "visitor":
        fields["needs_confirmation"] = True
    pass_text = ""
    if visit == "visitor":
        if known.status is HouseholdStatus.HOME_QUARANTINE:
            msg = say(user, "home-quarantined household: no visits", "居家隔离住户：谢绝来访")
            return refuse(409, "quarantine", msg)
        if ctx.visitor_key is None:
            msg = say(user, "visitor passes are not set up on this gate", "本门岗未配置访客通行证")
            return refuse(501, "not_available", msg)
        try:
            hours = float(body.get("hours", 4))
        except (TypeError, ValueError):
            return bad("hours: a number", "时长：请输入数字")
        if not 0.1 <= hours <= MAX_HOURS:
            return bad(f"hours: 0.1 to {MAX_HOURS}", f"时长：0.1 到 {MAX_HOURS} 小时")
        start = int(ctx.now())
        pass_id = visitor_pass_id()
        until = start + int(hours * 3600)
        try:
            pass_text = issue_visitor_pass(
                ctx.visitor_key,
                (m.group(1), m.group(2), m.group(3)),
                start,
                until,
                pass_id,
                holder_ref(name, phone, pass_id),
            )
        except VisitorPassError as exc:
            return bad(str(exc), "无法签发访客通行证")
        fields.update(pass_id=pass_id, valid_from=start, valid_until=until)
    digits = re.sub(r"\D", "", phone)
    record_body = VisitorBody(
        gate=ctx.gate_id,
        visit=visit,
        name=name,
        phone_tail=digits[-4:],
        household=household,
        purpose=purpose,
        temperature_c=round(temperature, 1),
        health_colour=colour,
        health_source=source,
        commitment=COMMITMENT_ID,
        confirmed_by_household=confirmed,
        user=user.name,
        role=user.role,
        **fields,
    )
    ts = ctx.now()
    record = ctx.store.append(RecordKind.VISITOR, ts, record_body)
    if record_body.needs_confirmation and record_body.pass_id and record_body.valid_until:
        ctx.visitor_holds.hold(record_body.pass_id, record_body.valid_until)
    ctx.events.publish(EventKind.GUARD, ts, seq=record.seq, action=f"{visit}_register")
    answer: dict[str, Any] = {"ok": True, "record": record.to_json()}
    if pass_text:
        qr = segno.make(pass_text, error="m")
        answer["pass"] = {
            "text": pass_text,
            "qr": qr.svg_data_uri(scale=6, border=4),
            **fields,
        }
        if known.status is HouseholdStatus.SEALED:
            answer["warning"] = say(
                user,
                "sealed area: the gate admits the visitor only if the profile allows it",
                "封控区：只有防控配置允许时门禁才放行访客",
            )
    return 200, answer


def confirm(ctx: ConsoleContext, user: User, pass_id: str, body: dict[str, Any]) -> Answer:
    """The household confirmed the visitor (the guard called them, or they came down): a
    ``visitor_confirm`` guard record names who recorded it, then the pass admits."""
    if user.role not in ("guard", "admin"):
        msg = say(user, "your account may not confirm visitors", "您的账号无权确认访客")
        return refuse(403, "forbidden", msg)
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > 200:
        return refuse(400, "bad_input", say(user, "note: up to 200 characters", "备注最多 200 字"))
    with _CONFIRM_LOCK:  # two guards clicking at once: one record, one refusal
        found = _registration(ctx.store, pass_id)
        if found is None or not found.get("needs_confirmation"):
            msg = say(user, "no visitor awaiting confirmation with that pass", "没有待确认的该访客")
            return refuse(404, "no_visitor", msg)
        done = _confirmations(ctx.store).get(pass_id)
        if done is not None:
            msg = say(user, f"already confirmed by {done}", f"已由 {done} 确认")
            return refuse(409, "already_confirmed", msg)
        ts = ctx.now()
        guard = GuardBody(
            gate=ctx.gate_id,
            action="visitor_confirm",
            user=user.name,
            role=user.role,
            pass_id=pass_id,
            household=found.get("household"),
            note=note.strip() or None,
        )
        record = ctx.store.append(RecordKind.GUARD, ts, guard)
        ctx.visitor_holds.release(pass_id)
    ctx.events.publish(EventKind.GUARD, ts, seq=record.seq, **record.body)
    return 200, {"ok": True, "record": record.to_json()}


_CONFIRM_LOCK = threading.Lock()


def _registration(store: Store, pass_id: str) -> dict[str, Any] | None:
    hi = store.max_seq()
    for r in reversed(store.records(after_seq=max(0, hi - SCAN_BACK), limit=SCAN_BACK)):
        if r.kind == RecordKind.VISITOR and r.body.get("pass_id") == pass_id:
            return dict(r.body)
    return None


def _confirmations(store: Store) -> dict[str, str]:
    """pass id -> the guard who recorded the household's confirmation."""
    hi = store.max_seq()
    out: dict[str, str] = {}
    for r in store.records(after_seq=max(0, hi - SCAN_BACK), limit=SCAN_BACK):
        if r.kind == RecordKind.GUARD and r.body.get("action") == "visitor_confirm":
            out[str(r.body.get("pass_id"))] = str(r.body.get("user"))
    return out


def recent(ctx: ConsoleContext, limit: int = 50) -> list[dict[str, Any]]:
    """Today's registrations for the booth's list, newest first (no phone, no pass text);
    a visitor awaiting the household says so, or who recorded the confirmation."""
    hi = ctx.store.max_seq()
    out: list[dict[str, Any]] = []
    confirmed = _confirmations(ctx.store)
    for r in reversed(ctx.store.records(after_seq=max(0, hi - 2000), limit=2000)):
        if r.kind != RecordKind.VISITOR:
            continue
        keep = ("visit", "name", "household", "purpose", "pass_id", "valid_until", "user")
        row = {"ts": r.ts, "seq": r.seq, **{k: r.body.get(k) for k in keep}}
        if r.body.get("needs_confirmation"):
            row["confirmed_by"] = confirmed.get(str(r.body.get("pass_id")))
            row["awaiting"] = row["confirmed_by"] is None
        out.append(row)
        if len(out) >= limit:
            break
    return out
