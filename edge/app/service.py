"""The long-running gate service behind ``edge-gate run``: main loop, health, signals.

Start-up: load the config (a bad one is refused, every problem listed), build the gate
(store opened and migrated, door locked), start the camera feeds and the optional components,
wait for every camera's first frame, then tell systemd ``READY=1``.

Threads, each behind its own guard (:mod:`edge.app.supervisor`):

* the door's loop (:meth:`Door.start_loop`): relay, exit button, door contact, fire input and
  their timers — no network, disk or subprocess, so a pulse keeps its length and the fire
  input releases at once whatever else waits;
* the frame loop (this class): newest frame of each camera → scanner → de-duplication →
  :meth:`Gate.process_frame`; health; ``STATUS=`` when the health changes and every
  ``status_interval_s``; metrics;
* the watchdog: ``WATCHDOG=1`` while the door's loop beats and the frame loop is not stuck.
  A dead camera is a DEGRADED state (reconnected with back-off, an alert in the status), never
  a reason to withhold the watchdog: the exit button, fire input and other cameras go on;
* workers: the store writer (records that waited for the disk, in order) and housekeeping
  (retention by age and size), each restarted with back-off when it fails.

Signals only set flags, acted on by the loop within one iteration:

* SIGTERM / SIGINT → the door is locked first, then everything else stops.
* SIGHUP → the config is reloaded without touching the door (see :mod:`edge.app.reload`); a bad
  new config is refused and the running one kept, so the gate never runs unconfigured.

A hang of the door's loop (or of the frame loop for over ``MAIN_STALL_S``) stops the watchdog
pings and systemd restarts the service; the unit's ``ExecStopPost=edge-gate safe-door`` then
locks the door even after a kill. Storage faults never end the process (records wait in
memory, see :class:`~edge.store.sqlite.Store`); it ends only on SIGTERM/SIGINT or, at start,
an invalid config (78).
"""

from __future__ import annotations

import faulthandler
import logging
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from edge.app.components import (
    Component,
    FailedComponent,
    Runtime,
    restart_failed,
    start_components,
)
from edge.app.config import Config, ConfigError, load_config
from edge.app.feeds import CameraFeed, FeedState, Opener, open_camera
from edge.app.gate import Gate, build_gate
from edge.app.metrics import GateMetrics, MetricsServer
from edge.app.notify import Notifier
from edge.app.reload import Prepared, ReloadResult, apply_reload, prepare_reload
from edge.app.secrets import load_trust, with_credentials
from edge.app.supervisor import Cached, Worker
from edge.app.wiring import FACTORIES
from edge.core.clock import Clock, SystemClock
from edge.core.records import AlertBody, RecordKind
from edge.gate.credentials.clock_trust import PROBE_EVERY_S, ClockTrust, system_ntp_synchronized
from edge.gate.credentials.trust import TrustStore
from edge.gate.door.pins import make_pin_factory
from edge.store.retention import (
    cap_records,
    cap_snapshots,
    purge_acknowledged,
    relieve_disk_pressure,
)
from edge.vision.qr.dedupe import Deduper

log = logging.getLogger(__name__)

EXIT_CONFIG = 78  # EX_CONFIG: the unit's RestartPreventExitStatus= stops a restart loop
EXIT_STARTUP = 1  # cameras never came up: Restart=on-failure tries again
IDLE_SLEEP_S = 0.01  # loop pause when no camera had a new frame, s
HEALTH_EVERY_S = 0.1  # health evaluation period, s
METRICS_EVERY_S = 5.0  # outbox/camera gauges refresh period, s
FIRST_RETENTION_S = 60.0  # first retention run this long after start, s
FLUSH_EVERY_S = 1.0  # how often records waiting for the disk are tried again, s
SWEEP_EVERY_S = 60.0  # expired console sessions and login-throttle entries forgotten, s
DOOR_LOOP_LATE_S = 1.0  # the door's loop beats every few ms: silent this long = stuck, s
MAIN_STALL_S = 30.0  # the frame loop silent this long is stuck (a step may wait ~5 s), s
MB = 1 << 20


def camera_feeds(config: Config, opener: Opener) -> list[CameraFeed]:
    """One feed per configured camera (today the gate's reader camera)."""
    return [CameraFeed("gate", config.camera, opener)]


class Service:
    """One running gate. ``run()`` blocks until a stop signal and returns the exit status."""

    def __init__(
        self,
        config_path: Path | None,
        notifier: Notifier | None = None,
        clock: Clock | None = None,
        pin_factory: Any = None,
        opener: Opener = open_camera,
        trust: TrustStore | None = None,
    ) -> None:
        self.config_path = config_path
        self.notifier = notifier or Notifier()
        # None = the system clock, and then build_gate also applies [clock] trust (NTP, floor);
        # an injected clock (tests) is trusted as it is.
        self._clock = clock
        self.clock: Clock = clock or SystemClock()
        self._pin_factory = pin_factory
        self._opener = opener
        self._trust = trust
        self.config = Config()
        self.gate: Gate | None = None
        self.feeds: list[CameraFeed] = []
        self.components: list[Component] = []
        self._store_was_open = True  # one that opens later retries the failed parts at once
        self.metrics = GateMetrics()
        self.metrics_server: MetricsServer | None = None
        self.healthy = False
        self.last_reload: ReloadResult | None = None
        self.stop_signal: int | None = None
        self._reload_requested = False
        # A reload reads its files on a thread of its own; the frame loop applies the result.
        self._reload_reader: threading.Thread | None = None
        self._prepared: Prepared | ReloadResult | None = None
        self._problems: tuple[str, ...] = ("starting",)
        self._scans = [0, 0]  # allowed, refused since start
        self._store_problem = ""
        self.workers: list[Worker] = []
        self.runtime: Runtime | None = None
        self.main_beat = time.monotonic()
        self._watchdog_stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        # A code held up for two seconds is in ~30 frames: decide once per appearance.

    # --- signals -------------------------------------------------------------------------

    def install_signals(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        # On a watchdog kill (SIGABRT) the journal gets every thread's stack: shows the hang.
        if not faulthandler.is_enabled():  # pytest may have enabled it already
            faulthandler.enable()
        # `kill -USR1` prints every thread's stack and the gate goes on: for a stuck part.
        faulthandler.register(signal.SIGUSR1, all_threads=True, chain=False)

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_signal = signum

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        self._reload_requested = True

    def request_reload(self) -> None:
        self._reload_requested = True

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Load the config and build everything; raises ConfigError on a bad config."""
        self.config = with_credentials(load_config(self.config_path))
        self.notifier.status("starting: config loaded, opening store and door")
        factory = self._pin_factory
        if factory is None:
            factory = make_pin_factory(self.config.service.pin_factory)
        trust = self._trust
        if trust is None:
            trust = load_trust(self.config)
        self.gate = build_gate(self.config, clock=self._clock, pin_factory=factory, trust=trust)
        self.clock = self.gate.clock
        salvage = self.gate.store.salvage
        if salvage is not None:
            self._store_problem = (
                f"store file was unreadable ({salvage.error}): moved to {salvage.moved_to}, "
                f"{salvage.salvaged} unsynced records salvaged"
            )
            why = f"{self._store_problem}; {salvage.unreadable}".rstrip("; ")
            self.gate.store.append(
                RecordKind.ALERT, self.clock.time(), AlertBody(alert="store_salvaged", reason=why)
            )
        elif not self.gate.store.opened:
            # Disk full or read-only before the file existed, or not a regular file: the gate
            # decides at the door, records wait in memory and the store writer tries again.
            log.error("store: %s (records wait in memory)", self.gate.store.fault)
            self.gate.store.append(
                RecordKind.ALERT,
                self.clock.time(),
                AlertBody(alert="store_unavailable", reason=self.gate.store.fault[:200]),
            )
        elif not self.gate.store.integrity_ok():
            # Keep the entrance working (new records still commit) but say so everywhere.
            self._store_problem = "store failed its integrity check (see docs/operations.md)"
            log.error("%s: %s", self._store_problem, self.config.store.path)
        self.gate.door.start_loop()
        probes: list[Worker] = []
        if self.gate.clock_trust is not None:
            # The NTP probe runs `timedatectl` (up to 2 s): on a worker, its answer cached.
            ntp = Cached(system_ntp_synchronized)
            ntp.refresh()  # once now, so the first passes are not refused as "unknown"
            c = self.config.clock
            floor = c.floor_file or self.config.store.path.parent / "clock-floor"
            self.gate.clock_trust = ClockTrust(
                floor, ntp_probe=ntp.get, require_ntp=c.check == "ntp"
            )
            probes.append(
                Worker(
                    "clock probe", ntp.refresh, PROBE_EVERY_S, first_after_s=PROBE_EVERY_S, nice=10
                )
            )
        self.gate.events.on(self._count_scan)
        self.metrics.attach(self.gate.events)
        self.metrics.watch_workers(self.worker_states)
        self._start_metrics()
        self.feeds = camera_feeds(self.config, self._opener)
        for feed in self.feeds:
            feed.start()
        runtime = Runtime(
            self.config, self.gate, self.metrics, self.camera_fps, workers=self.worker_states
        )
        self.runtime = runtime
        self._store_was_open = self.gate.store.opened
        self.components = start_components(runtime, FACTORIES)
        self.workers = [
            *probes,
            Worker("store writer", self.flush_store, FLUSH_EVERY_S),
            Worker("component restarts", self.restart_components, 5.0, first_after_s=5.0),
            Worker("sweep", self.sweep, SWEEP_EVERY_S, first_after_s=SWEEP_EVERY_S),
            Worker(
                "housekeeping",
                self.run_retention_step,
                self.config.retention.interval_s,
                first_after_s=min(FIRST_RETENTION_S, self.config.retention.interval_s),
                nice=10,  # bulk deletes yield the CPU to the door and the frame loop
            ),
        ]
        for worker in self.workers:
            worker.start()

    def _start_metrics(self) -> None:
        m = self.config.metrics
        if not m.enabled:
            return
        try:
            self.metrics_server = MetricsServer(self.metrics, m.host, m.port)
        except OSError as exc:  # port taken: the gate matters more than its dashboard
            log.error("metrics endpoint %s:%d not started: %s", m.host, m.port, exc)

    def _count_scan(self, event: Any) -> None:
        if event.kind == "access":
            self._scans[0 if event.data.get("allow") else 1] += 1

    def wait_for_cameras(self) -> bool:
        """True once every camera delivered a frame; False on timeout or a stop signal."""
        deadline = time.monotonic() + self.config.service.startup_timeout_s
        shown = ""
        while self.stop_signal is None and time.monotonic() < deadline:
            states = [f.state() for f in self.feeds]
            if all(st.frames > 0 for st in states):
                return True
            waiting = ", ".join(f"{st.name}: {st.problem}" for st in states if st.frames == 0)
            if waiting != shown:  # only changes: the status is for people, not a ticker
                shown = waiting
                self.notifier.status(f"starting: waiting for cameras ({waiting})")
            time.sleep(0.05)
        return False

    def run(self) -> int:
        """Start, serve until SIGTERM/SIGINT, stop with the door locked first."""
        self.install_signals()
        try:
            self.start()
        except (ConfigError, ValueError) as exc:  # the file, or a key/lists file it names
            problems = exc.problems if isinstance(exc, ConfigError) else [str(exc)]
            for line in problems:
                log.error("config: %s", line)
            self.notifier.status(f"refusing to start: {len(problems)} config problem(s)")
            self.shutdown()
            return EXIT_CONFIG
        except Exception as exc:  # GPIO busy, store unwritable…: systemd retries
            log.exception("start failed")
            self.notifier.status(f"start failed: {exc}")
            self.shutdown()
            return EXIT_STARTUP
        try:
            if not self.wait_for_cameras():
                if self.stop_signal is not None:
                    return 0
                states = "; ".join(f"{s.name}: {s.problem}" for s in self._feed_states())
                log.error("cameras did not deliver a first frame in time: %s", states)
                self.notifier.status(f"start failed: cameras did not come up ({states})")
                return EXIT_STARTUP
            self._evaluate_health()
            self.notifier.ready(self.status_line())
            log.info("ready: %s", self.status_line())
            self._start_watchdog()
            self.loop()
            return 0
        finally:
            self.shutdown()

    def _start_watchdog(self) -> None:
        self._watchdog_stop.clear()
        self._watchdog = threading.Thread(target=self._feed_watchdog, name="watchdog", daemon=True)
        self._watchdog.start()

    def alive(self) -> bool:
        """The door's loop beats and the frame loop is not stuck: what the watchdog proves."""
        gate = self.gate
        if gate is None or not gate.door.looping:
            return False
        now = time.monotonic()
        return now - gate.door.beat < DOOR_LOOP_LATE_S and now - self.main_beat < MAIN_STALL_S

    def _feed_watchdog(self) -> None:
        # Its own thread: the frame loop may wait seconds on an online check or a slow disk
        # and that is no reason for systemd to kill a gate whose door still works.
        interval = self.notifier.watchdog_interval_s
        while not self._watchdog_stop.wait(interval):
            if self.alive():
                self.notifier.watchdog()

    def loop(self) -> None:
        now = time.monotonic()
        next_health = now
        next_status = now + self.config.service.status_interval_s
        next_metrics = now
        while self.stop_signal is None:
            self.main_beat = time.monotonic()
            if self._reload_requested and self._reload_reader is None:
                self._reload_requested = False
                self._start_reload()
            reader = self._reload_reader
            if reader is not None and not reader.is_alive():
                self._reload_reader = None
                self._finish_reload()
            worked = self._process_frames()
            assert self.gate is not None
            self.gate.tick()
            now = time.monotonic()
            if now >= next_health:
                next_health = now + HEALTH_EVERY_S
                if self._evaluate_health() or now >= next_status:
                    next_status = now + self.config.service.status_interval_s
                    self.notifier.status(self.status_line())
            if now >= next_metrics:
                next_metrics = now + METRICS_EVERY_S
                self._refresh_metrics()
            if not worked:
                time.sleep(IDLE_SLEEP_S)

    def _process_frames(self) -> bool:
        assert self.gate is not None
        worked = False
        for feed in self.feeds:
            frame = feed.take()
            if frame is None:
                continue
            worked = True
            for _outcome in self.gate.process_frame(frame.image, frame.t):
                self.metrics.decision_latency.observe(time.monotonic() - frame.t)
        return worked

    # --- health and status ---------------------------------------------------------------

    def _feed_states(self) -> list[FeedState]:
        return [f.state() for f in self.feeds]

    def camera_fps(self) -> dict[str, float]:
        """Frames per second of each entrance camera (for the console and sync heartbeat)."""
        return {s.name: s.fps for s in self._feed_states()}

    def _evaluate_health(self) -> bool:
        """Recompute health; True when the set of problems changed."""
        dead = [] if self.alive() else ["door loop not running"]
        degraded = [
            f"camera {s.name} dead: {s.problem} (reconnecting)"
            for s in self._feed_states()
            if not s.alive
        ]
        degraded += [f"{c.name}: {msg}" for c in self.components if (msg := c.problem())]
        degraded += [msg for w in self.workers if (msg := w.problem())]
        if self._store_problem:
            degraded.append(self._store_problem)
        store = self.gate.store if self.gate is not None else None
        if store is not None and not store.durable:
            degraded.append(
                f"store not writable ({store.fault or 'catching up'}): "
                f"{store.pending_count()} records waiting in memory, {store.lost_total} lost"
            )
        clock = self._clock_problem()
        if clock:
            degraded.append(clock)
        problems = tuple(dead + degraded)
        changed = problems != self._problems
        self._problems = problems
        self.healthy = not dead
        self.metrics.healthy.set(1 if self.healthy else 0)
        if changed:
            for p in problems:
                log.warning("health: %s", p)
            if not problems:
                log.info("health: all components healthy")
        return changed

    def _clock_problem(self) -> str:
        """Why the wall clock is not trusted ([clock]), or "": every pass is refused then."""
        trust = self.gate.clock_trust if self.gate is not None else None
        if trust is None:
            return ""
        status = trust.status(self.clock.time(), self.clock.monotonic())
        return "" if status.trusted else f"clock not trusted ({status.reason}): passes refused"

    def status_line(self) -> str:
        """One line for ``systemctl status``: what a technician needs to see first."""
        c = self.config
        cams = ", ".join(f"{s.name} {s.fps:.0f} fps" for s in self._feed_states() if s.alive)
        outbox = self.gate.store.outbox_depth() if self.gate else 0
        facts = f"{self._scans[0]} allowed, {self._scans[1]} refused, outbox {outbox}"
        if not self.healthy:
            head = "UNHEALTHY (door loop stopped: watchdog withheld, systemd restarts it)"
        elif self._problems:
            head = "running DEGRADED"
        else:
            head = "running"
        restarted = [
            f"{w['name']} {w['restarts']}"
            for w in self.worker_states()
            if w["restarts"] and not w["name"].startswith("camera ")  # cameras: their fps
        ]
        if restarted:
            facts += "; restarts: " + ", ".join(restarted)
        text = f"{head}: gate {c.gate.id} ({c.gate.direction.value}); {facts}"
        if cams:
            text += f"; cameras {cams}"
        if self._problems:
            text += "; " + "; ".join(self._problems)
        last = self.last_reload
        if last is not None and not last.applied:
            text += f"; last reload refused: {last.summary}"
        elif last is not None and last.pending_restart:
            text += "; restart needed for [" + "], [".join(last.pending_restart) + "]"
        return text

    def _refresh_metrics(self) -> None:
        assert self.gate is not None
        store = self.gate.store
        self.metrics.outbox_depth.set(store.outbox_depth())
        oldest = store.oldest_unacked_ts()
        self.metrics.oldest_unacked.set(0.0 if oldest is None else self.clock.time() - oldest)
        for s in self._feed_states():
            self.metrics.camera_fps.labels(camera=s.name).set(s.fps if s.alive else 0.0)
            self.metrics.camera_alive.labels(camera=s.name).set(1 if s.alive else 0)

    # --- operations ----------------------------------------------------------------------

    def _start_reload(self) -> None:
        """Read the files of a reload on a thread of its own: a slow disk or a FIFO named in
        the config must not hold up the frame loop (nor SIGTERM, acted on by the loop)."""
        assert self.gate is not None
        self.notifier.reloading()
        config, store = self.config, self.gate.store

        def read() -> None:
            try:
                self._prepared = prepare_reload(self.config_path, config, store)
            except Exception as exc:  # anything unexpected refuses the reload, never the gate
                log.exception("reload: reading the new config failed")
                self._prepared = ReloadResult(False, config, [f"reading failed: {exc}"])

        self._prepared = None
        self._reload_reader = threading.Thread(target=read, name="reload", daemon=True)
        self._reload_reader.start()

    def _finish_reload(self) -> None:
        assert self.gate is not None
        prepared = self._prepared
        if prepared is None:
            return
        if isinstance(prepared, ReloadResult):
            result = prepared
        else:
            result = apply_reload(prepared, self.config_path, self.config, self.gate)
        self.last_reload = result
        self.metrics.reloads.labels(result="applied" if result.applied else "refused").inc()
        if result.applied:
            if result.config.camera != self.config.camera:
                self._restart_feeds(result.config)
            if result.config.scanner != self.config.scanner:
                self.gate.deduper = Deduper.from_settings(result.config.scanner)
            self.config = result.config
        self._evaluate_health()
        # READY=1 ends systemd's "reloading" state whether the new config was taken or not.
        self.notifier.send(ready="1", status=self.status_line())

    def _restart_feeds(self, config: Config) -> None:
        for feed in self.feeds:
            feed.stop()
        self.feeds = camera_feeds(config, self._opener)
        for feed in self.feeds:
            feed.start()

    def restart_components(self) -> None:
        """Start again, alone and with back-off, each component that failed."""
        if self.runtime is not None:
            opened = self.runtime.gate.store.opened
            # the parts that keep state in the store (console accounts) failed for want of it:
            # once it opens they are tried now, not after a back-off grown to 10 minutes
            force = opened and not self._store_was_open
            self._store_was_open = opened
            # one assignment: the frame loop reads whichever list is current
            self.components = restart_failed(self.runtime, FACTORIES, self.components, force=force)

    def sweep(self) -> None:
        """Forget what expired in memory: console sessions, login-throttle entries (the
        sweep worker's step), so a long-running gate's maps never grow without bound."""
        for component in self.components:
            sweep = getattr(component, "sweep", None)
            if sweep is not None:
                gone = sweep()
                if gone:
                    log.debug("%s: %d expired entries forgotten", component.name, gone)

    def worker_states(self) -> list[dict[str, Any]]:
        """Every supervised part with its state, restarts and problem (console Health page,
        ``/metrics``, ``doctor``): workers, optional components and entrance cameras."""
        out: list[dict[str, Any]] = []
        for w in self.workers:
            st = w.state()
            out.append(
                {
                    "name": st.name,
                    "state": st.state,
                    "restarts": st.failures,
                    "problem": w.problem(),
                }
            )
        for c in self.components:
            problem = c.problem()
            failed = isinstance(c, FailedComponent)
            out.append(
                {
                    "name": c.name,
                    "state": "failed" if failed else ("degraded" if problem else "running"),
                    "restarts": c.attempts if isinstance(c, FailedComponent) else 0,
                    "problem": problem,
                }
            )
        for f in self._feed_states():
            out.append(
                {
                    "name": f"camera {f.name}",
                    "state": "running" if f.alive else "reconnecting",
                    "restarts": f.reconnects,
                    "problem": "" if f.alive else f.problem,
                }
            )
        return out

    def flush_store(self) -> None:
        """Write the records that waited for the disk (the store writer's step)."""
        gate = self.gate
        if gate is not None and not gate.store.durable:
            gate.store.flush(self.clock.time())

    def run_retention(self) -> None:
        """One retention run; a failure is logged and retried next period."""
        try:
            self.run_retention_step()
        except Exception:  # a failed clean-up must not take the door down
            log.exception("retention job failed")

    def run_retention_step(self) -> None:
        """Purge old records (by age; by size with ``max_db_mb``), keep snapshots in limits.

        With sync disabled nothing is ever acknowledged, so age applies to every record."""
        assert self.gate is not None
        r = self.config.retention
        store = self.gate.store
        now = self.clock.time()
        # A failure here (disk still full) goes to the worker's back-off, never to the door.
        purge_acknowledged(store, now, r.keep_days, unsynced_too=not self.config.sync.enabled)
        if r.max_db_mb > 0:
            cap_records(store, int(r.max_db_mb * MB), now)
        relieve_disk_pressure(store, int(r.min_free_mb * MB))
        folder = r.snapshot_dir
        perimeter = getattr(self.config, "perimeter", None)
        if folder is None and perimeter is not None and perimeter.enabled:
            folder = Path(perimeter.snapshot_dir)  # where perimeter alerts write JPEGs
        if folder is not None:
            cap_snapshots(folder, int(r.snapshot_max_mb * MB), int(r.min_free_mb * MB))

    def shutdown(self) -> None:
        """Door to its safe state first, then components, cameras, metrics, store."""
        self.notifier.stopping("stopping: door to its safe state first")
        self._watchdog_stop.set()
        gate = self.gate
        if gate is not None:
            try:
                gate.door.close()
                log.info("door in its safe state (relay de-energised)")
            except Exception:
                log.exception("could not lock the door cleanly")
        for worker in self.workers:
            worker.close()
        for component in reversed(self.components):
            component.close()
        for feed in self.feeds:
            feed.stop()
        if self.metrics_server is not None:
            self.metrics_server.close()
        if gate is not None:
            gate.store.close()
        self.gate = None
        self.notifier.close()


__all__ = ["EXIT_CONFIG", "EXIT_STARTUP", "Service", "camera_feeds"]
