"""Camera feeds for the service: each camera read by its own thread, latest frame kept.

Reading in a thread keeps the main loop (door, signals, watchdog) responsive when a camera
blocks — an RTSP stream that stalls or a USB camera being unplugged can hang ``read`` for
seconds. The main loop only ever takes the newest frame, so a slow scanner drops old frames
instead of falling behind real time.

A feed whose source ends, fails or stops delivering is *dead*; the feed reopens it every
``retry_s`` seconds. Liveness is judged by the age of the last frame, so a hung ``read`` is
detected as well as an error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.vision.sources import FrameSource, SourceError, SyntheticSource, open_source

log = logging.getLogger(__name__)

SYNTHETIC_FPS = 10.0  # pace of the stand-in camera, frames per second
RECORDED_FPS = 10.0  # pace of a video file or image folder replayed as a camera, frames/s

Opener = Callable[[str, int, int], FrameSource]


def _synthetic_frames(width: int, height: int) -> Iterator[np.ndarray]:
    """An endless grey test pattern at SYNTHETIC_FPS: lets the service run with no camera."""
    rng = np.random.default_rng(0)
    while True:
        time.sleep(1.0 / SYNTHETIC_FPS)
        yield rng.integers(100, 130, size=(height, width), dtype=np.uint8)


def is_recorded(spec: str) -> bool:
    """A video file or an image folder (replayed at RECORDED_FPS), not a live camera."""
    return spec != "synthetic" and not spec.isdigit() and Path(spec).exists()


def open_camera(spec: str, width: int, height: int) -> FrameSource:
    """``"synthetic"`` → an endless blank test pattern; anything else → :func:`open_source`."""
    if spec == "synthetic":
        return SyntheticSource(_synthetic_frames(width, height), "synthetic")
    return open_source(spec, width, height)


@dataclass(frozen=True)
class FeedState:
    """A snapshot of one feed for health and status: ``age_s`` since the last frame."""

    name: str
    alive: bool
    frames: int
    fps: float  # frames per second, smoothed
    age_s: float | None  # None before the first frame
    problem: str  # "" when alive


class CameraFeed:
    """One camera: a reader thread filling a one-frame slot; ``take`` hands the frame over."""

    def __init__(
        self,
        name: str,
        spec: str,
        width: int,
        height: int,
        stale_s: float,
        retry_s: float,
        opener: Opener = open_camera,
    ) -> None:
        self.name, self.spec = name, spec
        self.width, self.height = width, height
        self.stale_s, self.retry_s = stale_s, retry_s
        self._opener = opener
        # Files are read as fast as the CPU allows; pace them like a camera so a recording
        # behaves as a live feed (and ends after a predictable time).
        self._pace_s = 1.0 / RECORDED_FPS if is_recorded(spec) else 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._frame: np.ndarray | None = None
        self._frame_mono = 0.0
        self._last_mono: float | None = None
        self._frames = 0
        self._fps = 0.0
        self._problem = "opening"
        self._thread = threading.Thread(target=self._run, name=f"camera-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Ask the reader to stop; a read stuck in a driver is abandoned (daemon thread)."""
        self._stop.set()
        self._thread.join(timeout_s)

    def take(self) -> tuple[np.ndarray, float] | None:
        """The newest unseen frame and its monotonic capture time (s), or None."""
        with self._lock:
            frame, self._frame = self._frame, None
            return None if frame is None else (frame, self._frame_mono)

    def state(self, now_mono: float | None = None) -> FeedState:
        now = time.monotonic() if now_mono is None else now_mono
        with self._lock:
            age = None if self._last_mono is None else now - self._last_mono
            problem = self._problem
            if not problem and (age is None or age > self.stale_s):
                problem = f"no frame for {age or 0.0:.0f} s"
            return FeedState(self.name, not problem, self._frames, self._fps, age, problem)

    def _set_problem(self, problem: str) -> None:
        with self._lock:
            self._problem = problem

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                source = self._opener(self.spec, self.width, self.height)
            except (SourceError, OSError, ValueError) as exc:
                self._set_problem(f"cannot open: {exc}")
                log.warning(
                    "camera %s: cannot open (%s); retry in %.0f s", self.name, exc, self.retry_s
                )
                self._stop.wait(self.retry_s)
                continue
            try:
                self._read_until_dead(source)
            finally:
                source.close()
            if not self._stop.is_set():
                log.warning(
                    "camera %s: %s; reopening in %.0f s", self.name, self._problem, self.retry_s
                )
                self._stop.wait(self.retry_s)

    def _read_until_dead(self, source: FrameSource) -> None:
        while not self._stop.is_set():
            if self._pace_s:
                self._stop.wait(self._pace_s)
            try:
                frame = source.read()
            except Exception as exc:  # drivers raise anything; the feed must survive it
                self._set_problem(f"read failed: {exc}")
                return
            if frame is None:
                self._set_problem("source ended or delivered no frame")
                return
            now = time.monotonic()
            with self._lock:
                if self._last_mono is not None:
                    dt = max(now - self._last_mono, 1e-3)
                    self._fps = 0.9 * self._fps + 0.1 * (1.0 / dt) if self._fps else 1.0 / dt
                self._frame, self._frame_mono, self._last_mono = frame, now, now
                self._frames += 1
                self._problem = ""


__all__ = ["CameraFeed", "FeedState", "open_camera"]
