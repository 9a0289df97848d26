"""Does person detection on perimeter cameras slow the door? (issue 5: at most 10 % worse)

``edge-gate bench pipeline --perimeter-cameras N`` measures the gate's frame → relay latency
(the same path as ``bench pipeline``: scan, verify, decide, durable record, relay) in
alternating blocks: alone, then while a :class:`PerimeterService` runs N cameras, and again.
The cameras play vtest.avi at their default 5 fps, motion-gated, each with one zone whose
household is under home quarantine, so every due frame is a detection, sharing the default
1-thread detector as the service does, with the default ``[detector] strategy`` and budget.
Nothing is pinned, as on the device; alternating the blocks makes load from other processes
hit both alike. The load average before and after and each block's p95 are reported, so a
reader can tell a noisy run from a real difference.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.tools.bench_pipeline import DISTINCT, bench_passes, measure_frames

DEFAULT_VIDEO = Path(".cache/testdata/vtest.avi")


class _Counted:
    """The detector's ``detect``, counting model runs (a frame of ``tiles``/``regions`` is
    several)."""

    def __init__(self, detector: Any) -> None:
        self.detector = detector
        self.runs = 0

    def __call__(self, frame: Any) -> Any:
        self.runs += 1
        return self.detector.detect(frame)


def _service(
    cameras: int, video: Path, snapshots: Path, detector: Any, overhead: Any = None
) -> Any:
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
        detector,
        ListSink(),
        lambda: isolated,
        detector_status=lambda: detector.detector.status,
        overhead=overhead,
        overhead_ready=(lambda: overhead.detector.status.ok) if overhead is not None else None,
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
    settings = DetectorSettings()
    detector = Detector(settings)
    if not detector.status.ok:
        raise RuntimeError(f"person detector unavailable: {detector.status.message}")
    overhead = Detector(settings.overhead()) if settings.uses_overhead() else None
    if overhead is not None and not overhead.status.ok:
        raise RuntimeError(f"overhead detector unavailable: {overhead.status.message}")
    cv2.setNumThreads(1)
    texts, trust = bench_passes(min(frames, DISTINCT))
    alone: list[dict[str, Any]] = []
    loaded: list[dict[str, Any]] = []
    inferences, model_runs, busy_s = 0, 0, 0.0
    load_before = [round(v, 2) for v in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="edge-impact-") as tmp:
        work = Path(tmp)
        for _ in range(blocks):
            alone.append(measure_frames(*size, texts, frames, trust, work, keep=True))
            counted = _Counted(detector)
            counted_overhead = _Counted(overhead) if overhead is not None else None
            service = _service(cameras, video, work / "snapshots", counted, counted_overhead)
            started = time.perf_counter()
            service.start()
            time.sleep(1.0)  # cameras open and reach their steady rate before timing
            loaded.append(measure_frames(*size, texts, frames, trust, work, keep=True))
            service.stop()
            busy_s += time.perf_counter() - started
            inferences += sum(p.inferences for p in service.pipelines.values())
            model_runs += counted.runs + (counted_overhead.runs if counted_overhead else 0)
    a, b = _stats(alone), _stats(loaded)
    return {
        "machine": machine(),
        "size": f"{size[0]}x{size[1]}",
        "cameras": cameras,
        "model": detector.status.model,
        "overhead_model": overhead.status.model if overhead is not None else None,
        "alone": a,
        "with_cameras": b,
        "opened": sum(r["opened"] for r in alone + loaded),
        "missed": sum(r["missed"] for r in alone + loaded),
        "p50_change_pct": round(100 * (b["p50_ms"] / a["p50_ms"] - 1), 1),
        "p95_change_pct": round(100 * (b["p95_ms"] / a["p95_ms"] - 1), 1),
        "detector_inferences": inferences,
        "inferences_per_s": round(inferences / busy_s, 1) if busy_s else 0.0,
        "strategy": detector.settings.strategy,
        "model_runs": model_runs,
        "model_runs_per_s": round(model_runs / busy_s, 1) if busy_s else 0.0,
        "block_p95_ms": {
            "alone": [_stats([r])["p95_ms"] for r in alone],
            "with_cameras": [_stats([r])["p95_ms"] for r in loaded],
        },
        # Each block with cameras against the block alone just before it: load from other
        # processes drifts over a run, so neighbours are the fairer pairs (median of pairs).
        "paired_p95_change_pct": round(
            statistics.median(
                100 * (_stats([w])["p95_ms"] / _stats([a])["p95_ms"] - 1)
                for a, w in zip(alone, loaded, strict=True)
            ),
            1,
        ),
        "load_avg": {"before": load_before, "after": [round(v, 2) for v in os.getloadavg()]},
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
            f"strategy {result.get('strategy')}: {result.get('model_runs')} model runs"
            f" ({result.get('model_runs_per_s')}/s)",
            f"p95 per block: alone {result['block_p95_ms']['alone']},"
            f" with cameras {result['block_p95_ms']['with_cameras']}"
            f" (median change of neighbouring pairs {result['paired_p95_change_pct']:+.1f} %)",
            f"load average (1, 5, 15 min) before {result['load_avg']['before']},"
            f" after {result['load_avg']['after']}",
        ]
    )
