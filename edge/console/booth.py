"""What every console page and the resident's kiosk ask of the gate besides the Live board.

* :func:`attention`: the unacknowledged alerts every page shows as a badge, a banner and a
  count in the title (a guard on the Households page must not miss a quarantine breach).
* :func:`next_step` / :data:`NEXT_STEPS`: what a resident should do after a decision, in
  Chinese and English, for the kiosk on the gate's own display.
* :func:`kiosk_state`: the newest decision for a kiosk that has just (re)loaded.

All pure reads of the board; no I/O, so they are cheap enough to be polled by every page.
"""

from __future__ import annotations

from typing import Any

from edge.console.board import Board

# What the resident should do next, by the first reason of the decision: (zh, en).
NEXT_STEPS: dict[str, tuple[str, str]] = {
    "allow": ("请通行", "Please go ahead"),
    "show": ("请将二维码对准摄像头，保持不动", "Hold your code still in front of the camera"),
    "refresh": (
        "请刷新通行码后重试，或到门岗咨询",
        "Refresh your pass and try again, or ask at the booth",
    ),
    "health": (
        "请在门岗旁等候，工作人员会协助您",
        "Please wait beside the booth: a guard will help you",
    ),
    "home": (
        "请返回家中；如需帮助请联系社区",
        "Please go back home; call the community office if you need help",
    ),
    "register": ("请到门岗登记", "Please register at the booth"),
    "guard": ("请稍候，门岗正在确认", "Please wait: the guard is checking"),
    "clock": ("请稍候或到门岗咨询", "Please wait or ask at the booth"),
}

_STEP_OF_REASON: dict[str, str] = {
    **dict.fromkeys(("NO_CREDENTIAL", "UNREADABLE_CODE", "CHUNKS_INCOMPLETE"), "show"),
    **dict.fromkeys(
        (
            "UNKNOWN_FORMAT",
            "MALFORMED",
            "TOO_LARGE",
            "UNKNOWN_KEY",
            "BAD_SIGNATURE",
            "NOT_YET_VALID",
            "EXPIRED",
            "REVOKED",
            "DYNAMIC_CODE_STALE",
            "DYNAMIC_CODE_REPLAYED",
            "BAD_BASE45",
            "BAD_COMPRESSION",
            "BAD_CBOR",
            "BAD_COSE",
            "BAD_CLAIMS",
            "BAD_NUMERIC",
            "BAD_JWS",
            "BAD_DATE",
            "UNSUPPORTED_ALGORITHM",
            "ENTRY_COUNT",
            "KEY_USAGE_MISMATCH",
            "ISSUER_MISMATCH",
            "CERT_NOT_YET_VALID",
            "CERT_EXPIRED",
            "CERT_REVOKED",
            "ROLE_NOT_ALLOWED",
            "HOUSEHOLD_UNKNOWN",
        ),
        "refresh",
    ),
    **dict.fromkeys(
        (
            "HEALTH_CODE_REQUIRED",
            "HEALTH_CODE_YELLOW",
            "HEALTH_CODE_RED",
            "HEALTH_CODE_EXPIRED",
            "HEALTH_CODE_NOT_FOUND",
            "HEALTH_CODE_UNAVAILABLE",
            "TEST_REQUIRED",
            "TEST_TOO_OLD",
            "TEST_POSITIVE",
            "TEST_IN_FUTURE",
            "VACCINATION_REQUIRED",
            "VACCINATION_INCOMPLETE",
            "TEMPERATURE_HIGH",
            "TEMPERATURE_UNAVAILABLE",
            "COLOUR_RED",
            "COLOUR_YELLOW",
            "COLOUR_BLUE",
            "COLOUR_GREY",
            "COLOUR_BLACK",
        ),
        "health",
    ),
    **dict.fromkeys(
        (
            "QUARANTINE_NO_EXIT",
            "SEALED_AREA",
            "QUARANTINE_ENTRY",
            "QUARANTINE_VISIT",
            "SEALED_NO_EXIT",
            "CONTROLLED_NO_EXIT",
        ),
        "home",
    ),
    "VISITOR_REGISTRATION_REQUIRED": "register",
    "GUARD_ALERT": "guard",
    "CLOCK_UNTRUSTED": "clock",
}


def next_step(allow: bool, reasons: list[str] | tuple[str, ...]) -> tuple[str, str]:
    """What to do after a decision: (zh, en). Unknown reasons send the person to the booth."""
    if allow:
        return NEXT_STEPS["allow"]
    step = _STEP_OF_REASON.get(reasons[0], "health") if reasons else "health"
    return NEXT_STEPS[step]


def kiosk_table() -> dict[str, Any]:
    """The advice table as the kiosk page's script reads it (reason -> step -> zh/en)."""
    return {
        "steps": {k: {"zh": zh, "en": en} for k, (zh, en) in NEXT_STEPS.items()},
        "reasons": dict(_STEP_OF_REASON),
    }


def kiosk_state(board: Board) -> dict[str, Any]:
    """The newest decision, for a kiosk that just loaded: only verdict, sentence and advice
    ever reach the resident's screen (no household, no health details)."""
    scans = board.snapshot()["scans"]
    if not scans:
        return {"last": None}
    s = scans[0]
    zh, en = next_step(bool(s.get("allow")), list(s.get("reasons") or []))
    last = {
        "seq": s.get("seq"),
        "ts": s.get("ts"),
        "allow": bool(s.get("allow")),
        "sentence_zh": s.get("sentence_zh") or "",
        "sentence_en": s.get("sentence_en") or "",
        "next_zh": zh,
        "next_en": en,
    }
    return {"last": last}


def attention(board: Board, now: float) -> dict[str, Any]:
    """The unacknowledged alerts, newest first, with what a banner needs (no snapshots)."""
    rows = board.unacked()
    keep = ("type", "alert", "household", "zone", "camera", "message", "message_en", "phase")
    keep_colour = ("source", "from", "to")  # a colour change: seen at a scan or in the lists
    alerts = [
        {
            **{k: r.data.get(k) for k in (*keep, *keep_colour) if r.data.get(k) is not None},
            "key": r.key,
            "first_ts": r.first_ts,
            "last_ts": r.last_ts,
            "count": r.count,
            "escalated_by": r.escalated_by,
        }
        for r in reversed(rows)
    ]
    return {"count": len(alerts), "alerts": alerts, "now": now}
