"""The last health-code colour each resident showed at this gate, and the warning when a scan
shows another one (issue 22 item 4: 健康码变色提醒).

The access events the console sees carry no health details, so the console cannot compare
colours; the gate can. At the end of a decision the gate hands the session's credentials to
:meth:`ColourWatch.scan`: a valid community pass (its pseudonymous ``holder``) shown with an
online health code that answered a colour (green / yellow / red) is remembered, and a colour
different from the one this resident showed last time becomes one :class:`ColourChange`. The
gate turns that into an ``alert`` record of the same kind and shape the console's downlink
check writes (``alert: "colour_change"``; the reason starts with ``scan:``) and a live alert
event with ``source: "scan"``, the household and old → new colour, and nothing else of the
person's health.

Pure: no I/O, no clock. The memory is a bounded LRU (the least recently seen residents are
forgotten first); :meth:`ColourWatch.learn` rebuilds it on start from the stored access records
the caller reads (their privacy summaries keep the health code's colour as ``outcome``).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from edge.core.records import AlertBody
from edge.gate.credentials.evidence import HealthCodeCredential, HealthCodeStatus
from edge.gate.credentials.verified import Credential, PassCredential

# Answers of the platform that are a colour; expired / not_found / failed / timeout are not,
# and neither forget nor replace the colour remembered.
COLOURS = frozenset({HealthCodeStatus.GREEN, HealthCodeStatus.YELLOW, HealthCodeStatus.RED})
COLOUR_NAMES = frozenset(c.value for c in COLOURS)
DEFAULT_KEEP = 10_000  # residents remembered (a large community); about 1 MB
REBUILD_RECORDS = 5_000  # newest records read on start to rebuild the memory
COLOUR_ZH = {"green": "绿码", "yellow": "黄码", "red": "红码"}
SOURCE = "scan"


def _alert_id() -> str:
    return "colour-scan-" + uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class ColourChange:
    """A resident showed ``new`` at the gate after ``old`` the last time."""

    alert_id: str
    holder: str
    household: str
    old: str
    new: str

    @property
    def reason(self) -> str:
        return f"{SOURCE}: colour {self.old} → {self.new}"

    def alert(self, gate_id: str, now: float) -> AlertBody:
        """The durable record: the downlink check's shape; the household, not the holder."""
        return AlertBody(
            alert="colour_change",
            reason=self.reason,
            gate=gate_id,
            alert_id=self.alert_id,
            phase="new",
            household=self.household or None,
            started=now,
            source=SOURCE,
            colour_from=self.old,
            colour_to=self.new,
        )

    def event(self) -> dict[str, Any]:
        """The live alert event's data (the console's board and attention banner)."""
        old_zh, new_zh = COLOUR_ZH.get(self.old, self.old), COLOUR_ZH.get(self.new, self.new)
        where_zh = f"住户 {self.household} 的居民" if self.household else "一位居民"
        where_en = f"a resident of household {self.household}" if self.household else "a resident"
        return {
            "id": self.alert_id,
            "type": "colour_change",
            "phase": "new",
            "source": SOURCE,
            "holder": self.holder,
            "household": self.household or None,
            "from": self.old,
            "to": self.new,
            "message": f"健康码变色（扫码）：{where_zh} {old_zh}→{new_zh}",
            "message_en": f"Colour change at the gate: {where_en} showed {self.new} "
            f"(last time {self.old})",
        }


def shown(credentials: Sequence[Credential]) -> tuple[PassCredential, str] | None:
    """The valid pass and the colour its holder showed in one session, if both are there."""
    holder = next(
        (c for c in credentials if isinstance(c, PassCredential) and not c.problems), None
    )
    colour = None
    for c in credentials:
        if isinstance(c, HealthCodeCredential) and c.status in COLOURS:
            colour = c.status.value  # the last colour answered counts
    if holder is None or colour is None:
        return None
    return holder, colour


def shown_in_record(body: Mapping[str, Any]) -> tuple[str, str] | None:
    """(holder, colour) of a stored access record's body, as :func:`shown` saw it."""
    holder = body.get("holder")
    creds = body.get("credentials")
    if not isinstance(holder, str) or not holder or not isinstance(creds, list):
        return None
    summaries = [c for c in creds if isinstance(c, Mapping)]
    if not any(c.get("kind") == "pass" and c.get("outcome") == "valid" for c in summaries):
        return None
    colour = None
    for c in summaries:
        if c.get("kind") == "health_code" and c.get("outcome") in COLOUR_NAMES:
            colour = str(c["outcome"])
    return None if colour is None else (holder, colour)


class ColourWatch:
    """Last colour seen per resident (bounded LRU). Thread-safe; pure apart from the lock."""

    def __init__(self, keep: int = DEFAULT_KEEP, new_id: Callable[[], str] = _alert_id) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.keep = keep
        self._new_id = new_id
        self._last: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._last)

    def last(self, holder: str) -> str | None:
        with self._lock:
            return self._last.get(holder)

    def _see(self, holder: str, colour: str) -> str | None:
        """Remember ``colour`` for ``holder``; the previous colour if it was another one."""
        with self._lock:
            old = self._last.pop(holder, None)
            self._last[holder] = colour  # most recently seen last
            while len(self._last) > self.keep:
                self._last.popitem(last=False)
        return old if old is not None and old != colour else None

    def scan(self, credentials: Sequence[Credential]) -> ColourChange | None:
        """A finished session's credentials: the change to warn about, if any."""
        found = shown(credentials)
        if found is None:
            return None
        p, colour = found
        old = self._see(p.holder, colour)
        if old is None:
            return None
        return ColourChange(self._new_id(), p.holder, p.household, old, colour)

    def learn(self, bodies: Iterable[Mapping[str, Any]]) -> int:
        """Rebuild from stored access record bodies, oldest first (no warnings); how many
        colours were read."""
        n = 0
        for body in bodies:
            found = shown_in_record(body)
            if found is not None:
                self._see(*found)
                n += 1
        return n
