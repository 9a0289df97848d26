"""``edge-gate detect`` and ``edge-gate bench-detect``: run the person detector by hand.

``detect --json IMAGE…`` prints one JSON line per image::

    {"path": "a.jpg", "persons": [{"box": [x1, y1, x2, y2], "score": 0.93}], "ms": 14.2,
     "strategy": "tiles", "inferences": 5}

Boxes are pixels of the original image; ``ms`` is the detector's own time for that frame
(resize, inference, decoding, merging), without reading the file or loading the model.
``--strategy`` scores a still with exactly the perimeter's path (``[detector] strategy``,
``edge.vision.person.regions``); a still has no motion, so ``regions``/``auto`` look inside
the ``--region`` boxes given, else fall back to tiles. ``overhead`` (and ``auto``, the default,
when the overhead model loads) runs the high-view model once on the whole image. ``strategy``
in the output is the plan that ran, ``inferences`` how many model runs it took (the time budget
decides).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from edge.vision.person.regions import STRATEGIES, Rect
from edge.vision.person.settings import DetectorSettings


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "detect", help="find persons in image files with the on-device detector"
    )
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--min-score", type=float, default=None, help="lowest confidence to report, 0..1"
    )
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        help="street-level ONNX model for single/tiles/regions (skips the sha256 check)",
    )
    p.add_argument(
        "--overhead-model",
        type=Path,
        default=None,
        help="ONNX model for the overhead strategy (skips the sha256 check)",
    )
    p.add_argument("--threads", type=int, default=1, help="onnxruntime threads")
    p.add_argument(
        "--tiles",
        type=int,
        default=1,
        help="also detect on N×N crops (small people), 1..4; N > 1 overrides --strategy",
    )
    default = DetectorSettings()
    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default=default.strategy,
        help=f"how the image is fed to the model (default {default.strategy}, the perimeter's)",
    )
    p.add_argument(
        "--region",
        action="append",
        default=[],
        type=_region,
        metavar="X1,Y1,X2,Y2",
        help="pixel box to look inside with --strategy regions/auto (repeatable), like a zone",
    )
    p.add_argument(
        "--budget-ms",
        type=float,
        default=default.budget_ms,
        help=f"detection time per image deciding how many regions/tiles run "
        f"(default {default.budget_ms:g}, [detector] budget_ms)",
    )
    p.add_argument(
        "--inferences",
        type=int,
        default=None,
        metavar="N",
        help="model runs per image instead of what --budget-ms allows at this machine's "
        "measured speed (reproducible scoring on a busy machine)",
    )
    p.set_defaults(handler=run_detect)

    # The older spelling of `bench detect`: still accepted, no longer listed in --help.
    b = subparsers.add_parser(
        "bench-detect", description="ms per frame of the person detector per model and thread count"
    )
    b.add_argument("--json", action="store_true", help="print the result as one JSON object")
    b.add_argument(
        "--model",
        type=Path,
        action="append",
        default=None,
        help="model to time (repeatable; default: every shipped variant)",
    )
    b.add_argument(
        "--threads", type=int, action="append", default=None, help="thread counts (default 1, 2)"
    )
    b.add_argument("--video", type=Path, default=Path(".cache/testdata/vtest.avi"))
    b.add_argument("--frames", type=int, default=20, help="frames sampled from the video")
    b.add_argument("--repeats", type=int, default=5, help="timings per frame")
    b.set_defaults(handler=run_bench)


def _region(text: str) -> Rect:
    """``x1,y1,x2,y2`` pixels -> a rectangle (argparse type)."""
    try:
        x1, y1, x2, y2 = (int(float(v)) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X1,Y1,X2,Y2 pixels, got {text!r}") from None
    if x2 <= x1 or y2 <= y1 or min(x1, y1) < 0:
        raise argparse.ArgumentTypeError(f"empty or negative box {text!r}")
    return (x1, y1, x2, y2)


def _check_score(value: float | None) -> None:
    from edge.cli import UsageError

    if value is not None and not 0.0 <= value <= 1.0:
        raise UsageError(f"--min-score must be between 0 and 1, got {value}")


def run_detect(args: argparse.Namespace) -> int:
    from edge.cli import UsageError
    from edge.vision.camera.sources import SourceError, read_image
    from edge.vision.person.detector import Detector
    from edge.vision.person.regions import Budget, Plan, inference_ms, plan, run_plan
    from edge.vision.person.tiles import detect_tiled

    _check_score(args.min_score)
    if args.threads < 1:
        raise UsageError("--threads must be at least 1")
    if not 1 <= args.tiles <= 4:
        raise UsageError("--tiles must be 1..4")
    if args.budget_ms <= 0:
        raise UsageError("--budget-ms must be positive")
    settings = DetectorSettings(threads=args.threads, strategy=args.strategy)
    if args.model is not None:
        settings = settings.model_copy(update={"model": args.model, "sha256": None})
    if args.overhead_model is not None:
        settings = settings.model_copy(
            update={"overhead_model": args.overhead_model, "overhead_sha256": None}
        )
    detector = Detector(settings)
    if not detector.status.ok:
        print(f"edge-gate detect: {detector.status.message}", file=sys.stderr)
        return 1
    overhead = Detector(settings.overhead()) if settings.uses_overhead() else None
    if overhead is not None and not overhead.status.ok:
        if args.strategy == "overhead":
            print(f"edge-gate detect: {overhead.status.message}", file=sys.stderr)
            return 1
        # auto falls back to the street-level model, as the perimeter does
        print(f"edge-gate detect: overhead model: {overhead.status.message}", file=sys.stderr)
        overhead = None
    if args.inferences is not None and not 1 <= args.inferences <= 64:
        raise UsageError("--inferences must be 1..64")
    budget = Budget(args.budget_ms, initial_ms=inference_ms(detector, runs=10))
    count = budget.count() if args.inferences is None else args.inferences
    status = 0
    for path in args.images:
        try:
            frame = read_image(path)
        except SourceError as exc:
            status = 2
            if args.json:
                print(json.dumps({"path": str(path), "error": str(exc)}), flush=True)
            else:
                print(f"{path}: {exc}", file=sys.stderr)
            continue

        def detect(f: Any) -> Any:
            return detector.detect(f, args.min_score)

        def detect_overhead(f: Any) -> Any:
            assert overhead is not None
            return overhead.detect(f, args.min_score)

        h, w = frame.shape[:2]
        regions = [(x1, y1, min(x2, w), min(y2, h)) for x1, y1, x2, y2 in args.region]
        regions = [r for r in regions if r[2] > r[0] and r[3] > r[1]]
        start = time.perf_counter()
        if args.tiles > 1:
            todo = Plan(f"tiles={args.tiles}")
            persons = detect_tiled(detect, frame, args.tiles)
            inferences = args.tiles**2 + 1
        else:
            todo = plan(
                args.strategy,
                w,
                h,
                count,
                zones=regions,
                region_px=settings.region_px,
                overlap=settings.tile_overlap,
                max_aspect=settings.tile_aspect,
                overhead=overhead is not None,
            )
            persons = run_plan(
                detect, frame, todo, overhead=detect_overhead if overhead is not None else None
            )
            inferences = todo.inferences
        ms = (time.perf_counter() - start) * 1000.0
        if args.json:
            record = {
                "path": str(path),
                "persons": [
                    {"box": [round(v, 1) for v in d.box], "score": round(d.score, 4)}
                    for d in persons
                ],
                "ms": round(ms, 2),
                "strategy": todo.strategy,
                "inferences": inferences,
            }
            print(json.dumps(record), flush=True)
        else:
            print(
                f"{path}: {len(persons)} person(s), {ms:.1f} ms, {todo.strategy} "
                f"({inferences} inference(s))"
            )
            for d in persons:
                x1, y1, x2, y2 = (round(v) for v in d.box)
                print(f"  [{x1}, {y1}, {x2}, {y2}] score {d.score:.2f}")
    return status


def run_bench(args: argparse.Namespace) -> int:
    from edge.vision.person.detector import bench
    from edge.vision.person.settings import SHIPPED_MODELS

    result = bench(
        models=args.model or list(SHIPPED_MODELS),
        threads=args.threads or [1, 2],
        video=args.video,
        frames=args.frames,
        repeats=args.repeats,
    )
    if args.json:
        print(json.dumps(result))
        return 0 if all("error" not in r for r in result["results"]) else 1
    print(f"{result['machine']}, {result['cores']} cores, onnxruntime {result['onnxruntime']}")
    print(f"frames: {result['frames_from']}")
    print(
        f"{'model':48} {'threads':>7} {'median ms':>10} {'p95 ms':>8} {'cpu ms':>7} {'persons':>8}"
    )
    failed = False
    for r in result["results"]:
        if "error" in r:
            failed = True
            print(f"{r['model']:48} {r['threads']:>7} {r['error']}")
            continue
        cpu = f"{r['cpu_median_ms']:.2f}" if "cpu_median_ms" in r else "-"
        print(
            f"{r['model']:48} {r['threads']:>7} {r['median_ms']:>10.2f} "
            f"{r['p95_ms']:>8.2f} {cpu:>7} {r['persons']:>8}"
        )
    return 1 if failed else 0
