"""De-duplication of codes held in front of the camera.

A resident holds a phone up for a second or two: at 15–30 frames per second the same code is
read dozens of times, and each read would otherwise open the door, beep and write a record.
:class:`Deduper` passes a code through once and then holds it back while it stays in view; it
passes again only when it has left the view (unseen for ``gone_after_s``) and come back, or
when ``repeat_after_s`` has passed since it was last let through (a resident still standing
there after a refusal gets a fresh answer).

It is pure: no clock, no I/O. The caller hands in ``now`` (seconds, monotonic) with every
frame's codes, which makes it deterministic to test and independent of the frame rate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from edge.vision.qr.codes import Code
from edge.vision.qr.settings import ScannerSettings


@dataclass
class _Seen:
    passed_at: float  # when the code was last let through, seconds
    last_seen: float  # when the code was last in a frame, seconds


class Deduper:
    """Lets each code through once per appearance; see the module docstring.

    Codes are identified by symbology and text: a dynamic pass changes text every 30 s step
    and so counts as a new code, which is what replay checks want to see.
    """

    def __init__(self, repeat_after_s: float = 5.0, gone_after_s: float = 1.5) -> None:
        if repeat_after_s <= 0 or gone_after_s <= 0:
            raise ValueError("repeat_after_s and gone_after_s must be positive seconds")
        self.repeat_after_s = repeat_after_s
        self.gone_after_s = gone_after_s
        self._seen: dict[tuple[str, str], _Seen] = {}

    @staticmethod
    def from_settings(settings: ScannerSettings) -> Deduper:
        """A deduper with the ``[scanner]`` section's intervals."""
        return Deduper(settings.repeat_after_s, settings.gone_after_s)

    def filter(self, codes: Iterable[Code], now: float) -> list[Code]:
        """The codes of one frame, seen at ``now`` (seconds), that should be processed.

        Every code in ``codes`` counts as seen at ``now`` whether or not it is returned. A
        frame in which a code was missed (blur, a hand over it) does not make it "gone" unless
        the gap lasts ``gone_after_s``. ``now`` going backwards is treated as a fresh start.
        """
        self.forget(now)
        out = []
        batch: set[tuple[str, str]] = set()
        for code in codes:
            key = (code.symbology, code.text)
            if key in batch:  # the same code twice in one frame (a reflection): once
                continue
            batch.add(key)
            seen = self._seen.get(key)
            if seen is None or now - seen.passed_at >= self.repeat_after_s:
                self._seen[key] = _Seen(passed_at=now, last_seen=now)
                out.append(code)
            else:
                seen.last_seen = now
        return out

    def forget(self, now: float) -> None:
        """Drop codes that have left the view (unseen for ``gone_after_s`` at ``now``)."""
        self._seen = {
            k: s
            for k, s in self._seen.items()
            if 0 <= now - s.last_seen < self.gone_after_s and now >= s.passed_at
        }

    def reset(self) -> None:
        """Forget every code (after a config reload, or when the door state machine asks)."""
        self._seen.clear()

    def __len__(self) -> int:
        """How many codes are currently held back as in view."""
        return len(self._seen)
