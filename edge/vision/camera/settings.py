"""Settings of cameras: the gate's own (``[camera]``: source, size, reconnects) and each
perimeter camera (``[[perimeter.cameras]]``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from edge.core.settings import Section
from edge.vision.geometry import Point, check_polygon


class CameraSettings(Section):
    source: str = Field(
        default="synthetic",
        min_length=1,
        description=(
            "'synthetic', 'picamera2', a USB index ('0'), a video file, an RTSP URL"
            " or an image folder"
        ),
    )
    width: int = Field(default=1280, ge=160, le=4096, description="frame width, pixels")
    height: int = Field(default=720, ge=120, le=3072, description="frame height, pixels")
    reconnect_min_s: float = Field(
        default=0.5, ge=0.01, le=60.0, description="first wait before reopening a failed camera, s"
    )
    reconnect_max_s: float = Field(
        default=10.0, ge=0.1, le=600.0, description="longest wait between camera reopen tries, s"
    )
    stale_after_s: float = Field(
        default=2.0,
        ge=0.1,
        le=60.0,
        description="a camera whose last frame is older than this is reported unhealthy, s",
    )


class PerimeterCameraSettings(Section):
    """One perimeter camera (in front of quarantined doors, a corridor, a gate)."""

    id: str = Field(
        default="cam1",
        pattern=r"^[A-Za-z0-9_-]{1,32}$",
        description="short unique name, used in alerts and zones",
    )
    source: str = Field(
        default="0",
        min_length=1,
        description="USB index ('0'), video file path or rtsp:// / http:// URL",
    )
    fps: float = Field(
        default=5.0, gt=0.0, le=30.0, description="person detection rate, frames per second"
    )
    motion_threshold: float = Field(
        default=0.002,
        ge=0.0,
        le=1.0,
        description="fraction of the picture, or of an armed zone's region, that must change "
        "to run detection; 0 = always detect",
    )
    tiles: int = Field(
        default=1,
        ge=1,
        le=4,
        description="1 = detect on the whole frame; N = also on N×N overlapping crops, for "
        "small/far people (costs N²+1 inferences per frame); N > 1 overrides strategy",
    )
    strategy: Literal["single", "tiles", "regions", "overhead", "auto"] | None = Field(
        default=None,
        description="this camera's detection strategy; null = [detector] strategy",
    )
    budget_ms: float | None = Field(
        default=None,
        ge=1.0,
        le=2000.0,
        description="this camera's detection time per frame, ms; null = [detector] budget_ms",
    )
    max_skip_s: float = Field(
        default=2.0,
        ge=0.0,
        le=60.0,
        description="run detection at least this often even without motion, seconds",
    )
    masks: list[list[Point]] = Field(
        default=[],
        description="polygons (normalised x,y) where detections are ignored (trees, posters)",
    )
    offline_after_s: float = Field(
        default=10.0, ge=1.0, le=3600.0, description="no frame this long = offline alert, s"
    )
    frozen_after_s: float = Field(
        default=30.0, ge=1.0, le=3600.0, description="identical frames this long = frozen, s"
    )
    covered_after_s: float = Field(
        default=5.0, ge=0.5, le=3600.0, description="dark/featureless this long = covered, s"
    )
    covered_brightness: float = Field(
        default=20.0, ge=0.0, le=255.0, description="mean grey level under which it is 'black'"
    )
    covered_contrast: float = Field(
        default=6.0,
        ge=0.0,
        le=128.0,
        description="grey-level standard deviation under which the view is featureless",
    )
    reconnect_s: float = Field(
        default=5.0, ge=0.1, le=600.0, description="wait between reconnection attempts, s"
    )

    @field_validator("masks")
    @classmethod
    def _masks_valid(cls, masks: list[list[Point]]) -> list[list[Point]]:
        for i, mask in enumerate(masks):
            check_polygon(mask, f"mask {i + 1}")
        return masks
