"""Camera health: offline, frozen image, lens covered or blacked out.

A camera that is unplugged, stuck on one frame or taped over must raise an alert, otherwise
the perimeter silently stops protecting anyone. Each condition must hold for its configured
time before it counts, so a passing shadow or one dropped frame does not alarm the guard.
Pure: ``now`` is monotonic seconds supplied by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.vision.camera.settings import PerimeterCameraSettings

PROBE = (64, 48)  # px: small grey thumbnail, enough for brightness/contrast/identity tests
FROZEN_MEAN_DIFF = 0.1  # grey levels: real sensors differ by more even on a still scene


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The debounced conditions of one camera now, with the numbers behind them."""

    offline: bool
    frozen: bool
    covered: bool
    brightness: float | None  # mean grey level of the last frame, 0..255
    contrast: float | None  # grey-level standard deviation of the last frame
    seconds_since_frame: float | None


def thumbnail(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Small grey version of a frame (BGR or grey)."""
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    return np.asarray(cv2.resize(grey, PROBE, interpolation=cv2.INTER_AREA), dtype=np.uint8)


class CameraHealth:
    """Tracks one camera's frames and says which health conditions hold."""

    def __init__(self, camera: PerimeterCameraSettings, started: float) -> None:
        self.camera = camera
        self._last_frame_at: float | None = None
        self._started = started  # a camera that never delivers is offline after the timeout
        self._prev: npt.NDArray[np.uint8] | None = None
        self._same_since: float | None = None
        self._dark_since: float | None = None
        self._brightness: float | None = None
        self._contrast: float | None = None

    def observe(self, frame: npt.NDArray[np.uint8], now: float) -> None:
        """Record a frame received at ``now``."""
        small = thumbnail(frame)
        self._last_frame_at = now
        self._brightness = float(small.mean())
        self._contrast = float(small.std())
        cam = self.camera
        # Covered: a hand, tape or a cap gives a dark or featureless picture.
        flat = self._contrast < cam.covered_contrast
        dark = (
            self._brightness < cam.covered_brightness and self._contrast < 2 * cam.covered_contrast
        )
        if flat or dark:
            self._dark_since = now if self._dark_since is None else self._dark_since
        else:
            self._dark_since = None
        if (
            self._prev is not None
            and float(cv2.absdiff(small, self._prev).mean()) < FROZEN_MEAN_DIFF
        ):
            self._same_since = now if self._same_since is None else self._same_since
        else:
            self._same_since = None
        self._prev = small

    def reset(self) -> None:
        """Forget frame history (after a reconnect the picture may legitimately repeat)."""
        self._prev, self._same_since, self._dark_since = None, None, None

    def report(self, now: float) -> HealthReport:
        cam = self.camera
        since = now - (self._last_frame_at if self._last_frame_at is not None else self._started)
        offline = since >= cam.offline_after_s
        covered = (
            not offline
            and self._dark_since is not None
            and now - self._dark_since >= cam.covered_after_s
        )
        # A covered lens also repeats one black picture; report it once, as covered.
        frozen = (
            not offline
            and not covered
            and self._same_since is not None
            and now - self._same_since >= cam.frozen_after_s
        )
        return HealthReport(
            offline,
            frozen,
            covered,
            self._brightness,
            self._contrast,
            None if self._last_frame_at is None else now - self._last_frame_at,
        )
