"""Anti-passback per holder: a pass that went in must come out before it goes in again.

It stops one pass being handed back over the fence for a second person. *Soft* mode allows the
passage and flags it for the guard; *hard* mode refuses it. A holder's last passage is forgotten
after ``reset_s`` seconds, so a resident who left through a door without a reader (or was let out
by a guard) is not locked out for good. Pure: no I/O, time comes in as an argument. The memory
is in-process; after a restart everybody starts fresh, which errs on the side of letting people
home.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from edge.gate.rules.profile import Direction


class PassbackMode(StrEnum):
    OFF = "off"
    SOFT = "soft"
    HARD = "hard"


class Verdict(StrEnum):
    OK = "ok"
    FLAG = "flag"  # soft: allow, and tell the guard
    REFUSE = "refuse"  # hard


@dataclass
class AntiPassback:
    """Remembers the last direction each holder passed in, with its Unix time (s)."""

    mode: PassbackMode = PassbackMode.OFF
    reset_s: float = 4 * 3600.0
    _last: dict[str, tuple[Direction, float]] = field(default_factory=dict)

    def check(self, holder: str | None, direction: Direction, now: float) -> Verdict:
        """Judge a passage of ``holder`` in ``direction`` at ``now``; does not remember it."""
        if self.mode is PassbackMode.OFF or holder is None:
            return Verdict.OK
        last = self._last.get(holder)
        # A wall clock stepped backwards (NTP) makes the age negative: treat it as expired.
        if last is None or not 0 <= now - last[1] < self.reset_s or last[0] is not direction:
            return Verdict.OK
        return Verdict.FLAG if self.mode is PassbackMode.SOFT else Verdict.REFUSE

    def passed(self, holder: str | None, direction: Direction, now: float) -> None:
        """Remember that ``holder`` was let through in ``direction`` at ``now``."""
        if self.mode is not PassbackMode.OFF and holder is not None:
            self._last[holder] = (direction, now)
            self._prune(now)

    def _prune(self, now: float) -> None:
        # Bounded memory on a busy gate: forget everything past its reset time.
        if len(self._last) > 10_000:
            self._last = {h: v for h, v in self._last.items() if 0 <= now - v[1] < self.reset_s}

    def reset(self, holder: str | None = None) -> None:
        """A guard's reset: one holder, or everybody when ``holder`` is None."""
        if holder is None:
            self._last.clear()
        else:
            self._last.pop(holder, None)


__all__ = ["AntiPassback", "PassbackMode", "Verdict"]
