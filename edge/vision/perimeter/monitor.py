"""Perimeter cameras: rate-limited, motion-gated person detection feeding zones and alerts.

:class:`CameraPipeline` is the pure per-camera logic: give it frames with ``now`` (monotonic
s), ``wall`` (Unix s) and the household statuses, and it emits alerts to an
:class:`~.alerts.AlertSink`. :class:`PerimeterService` runs one thread per camera
around it (open/reconnect the source, read, pace) and is the part the app starts and stops.
The detector is shared: onnxruntime runs are thread-safe and release the GIL.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from edge.core.clock import Clock, SystemClock
from edge.vision.camera.health import CameraHealth, HealthReport
from edge.vision.camera.settings import PerimeterCameraSettings
from edge.vision.geometry import Detection, bottom_centre, point_in_polygon
from edge.vision.perimeter.alerts import (
    Alert,
    AlertKind,
    AlertSink,
    ConditionAlerter,
    SnapshotStore,
    ZoneAlerter,
)
from edge.vision.perimeter.settings import PerimeterSettings, ZoneSettings
from edge.vision.perimeter.tracker import IouTracker
from edge.vision.perimeter.zones import ZoneOccupancy, exemption, is_armed
from edge.vision.person.detector import DetectorStatus
from edge.vision.person.regions import (
    Budget,
    Plan,
    Rect,
    motion_boxes,
    motion_fraction,
    motion_probe,
    plan,
    run_plan,
)
from edge.vision.person.settings import DetectorSettings
from edge.vision.person.tiles import detect_tiled

log = logging.getLogger(__name__)

Frame = npt.NDArray[np.uint8]
DetectFn = Callable[[Frame], Sequence[Detection]]
MOTION_PIXEL_DELTA = 25  # grey levels: a pixel "changed" above this (noise stays below)


def changed_fraction(prev: Frame | None, cur: Frame) -> float:
    """Fraction (0..1) of thumbnail pixels that changed noticeably; 1.0 without history."""
    if prev is None or prev.shape != cur.shape:
        return 1.0
    a = cv2.GaussianBlur(prev, (5, 5), 0)
    b = cv2.GaussianBlur(cur, (5, 5), 0)
    return float((cv2.absdiff(a, b) > MOTION_PIXEL_DELTA).mean())


@dataclass
class _ZoneRuntime:
    settings: ZoneSettings
    occupancy: ZoneOccupancy
    alerter: ZoneAlerter


class CameraPipeline:
    """Everything one camera does per frame: health, motion gate, detect, track, zones, alerts."""

    def __init__(
        self,
        camera: PerimeterCameraSettings,
        zones: Sequence[ZoneSettings],
        detect: DetectFn,
        sink: AlertSink,
        *,
        snapshots: SnapshotStore | None = None,
        started: float = 0.0,
        detection: DetectorSettings | None = None,
        overhead: DetectFn | None = None,
        overhead_ready: Callable[[], bool] | None = None,
    ) -> None:
        self.camera = camera
        self.detect = detect
        self.overhead = overhead  # the high-view model (strategies overhead and auto)
        self.overhead_ready = overhead_ready or (lambda: overhead is not None)
        self.detection = detection or DetectorSettings()
        self.strategy = camera.strategy or self.detection.strategy
        self.budget = Budget(camera.budget_ms or self.detection.budget_ms)
        self.last_plan: Plan | None = None  # what the latest inference ran (tests, statistics)
        self.sink = sink
        self.tracker = IouTracker(max_age_s=max(3.0, 3.0 / camera.fps))
        self.health = CameraHealth(camera, started)
        self.zones = [
            _ZoneRuntime(
                z,
                ZoneOccupancy(z),
                ZoneAlerter(
                    z.id,
                    camera.id,
                    z.household,
                    z.polygon,
                    dwell_s=z.dwell_s,
                    cooldown_s=z.cooldown_s,
                    end_after_s=z.end_after_s,
                    update_every_s=z.update_every_s,
                    snapshots=snapshots,
                ),
            )
            for z in zones
            if z.camera == camera.id
        ]
        self._health_alerters = {
            kind: ConditionAlerter(kind, camera.id)
            for kind in (
                AlertKind.CAMERA_OFFLINE,
                AlertKind.CAMERA_FROZEN,
                AlertKind.CAMERA_COVERED,
            )
        }
        self._next_due = float("-inf")
        self._last_inference = float("-inf")
        self._prev_small: Frame | None = None
        self._last_detections: list[Detection] = []
        self._min_score = min((z.min_score for z in self.zones_settings), default=0.5)
        self.inferences = 0  # detector runs, for tests and statistics
        self.skipped = 0  # frames the motion gate let pass without inference

    @property
    def zones_settings(self) -> list[ZoneSettings]:
        return [z.settings for z in self.zones]

    def due(self, now: float) -> bool:
        """Whether a frame arriving at ``now`` should be processed (per-camera ``fps``)."""
        return now >= self._next_due

    def _emit(self, alerts: list[Alert]) -> list[Alert]:
        for alert in alerts:
            try:
                self.sink.emit(alert)
            except Exception:  # a failing sink must not stop the camera
                log.exception("alert sink failed for %s %s", alert.kind, alert.phase)
        return alerts

    def _health_alerts(self, report: HealthReport, now: float, wall: float) -> list[Alert]:
        out: list[Alert] = []
        flags = {
            AlertKind.CAMERA_OFFLINE: (report.offline, "no frames"),
            AlertKind.CAMERA_FROZEN: (report.frozen, "identical frames"),
            AlertKind.CAMERA_COVERED: (
                report.covered,
                f"brightness {report.brightness or 0:.0f}, contrast {report.contrast or 0:.1f}",
            ),
        }
        for kind, (active, reason) in flags.items():
            alert = self._health_alerters[kind].update(active, now, wall, reason)
            if alert is not None:
                out.append(alert)
        return out

    def tick(self, now: float, wall: float) -> list[Alert]:
        """Call when no frame came (source down): raises/ends the offline alert."""
        return self._emit(self._health_alerts(self.health.report(now), now, wall))

    def process(
        self,
        frame: Frame,
        now: float,
        wall: float,
        statuses: Mapping[str, str],
        manual: Mapping[str, bool] | None = None,
    ) -> list[Alert]:
        """Handle one frame: returns (and emits) the alerts it caused.

        ``statuses``: household key -> status from the synced lists; ``manual``: zone id ->
        armed by hand (overrides the status). Call only when :meth:`due`; frames in between
        may be dropped by the caller.
        """
        self._next_due = now + 1.0 / self.camera.fps
        self.health.observe(frame, now)
        report = self.health.report(now)
        alerts = self._health_alerts(report, now, wall)
        h, w = frame.shape[:2]
        manual = manual or {}
        armed = {
            zr.settings.id: is_armed(zr.settings, statuses, manual.get(zr.settings.id))
            for zr in self.zones
        }
        exempt = {zr.settings.id: exemption(zr.settings, wall) is not None for zr in self.zones}
        # Detect only while some zone can alert (or must still end its alert): most
        # households are not isolated most of the time, and the door needs the CPU.
        watching = any(armed[i] and not exempt[i] for i in armed) or any(
            zr.alerter.active is not None for zr in self.zones
        )
        blind = report.covered or report.frozen
        # Zones that matter now get the detector's first regions: armed ones and those whose
        # alert must still be able to end.
        focus = [
            zr.settings
            for zr in self.zones
            if (armed[zr.settings.id] and not exempt[zr.settings.id])
            or zr.alerter.active is not None
        ]
        detections = self._detections(frame, now, skip=blind or not watching, focus=focus)
        self.tracker.update(detections, now)
        live = self.tracker.tracks  # zones look at every live track, even briefly missed ones
        for zr in self.zones:
            z = zr.settings
            occupants = zr.occupancy.update(live, now, w / h)
            alerts += zr.alerter.update(
                armed=armed[z.id],
                exempt=exempt[z.id],
                occupants=occupants,
                frame=frame,
                now=now,
                wall=wall,
            )
        return self._emit(alerts)

    def _zone_rect(self, zone: ZoneSettings, width: int, height: int) -> Rect:
        """The zone's bounding box in pixels with ``zone_margin`` (twice that above: the
        zone holds a person's feet, the body stands above it)."""
        xs = [p[0] * width for p in zone.polygon]
        ys = [p[1] * height for p in zone.polygon]
        m = self.detection.zone_margin * height
        return (
            max(0, int(min(xs) - m)),
            max(0, int(min(ys) - 2 * m)),
            min(width, int(max(xs) + m + 1)),
            min(height, int(max(ys) + m + 1)),
        )

    def _detections(
        self, frame: Frame, now: float, skip: bool, focus: Sequence[ZoneSettings] = ()
    ) -> list[Detection]:
        """Normalised, unmasked detections; reuses the last ones when nothing moved.

        ``skip``: nothing to look for (no armed zone) or nothing to see (covered or frozen
        lens); the camera then runs only its health checks. ``focus``: the zones whose
        surroundings the ``regions``/``auto`` strategies look at first.
        """
        if skip:
            self._last_detections = []
            self._prev_small = None  # motion history would be stale when detection resumes
            return []
        h, w = frame.shape[:2]
        small = motion_probe(frame)
        # Armed zones count on their own: a small far person is a few ‰ of the picture but a
        # sizeable part of the zone he walks into (issue 20).
        areas = [self._zone_rect(z, w, h) for z in focus]
        moved = motion_fraction(self._prev_small, small, areas, (w, h))
        prev_small, self._prev_small = self._prev_small, small
        still = moved < self.camera.motion_threshold
        if still and now - self._last_inference < self.camera.max_skip_s:
            # Unchanged scene, unchanged people: a person standing still stays tracked.
            self.skipped += 1
            return self._last_detections
        self._last_inference = now
        self.inferences += 1
        if self.camera.tiles > 1:  # the per-camera N×N grid of before issue 20, kept as set
            raw = detect_tiled(self.detect, frame, self.camera.tiles)
        else:
            d = self.detection
            todo = plan(
                self.strategy,
                w,
                h,
                self.budget.count(),
                zones=[self._zone_rect(z, w, h) for z in focus],
                motion=motion_boxes(prev_small, small, w, h),
                region_px=d.region_px,
                overlap=d.tile_overlap,
                max_aspect=d.tile_aspect,
                overhead=self.overhead_ready(),
            )
            start = time.perf_counter()
            raw = run_plan(self.detect, frame, todo, overhead=self.overhead)
            if todo.model == "street":  # the budget counts street-model runs (NanoDet's ~3×)
                self.budget.observe((time.perf_counter() - start) * 1000.0, todo.inferences)
            self.last_plan = todo
        found = [d.normalised(w, h) for d in raw if d.score >= self._min_score]
        masks = self.camera.masks
        self._last_detections = [
            d for d in found if not any(point_in_polygon(bottom_centre(d.box), m) for m in masks)
        ]
        return self._last_detections


class FrameSourceLike(Protocol):
    """What :class:`PerimeterService` needs from a source (as in ``edge.vision.camera.sources``)."""

    def read(self) -> npt.NDArray[Any] | None: ...

    def close(self) -> None: ...


def _open_opencv(spec: str) -> FrameSourceLike:
    from edge.vision.camera.sources import OpenCVSource

    return OpenCVSource(spec)


def _lower_priority(nice: int) -> None:
    """Add ``nice`` to the calling thread's Linux niceness (capped at 19), so the door thread
    wins the CPU. Relative, not absolute: in a process started at niceness 10 (a unit's
    ``Nice=``), an absolute 10 would leave the cameras level with the door.

    On Linux ``setpriority`` with a thread id affects that thread only; with 1 onnxruntime
    thread the inference runs on this thread and so inherits it. Raising niceness needs no
    privilege; where it is unsupported the thread simply keeps its priority.
    """
    if nice <= 0:
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except (OSError, AttributeError) as exc:
        log.debug("cannot lower camera thread priority: %s", exc)


class PerimeterService:
    """Runs every configured perimeter camera in its own thread until :meth:`stop`.

    ``statuses`` is called once per processed frame and must be cheap (return the current
    snapshot of the synced lists as household key -> status). Unreachable or failing sources
    are retried every ``reconnect_s``; they raise the camera-offline alert, never an exception.
    ``detector_status`` (e.g. ``lambda: detector.status``) is checked at start and after each
    processed frame: a missing, corrupt or failed model raises one "detector unavailable"
    alert (ended if it recovers) while cameras keep running their health checks.
    ``detection``: the ``[detector]`` settings whose strategy and time budget the cameras use
    (defaults when None). ``overhead`` runs the high-view model (strategies ``overhead`` and
    ``auto``); ``overhead_ready`` says whether it can now (``auto`` falls back to the
    street-level model's regions or tiles when it cannot).
    """

    def __init__(
        self,
        settings: PerimeterSettings,
        detect: DetectFn,
        sink: AlertSink,
        statuses: Callable[[], Mapping[str, str]],
        *,
        clock: Clock | None = None,
        open_source: Callable[[str], FrameSourceLike] = _open_opencv,
        detector_status: Callable[[], DetectorStatus] | None = None,
        detection: DetectorSettings | None = None,
        overhead: DetectFn | None = None,
        overhead_ready: Callable[[], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.detector_status = detector_status
        self._detector_alerter = ConditionAlerter(AlertKind.DETECTOR_UNAVAILABLE, None)
        self._detector_lock = threading.Lock()
        self.sink = sink
        self.statuses = statuses
        self.clock: Clock = clock or SystemClock()
        self.open_source = open_source
        snapshots = SnapshotStore(Path(settings.snapshot_dir), settings.snapshot_max_bytes)
        start = self.clock.monotonic()
        self.pipelines = {
            cam.id: CameraPipeline(
                cam,
                settings.zones,
                detect,
                sink,
                snapshots=snapshots,
                started=start,
                detection=detection,
                overhead=overhead,
                overhead_ready=overhead_ready,
            )
            for cam in settings.cameras
        }
        # armed by hand (console thread, sync thread) and read by every camera thread
        self._manual: dict[str, bool] = {}
        self._manual_lock = threading.Lock()
        self._latest: dict[str, npt.NDArray[Any]] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def arm_by_hand(self, zone_id: str, armed: bool | None) -> None:
        """A guard arms (True) or disarms (False) a zone; None returns it to automatic."""
        with self._manual_lock:
            if armed is None:
                self._manual.pop(zone_id, None)
            else:
                self._manual[zone_id] = armed

    def latest_jpeg(self, camera_id: str, quality: int = 80) -> bytes | None:
        """The camera's newest frame as JPEG (for the guard console), or None before one."""
        frame = self._latest.get(camera_id)
        if frame is None:
            return None
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        return bytes(buf.tobytes()) if ok else None

    def manual_arming(self) -> dict[str, bool]:
        """Zones armed (True) or disarmed (False) by hand, by zone id (a copy)."""
        with self._manual_lock:
            return dict(self._manual)

    def check_detector(self) -> list[Alert]:
        """Raise or end the detector-unavailable alert from the detector's current status."""
        if self.detector_status is None:
            return []
        status = self.detector_status()
        with self._detector_lock:  # camera threads call this concurrently
            alert = self._detector_alerter.update(
                not status.ok, self.clock.monotonic(), self.clock.time(), status.message
            )
        if alert is None:
            return []
        try:
            self.sink.emit(alert)
        except Exception:
            log.exception("alert sink failed for %s", alert.kind)
        return [alert]

    def start(self) -> None:
        self._stop.clear()
        self.check_detector()
        for cam_id, pipeline in self.pipelines.items():
            t = threading.Thread(
                target=self._run, args=(pipeline,), name=f"perimeter-{cam_id}", daemon=True
            )
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()

    def health(self) -> dict[str, HealthReport]:
        now = self.clock.monotonic()
        return {cam_id: p.health.report(now) for cam_id, p in self.pipelines.items()}

    def _run(self, pipeline: CameraPipeline) -> None:
        _lower_priority(self.settings.nice)
        cam = pipeline.camera
        source: FrameSourceLike | None = None
        is_file = Path(cam.source).is_file()
        while not self._stop.is_set():
            now, wall = self.clock.monotonic(), self.clock.time()
            if source is None:
                try:
                    source = self.open_source(cam.source)
                    pipeline.health.reset()
                    pipeline.tracker.reset()
                except Exception as exc:  # SourceError, cv2.error, OSError...
                    log.warning("camera %s: %s", cam.id, exc)
                    pipeline.tick(now, wall)
                    self._stop.wait(cam.reconnect_s)
                    continue
            try:
                frame = source.read()
            except Exception as exc:  # corrupt stream: treat like a dropped connection
                log.warning("camera %s read failed: %s", cam.id, exc)
                frame = None
            if frame is None or not isinstance(frame, np.ndarray) or frame.size == 0:
                source.close()
                source = None
                pipeline.tick(now, wall)
                if not is_file:
                    self._stop.wait(cam.reconnect_s)
                continue  # a file simply loops (demo footage)
            self._latest[cam.id] = frame  # a reference only: encoded when a guard looks
            if pipeline.due(now):
                try:
                    pipeline.process(
                        frame.astype(np.uint8, copy=False),
                        now,
                        wall,
                        self.statuses(),
                        self.manual_arming(),
                    )
                except Exception:  # never let one bad frame kill the camera thread
                    log.exception("camera %s: frame processing failed", cam.id)
                self.check_detector()
            else:
                pipeline.tick(now, wall)
            if is_file:
                self._stop.wait(0.04)  # play files at ~25 fps instead of as fast as decoding
        if source is not None:
            source.close()
