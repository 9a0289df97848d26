"""Settings of the gate's own camera (``[camera]``): source, size and reconnects."""

from __future__ import annotations

from pydantic import Field

from edge.core.settings import Section


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
