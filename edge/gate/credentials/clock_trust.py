"""Whether the wall clock can be trusted for validity checks.

A Raspberry Pi has no real-time clock: after a power cut without network it boots at the last
saved time (fake-hwclock) or at 1970, days off. The clock is trusted only when NTP reports it
synchronised *and* it is not earlier than a floor: the later of the release date of this
software and the last time persisted while the clock was trusted. While untrusted, every
time-dependent check fails closed with ``CLOCK_UNTRUSTED``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.gate.credentials.evidence import iso_utc

log = logging.getLogger(__name__)

RELEASE_DATE = 1_767_225_600.0  # 2026-01-01T00:00:00Z: no genuine "now" is earlier
SYNC_FLAG = Path("/run/systemd/timesync/synchronized")
PROBE_TIMEOUT_S = 2.0
PROBE_EVERY_S = 30.0  # monotonic seconds between NTP probes
PERSIST_EVERY_S = 600.0  # wall seconds between floor writes (SD cards wear out)
# A floor this process wrote a moment ago may be a little after the "now" another thread read
# just before it (or NTP slews back a second): below it by less than this is not a clock that
# went back to a stale boot time, s.
FLOOR_SLACK_S = 60.0


def system_ntp_synchronized() -> bool | None:
    """NTP status from systemd: True/False, or None when it cannot be determined."""
    if SYNC_FLAG.exists():  # created by systemd-timesyncd once synchronised
        return True
    try:
        res = subprocess.run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    answer = res.stdout.strip().lower()
    if res.returncode != 0 or answer not in ("yes", "no"):
        return None
    return answer == "yes"


@dataclass(frozen=True)
class ClockStatus:
    """What the gate knows about its clock; ``reason`` is plain text for the status page."""

    trusted: bool
    ntp_synchronized: bool | None
    floor: float  # Unix seconds
    now: float
    reason: str

    def to_json(self) -> dict[str, object]:
        return {
            "trusted": self.trusted,
            "ntp_synchronized": self.ntp_synchronized,
            "floor": iso_utc(self.floor),
            "now": iso_utc(self.now),
            "reason": self.reason,
        }


class ClockTrust:
    """Judges the clock; call :meth:`status` with the wall time and monotonic time."""

    def __init__(
        self,
        floor_path: Path,
        release_date: float = RELEASE_DATE,
        ntp_probe: Callable[[], bool | None] = system_ntp_synchronized,
        require_ntp: bool = True,
    ) -> None:
        self._path = floor_path
        self._release = release_date
        self._probe = ntp_probe
        self._require_ntp = require_ntp
        self._persisted = self._read_floor()
        self._ntp: bool | None = None
        self._probed_at: float | None = None
        self._written_at = self._persisted
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._on_disk = self._persisted

    def _read_floor(self) -> float:
        try:
            return float(self._path.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            return 0.0

    @property
    def floor(self) -> float:
        return max(self._release, self._persisted)

    def status(self, now: float, monotonic: float) -> ClockStatus:
        """Trust verdict at wall time ``now``; persists a new floor when trusted.

        Called from several threads (decisions, health, console): the state is read and
        claimed under a lock, the probe and the floor write run outside it, by one caller."""
        with self._lock:
            probe = self._probed_at is None or monotonic - self._probed_at >= PROBE_EVERY_S
            if probe:
                self._probed_at = monotonic
        if probe:
            answer = self._probe()
            with self._lock:
                self._ntp = answer
        with self._lock:
            ntp, floor = self._ntp, self.floor
            write = now > floor and now - self._written_at >= PERSIST_EVERY_S
            if write and (ntp is True or not self._require_ntp):
                self._written_at = now  # claimed: no other thread writes the same floor
            else:
                write = False
        if now < floor - (FLOOR_SLACK_S if floor > self._release else 0.0):
            reason = f"clock {iso_utc(now)} is before the floor {iso_utc(floor)}"
            return ClockStatus(False, ntp, floor, now, reason)
        if self._require_ntp and ntp is not True:
            state = "unknown" if ntp is None else "not synchronised"
            return ClockStatus(False, ntp, floor, now, f"NTP {state}")
        if write:
            self._persist(now)
        return ClockStatus(True, ntp, floor, now, "NTP synchronised")

    def _persist(self, now: float) -> None:
        with self._write_lock:  # one writer of the temporary file at a time
            if now > self._on_disk:
                self._write(now)

    def _write(self, now: float) -> None:
        tmp = self._path.with_suffix(".tmp")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(f"{now:.0f}\n", encoding="ascii")
            with tmp.open("rb") as fh:
                os.fsync(fh.fileno())
            tmp.replace(self._path)
        except OSError as exc:
            log.warning("cannot persist the clock floor to %s: %s", self._path, exc)
            return
        self._on_disk = now
        with self._lock:
            self._persisted = max(self._persisted, now)
