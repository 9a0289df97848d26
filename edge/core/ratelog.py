"""Log lines for repeated refusals, rate-limited with a count (a flood must not fill the disk).

Attach :class:`RepeatFilter` to a logger whose lines an outsider can trigger at will (junk
downlink messages, malformed HTTP requests): the first line of each kind passes, then at most
one per ``every_s`` seconds, carrying how many like it were held back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class RepeatFilter(logging.Filter):
    """Pass one record per message template per ``every_s``; count the ones held back."""

    def __init__(self, every_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.every_s = every_s
        self.clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def reset(self) -> None:
        """Forget what was seen (the next line of each kind passes)."""
        with self._lock:
            self._last.clear()
            self._held.clear()

    def filter(self, record: logging.LogRecord) -> bool:
        key = f"{record.name}:{record.msg}"
        now = self.clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.every_s:
                self._held[key] = self._held.get(key, 0) + 1
                return False
            if len(self._last) > 1000:  # bounded, whatever templates a flood produces
                self._last.clear()
                self._held.clear()
            self._last[key] = now
            held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} ({held} more like this in the last {self.every_s:.0f} s)"
        return True
