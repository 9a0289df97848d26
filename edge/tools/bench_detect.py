"""``edge-gate bench detect``: ms per frame and recall per detection strategy (issue 20).

Each strategy of :mod:`edge.vision.person.regions` runs on the same frames with the shipped
detector on one thread, through the same plan the perimeter uses:

* ``single``, ``tiles``, ``overhead``, ``auto`` as ``edge-gate detect --strategy`` runs them
  on stills (``auto`` is ``overhead`` when the overhead model loads, else ``tiles``: no motion);
* ``regions`` with the motion a moving person would cause: a box around each true person
  (grown by 10 %), which is what the perimeter's motion regions give when everybody moves.
  It is an upper bound for people standing still outside any zone.

Sets: the high-view development set (``scripts/make-highview-set.py``; recall at score 0.5
and AP at IoU 0.5) and vtest.avi frames (an elevated street camera; timing and person
counts). The time budget gives every strategy the same number of inferences per frame,
derived once from the machine's own inference time (the fastest of a few warm runs).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.tools.highview import load_truth
from edge.vision.geometry import Box, Detection
from edge.vision.person.detector import Detector, cpu_name, vtest_frames
from edge.vision.person.evaluate import evaluate
from edge.vision.person.regions import (
    STRATEGIES,
    Budget,
    Frame,
    Rect,
    expand,
    inference_ms,
    plan,
    run_plan,
)
from edge.vision.person.settings import DetectorSettings


@dataclass
class _Acc:
    """One strategy's measurements over a set."""

    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)
    scored: list[tuple[Sequence[Detection], Sequence[Box]]] = field(default_factory=list)
    persons: int = 0


def _motion_like(truth: Sequence[Box], width: int, height: int) -> list[Rect]:
    return [expand(b, 0.1, width, height) for b in truth]


def bench_strategies(
    highview: Path | None,
    video: Path | None,
    *,
    strategies: Sequence[str] = STRATEGIES,
    budget_ms: float = 50.0,
    vtest_count: int = 20,
    limit: int | None = None,
    settings: DetectorSettings | None = None,
    inferences: int | None = None,
) -> dict[str, Any]:
    """Per strategy and set: median/p95 ms per frame, inferences, recall/AP where known.

    ``inferences`` fixes the number of model runs per frame instead of deriving it from
    ``budget_ms`` and this machine's speed: figures from a busy machine then show what a
    quiet one would run. ``cpu_median_ms`` is the calling thread's CPU time per frame (one
    onnxruntime thread computes on it), the fairer figure when other processes share the CPU.
    """
    s = settings or DetectorSettings(threads=1)
    detector = Detector(s)
    if not detector.status.ok:
        return {"error": detector.status.message, "results": []}
    overhead = Detector(s.overhead()) if s.uses_overhead(*strategies) else None
    if overhead is not None and not overhead.status.ok:
        strategies = [k for k in strategies if k != "overhead"]  # auto then falls back
        overhead = None
    per_inference = inference_ms(detector, runs=5)
    budget = Budget(budget_ms, initial_ms=per_inference)
    count = inferences if inferences is not None else budget.count()
    sets: list[tuple[str, list[tuple[Frame, list[Box] | None]]]] = []
    if highview is not None and (highview / "truth.json").exists():
        by_kind: dict[str, list[tuple[Frame, list[Box] | None]]] = {}
        for path, kind, boxes in load_truth(highview):
            if limit is not None and len(by_kind.get(f"highview-{kind}", [])) >= limit:
                continue
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                by_kind.setdefault(f"highview-{kind}", []).append(
                    (np.asarray(image, dtype=np.uint8), boxes)
                )
        sets += sorted(by_kind.items())
    if video is not None and video.exists():
        sets.append(("vtest", [(f, None) for f in vtest_frames(video, vtest_count)]))

    def detect(frame: Frame) -> list[Detection]:
        return detector.detect(frame, 0.05)  # low, for AP; recall counts ≥ min_score only

    def detect_overhead(frame: Frame) -> list[Detection]:
        assert overhead is not None
        return overhead.detect(frame, 0.05)

    rows: list[dict[str, Any]] = []
    for set_name, frames in sets:
        # Strategies take turns on each frame (interleaved), so a burst of load from other
        # processes on a shared machine hits them alike instead of skewing one.
        acc = {k: _Acc() for k in strategies}
        for frame, truth in frames:
            h, w = frame.shape[:2]
            for strategy in strategies:
                a = acc[strategy]
                motion = _motion_like(truth, w, h) if strategy == "regions" and truth else []
                todo = plan(
                    strategy,
                    w,
                    h,
                    count,
                    motion=motion,
                    region_px=s.region_px,
                    overlap=s.tile_overlap,
                    max_aspect=s.tile_aspect,
                    overhead=overhead is not None,
                )
                start, start_cpu = time.perf_counter(), time.thread_time()
                found = run_plan(
                    detect,
                    frame,
                    todo,
                    overhead=detect_overhead if overhead is not None else None,
                )
                a.times.append((time.perf_counter() - start) * 1000.0)
                a.cpu.append((time.thread_time() - start_cpu) * 1000.0)
                a.runs.append(todo.inferences)
                a.persons += sum(d.score >= s.min_score for d in found)
                if truth is not None:
                    a.scored.append((found, truth))
        for strategy in strategies:
            a = acc[strategy]
            row: dict[str, Any] = {
                "set": set_name,
                "strategy": strategy,
                "frames": len(frames),
                "median_ms": round(statistics.median(a.times), 1),
                "p95_ms": round(float(np.percentile(a.times, 95)), 1),
                "cpu_median_ms": round(statistics.median(a.cpu), 1),
                "inferences": round(statistics.mean(a.runs), 2),
                "persons_found": a.persons,
            }
            if a.scored:
                score = evaluate(a.scored, threshold=s.min_score)
                row |= {
                    "recall": round(score.recall, 3),
                    "ap": round(score.ap, 3),
                    "persons": score.persons,
                    "false_positives": score.false,
                }
            rows.append(row)
    return {
        "machine": cpu_name(),
        "load_avg": [round(v, 2) for v in os.getloadavg()],  # the machine may be shared
        "tile_aspect": round(s.tile_aspect, 3),
        "tile_overlap": s.tile_overlap,
        "budget_ms": budget_ms,
        "inference_ms": round(per_inference, 2),
        "inferences_per_frame": count,
        "overhead_model": str(s.overhead_model) if overhead is not None else None,
        "results": rows,
    }


def format_table(result: dict[str, Any]) -> str:
    lines = [
        f"{result.get('machine', '?')}; budget {result.get('budget_ms')} ms, "
        f"{result.get('inference_ms')} ms per inference here; "
        f"{result.get('inferences_per_frame')} inference(s) per frame; "
        f"load average {result.get('load_avg')}",
        f"{'set':20} {'strategy':8} {'median ms':>9} {'p95 ms':>7} {'cpu ms':>6} {'runs':>5} "
        f"{'recall':>6} {'AP':>6} {'people':>6} {'false':>5}",
    ]
    for r in result.get("results", []):
        lines.append(
            f"{r['set']:20} {r['strategy']:8} {r['median_ms']:>9} {r['p95_ms']:>7} "
            f"{r['cpu_median_ms']:>6} "
            f"{r['inferences']:>5} {r.get('recall', '-'):>6} {r.get('ap', '-'):>6} "
            f"{r.get('persons', r['persons_found']):>6} {r.get('false_positives', '-'):>5}"
        )
    return "\n".join(lines)
