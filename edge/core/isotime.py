"""Lenient ISO 8601 date-time parsing (``--now``, certificate dates).

Accepts the extended and basic spellings of calendar (``2021-05-25``, ``20210525``), ordinal
(``2021-145``) and week (``2021-W21-2``) dates, optionally followed by ``T`` (or a space) and a
time ``hh``, ``hh:mm``, ``hh:mm:ss`` or ``hhmmss`` with 0–9 fraction digits (``.`` or ``,``),
``24:00`` and a leap second ``:60``, then an offset ``Z``, ``±hh:mm``, ``±hhmm`` or ``±hh``.
No offset means UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

_DATE = re.compile(
    r"^(?:(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
    r"|(?P<yb>\d{4})(?P<mb>\d{2})(?P<db>\d{2})"
    r"|(?P<yw>\d{4})-?W(?P<w>\d{2})(?:-?(?P<wd>[1-7]))?"
    r"|(?P<yo>\d{4})-?(?P<o>\d{3})"
    r"|(?P<ym>\d{4})-(?P<mm>\d{2}))$"
)
_TIME = re.compile(
    r"^(?P<h>\d{2})(?::?(?P<mi>\d{2})(?::?(?P<s>\d{2}))?)?(?:[.,](?P<f>\d{0,9}))?"
    r"(?P<tz>[Zz]|[+-]\d{2}(?::?\d{2})?)?$"
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


def _date(text: str) -> date:
    m = _DATE.match(text)
    if m is None:
        raise ValueError(f"not an ISO 8601 date: {text!r}")
    g = m.groupdict()
    if g["y"]:
        return date(int(g["y"]), int(g["m"]), int(g["d"]))
    if g["yb"]:
        return date(int(g["yb"]), int(g["mb"]), int(g["db"]))
    if g["yw"]:
        return date.fromisocalendar(int(g["yw"]), int(g["w"]), int(g["wd"] or 1))
    if g["yo"]:
        day = int(g["o"])
        if not 1 <= day <= (366 if _leap(int(g["yo"])) else 365):
            raise ValueError(f"day of year out of range: {text!r}")
        return date(int(g["yo"]), 1, 1) + timedelta(days=day - 1)
    return date(int(g["ym"]), int(g["mm"]), 1)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def parse_iso8601(text: str) -> float:
    """ISO 8601 text → Unix seconds (float). No offset means UTC. Raises ``ValueError``."""
    s = text.strip()
    date_part, sep, time_part = s.replace("t", "T").partition("T")
    if not sep and " " in s:
        date_part, _, time_part = s.partition(" ")
    tz_only = re.fullmatch(r"(.*?)(Z|z|[+-]\d{2}:\d{2})", date_part)
    if not sep and not time_part and tz_only:  # a date with an offset but no time
        date_part, time_part = tz_only[1], "00" + tz_only[2]
    d = _date(date_part)
    hour = minute = second = 0
    frac, tz = "", None
    if time_part or sep:
        t = _TIME.match(time_part.strip().replace(" ", ""))
        if t is None:
            raise ValueError(f"not an ISO 8601 time: {text!r}")
        hour, minute, second = int(t["h"]), int(t["mi"] or 0), int(t["s"] or 0)
        frac, tz = t["f"] or "", t["tz"]
    if hour > 24 or minute > 59 or second > 60:
        raise ValueError(f"time out of range: {text!r}")
    if hour == 24 and (minute or second or frac.strip("0")):
        raise ValueError(f"24:00 must be exactly midnight: {text!r}")
    base = datetime(d.year, d.month, d.day, tzinfo=_offset(tz))
    # 24:00 and :60 are legal ISO spellings; timedelta carries them into the next unit
    stamp = base + timedelta(hours=hour, minutes=minute, seconds=second)
    return stamp.timestamp() + (int(frac) / 10 ** len(frac) if frac else 0.0)
