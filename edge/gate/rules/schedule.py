"""Weekly time schedules with a holiday list: when the exit button works, when the door is held
open, when passes are accepted.

Pure: :meth:`Calendar.active` takes the Unix time (seconds) as an argument. Local time is the
configured fixed UTC offset (China has no daylight saving, and a fixed offset needs no tz database
on the device). On a listed holiday only windows that name ``"holiday"`` apply, so a weekday
schedule does not open the door on the Spring Festival unless the committee says so.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"]
WEEKDAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BUILTIN = ("always", "never")
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


def _minutes(value: str) -> int:
    m = _HHMM.match(value)
    if m is None or (m.group(1) == "24" and m.group(2) != "00"):
        raise ValueError("time must be HH:MM from 00:00 to 24:00")
    return int(m.group(1)) * 60 + int(m.group(2))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(_Model):
    """One weekly window, local time: ``start`` inclusive, ``end`` exclusive."""

    days: list[Day] = Field(
        default_factory=lambda: list(WEEKDAYS),
        min_length=1,
        description="days it applies to: mon..sun and/or 'holiday'",
    )
    start: str = Field(default="00:00", description="local start time, HH:MM")
    end: str = Field(default="24:00", description="local end time, HH:MM (24:00 = midnight)")

    @field_validator("start", "end")
    @classmethod
    def _check_time(cls, value: str) -> str:
        _minutes(value)
        return value

    @model_validator(mode="after")
    def _check_order(self) -> Window:
        if _minutes(self.end) <= _minutes(self.start):
            raise ValueError(
                f"end {self.end} is not after start {self.start}: "
                "split a window that crosses midnight into two"
            )
        return self

    def covers(self, day: Day, minute: int) -> bool:
        return day in self.days and _minutes(self.start) <= minute < _minutes(self.end)


class Schedule(_Model):
    windows: list[Window] = Field(default_factory=list, description="when the schedule is on")


class Calendar(_Model):
    """Named schedules plus the holiday list; ``always`` and ``never`` are built in."""

    utc_offset_h: float = Field(
        default=8.0, ge=-12.0, le=14.0, description="local time offset from UTC, hours"
    )
    holidays: list[dt.date] = Field(
        default_factory=list, description="local dates treated as holidays (YYYY-MM-DD)"
    )
    schedules: dict[str, Schedule] = Field(
        default_factory=dict, description="named weekly schedules"
    )

    @field_validator("schedules")
    @classmethod
    def _no_builtin_names(cls, value: dict[str, Schedule]) -> dict[str, Schedule]:
        for name in value:
            if name in BUILTIN:
                raise ValueError(f"'{name}' is built in: choose another schedule name")
        return value

    def known(self, name: str) -> bool:
        return name in BUILTIN or name in self.schedules

    def local(self, now: float) -> dt.datetime:
        tz = dt.timezone(dt.timedelta(hours=self.utc_offset_h))
        return dt.datetime.fromtimestamp(now, tz)

    def active(self, name: str, now: float) -> bool:
        """Whether schedule ``name`` is on at Unix time ``now`` (s); unknown names are off."""
        if name == "always":
            return True
        schedule = self.schedules.get(name)
        if schedule is None:
            return False  # refuse rather than open: names are checked at config load
        local = self.local(now)
        day: Day = "holiday" if local.date() in self.holidays else WEEKDAYS[local.weekday()]
        minute = local.hour * 60 + local.minute
        return any(w.covers(day, minute) for w in schedule.windows)


__all__ = ["BUILTIN", "Calendar", "Day", "Schedule", "Window"]
