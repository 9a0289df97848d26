"""Lenient ISO 8601 date-time parsing (``--now``, certificate dates).

Accepts the extended and basic spellings: ``2021-05-25T10:22:30Z``, ``…+02:00``, ``…+0200``,
``…+02``, no offset (= UTC), 0–9 fraction digits with ``.`` or ``,``, a space or ``T`` between
date and time, hours-only or minutes-only times, ``24:00`` and a leap second ``:60``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_EXT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{0,9}))?)?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)
_BASIC = re.compile(
    r"^(\d{4})(\d{2})(\d{2})"
    r"(?:[Tt](\d{2})(?:(\d{2})(?:(\d{2})(?:[.,](\d{0,9}))?)?)?)?"
    r"(Z|z|[+-]\d{2}(?:\d{2})?)?$"
)


def _offset(text: str | None) -> timezone:
    if text is None or text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"bad UTC offset {text!r}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_iso8601(text: str) -> float:
    """ISO 8601 text → Unix seconds (float). No offset means UTC. Raises ``ValueError``."""
    s = text.strip()
    m = _EXT.match(s) or _BASIC.match(s)
    if m is None:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}")
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    hour, minute, second = int(m[4] or 0), int(m[5] or 0), int(m[6] or 0)
    frac = m[7] or ""
    if hour > 24 or minute > 59 or second > 60:
        raise ValueError(f"time out of range: {text!r}")
    if hour == 24 and (minute or second or frac.strip("0")):
        raise ValueError(f"24:00 must be exactly midnight: {text!r}")
    base = datetime(year, month, day, tzinfo=_offset(m[8]))  # raises ValueError on bad dates
    # 24:00 and :60 are legal ISO spellings; timedelta carries them into the next unit
    stamp = base + timedelta(hours=hour, minutes=minute, seconds=second)
    return stamp.timestamp() + (int(frac) / 10 ** len(frac) if frac else 0.0)
