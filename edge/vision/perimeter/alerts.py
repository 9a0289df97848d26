"""Perimeter alerts: values, lifecycle (new -> update -> end), cooldown and snapshots.

The app connects an :class:`AlertSink` to the durable outbox and the buzzer/LED; nothing here
knows about either. Each alert has a stable ``id`` across its phases so the store can keep one
row per event and the guard acknowledges it once.
Pure apart from writing snapshot files: time comes in as ``now`` (monotonic s) and ``wall``
(Unix s).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from edge.vision.geometry import Box, Point
from edge.vision.perimeter.zones import Occupant

log = logging.getLogger(__name__)


class AlertKind(StrEnum):
    PERSON_IN_ZONE = "person_in_zone"
    CAMERA_OFFLINE = "camera_offline"
    CAMERA_FROZEN = "camera_frozen"
    CAMERA_COVERED = "camera_covered"
    DETECTOR_UNAVAILABLE = "detector_unavailable"


class AlertPhase(StrEnum):
    NEW = "new"
    UPDATE = "update"
    END = "end"


#: Short messages for the guard's screen, Chinese first (the gate's default language).
MESSAGES: dict[AlertKind, tuple[str, str]] = {
    AlertKind.PERSON_IN_ZONE: ("隔离户门前有人员活动", "person at an isolated household's door"),
    AlertKind.CAMERA_OFFLINE: ("摄像头离线", "camera offline"),
    AlertKind.CAMERA_FROZEN: ("摄像头画面冻结", "camera image frozen"),
    AlertKind.CAMERA_COVERED: ("摄像头被遮挡或黑屏", "camera covered or black"),
    AlertKind.DETECTOR_UNAVAILABLE: ("人体检测不可用", "person detection unavailable"),
}


@dataclass(frozen=True, slots=True)
class Alert:
    """One phase of an alert event; ``id`` is shared by the event's new/update/end."""

    id: str
    kind: AlertKind
    phase: AlertPhase
    at: float  # monotonic seconds of this phase
    wall: float  # Unix seconds of this phase, for records
    started_wall: float  # Unix seconds of the event's NEW phase
    camera: str | None = None
    zone: str | None = None
    household: str | None = None  # 'building-unit-room'
    track_ids: tuple[int, ...] = ()
    score: float | None = None  # best detection confidence 0..1
    box: Box | None = None  # normalised box of the best detection
    snapshot: Path | None = None  # JPEG with box and zone drawn
    reason: str = ""  # why it ended, or details of a health problem

    @property
    def message(self) -> str:
        """Plain Chinese text for the guard's screen."""
        return MESSAGES[self.kind][0]

    @property
    def message_en(self) -> str:
        return MESSAGES[self.kind][1]


class AlertSink(Protocol):
    """Where alerts go; the app's implementation stores them durably and sounds the buzzer.

    ``emit`` is called on a camera thread; it must not block for long (enqueue and return).
    """

    def emit(self, alert: Alert) -> None: ...


@dataclass
class ListSink:
    """Keeps every alert in memory (tests, the demo, the CLI)."""

    alerts: list[Alert] = field(default_factory=list)

    def emit(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def of(self, kind: AlertKind, phase: AlertPhase | None = None) -> list[Alert]:
        return [a for a in self.alerts if a.kind is kind and (phase is None or a.phase is phase)]


def render_snapshot(
    frame_bgr: npt.NDArray[np.uint8],
    polygon: Sequence[Point],
    boxes: Sequence[Box],
    max_bytes: int = 120_000,
) -> bytes:
    """JPEG of the frame with the zone (yellow) and person boxes (red) drawn, ≤ ``max_bytes``.

    Quality is lowered first, then the image is halved, until it fits; a 4K frame therefore
    still yields a usable evidence picture within the outbox's size budget.
    """
    img = frame_bgr.copy()
    h, w = img.shape[:2]
    pts = np.array([[round(x * w), round(y * h)] for x, y in polygon], dtype=np.int32)
    thick = max(2, round(min(w, h) / 240))
    if len(pts) >= 3:
        cv2.polylines(img, [pts], True, (0, 220, 255), thick)
    for x1, y1, x2, y2 in boxes:
        cv2.rectangle(
            img, (round(x1 * w), round(y1 * h)), (round(x2 * w), round(y2 * h)), (0, 0, 255), thick
        )
    while True:
        for quality in (85, 70, 55, 40):
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if ok and buf.size <= max_bytes:
                return bytes(buf.tobytes())
        if min(img.shape[:2]) <= 32:
            return bytes(buf.tobytes()) if ok else b""
        half = (img.shape[1] // 2, img.shape[0] // 2)
        img = np.asarray(cv2.resize(img, half, interpolation=cv2.INTER_AREA), dtype=np.uint8)


@dataclass
class SnapshotStore:
    """Writes alert snapshots as ``<dir>/<alert id>.jpg``; a write error is logged, not raised."""

    directory: Path
    max_bytes: int = 120_000

    def save(
        self,
        alert_id: str,
        frame_bgr: npt.NDArray[np.uint8],
        polygon: Sequence[Point],
        boxes: Sequence[Box],
    ) -> Path | None:
        try:
            data = render_snapshot(frame_bgr, polygon, boxes, self.max_bytes)
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{alert_id}.jpg"
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(path)  # readers never see a half-written picture
            return path
        except (OSError, cv2.error) as exc:
            log.error("cannot save snapshot for alert %s: %s", alert_id, exc)
            return None


def new_alert_id() -> str:
    return uuid.uuid4().hex


@dataclass
class _Active:
    id: str
    started_wall: float
    last_update: float
    last_present: float


class ZoneAlerter:
    """The alert lifecycle of one zone.

    NEW when an armed, non-exempt zone has had an occupant for ``dwell_s`` and the zone is
    not cooling down; UPDATE at most every ``update_every_s`` while people stay; END after
    ``end_after_s`` with nobody in the zone, or at once when disarmed or exempted. After an
    END the zone stays quiet for ``cooldown_s`` so one event never becomes an alarm storm.
    """

    def __init__(
        self,
        zone_id: str,
        camera: str,
        household: str,
        polygon: Sequence[Point],
        *,
        dwell_s: float,
        cooldown_s: float,
        end_after_s: float,
        update_every_s: float,
        snapshots: SnapshotStore | None = None,
        make_id: Callable[[], str] = new_alert_id,
    ) -> None:
        self.zone_id, self.camera, self.household = zone_id, camera, household
        self.polygon = list(polygon)
        self.dwell_s, self.cooldown_s = dwell_s, cooldown_s
        self.end_after_s, self.update_every_s = end_after_s, update_every_s
        self.snapshots = snapshots
        self.make_id = make_id
        self.active: _Active | None = None
        self.cooldown_until = float("-inf")

    def _alert(
        self,
        phase: AlertPhase,
        now: float,
        wall: float,
        dwellers: Sequence[Occupant],
        frame: npt.NDArray[np.uint8] | None,
        reason: str = "",
    ) -> Alert:
        assert self.active is not None
        best = max(dwellers, key=lambda o: o.score, default=None)
        snapshot = None
        if frame is not None and dwellers and self.snapshots is not None:
            name = f"{self.active.id}-{phase.value}-{int(wall)}"
            snapshot = self.snapshots.save(name, frame, self.polygon, [o.box for o in dwellers])
        return Alert(
            self.active.id,
            AlertKind.PERSON_IN_ZONE,
            phase,
            now,
            wall,
            self.active.started_wall,
            camera=self.camera,
            zone=self.zone_id,
            household=self.household,
            track_ids=tuple(sorted(o.track_id for o in dwellers)),
            score=best.score if best else None,
            box=best.box if best else None,
            snapshot=snapshot,
            reason=reason,
        )

    def update(
        self,
        *,
        armed: bool,
        exempt: bool,
        occupants: Sequence[Occupant],
        frame: npt.NDArray[np.uint8] | None,
        now: float,
        wall: float,
    ) -> list[Alert]:
        """Alerts caused by this frame's occupants (usually none).

        Occupants missed in this frame (``seen`` False) neither raise nor prolong an alert;
        they only keep their dwell timer, so one missed detection does not restart it.
        """
        present = [o for o in occupants if o.seen]
        dwellers = [o for o in present if now - o.since >= self.dwell_s]
        if self.active is not None:
            if not armed or exempt:
                return [self._end(now, wall, "disarmed" if not armed else "exempt window")]
            if present:
                self.active.last_present = now
                if dwellers and now - self.active.last_update >= self.update_every_s:
                    self.active.last_update = now
                    return [self._alert(AlertPhase.UPDATE, now, wall, dwellers, frame)]
                return []
            if now - self.active.last_present >= self.end_after_s:
                return [self._end(now, wall, "zone empty")]
            return []
        if armed and not exempt and dwellers and now >= self.cooldown_until:
            self.active = _Active(self.make_id(), wall, now, now)
            return [self._alert(AlertPhase.NEW, now, wall, dwellers, frame)]
        return []

    def _end(self, now: float, wall: float, reason: str) -> Alert:
        alert = self._alert(AlertPhase.END, now, wall, [], None, reason)
        self.active = None
        self.cooldown_until = now + self.cooldown_s
        return alert


class ConditionAlerter:
    """NEW when a (debounced) condition becomes true, END when it clears: camera health."""

    def __init__(
        self, kind: AlertKind, camera: str | None, make_id: Callable[[], str] = new_alert_id
    ) -> None:
        self.kind, self.camera, self.make_id = kind, camera, make_id
        self.active_id: str | None = None
        self._started_wall = 0.0

    def update(self, active: bool, now: float, wall: float, reason: str = "") -> Alert | None:
        if active and self.active_id is None:
            self.active_id, self._started_wall = self.make_id(), wall
            return Alert(
                self.active_id,
                self.kind,
                AlertPhase.NEW,
                now,
                wall,
                wall,
                camera=self.camera,
                reason=reason,
            )
        if not active and self.active_id is not None:
            alert = Alert(
                self.active_id,
                self.kind,
                AlertPhase.END,
                now,
                wall,
                self._started_wall,
                camera=self.camera,
                reason="recovered",
            )
            self.active_id = None
            return alert
        return None
