"""Reading-rate benchmark of the QR engines and strategies on a folder of labelled images.

A folder holds ``X.png`` (or .jpg, …) with the expected text in ``X.txt`` beside it, one line
per code in the image. For each engine/strategy this measures on one thread: how many images
had every expected code read, misreads (a text read that is not expected — worse than no
read), and the median and 95th-percentile scan time per image in milliseconds (the scanner's
own time, without reading the file). Images are decoded once, before timing.
"""

from __future__ import annotations

import os
import platform
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.vision.camera.sources import IMAGE_SUFFIXES, SourceError, read_image
from edge.vision.qr import engines
from edge.vision.qr.scanner import Scanner
from edge.vision.qr.settings import ScannerSettings

# (row name, settings): engines alone, then the chosen strategy at the frame budget and at a
# budget fit for still photos. Images are independent here, so the live-camera limit on the
# fallbacks' share of time (fallback_duty) is off: each image gets the whole ladder.
CONFIGS: tuple[tuple[str, ScannerSettings], ...] = (
    ("zxing-cpp", ScannerSettings(strategy="zxing", budget_ms=2000.0)),
    ("pyzbar", ScannerSettings(strategy="pyzbar", budget_ms=2000.0)),
    ("multi@80ms", ScannerSettings(strategy="multi", budget_ms=80.0, fallback_duty=1.0)),
    ("multi@500ms", ScannerSettings(strategy="multi", budget_ms=500.0, fallback_duty=1.0)),
)


@dataclass
class Labelled:
    """One image of the set and the texts expected in it."""

    name: str
    kind: str  # the name up to its last '-': the category in generated sets
    image: np.ndarray
    expected: frozenset[str]


@dataclass
class Row:
    """The figures of one engine/strategy over the set."""

    name: str
    total: int = 0
    read: int = 0  # images with every expected code read
    misreads: int = 0  # texts read that were not expected
    ms: list[float] = field(default_factory=list)
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind -> [read, total]
    steps: Counter[str] = field(default_factory=Counter)  # rung that read, per image

    def to_json(self) -> dict[str, Any]:
        """Rounded figures as JSON."""
        ms = self.ms or [0.0]
        return {
            "name": self.name,
            "read": self.read,
            "total": self.total,
            "rate": round(self.read / max(1, self.total), 4),
            "misreads": self.misreads,
            "median_ms": round(statistics.median(ms), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2),
            "by_kind": {k: {"read": v[0], "total": v[1]} for k, v in sorted(self.by_kind.items())},
            "steps": dict(self.steps.most_common()),
        }


def load_set(folder: Path) -> tuple[list[Labelled], list[str]]:
    """The labelled images of ``folder`` and a note for each file that was skipped."""
    if not folder.is_dir():
        raise SourceError(f"{folder} is not a folder")
    items, skipped = [], []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        label = path.with_suffix(".txt")
        if not label.is_file():
            skipped.append(f"{path.name}: no {label.name} beside it")
            continue
        try:
            image = read_image(path)
        except SourceError as exc:
            skipped.append(str(exc))
            continue
        texts = label.read_text(encoding="utf-8", errors="replace").splitlines()
        expected = frozenset(t.strip() for t in texts if t.strip())
        kind = path.stem.rsplit("-", 1)[0] if "-" in path.stem else "all"
        items.append(Labelled(path.stem, kind, image, expected))
    return items, skipped


def run_row(name: str, settings: ScannerSettings, items: list[Labelled]) -> Row:
    """Scan every item with a fresh scanner of ``settings``; the figures as a :class:`Row`."""
    scanner = Scanner(settings)
    row = Row(name)
    for item in items:
        report = scanner.scan_detailed(item.image)
        texts = {c.text for c in report.codes}
        ok = bool(item.expected) and item.expected <= texts
        row.total += 1
        row.read += ok
        row.misreads += len(texts - item.expected)
        row.ms.append(report.ms)
        tally = row.by_kind.setdefault(item.kind, [0, 0])
        tally[0] += ok
        tally[1] += 1
        if report.step is not None:
            row.steps[report.step] += 1
    return row


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "opencv": cv2.__version__,
        "pyzbar": engines.pyzbar_available(),
    }


def bench_qr(
    folder: Path, configs: tuple[tuple[str, ScannerSettings], ...] = CONFIGS
) -> dict[str, Any]:
    """Run every config over the labelled images of ``folder`` on one thread."""
    cv2.setNumThreads(1)  # one thread, as on the gate where the detector needs the other core
    items, skipped = load_set(folder)
    rows = [run_row(name, settings, items).to_json() for name, settings in configs]
    return {
        "folder": str(folder),
        "images": len(items),
        "skipped": skipped,
        "machine": machine(),
        "results": rows,
    }


def format_table(result: dict[str, Any]) -> str:
    """The result as a plain-text table, engines side by side, then reads per kind."""
    rows = result["results"]
    lines = [
        f"{result['images']} images in {result['folder']} ({len(result['skipped'])} skipped)",
        f"{'engine/strategy':16} {'read':>9} {'rate':>7} {'misreads':>8}"
        f" {'median ms':>9} {'p95 ms':>7}",
    ]
    for r in rows:
        lines.append(
            f"{r['name']:16} {r['read']:>4}/{r['total']:<4} {100 * r['rate']:6.1f}%"
            f" {r['misreads']:>8} {r['median_ms']:>9.1f} {r['p95_ms']:>7.1f}"
        )
    kinds = sorted({k for r in rows for k in r["by_kind"]})
    if len(kinds) > 1:
        lines.append("")
        lines.append(f"{'kind':14}" + "".join(f"{r['name']:>14}" for r in rows))
        for k in kinds:
            cells = []
            for r in rows:
                v = r["by_kind"].get(k, {"read": 0, "total": 0})
                cells.append(f"{v['read']:>8}/{v['total']:<5}")
            lines.append(f"{k:14}" + "".join(cells))
    for r in rows:
        if r["steps"] and r["name"].startswith("multi"):
            lines.append(
                f"{r['name']} reads by rung: "
                + ", ".join(f"{k} {v}" for k, v in r["steps"].items())
            )
    for note in result["skipped"]:
        lines.append(f"skipped: {note}")
    return "\n".join(lines)
