"""Optional components wired into the service: started when configured, degrade when broken."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from gpiozero.pins.mock import MockFactory
from svckit import issuer_key

from edge.app.components import FailedComponent
from edge.app.notify import Notifier
from edge.app.service import Service


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_until(service: Service, probe: Callable[[Service], Any], timeout: float = 20.0) -> Any:
    """Run ``service`` in this (main) thread; once it is healthy call ``probe`` on another
    thread, then stop the service with SIGTERM. Returns what ``probe`` returned."""
    result: dict[str, Any] = {}
    done = threading.Event()

    def watch() -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end and not (service.gate is not None and service.healthy):
            if done.wait(0.02):
                return  # the service stopped by itself (e.g. a bad config)
        try:
            result["value"] = probe(service)
        except BaseException as exc:  # re-raised in the test's thread
            result["error"] = exc
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        status = service.run()
    finally:
        done.set()
        thread.join()
    assert status == 0
    if "error" in result:
        raise result["error"]
    return result.get("value")


def test_console_and_sync_start_and_stop_with_the_service(
    make_config: Callable[..., Path], tmp_path: Path, restore_signals: None
) -> None:
    port = free_port()
    (tmp_path / "central").mkdir()
    central_pub = issuer_key(tmp_path / "central")[1]
    config = make_config(
        frames=300,
        console={"enabled": True, "port": port},
        # Nothing listens on the broker port: records queue, the gate is not degraded yet.
        sync={"enabled": True, "port": free_port(), "central_keys": [str(central_pub)]},
    )

    def probe(service: Service) -> tuple[list[str], int, str]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
            code = resp.status
        return [c.name for c in service.components], code, service.status_line()

    names, code, status = run_until(Service(config, Notifier({}), pin_factory=MockFactory()), probe)
    assert names == ["sync", "console"]
    assert code == 200
    assert status.startswith("running:"), status  # within the sync grace period: not degraded


def test_a_component_that_fails_to_start_degrades_but_keeps_the_watchdog(
    make_config: Callable[..., Path], tmp_path: Path, restore_signals: None
) -> None:
    config = make_config(
        frames=300,
        sync={"enabled": True, "central_keys": [str(tmp_path / "missing-central.pub")]},
    )

    def probe(service: Service) -> tuple[list[Any], bool, str]:
        time.sleep(0.3)  # a few health evaluations
        return list(service.components), service.healthy, service.status_line()

    components, healthy, status = run_until(
        Service(config, Notifier({}), pin_factory=MockFactory()), probe
    )
    assert len(components) == 1 and isinstance(components[0], FailedComponent)
    assert components[0].name == "sync" and "failed to start" in components[0].reason
    assert healthy, "an optional part failing must not withhold the watchdog"
    assert status.startswith("running DEGRADED") and "sync: failed to start" in status


def small_video(path: Path, frames: int = 40) -> Path:
    fourcc = cv2.VideoWriter.fourcc(*"MJPG")
    writer = cv2.VideoWriter(str(path), fourcc, 10.0, (320, 240))
    for i in range(frames):
        writer.write(np.full((240, 320, 3), 60 + i, dtype=np.uint8))
    writer.release()
    return path


def test_perimeter_camera_runs_the_detector_and_feeds_metrics(
    make_config: Callable[..., Path], tmp_path: Path, restore_signals: None
) -> None:
    video = small_video(tmp_path / "corridor.avi")
    config = make_config(
        frames=300,
        perimeter={
            "enabled": True,
            "snapshot_dir": str(tmp_path / "snaps"),
            "cameras": [{"id": "cam-601", "source": str(video)}],
            # Armed by hand: the detector only runs while some zone can alert.
            "zones": [
                {
                    "id": "door-601",
                    "camera": "cam-601",
                    "household": "3-2-601",
                    "arm": "on",
                    "polygon": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]],
                }
            ],
        },
    )

    def probe(service: Service) -> tuple[list[str], float | None]:
        sample = service.metrics.registry.get_sample_value
        end = time.monotonic() + 10
        while time.monotonic() < end and not sample("edge_gate_detector_milliseconds_count"):
            time.sleep(0.05)
        return [c.name for c in service.components], sample("edge_gate_detector_milliseconds_count")

    names, detections = run_until(Service(config, Notifier({}), pin_factory=MockFactory()), probe)
    assert names == ["perimeter"]
    assert detections, "the detector never ran on the perimeter camera"


def test_untrusted_clock_degrades_the_status(
    make_config: Callable[..., Path], tmp_path: Path, restore_signals: None
) -> None:
    floor = tmp_path / "clock-floor"
    floor.write_text(f"{time.time() + 86_400:.0f}\n")  # last trusted time is tomorrow
    config = make_config(frames=300, clock={"check": "floor", "floor_file": str(floor)})

    def probe(service: Service) -> tuple[bool, str]:
        time.sleep(0.3)
        return service.healthy, service.status_line()

    healthy, status = run_until(Service(config, Notifier({}), pin_factory=MockFactory()), probe)
    assert healthy  # the entrance still runs (and refuses with a reason); no restart loop
    assert status.startswith("running DEGRADED") and "clock not trusted" in status
