"""Live camera ingest that never lags: a capture thread keeping only the newest frame.

A camera delivers frames at its own pace whatever the reader does. If the reader is slower
(a hard frame took the whole scan budget), queued frames would make the gate answer for a
resident who has already moved on; so the capture thread overwrites a single slot and the
reader always gets the newest frame, never a stale one. Frames overwritten unread are counted
as dropped.

When the camera fails (``read`` raises or returns None, opening fails, the USB cable is pulled,
the RTSP stream stalls) the thread closes it and reopens it after an exponential back-off with
jitter, from ``reconnect_min_s`` up to ``reconnect_max_s``, until :meth:`LiveCapture.stop`.
:meth:`LiveCapture.health` reports frames per second, the age of the last frame and failures.

Use::

    opts = CaptureOptions.from_settings(cfg.camera)
    cap = LiveCapture(lambda: open_source(cfg.camera.source), opts)
    cap.start()
    frame = cap.next_frame(after=None, timeout_s=1.0)  # newest frame, or None
    ...
    cap.stop()
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edge.vision.camera.settings import CameraSettings
from edge.vision.camera.sources import FrameSource, SourceError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    """One captured frame: ``seq`` counts frames since start (1, 2, …), ``t`` is when it was
    captured in seconds of the capture's clock (monotonic)."""

    seq: int
    image: np.ndarray
    t: float


@dataclass(frozen=True)
class CaptureStatus:
    """The camera as the guard console and the watchdog see it."""

    connected: bool  # a source is open and delivering
    fps: float  # frames per second over the last few seconds
    last_frame_age_s: float | None  # seconds since the newest frame; None before the first
    frames: int  # frames captured since start
    dropped: int  # frames overwritten before anyone read them
    failures: int  # failed opens and reads since start
    reconnects: int  # successful reopens after a failure
    last_error: str | None  # the latest failure, for the log and the console
    healthy: bool  # connected and the last frame is younger than ``stale_after_s``


@dataclass(frozen=True)
class CaptureOptions:
    """Back-off bounds and staleness limit, in seconds."""

    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 10.0
    stale_after_s: float = 2.0
    fps_window_s: float = 3.0  # frames counted for the fps figure

    @staticmethod
    def from_settings(camera: CameraSettings) -> CaptureOptions:
        """The options of a ``[camera]`` config section."""
        return CaptureOptions(camera.reconnect_min_s, camera.reconnect_max_s, camera.stale_after_s)


class LiveCapture:
    """Runs ``open_source`` in a daemon thread and keeps its newest frame.

    ``open_source`` is called to (re)open the camera; it may raise. ``clock`` is monotonic
    seconds and ``rng`` draws the back-off jitter; both are injectable for tests.
    """

    def __init__(
        self,
        open_source: Callable[[], FrameSource],
        options: CaptureOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._open = open_source
        self.options = options or CaptureOptions()
        self._clock = clock
        self._rng = rng or random.Random()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._latest: Frame | None = None
        self._read_seq = 0  # newest seq handed to a reader
        self._times: deque[float] = deque()  # capture times within the fps window
        self._connected = False
        self._frames = self._dropped = self._failures = self._reconnects = 0
        self._last_error: str | None = None

    def start(self) -> LiveCapture:
        """Start the capture thread (once); returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="camera", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop the thread and wait up to ``timeout_s`` seconds for it to close the source."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called: a source blocking in ``read`` may poll it."""
        return self._stop.is_set()

    def __enter__(self) -> LiveCapture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def latest(self) -> Frame | None:
        """The newest frame, read or not, without waiting; None before the first."""
        with self._cond:
            return self._latest

    def next_frame(self, after: int | None = None, timeout_s: float = 1.0) -> Frame | None:
        """The newest frame with ``seq`` > ``after`` (default: the last one handed out),
        waiting up to ``timeout_s`` seconds; None when none came (camera down or stopped)."""
        # real time for the wait, whatever clock stamps the frames (tests inject a fake one)
        deadline = time.monotonic() + timeout_s
        with self._cond:
            floor = self._read_seq if after is None else after
            while self._latest is None or self._latest.seq <= floor:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stop.is_set():
                    return None
                self._cond.wait(remaining)
            self._read_seq = max(self._read_seq, self._latest.seq)
            return self._latest

    def health(self) -> CaptureStatus:
        """A snapshot of the camera's state (thread-safe, cheap)."""
        now = self._clock()
        with self._cond:
            window = [t for t in self._times if now - t <= self.options.fps_window_s]
            span = (window[-1] - window[0]) if len(window) > 1 else 0.0
            fps = (len(window) - 1) / span if span > 0 else 0.0
            age = None if self._latest is None else now - self._latest.t
            fresh = age is not None and age <= self.options.stale_after_s
            return CaptureStatus(
                connected=self._connected,
                fps=round(fps, 2),
                last_frame_age_s=None if age is None else round(age, 3),
                frames=self._frames,
                dropped=self._dropped,
                failures=self._failures,
                reconnects=self._reconnects,
                last_error=self._last_error,
                healthy=self._connected and fresh,
            )

    def _publish(self, image: np.ndarray) -> None:
        now = self._clock()
        with self._cond:
            if self._latest is not None and self._latest.seq > self._read_seq:
                self._dropped += 1  # the reader never saw the previous frame: stale, gone
            self._frames += 1
            self._latest = Frame(self._frames, image, now)
            self._times.append(now)
            cutoff = now - self.options.fps_window_s
            while self._times and self._times[0] < cutoff:
                self._times.popleft()
            self._cond.notify_all()

    def _fail(self, what: str, backoff: float) -> float:
        """Record a failure and wait ``backoff`` ± 20 % jitter; returns the next back-off."""
        with self._cond:
            self._failures += 1
            self._last_error = what
            self._connected = False
        log.warning("camera: %s; retrying in %.1f s", what, backoff)
        # jitter: gates on one switch must not hammer a shared NVR in lockstep
        self._stop.wait(backoff * self._rng.uniform(0.8, 1.2))
        return min(self.options.reconnect_max_s, backoff * 2)

    def _run(self) -> None:
        backoff = self.options.reconnect_min_s
        failed_before = False
        while not self._stop.is_set():
            try:
                source = self._open()
            except Exception as exc:  # any driver error is a camera failure, not a crash
                why = str(exc) if isinstance(exc, SourceError) else f"cannot open camera: {exc}"
                backoff = self._fail(why, backoff)
                failed_before = True
                continue
            with self._cond:
                self._connected = True
                if failed_before:
                    self._reconnects += 1
            ended = self._pump(source)
            try:
                source.close()
            except Exception:  # closing a dead device may fail too; it is gone either way
                log.debug("camera close failed", exc_info=True)
            if ended is None:  # stopped
                break
            error, delivered = ended
            failed_before = True
            if delivered:  # it worked for a while: a new outage starts the back-off over
                backoff = self.options.reconnect_min_s
            backoff = self._fail(error, backoff)
        with self._cond:
            self._connected = False
            self._cond.notify_all()

    def _pump(self, source: FrameSource) -> tuple[str, bool] | None:
        """Read ``source`` until it fails — returns why and whether it delivered any frame —
        or until the capture stops (returns None)."""
        delivered = False
        while not self._stop.is_set():
            try:
                image = source.read()
            except Exception as exc:
                return f"camera read failed: {exc}", delivered
            if image is None or image.size == 0:
                return "camera delivered no frame", delivered
            delivered = True
            self._publish(image)
        return None
