"""Camera feeds for the service: :class:`~edge.vision.camera.live.LiveCapture` and what a
service needs.

LiveCapture reads each camera in its own thread, keeps only the newest frame and reopens a
failed camera with back-off (``[camera] reconnect_min_s``/``reconnect_max_s``). This module
adds, for ``edge-gate run``:

* ``"synthetic"`` as a camera: a blank test pattern at 10 fps, so the service can be tried on
  any machine with no camera;
* pacing of recordings: a video file or an image folder is replayed at 10 fps like a live
  camera (and so ends after a predictable time) instead of as fast as the CPU decodes it;
* a named feed with a one-line state for health, STATUS= and metrics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.vision.camera.live import CaptureOptions, Frame, LiveCapture
from edge.vision.camera.settings import CameraSettings
from edge.vision.camera.sources import FrameSource, SyntheticSource, open_source

log = logging.getLogger(__name__)

SYNTHETIC_FPS = 10.0  # pace of the stand-in camera, frames per second
RECORDED_FPS = 10.0  # pace of a video file or image folder replayed as a camera, frames/s

Opener = Callable[[str, int, int], FrameSource]


def is_recorded(spec: str) -> bool:
    """A video file or an image folder, not a live camera."""
    return spec not in ("synthetic", "picamera2") and not spec.isdigit() and Path(spec).exists()


class PacedSource:
    """Hands out another source's frames no faster than ``fps`` frames per second."""

    def __init__(self, inner: FrameSource, fps: float) -> None:
        self.name = inner.name
        self._inner = inner
        self._period = 1.0 / fps
        self._next = time.monotonic()

    def read(self) -> np.ndarray | None:
        delay = self._next - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next = max(self._next + self._period, time.monotonic())
        return self._inner.read()

    def close(self) -> None:
        self._inner.close()


def _synthetic_frames(width: int, height: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(0)
    while True:
        yield rng.integers(100, 130, size=(height, width), dtype=np.uint8)


def open_camera(spec: str, width: int, height: int) -> FrameSource:
    """A source for ``[camera] source``; raises SourceError when it cannot be opened."""
    if spec == "synthetic":
        return PacedSource(SyntheticSource(_synthetic_frames(width, height)), SYNTHETIC_FPS)
    source = open_source(spec, width, height)
    return PacedSource(source, RECORDED_FPS) if is_recorded(spec) else source


@dataclass(frozen=True)
class FeedState:
    """One feed for health and status: ``alive`` = delivering fresh frames."""

    name: str
    alive: bool
    frames: int
    fps: float  # frames per second over the last few seconds
    age_s: float | None  # seconds since the newest frame; None before the first
    problem: str  # "" when alive
    reconnects: int = 0  # successful reopens after a failure


class CameraFeed:
    """A named camera: ``take`` hands the main loop the newest frame it has not seen."""

    def __init__(self, name: str, settings: CameraSettings, opener: Opener = open_camera) -> None:
        self.name = name
        self.settings = settings
        self.capture = LiveCapture(
            lambda: opener(settings.source, settings.width, settings.height),
            CaptureOptions.from_settings(settings),
        )

    def start(self) -> None:
        self.capture.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop the capture thread; a read stuck in a driver is abandoned (daemon thread)."""
        self.capture.stop(timeout_s)

    def take(self) -> Frame | None:
        """The newest unseen frame (``t`` = monotonic capture time, s), or None at once."""
        return self.capture.next_frame(timeout_s=0.0)

    def state(self) -> FeedState:
        h = self.capture.health()
        problem = ""
        if not h.healthy:
            if h.frames == 0 and h.last_error is None:
                problem = "opening"
            elif not h.connected:
                problem = h.last_error or "disconnected"
            else:
                problem = f"no frame for {h.last_frame_age_s or 0.0:.0f} s"
        return FeedState(
            self.name, h.healthy, h.frames, h.fps, h.last_frame_age_s, problem, h.reconnects
        )


__all__ = ["CameraFeed", "FeedState", "PacedSource", "open_camera"]
