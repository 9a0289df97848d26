"""Settings of perimeter cameras and zones (``[perimeter]``, ``[[perimeter.cameras]]``,
``[[perimeter.zones]]``). Coordinates are normalised to the frame (0..1, x right, y down) so
they survive a resolution change."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from edge.core.settings import Section
from edge.vision.camera.settings import PerimeterCameraSettings
from edge.vision.geometry import Point, check_polygon

_HOUSEHOLD = re.compile(r"^[^-\s]+-[^-\s]+-[^-\s]+$")


class ExemptWindow(Section):
    """A weekly window (local time) in which a zone does not alert, e.g. supply delivery."""

    days: list[int] = Field(
        default=[0, 1, 2, 3, 4, 5, 6],
        description="weekdays the window applies to, 0 = Monday .. 6 = Sunday",
    )
    start: dt.time = Field(default=dt.time(9, 0), description="local start time, HH:MM")
    end: dt.time = Field(
        default=dt.time(9, 30),
        description="local end time, HH:MM (exclusive); before start = spans midnight",
    )

    @field_validator("days")
    @classmethod
    def _days_in_week(cls, days: list[int]) -> list[int]:
        bad = [d for d in days if not 0 <= d <= 6]
        if bad or not days:
            raise ValueError(f"days must be 0 (Monday) .. 6 (Sunday), got {days}")
        return days


class ZoneSettings(Section):
    """A polygon in front of a household's door, armed while the household is isolated."""

    id: str = Field(default="zone1", pattern=r"^[A-Za-z0-9_-]{1,32}$", description="unique name")
    camera: str = Field(default="cam1", description="id of the camera that sees the zone")
    household: str = Field(
        default="1-1-101",
        description="household key 'building-unit-room' whose status arms the zone",
    )
    polygon: list[Point] = Field(
        default=[(0.25, 0.25), (0.75, 0.25), (0.75, 0.95), (0.25, 0.95)],
        description="normalised (x, y) corners, 0..1, at least 3, not self-intersecting",
    )
    arm: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="auto = armed exactly while the household is home_quarantine or sealed",
    )
    inertia: int = Field(
        default=3, ge=1, le=50, description="consecutive frames inside before 'in zone', count"
    )
    dwell_s: float = Field(
        default=3.0, ge=0.0, le=3600.0, description="seconds in zone before an alert"
    )
    min_score: float = Field(default=0.5, ge=0.0, le=1.0, description="per-box confidence")
    median_score: float = Field(
        default=0.6, ge=0.0, le=1.0, description="median confidence over the track, 0..1"
    )
    min_area: float = Field(
        default=0.0005, ge=0.0, le=1.0, description="smallest box, fraction of frame area"
    )
    max_area: float = Field(
        default=0.8, ge=0.0, le=1.0, description="largest box, fraction of frame area"
    )
    min_aspect: float = Field(
        default=0.15, ge=0.0, le=10.0, description="smallest box width/height ratio"
    )
    max_aspect: float = Field(
        default=1.5, ge=0.0, le=10.0, description="largest box width/height ratio"
    )
    cooldown_s: float = Field(
        default=60.0, ge=0.0, le=86400.0, description="quiet time after an alert ends, s"
    )
    end_after_s: float = Field(
        default=5.0, ge=0.0, le=3600.0, description="zone empty this long ends the alert, s"
    )
    update_every_s: float = Field(
        default=10.0, ge=0.5, le=3600.0, description="at most one update per this period, s"
    )
    exempt: list[ExemptWindow] = Field(
        default=[], description="weekly local-time windows without alerts (deliveries)"
    )

    @field_validator("household")
    @classmethod
    def _household_key(cls, key: str) -> str:
        if not _HOUSEHOLD.match(key):
            raise ValueError(f"household must be 'building-unit-room' like '3-2-501', got {key!r}")
        return key

    @field_validator("polygon")
    @classmethod
    def _polygon_valid(cls, polygon: list[Point]) -> list[Point]:
        return check_polygon(polygon, "polygon")

    @model_validator(mode="after")
    def _ranges_ordered(self) -> ZoneSettings:
        if self.min_area > self.max_area:
            raise ValueError(f"min_area {self.min_area} > max_area {self.max_area}")
        if self.min_aspect > self.max_aspect:
            raise ValueError(f"min_aspect {self.min_aspect} > max_aspect {self.max_aspect}")
        return self


class PerimeterSettings(Section):
    """Perimeter cameras and the household zones they watch."""

    enabled: bool = Field(default=False, description="run perimeter cameras")
    snapshot_dir: Path = Field(
        default=Path("var/snapshots"), description="folder for alert JPEG snapshots"
    )
    snapshot_max_bytes: int = Field(
        default=120_000, ge=10_000, le=2_000_000, description="largest snapshot file, bytes"
    )
    nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="Linux niceness added to the camera threads' (0..19, capped at 19): the "
        "door's own work wins the CPU when both want it",
    )
    cameras: list[PerimeterCameraSettings] = Field(default=[], description="[[perimeter.cameras]]")
    zones: list[ZoneSettings] = Field(default=[], description="[[perimeter.zones]]")

    @model_validator(mode="after")
    def _references(self) -> PerimeterSettings:
        camera_ids = [c.id for c in self.cameras]
        dup = {c for c in camera_ids if camera_ids.count(c) > 1}
        if dup:
            raise ValueError(f"camera ids must be unique: {sorted(dup)}")
        zone_ids = [z.id for z in self.zones]
        dup = {z for z in zone_ids if zone_ids.count(z) > 1}
        if dup:
            raise ValueError(f"zone ids must be unique: {sorted(dup)}")
        for zone in self.zones:
            if zone.camera not in camera_ids:
                raise ValueError(
                    f"zone {zone.id!r} refers to camera {zone.camera!r}, "
                    f"which is not among [[perimeter.cameras]] {camera_ids}"
                )
        return self
