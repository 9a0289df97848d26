"""``edge-gate scan [--json] IMAGE…``: read the QR/Aztec codes in image files.

With ``--json`` each image gives one line::

    {"path": "a.png", "codes": [{"text": "CP1:…", "symbology": "QRCode",
     "corners": [[x, y], …]}], "ms": 4.1}

``ms`` is the scanner's own time for that image (not reading or decoding the file). A file
that cannot be read gives ``{"path": …, "error": "…", "codes": []}`` instead; the exit status
is 2 only when every file failed that way, 0 otherwise (finding no code is not an error).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from edge.vision.camera.sources import SourceError, read_image
from edge.vision.qr.scanner import Scanner
from edge.vision.qr.settings import STILL_BUDGET_MS as SCAN_BUDGET_MS
from edge.vision.qr.settings import ScannerSettings


def _scan_one(scanner: Scanner, path: Path) -> dict[str, Any]:
    """The JSON object for one image: its codes and time, or an error."""
    try:
        frame = read_image(path)
    except SourceError as exc:
        return {"path": str(path), "error": str(exc), "codes": []}
    except Exception as exc:  # anything else a strange file triggers: report, go on
        return {"path": str(path), "error": f"cannot read: {exc}", "codes": []}
    report = scanner.scan_detailed(frame)
    return {
        "path": str(path),
        "codes": [c.to_json() for c in report.codes],
        "ms": round(report.ms, 2),
    }


def run_scan(args: argparse.Namespace) -> int:
    """Scan each image of ``args.images``; see the module docstring for output and status."""
    from edge.cli import UsageError

    try:
        # independent still images: every one gets the whole ladder (no live duty limit)
        settings = ScannerSettings(
            budget_ms=args.budget_ms, strategy=args.strategy, fallback_duty=1.0
        )
    except ValueError as exc:
        raise UsageError(f"bad option: {exc}") from None
    scanner = Scanner(settings, still=True)  # full-resolution first read, whatever the size
    failed = 0
    for path in args.images:
        result = _scan_one(scanner, path)
        if "error" in result:
            failed += 1
        if args.json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        elif "error" in result:
            print(f"{path}: error: {result['error']}", flush=True)
        elif not result["codes"]:
            print(f"{path}: no code ({result['ms']} ms)", flush=True)
        else:
            for code in result["codes"]:
                print(f"{path}: {code['symbology']} {code['text']}  ({result['ms']} ms)")
    if failed:
        print(f"edge-gate scan: {failed} of {len(args.images)} files unreadable", file=sys.stderr)
    return 2 if failed == len(args.images) else 0


def register(sub: Any) -> None:
    """Add the ``scan`` verb."""
    defaults = ScannerSettings()
    p = sub.add_parser("scan", help="read the QR/Aztec codes in image files")
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files")
    p.add_argument("--json", action="store_true", help="one JSON object per image and line")
    p.add_argument(
        "--budget-ms",
        type=float,
        default=SCAN_BUDGET_MS,
        help=(
            f"time budget per image for the reads after the first, ms (default"
            f" {SCAN_BUDGET_MS:.0f}); the first read is always at full resolution"
        ),
    )
    p.add_argument(
        "--strategy",
        choices=["multi", "zxing", "pyzbar"],
        default=defaults.strategy,
        help="reader strategy (default multi)",
    )
    p.set_defaults(handler=run_scan)
