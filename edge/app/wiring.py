"""The optional parts of a running gate, each behind a guard: sync, person detection, console.

Each factory returns None when its part is not configured, raises when it cannot start (the
service turns that into a degraded status, see :mod:`edge.app.components`) and otherwise a small
adapter with ``problem()`` and ``close()``. Modules are imported inside the factories, so a
part that is missing from an installation only matters when the config asks for it.

Order matters: sync first (the console shows its state), the console last.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from edge.app.components import Factory, Runtime
from edge.app.console_context import console_context, worker_rows
from edge.app.gate import Gate
from edge.core.records import AlertBody, EventKind, RecordKind
from edge.store.sqlite import is_store_fault

log = logging.getLogger(__name__)

SYNC_GRACE_S = 30.0  # a broker not connected yet right after start is not a problem, s


class SyncComponent:
    """The MQTT uplink (:class:`edge.sync.service.SyncService`)."""

    name = "sync"

    def __init__(self, service: Any, where: str) -> None:
        self.service = service
        self.where = where
        self.started = time.monotonic()

    def connected(self) -> bool:
        return bool(self.service.link.connected)

    def problem(self) -> str:
        if self.connected() or time.monotonic() - self.started < SYNC_GRACE_S:
            return ""
        return f"not connected to the broker {self.where} (records queue safely)"

    def close(self) -> None:
        self.service.stop()


def start_sync(rt: Runtime) -> SyncComponent | None:
    """The sync owner's own wiring (lists, trust, rules and commands into the gate)."""
    if not rt.config.sync.enabled:
        return None
    from edge.app.sync_wiring import start_sync as start_uplink

    service = start_uplink(rt.gate, components=lambda: {"cameras": str(rt.camera_fps())})
    if service is None:
        return None
    s = rt.config.sync
    return SyncComponent(service, f"{s.host}:{s.port}")


class AlertRecorder:
    """Perimeter alerts become durable ``alert`` records, then live events for the guard."""

    def __init__(
        self, gate: Gate, snapshots: Callable[[bytes, float, dict[str, Any]], Any] | None = None
    ) -> None:
        self.gate = gate
        self.snapshots = snapshots  # queues a JPEG for its own sync topic (raw, not base64)

    def emit(self, alert: Any) -> None:
        body = AlertBody(
            gate=self.gate.config.gate.id,
            alert_id=alert.id,
            alert=alert.kind.value,
            phase=alert.phase.value,
            camera=alert.camera,
            zone=alert.zone,
            household=alert.household,
            score=alert.score,
            started=alert.started_wall,
            reason=alert.reason,
            snapshot=alert.snapshot.name if alert.snapshot else None,
        )
        record = self.gate.store.append(RecordKind.ALERT, alert.wall, body)
        self.gate.events.publish(
            EventKind.ALERT, alert.wall, seq=record.seq, message=alert.message, **record.body
        )
        if self.snapshots is not None and alert.snapshot is not None and body.phase == "new":
            try:
                jpeg = alert.snapshot.read_bytes()
            except OSError as exc:
                log.warning("snapshot %s not queued for sync: %s", alert.snapshot.name, exc)
                return
            meta = {"alert_id": alert.id, "alert_seq": record.seq, "camera": alert.camera}
            try:
                self.snapshots(jpeg, alert.wall, meta)
            except Exception as exc:  # the alarm is out already; its picture is the lesser loss
                if is_store_fault(exc):  # disk full or read-only: a known state, one line
                    log.warning("snapshot of alert %s not kept: %s", alert.id, exc)
                else:
                    log.exception("snapshot of alert %s not kept", alert.id)


class PerimeterComponent:
    """Perimeter cameras with the shared person detector."""

    name = "perimeter"

    def __init__(self, service: Any, detector: Any, overhead: Any = None) -> None:
        self.service = service
        self.detector = detector
        self.overhead = overhead  # the high-view model's detector, when a strategy uses it
        self.last_ms: list[float] = []  # the detector's latest time per frame, ms

    def problem(self) -> str:
        problems = []
        if not self.detector.status.ok:
            problems.append(f"detector: {self.detector.status.message}")
        if self.overhead is not None and not self.overhead.status.ok:
            problems.append(f"overhead detector: {self.overhead.status.message}")
        for cam, report in self.service.health().items():
            bad = [n for n in ("offline", "frozen", "covered") if getattr(report, n, False)]
            if bad:
                problems.append(f"camera {cam} {'/'.join(bad)}")
        return "; ".join(problems)

    def close(self) -> None:
        self.service.stop()


def start_perimeter(rt: Runtime) -> PerimeterComponent | None:
    settings = rt.config.perimeter
    if not settings.enabled or not settings.cameras:
        return None
    from edge.console.zones import merge_console_zones
    from edge.vision.perimeter.monitor import PerimeterService
    from edge.vision.person.detector import Detector

    config = rt.config.detector
    detector = Detector(config)
    overhead = None
    explicit = config.names_overhead(*(c.strategy for c in settings.cameras))
    if config.uses_overhead(*(c.strategy for c in settings.cameras)):
        overhead = Detector(config.overhead())
        if not overhead.status.ok:
            # auto falls back to the street-level model's regions and tiles: it still
            # detects, but high cameras see far fewer people (docs/perimeter.md)
            log.warning("overhead detector unavailable: %s", overhead.status.message)
    last_ms: list[float] = []

    def timed(run: Any) -> Any:
        def detect(frame: Any) -> Any:
            t0 = time.perf_counter()
            found = run(frame)
            ms = (time.perf_counter() - t0) * 1000.0
            rt.metrics.detector_ms.observe(ms)
            last_ms[:] = [ms]
            return found

        return detect

    def status() -> Any:
        # A camera set to the overhead strategy detects nothing without its model: that is
        # the "detector unavailable" alert too (auto falls back and only logs it).
        if detector.status.ok and explicit and overhead is not None and not overhead.status.ok:
            return overhead.status
        return detector.status

    sync = rt.started.get("sync")
    snapshots = sync.service.add_snapshot if isinstance(sync, SyncComponent) else None
    try:
        zoned = merge_console_zones(settings, rt.gate.store)  # zones drawn by guards, too
    except (sqlite3.DatabaseError, OSError) as exc:
        if not is_store_fault(exc):
            raise
        # the alarms matter more than the guards' drawings: watch the configured zones
        log.warning("perimeter: console zones not read (%s); configured zones only", exc)
        zoned = settings
    service = PerimeterService(
        zoned,
        timed(detector.detect),
        AlertRecorder(rt.gate, snapshots),
        lambda: rt.gate.lists.statuses(),
        clock=rt.gate.clock,
        detector_status=status,
        detection=config,  # [detector] strategy and time budget per camera frame
        overhead=timed(overhead.detect) if overhead is not None else None,
        overhead_ready=(lambda: overhead.status.ok) if overhead is not None else None,
    )

    def on_command(event: Any) -> None:
        # central's arm/disarm command (signed, fresh, not replayed: see edge.sync.downlink)
        if event.kind == EventKind.COMMAND and event.data.get("cmd") in ("arm", "disarm"):
            zone = str(event.data.get("args", {}).get("zone", ""))
            service.arm_by_hand(zone, event.data["cmd"] == "arm")

    rt.gate.events.on(on_command)
    service.start()
    component = PerimeterComponent(service, detector, overhead)
    component.last_ms = last_ms
    return component


class ConsoleComponent:
    name = "console"

    def __init__(self, server: Any) -> None:
        self.server = server

    def problem(self) -> str:
        return ""

    def sweep(self) -> int:
        """Forget expired sessions and stale login-throttle entries; returns how many."""
        console = self.server.console
        return int(console.sessions.sweep()) + int(console.throttle.sweep())

    def close(self) -> None:
        self.server.stop()


def start_console(rt: Runtime) -> ConsoleComponent | None:
    if not rt.config.console.enabled:
        return None
    from edge.console import start_console

    gate = rt.gate

    def health() -> dict[str, Any]:
        sync = rt.started.get("sync")
        oldest = gate.store.oldest_unacked_ts()
        return {
            "broker_connected": sync.connected() if isinstance(sync, SyncComponent) else None,
            "outbox_depth": gate.store.outbox_depth(),
            "oldest_unacked_s": None if oldest is None else gate.clock.time() - oldest,
            "last_sync_ts": getattr(sync.service, "last_ack_ts", None)
            if isinstance(sync, SyncComponent)
            else None,
            "list_versions": {"lists": gate.lists.version},
            "clock_trusted": gate.clock_trusted(gate.clock.time()),
            "camera_fps": rt.camera_fps(),
            "workers": worker_rows(rt.workers()),
            "detector_ms": next(iter(perimeter.last_ms), None)
            if isinstance(perimeter := rt.started.get("perimeter"), PerimeterComponent)
            else None,
        }

    def camera_snapshot(camera_id: str) -> bytes | None:
        perimeter = rt.started.get("perimeter")
        if isinstance(perimeter, PerimeterComponent):
            jpeg: bytes | None = perimeter.service.latest_jpeg(camera_id)
            return jpeg
        return None

    ctx = console_context(gate, health=health, camera_snapshot=camera_snapshot)
    server = start_console(ctx, rt.config.console)
    return ConsoleComponent(server)


FACTORIES: list[tuple[str, Factory]] = [
    ("sync", start_sync),
    ("perimeter", start_perimeter),
    ("console", start_console),
]

__all__ = ["FACTORIES"]
