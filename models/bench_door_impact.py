#!/usr/bin/env python3
"""Does person detection on perimeter cameras slow the door? (issue 5 target: ≤ 10 % worse)

Measures the QR scanner's time per 1280×720 frame holding a pass QR code — the CPU-bound part
of the door's frame-to-relay path — alone and while a :class:`PerimeterService` runs two
cameras (vtest.avi, 5 fps each, motion-gated, shared 1-thread detector). Blocks alternate
(alone, with cameras, alone, …) so load from other processes hits both alike.

    .venv/bin/python models/bench_door_impact.py [--blocks 3] [--frames 150] [--cameras 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import segno

from edge.config import ScannerSettings
from edge.vision.alerts import ListSink
from edge.vision.detector import Detector, cpu_name
from edge.vision.perimeter import PerimeterService
from edge.vision.scanner import Scanner
from edge.vision.settings import (
    DEFAULT_MODEL,
    CameraSettings,
    DetectorSettings,
    PerimeterSettings,
    ZoneSettings,
)

ROOT = Path(__file__).resolve().parents[1]


def qr_frame() -> np.ndarray:
    """A 1280×720 camera-like frame with a pass-sized QR code in it."""
    rng = np.random.default_rng(0)
    frame = np.clip(rng.normal(140, 12, (720, 1280, 3)), 0, 255).astype(np.uint8)
    qr = segno.make("EG1:" + "A" * 120, error="m")
    buf = Path("/tmp/.door_qr.png")
    qr.save(str(buf), scale=6, border=4)
    code = cv2.imread(str(buf))
    h, w = code.shape[:2]
    frame[200 : 200 + h, 500 : 500 + w] = code
    return frame


def scan_times(scanner: Scanner, frame: np.ndarray, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        codes = scanner.scan(frame)
        times.append((time.perf_counter() - start) * 1000.0)
        assert codes, "the test QR code must be read"
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", type=int, default=3)
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--cameras", type=int, default=2)
    args = ap.parse_args()
    video = ROOT / ".cache" / "testdata" / "vtest.avi"
    frame = qr_frame()
    scanner = Scanner(ScannerSettings())
    scan_times(scanner, frame, 20)  # warm-up
    detector = Detector(DetectorSettings(model=ROOT / DEFAULT_MODEL))
    settings = PerimeterSettings(
        enabled=True,
        snapshot_dir=Path("/tmp/door-impact-snaps"),
        cameras=[CameraSettings(id=f"cam{i}", source=str(video)) for i in range(args.cameras)],
        # One zone per camera, its household isolated: detection runs on every due frame.
        zones=[
            ZoneSettings(id=f"z{i}", camera=f"cam{i}", household=f"1-1-{101 + i}")
            for i in range(args.cameras)
        ],
    )
    isolated = {f"1-1-{101 + i}": "home_quarantine" for i in range(args.cameras)}
    alone: list[float] = []
    loaded: list[float] = []
    inferences = 0
    for _ in range(args.blocks):
        alone += scan_times(scanner, frame, args.frames)
        service = PerimeterService(settings, detector.detect, ListSink(), lambda: isolated)
        service.start()
        time.sleep(1.0)
        loaded += scan_times(scanner, frame, args.frames)
        service.stop()
        inferences += sum(p.inferences for p in service.pipelines.values())

    def stats(xs: list[float]) -> dict[str, float]:
        return {
            "median_ms": round(statistics.median(xs), 2),
            "p95_ms": round(float(np.percentile(xs, 95)), 2),
        }

    a, b = stats(alone), stats(loaded)
    print(
        json.dumps(
            {
                "machine": cpu_name(),
                "qr_scan_alone": a,
                f"qr_scan_with_{args.cameras}_cameras": b,
                "median_change_pct": round(100 * (b["median_ms"] / a["median_ms"] - 1), 1),
                "p95_change_pct": round(100 * (b["p95_ms"] / a["p95_ms"] - 1), 1),
                "detector_inferences": inferences,
            }
        )
    )


if __name__ == "__main__":
    main()
