"""A camera that vanishes and returns: DEGRADED, reconnected with back-off, never a restart.

Before issue 16 the watchdog was fed only while every camera delivered frames: a folder camera
removed for 20 s with WatchdogSec=4 gave 5 pings in 30 s (largest gap 21.1 s), and with the
shipped unit a camera missing for minutes ended in start-limit-hit — exit button, fire input
and the other cameras with it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path

from faultkit import (
    GateRun,
    NotifyListener,
    Pass,
    base_config,
    code_folder,
    decisions,
    every,
    wait_until,
)

GONE_S = 6.0


def test_camera_vanishing_and_returning_keeps_the_watchdog_fed(
    tmp_path: Path,
    signed_pass: Pass,
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    camera = code_folder(tmp_path / "cam", every(signed_pass.text, 20, 40))
    sections = base_config(tmp_path, signed_pass, camera, tmp_path / "gate.sqlite3")
    gate = gate_run(sections, watchdog_usec=1_000_000)  # WatchdogSec=1: a ping every 0.5 s
    notify.wait_for("READY", "1")
    wait_until("a first decision", lambda: decisions(gate.log()), gate=gate)

    away = tmp_path / "cam-unplugged"
    camera.rename(away)  # the camera is gone (its device vanished)
    gone = time.monotonic()
    status = notify.wait_for("STATUS", "camera gate dead", timeout=10)
    assert "DEGRADED" in status["STATUS"] and "UNHEALTHY" not in status["STATUS"]
    time.sleep(max(0.0, GONE_S - (time.monotonic() - gone)))
    made = len(decisions(gate.log()))
    away.rename(camera)  # and back
    back = time.monotonic()
    wait_until("decisions again", lambda: len(decisions(gate.log())) > made, gate=gate)
    assert gate.alive()
    pings = notify.watchdog_times(since=gone)
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert pings and pings[0] - gone < 1.0 and max(gaps) < 1.0, gaps
    assert time.monotonic() - back < 20
    assert gate.stop() == 0
    assert "Traceback" not in gate.log()
