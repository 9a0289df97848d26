"""``edge-gate bench qr DIR``, ``bench pipeline`` and ``bench detect``: measured figures.

* ``bench qr DIR [--json]`` — per engine and strategy: read rate, misreads, median/p95 ms per
  image on one thread, over ``X.png`` + ``X.txt`` pairs in DIR (``scripts/make-qr-set.py``
  builds such a folder).
* ``bench pipeline [--json]`` — ms from a 1280×720 / 640×480 frame handed to the gate until
  the relay's mock pin is active, p50/p95 over ≥ 200 frames on one pinned core; peak RSS.
* ``bench detect [--json]`` — the person detector's ms per frame per model and thread count
  (``edge.vision.person.detector``), then per detection strategy: ms per frame, inferences,
  and recall/AP on the high-view set (``edge.tools.bench_detect``).

These print figures; they never fail on slow numbers. Exit 2 when the input is unusable.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from edge.cli import UsageError


def _print(result: dict[str, Any], as_json: bool, table: str) -> None:
    print(json.dumps(result, ensure_ascii=False) if as_json else table, flush=True)


def run_qr(args: argparse.Namespace) -> int:
    """``bench qr DIR``."""
    from edge.tools.bench_qr import bench_qr, format_table
    from edge.vision.camera.sources import SourceError

    try:
        result = bench_qr(args.folder)
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    if result["images"] == 0:
        raise UsageError(f"no labelled images (X.png + X.txt) in {args.folder}")
    _print(result, args.json, format_table(result))
    return 0


def run_pipeline(args: argparse.Namespace) -> int:
    """``bench pipeline``."""
    from edge.tools.bench_pipeline import bench_pipeline, format_pipeline

    if args.frames < 200:
        raise UsageError(f"--frames must be at least 200 for a p95, got {args.frames}")
    if not args.verbose:  # one INFO line per door pulse would drown the figures
        logging.getLogger("edge").setLevel(logging.WARNING)
    if args.perimeter_cameras:
        from edge.tools.bench_impact import bench_door_impact, format_impact

        if args.blocks < 1:
            raise UsageError(f"--blocks must be at least 1, got {args.blocks}")
        try:
            impact = bench_door_impact(
                cameras=args.perimeter_cameras,
                frames=args.frames,
                blocks=args.blocks,
                video=args.video,
            )
        except (FileNotFoundError, RuntimeError) as exc:
            raise UsageError(str(exc)) from exc
        _print(impact, args.json, format_impact(impact))
        return 0
    result = bench_pipeline(frames=args.frames)
    _print(result, args.json, format_pipeline(result))
    return 0


def run_detect(args: argparse.Namespace) -> int:
    """``bench detect``: the person detector's own benchmark."""
    from edge.tools.bench_detect import bench_strategies, format_table
    from edge.vision.person import detector

    if args.budget_ms <= 0:
        raise UsageError(f"--budget-ms must be positive, got {args.budget_ms}")
    if args.inferences is not None and not 1 <= args.inferences <= 64:
        raise UsageError(f"--inferences must be 1..64, got {args.inferences}")
    from pydantic import ValidationError

    from edge.vision.person.settings import DetectorSettings

    shape: dict[str, float] = {}
    if args.tile_aspect is not None:
        shape["tile_aspect"] = args.tile_aspect
    if args.tile_overlap is not None:
        shape["tile_overlap"] = args.tile_overlap
    try:
        settings = DetectorSettings(threads=1, **shape)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise UsageError(
            f"--tile-aspect must be 1..3 and --tile-overlap 0..0.5 ({exc.errors()[0]['msg']})"
        ) from None
    result: dict[str, Any] = (
        {"results": []} if args.skip_models else detector.bench(video=args.video)
    )
    strategies = bench_strategies(
        args.set,
        args.video,
        strategies=args.strategy or ["single", "tiles", "regions", "overhead", "auto"],
        budget_ms=args.budget_ms,
        vtest_count=args.frames,
        limit=args.limit,
        settings=settings,
        inferences=args.inferences,
    )
    result["strategies"] = strategies
    lines = [f"{'model':40} {'threads':>7} {'median ms':>9} {'p95 ms':>7}"]
    for row in result.get("results", []):
        if "error" in row:
            lines.append(f"{row.get('model', '?'):40} {row.get('threads', '?'):>7} {row['error']}")
            continue
        lines.append(
            f"{row.get('model', '?'):40} {row.get('threads', '?'):>7}"
            f" {row.get('median_ms', float('nan')):>9} {row.get('p95_ms', float('nan')):>7}"
        )
    if args.skip_models:
        lines = []
    lines += ["", format_table(strategies)] if "error" not in strategies else [strategies["error"]]
    _print(result, args.json, "\n".join(lines))
    return 0


def register(sub: Any) -> None:
    """Add the ``bench`` verb and its sub-verbs."""
    p = sub.add_parser("bench", help="measure QR reading, the frame-to-relay path, detection")
    bs = p.add_subparsers(dest="what", metavar="WHAT")
    p.set_defaults(handler=lambda _args: (p.print_help(), 2)[1])

    q = bs.add_parser("qr", help="read rate and ms per engine/strategy over DIR (X.png + X.txt)")
    q.add_argument("folder", type=Path, metavar="DIR", help="folder of images with X.txt labels")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(handler=run_qr)

    pl = bs.add_parser("pipeline", help="frame → relay latency p50/p95 on one core, peak RSS")
    pl.add_argument("--json", action="store_true", help="print one JSON object")
    pl.add_argument("--frames", type=int, default=200, help="frames per size (≥ 200)")
    pl.add_argument(
        "--perimeter-cameras",
        type=int,
        default=0,
        metavar="N",
        help="compare 1280x720 frame → relay alone vs while N perimeter cameras detect people "
        "(alternating blocks, not pinned)",
    )
    pl.add_argument("--blocks", type=int, default=3, help="alternating blocks of --frames each")
    pl.add_argument(
        "--video",
        type=Path,
        default=Path(".cache/testdata/vtest.avi"),
        help="footage the perimeter cameras play (scripts/fetch-test-data.sh fetches vtest.avi)",
    )
    pl.set_defaults(handler=run_pipeline)

    d = bs.add_parser(
        "detect", help="person detector ms per frame per model, per strategy (with recall)"
    )
    d.add_argument("--json", action="store_true", help="print one JSON object")
    d.add_argument(
        "--strategy",
        action="append",
        choices=["single", "tiles", "regions", "overhead", "auto"],
        default=None,
        help="strategy to measure (repeatable; default all)",
    )
    d.add_argument(
        "--set",
        type=Path,
        default=Path("var/highview"),
        metavar="DIR",
        help="high-view set with truth.json (scripts/make-highview-set.py); skipped if absent",
    )
    d.add_argument(
        "--video",
        type=Path,
        default=Path(".cache/testdata/vtest.avi"),
        help="street-level footage timed too (scripts/fetch-test-data.sh)",
    )
    d.add_argument("--frames", type=int, default=20, help="vtest frames per strategy")
    d.add_argument("--limit", type=int, default=None, help="at most N images of each kind")
    d.add_argument(
        "--budget-ms", type=float, default=50.0, help="detection time per frame, ms (default 50)"
    )
    d.add_argument(
        "--inferences",
        type=int,
        default=None,
        metavar="N",
        help="model runs per frame instead of what --budget-ms allows on this machine",
    )
    d.add_argument(
        "--skip-models", action="store_true", help="only the strategies, not the model table"
    )
    d.add_argument(
        "--tile-aspect",
        type=float,
        default=None,
        metavar="A",
        help="widest tile fed unpadded, 1..3 (default [detector] tile_aspect, 16/9; 1 = squares)",
    )
    d.add_argument(
        "--tile-overlap",
        type=float,
        default=None,
        metavar="F",
        help="overlap of neighbouring tiles, 0..0.5 (default [detector] tile_overlap, 0.2)",
    )
    d.set_defaults(handler=run_detect)
