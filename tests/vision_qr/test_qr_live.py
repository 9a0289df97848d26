"""The live capture keeps only the newest frame, and survives a camera that fails on purpose.

The fake sources hand out frames only when the test releases them, so what is asserted is
the order of events, never how fast anything ran. Waits have generous deadlines only to turn
a hang into a failure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.vision.camera.live import CaptureOptions, LiveCapture
from edge.vision.camera.sources import OpenCVSource, SourceError

FAST = CaptureOptions(reconnect_min_s=0.01, reconnect_max_s=0.05, stale_after_s=2.0)


def wait_until(cond: Callable[[], bool], deadline_s: float = 10.0) -> None:
    end = time.monotonic() + deadline_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not reached")
        time.sleep(0.002)


class GatedCamera:
    """A camera that produces frame n (all pixels = n) each time the test releases one;
    ``fail_after`` frames in, it raises like a pulled USB cable."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.name = "gated"
        self.gate = threading.Semaphore(0)
        self.n = 0
        self.fail_after = fail_after
        self.closed = False
        self.stopping: Callable[[], bool] = lambda: False  # set to the capture's flag

    def read(self) -> np.ndarray | None:
        while not self.gate.acquire(timeout=0.01):
            if self.stopping():
                return None  # the capture is stopping: give the thread back
        if self.fail_after is not None and self.n >= self.fail_after:
            raise OSError("camera unplugged")
        self.n += 1
        return np.full((8, 8), self.n % 256, np.uint8)

    def release(self, k: int = 1) -> None:
        for _ in range(k):
            self.gate.release()

    def close(self) -> None:
        self.closed = True


def test_reader_gets_the_newest_frame_and_stale_ones_are_dropped() -> None:
    cam = GatedCamera()
    with LiveCapture(lambda: cam, FAST) as cap:
        cam.stopping = lambda: cap.stopping
        cam.release(5)
        wait_until(lambda: cap.health().frames == 5)
        frame = cap.next_frame(timeout_s=5)
        assert frame is not None and frame.seq == 5  # frames 1..4 were never queued
        assert int(frame.image[0, 0]) == 5
        assert cap.health().dropped == 4
        # nothing newer yet: the reader is not handed the same frame again
        assert cap.next_frame(timeout_s=0.05) is None
        cam.release()
        nxt = cap.next_frame(timeout_s=5)
        assert nxt is not None and nxt.seq == 6
        assert cap.health().dropped == 4  # frame 5 was read, so it was not dropped


def test_capture_recovers_from_a_failing_camera() -> None:
    """The camera dies after 2 frames, the first reopen fails, the second works."""
    first = GatedCamera(fail_after=2)
    second = GatedCamera()
    opens: list[str] = []

    def open_camera() -> GatedCamera:
        opens.append("open")
        if len(opens) == 1:
            return first
        if len(opens) == 2:
            raise SourceError("cannot open camera '0'")
        return second

    with LiveCapture(open_camera, FAST) as cap:
        first.stopping = second.stopping = lambda: cap.stopping
        first.release(3)  # two frames, then the failure
        wait_until(lambda: len(opens) >= 3)
        wait_until(lambda: cap.health().connected)
        second.release(1)
        frame = cap.next_frame(after=2, timeout_s=5)
        assert frame is not None and frame.seq == 3  # numbering continues across reconnects
        health = cap.health()
        assert health.failures == 2  # the read failure and the failed open
        assert health.reconnects == 1
        assert health.connected and health.healthy
        assert health.last_error is not None and "cannot open camera" in health.last_error
    assert first.closed


def test_health_reports_a_stale_camera_and_fps() -> None:
    now = [100.0]
    cam = GatedCamera()
    with LiveCapture(lambda: cam, FAST, clock=lambda: now[0]) as cap:
        cam.stopping = lambda: cap.stopping
        assert cap.health().last_frame_age_s is None and not cap.health().healthy
        for _ in range(10):  # ten frames 0.1 s apart on the fake clock: 10 fps
            cam.release()
            seq = cap.health().frames
            wait_until(lambda s=seq: cap.health().frames == s + 1)  # type: ignore[misc]
            now[0] += 0.1
        health = cap.health()
        assert health.fps == pytest.approx(10.0, rel=0.01)
        assert health.healthy
        now[0] += 5.0  # the camera froze: nothing for 5 s
        stale = cap.health()
        assert not stale.healthy and stale.last_frame_age_s == pytest.approx(5.1)


class FreeCamera:
    """A camera producing frames as fast as it can, like a real one at its frame rate."""

    def __init__(self) -> None:
        self.name = "free"
        self.closed = False

    def read(self) -> np.ndarray | None:
        time.sleep(0.001)
        return np.zeros((8, 8), np.uint8)

    def close(self) -> None:
        self.closed = True


def test_stop_ends_the_thread_and_closes_the_camera() -> None:
    cam = FreeCamera()
    cap = LiveCapture(lambda: cam, FAST).start()
    assert cap.next_frame(timeout_s=5) is not None
    cap.stop()
    assert cap._thread is not None and not cap._thread.is_alive()
    assert cam.closed
    assert not cap.health().connected
    last = cap.latest()
    assert last is not None
    assert cap.next_frame(after=last.seq, timeout_s=0.05) is None  # nothing comes any more


def test_backoff_grows_to_the_maximum() -> None:
    waits: list[float] = []

    def never() -> GatedCamera:
        raise SourceError("no camera")

    opts = CaptureOptions(reconnect_min_s=0.001, reconnect_max_s=0.004)
    cap = LiveCapture(never, opts)
    orig = cap._stop.wait

    def record(t: float | None = None) -> bool:
        waits.append(float(t or 0))
        return orig(0)

    cap._stop.wait = record  # type: ignore[method-assign, assignment]
    cap.start()
    wait_until(lambda: len(waits) >= 5)
    cap.stop()
    assert waits[0] < waits[2]  # doubling, with ±20 % jitter
    assert max(waits) <= 0.004 * 1.2 + 1e-9
    assert cap.health().failures >= 5 and cap.health().reconnects == 0


def test_a_real_opencv_source_that_ends_is_reopened(tmp_path: Path) -> None:
    """A video file ending is a camera failure like any other: reopened after the back-off."""
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (64, 48))
    for i in range(5):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    with LiveCapture(lambda: OpenCVSource(str(path)), FAST) as cap:
        wait_until(lambda: cap.health().reconnects >= 2)
        health = cap.health()
        assert health.frames >= 10  # the clip was read at least twice
        assert health.failures >= 2 and health.last_error == "camera delivered no frame"
        frame = cap.next_frame(timeout_s=5)
        assert frame is not None and frame.image.shape == (48, 64, 3)
