"""The systemd notification protocol (sd_notify), spoken directly over the datagram socket.

systemd gives a ``Type=notify`` service the address of an AF_UNIX datagram socket in
``NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace). The service sends
newline-separated ``KEY=value`` assignments: ``READY=1`` once it is up, ``WATCHDOG=1`` at
least every ``WATCHDOG_USEC`` microseconds while healthy, ``STATUS=…`` for ``systemctl status``,
``STOPPING=1`` / ``RELOADING=1`` around a stop or reload.

Implemented here in a few lines rather than through a library so the address handling is
explicit and testable, and so a broken socket can never raise into the gate's main loop.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping

log = logging.getLogger(__name__)

DEFAULT_WATCHDOG_INTERVAL_S = 5.0  # used when systemd asks for no watchdog (harmless to send)


class Notifier:
    """Sends sd_notify messages; does nothing when not started by systemd (no NOTIFY_SOCKET)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        raw = env.get("NOTIFY_SOCKET", "")
        self.address: str | None = None
        if raw.startswith("@"):
            self.address = "\0" + raw[1:]  # abstract namespace socket
        elif raw.startswith("/"):
            self.address = raw
        self._watchdog_usec = _watchdog_usec(env)
        self._sock: socket.socket | None = None
        self._failed = False
        self._lock = threading.Lock()  # the frame loop and the watchdog thread both send
        self.dropped = 0  # messages dropped because the receiver's queue was full

    @property
    def enabled(self) -> bool:
        return self.address is not None

    @property
    def watchdog_interval_s(self) -> float:
        """Seconds between WATCHDOG=1 pings: half of systemd's WatchdogSec, as sd_watchdog_enabled
        recommends, so one late loop iteration does not get the service killed."""
        if self._watchdog_usec is None:
            return DEFAULT_WATCHDOG_INTERVAL_S
        return max(self._watchdog_usec / 2e6, 0.05)

    def send(self, **fields: str) -> bool:
        """Send ``KEY=value`` lines (keys upper-cased); True when the datagram went out."""
        if self.address is None or self._failed:
            return False
        # STATUS must stay one line: systemd shows only the text up to a newline.
        text = "\n".join(f"{k.upper()}={v.replace(chr(10), ' ')}" for k, v in fields.items())
        try:
            with self._lock:
                if self._sock is None:
                    kind = socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
                    self._sock = socket.socket(socket.AF_UNIX, kind)
                self._sock.sendto(text.encode("utf-8"), self.address)
        except BlockingIOError:
            # The receiver is not reading (a busy systemd, a test): drop this one message
            # rather than block the gate's loop; the next ping or status goes out normally.
            self.dropped += 1
            return False
        except OSError as exc:
            # Report once: a vanished socket must not flood the journal or stop the gate.
            log.warning(
                "sd_notify to %r failed (%s); further notifications dropped", self.address, exc
            )
            self._failed = True
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.send(ready="1", status=status)

    def watchdog(self) -> bool:
        return self.send(watchdog="1")

    def status(self, text: str) -> bool:
        return self.send(status=text)

    def reloading(self) -> bool:
        return self.send(reloading="1", status="reloading configuration")

    def stopping(self, status: str) -> bool:
        return self.send(stopping="1", status=status)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    """WATCHDOG_USEC when it is meant for this process (WATCHDOG_PID unset or ours)."""
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec if usec > 0 else None


__all__ = ["Notifier"]
