"""Supervised workers: each part of the service that may fail or wait runs here, alone.

A :class:`Worker` runs one step function every ``period_s`` on its own thread. A step that
raises is logged with a counter, the worker backs off (doubling up to ``max_backoff_s``) and
tries again; the rest of the gate never notices except through :meth:`Worker.problem`, which
the service shows in ``STATUS=``, the log and ``doctor``. A step that never returns is seen
as ``stalled`` once it has run longer than ``stall_after_s``. The process itself ends only on
SIGTERM or an invalid config: no worker can take it down.

Work that must never run on the door's loop or the frame loop — retention over a large
store, writing records that waited for the disk, clock probes, reading files — runs in
workers, and hands its results over as values the loops read.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerState:
    """One worker for health and status."""

    name: str
    state: str  # "running", "backoff", "stalled", "stopped"
    failures: int  # steps that raised since start
    last_error: str  # "" when the last step succeeded


class Worker:
    """``step()`` every ``period_s`` on a thread of its own, restarted after a failure."""

    def __init__(
        self,
        name: str,
        step: Callable[[], None],
        period_s: float,
        *,
        first_after_s: float = 0.0,
        max_backoff_s: float = 60.0,
        stall_after_s: float = 300.0,
        nice: int = 0,
    ) -> None:
        self.name = name
        self._step = step
        self.period_s = period_s
        self._first_after_s = first_after_s
        self.max_backoff_s = max_backoff_s
        self.stall_after_s = stall_after_s
        self.nice = nice  # added to this thread's niceness: bulk work yields to the door
        self.failures = 0
        self.last_error = ""
        self._backoff_s = 0.0
        self._running_since: float | None = None
        self._stop = threading.Event()
        self._kick = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"worker-{self.name}", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        """Run the next step now instead of at the end of the period."""
        self._kick.set()

    def _run(self) -> None:
        if self.nice:
            try:  # Linux: a thread's own niceness (raising it needs no privilege)
                tid = threading.get_native_id()
                os.setpriority(
                    os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + self.nice
                )
            except OSError as exc:
                log.debug("%s: niceness not changed: %s", self.name, exc)
        delay = self._first_after_s
        while not self._stop.is_set():
            self._kick.wait(delay)
            self._kick.clear()
            if self._stop.is_set():
                return
            self._running_since = time.monotonic()
            try:
                self._step()
            except Exception as exc:  # the worker's own failure, never the gate's
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                self._backoff_s = min(max(2 * self._backoff_s, 1.0), self.max_backoff_s)
                log.exception(
                    "%s failed (%d so far); retrying in %.0f s",
                    self.name,
                    self.failures,
                    self._backoff_s,
                )
                delay = self._backoff_s
            else:
                if self.last_error:
                    log.info("%s works again after %d failure(s)", self.name, self.failures)
                self.last_error = ""
                self._backoff_s = 0.0
                delay = self.period_s
            finally:
                self._running_since = None

    def state(self) -> WorkerState:
        since = self._running_since
        if self._thread is None or self._stop.is_set():
            state = "stopped"
        elif since is not None and time.monotonic() - since > self.stall_after_s:
            state = "stalled"
        elif self.last_error:
            state = "backoff"
        else:
            state = "running"
        return WorkerState(self.name, state, self.failures, self.last_error)

    def problem(self) -> str:
        """ "" while working; otherwise one sentence for STATUS=."""
        s = self.state()
        if s.state == "stalled":
            return f"{self.name} stalled (one step running for over {self.stall_after_s:.0f} s)"
        if s.state == "backoff":
            return f"{self.name} failing ({s.failures} failures, last: {s.last_error})"
        return ""

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop after the current step; a step stuck in I/O is abandoned (daemon thread)."""
        self._stop.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(timeout_s)


class Cached:
    """A probe's latest answer, refreshed by a worker and read by the loops without waiting
    (e.g. ``timedatectl``, up to 2 s per call, every 30 s)."""

    def __init__(self, probe: Callable[[], bool | None]) -> None:
        self._probe = probe
        self._value: bool | None = None

    def refresh(self) -> None:
        self._value = self._probe()

    def get(self) -> bool | None:
        return self._value


__all__ = ["Cached", "Worker", "WorkerState"]
