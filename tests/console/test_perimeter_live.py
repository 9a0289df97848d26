"""The real perimeter pipeline into the console: a person walks into an armed zone, the
service's AlertRecorder makes it a record and an event, and Live shows it within 2 s."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from console_rig import OUTPUT, Env, login

from edge.app.wiring import AlertRecorder
from edge.tools.perimeter_demo import DEMO_CAMERA, DEMO_ZONE, walking_frames
from edge.vision.geometry import Detection
from edge.vision.perimeter.alerts import SnapshotStore
from edge.vision.perimeter.monitor import CameraPipeline


def find_walker(frame: np.ndarray) -> list[Detection]:
    """A stand-in detector: the box of pixels far from the plain grey background (pixels)."""
    mask = np.abs(frame.astype(np.int16) - 150).max(axis=2) > 45
    ys, xs = np.nonzero(mask)
    if len(xs) < 200:
        return []
    return [Detection((float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())), 0.9)]


class TimedSink:
    """Hands alerts to the service's recorder and notes when the first one left (monotonic s)."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.first: tuple[float, Any] | None = None

    def emit(self, alert: Any) -> None:
        self.recorder.emit(alert)
        if self.first is None:
            self.first = (time.monotonic(), alert)


def test_real_perimeter_alert_on_live_within_2s_and_ack(env: Env, page: Any) -> None:
    snaps = env.tmp / "snapshots"
    env.ctx.snapshot_dir = snaps
    sink = TimedSink(AlertRecorder(env.gate))
    pipe = CameraPipeline(
        DEMO_CAMERA, [DEMO_ZONE], find_walker, sink, snapshots=SnapshotStore(snaps)
    )
    login(page, env, "guard1")
    page.wait_for_url("**/live")
    page.locator("body[data-stream=open]").wait_for()  # live updates flowing
    wall0 = env.gate.clock.time()
    statuses = {"3-2-501": "home_quarantine"}  # armed: the household is isolated
    for i, frame in enumerate(walking_frames()):
        pipe.process(frame, i / 5.0, wall0 + i / 5.0, statuses)
        if sink.first is not None:
            break
    assert sink.first is not None, "the walker never raised an alert"
    emitted, alert = sink.first
    card = page.locator(f"article[data-key='{alert.id}']")
    card.wait_for(timeout=2000)
    assert time.monotonic() - emitted < 2.0
    assert "3-2-501" in card.inner_text()
    page.wait_for_function(
        f"document.querySelector(\"article[data-key='{alert.id}'] .snap img\").naturalWidth > 0"
    )
    page.screenshot(path=str(OUTPUT / "live-perimeter-alert.png"), full_page=True)
    card.locator("textarea").fill("called the household, they are inside")
    card.locator(".ack-btn").click()
    page.locator(f"article[data-key='{alert.id}'].acked").wait_for(timeout=2000)
    kinds = {r.kind: r.body for r in env.gate.store.records()}
    assert kinds["alert"]["alert_id"] == alert.id
    assert kinds["guard"]["action"] == "ack" and kinds["guard"]["alert"] == alert.id
    assert kinds["guard"]["user"] == "guard1"
