"""Does person detection on perimeter cameras slow the door? (issue 5: at most 10 % worse)

``edge-gate bench pipeline --perimeter-cameras N`` measures the gate's frame → relay latency
(the same path as ``bench pipeline``: scan, verify, decide, durable record, relay) in
alternating blocks: alone, then while a :class:`PerimeterService` runs N cameras, and again.
The cameras play vtest.avi at their default 5 fps, motion-gated, each with one zone whose
household is under home quarantine, so every due frame is a detection, sharing the default
1-thread detector as the service does. Nothing is pinned, as on the device; alternating the
blocks makes load from other processes hit both alike.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.tools.bench_pipeline import DISTINCT, bench_passes, measure_frames

DEFAULT_VIDEO = Path(".cache/testdata/vtest.avi")


def _service(cameras: int, video: Path, snapshots: Path, detector: Any) -> Any:
    from edge.vision.camera.settings import PerimeterCameraSettings
    from edge.vision.perimeter.alerts import ListSink
    from edge.vision.perimeter.monitor import PerimeterService
    from edge.vision.perimeter.settings import PerimeterSettings, ZoneSettings

    settings = PerimeterSettings(
        enabled=True,
        snapshot_dir=snapshots,
        cameras=[PerimeterCameraSettings(id=f"cam{i}", source=str(video)) for i in range(cameras)],
        zones=[
            ZoneSettings(id=f"z{i}", camera=f"cam{i}", household=f"1-1-{101 + i}")
            for i in range(cameras)
        ],
    )
    isolated = {f"1-1-{101 + i}": "home_quarantine" for i in range(cameras)}
    return PerimeterService(
        settings,
        detector.detect,
        ListSink(),
        lambda: isolated,
        detector_status=lambda: detector.status,
    )


def _stats(rows: list[dict[str, Any]]) -> dict[str, float]:
    ms = [v for r in rows for v in r["latencies_ms"]]
    return {
        "frames": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
    }


def bench_door_impact(
    cameras: int = 2,
    frames: int = 200,
    blocks: int = 3,
    size: tuple[int, int] = (1280, 720),
    video: Path = DEFAULT_VIDEO,
) -> dict[str, Any]:
    """Frame → relay p50/p95 alone vs with ``cameras`` perimeter cameras, ``blocks`` rounds.

    ``frames`` door frames per block and configuration. Raises ``FileNotFoundError`` when the
    video is missing (``scripts/fetch-test-data.sh`` fetches it) and ``RuntimeError`` when the
    detector cannot load, rather than reporting a comparison without detection in it.
    """
    from edge.tools.bench_qr import machine
    from edge.vision.person.detector import Detector
    from edge.vision.person.settings import DetectorSettings

    if not video.is_file():
        raise FileNotFoundError(f"{video} not found: run scripts/fetch-test-data.sh")
    detector = Detector(DetectorSettings())
    if not detector.status.ok:
        raise RuntimeError(f"person detector unavailable: {detector.status.message}")
    cv2.setNumThreads(1)
    texts, trust = bench_passes(min(frames, DISTINCT))
    alone: list[dict[str, Any]] = []
    loaded: list[dict[str, Any]] = []
    inferences, busy_s = 0, 0.0
    with tempfile.TemporaryDirectory(prefix="edge-impact-") as tmp:
        work = Path(tmp)
        for _ in range(blocks):
            alone.append(measure_frames(*size, texts, frames, trust, work, keep=True))
            service = _service(cameras, video, work / "snapshots", detector)
            started = time.perf_counter()
            service.start()
            time.sleep(1.0)  # cameras open and reach their steady rate before timing
            loaded.append(measure_frames(*size, texts, frames, trust, work, keep=True))
            service.stop()
            busy_s += time.perf_counter() - started
            inferences += sum(p.inferences for p in service.pipelines.values())
    a, b = _stats(alone), _stats(loaded)
    return {
        "machine": machine(),
        "size": f"{size[0]}x{size[1]}",
        "cameras": cameras,
        "model": detector.status.model,
        "alone": a,
        "with_cameras": b,
        "opened": sum(r["opened"] for r in alone + loaded),
        "missed": sum(r["missed"] for r in alone + loaded),
        "p50_change_pct": round(100 * (b["p50_ms"] / a["p50_ms"] - 1), 1),
        "p95_change_pct": round(100 * (b["p95_ms"] / a["p95_ms"] - 1), 1),
        "detector_inferences": inferences,
        "inferences_per_s": round(inferences / busy_s, 1) if busy_s else 0.0,
    }


def format_impact(result: dict[str, Any]) -> str:
    """The result as plain text."""
    a, b = result["alone"], result["with_cameras"]
    return "\n".join(
        [
            f"frame → relay at {result['size']}, {result['machine']['cpu']}",
            f"alone:                 p50 {a['p50_ms']:.1f} ms  p95 {a['p95_ms']:.1f} ms"
            f"  ({a['frames']} frames)",
            f"with {result['cameras']} perimeter cameras: p50 {b['p50_ms']:.1f} ms"
            f"  p95 {b['p95_ms']:.1f} ms  ({b['frames']} frames)",
            f"change: p50 {result['p50_change_pct']:+.1f} %  p95 {result['p95_change_pct']:+.1f} %"
            f"  ({result['detector_inferences']} detections,"
            f" {result['inferences_per_s']}/s while the cameras ran)",
        ]
    )
