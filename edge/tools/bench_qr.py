"""Reading-rate benchmark of the QR engines and strategies on a folder of labelled images.

A folder holds ``X.png`` (or .jpg, …) with the expected text in ``X.txt`` beside it, one line
per code in the image. For each engine/strategy this measures on one thread, over the whole
set and per kind (the file name up to its last ``-``): how many codes were read (and how many
images had every expected code read), misreads (a text read that is not expected — worse than
no read), and the median and 95th-percentile scan time per image in milliseconds (the
scanner's own time, without reading the file). Images are decoded once, before timing. The
chain and the engines alone run in the same process, one after the other, so they are
compared on the same machine under the same load.
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
from edge.vision.qr.settings import STILL_BUDGET_MS, ScannerSettings

# (row name, settings, still): the engines alone, then the chain on the door path (its frame
# budget bounds even the first read) and as ``edge-gate scan`` runs it on still photos (first
# read at full resolution, the scan budget). Images are independent here, so the live-camera
# limit on the fallbacks' share of time (fallback_duty) is off: each image gets the ladder.
SCAN_BUDGET_MS = STILL_BUDGET_MS  # what ``edge-gate scan`` gives a still image by default
DOOR_BUDGET_MS = ScannerSettings().budget_ms

CONFIGS: tuple[tuple[str, ScannerSettings, bool], ...] = (
    # QR only, as the chain's first read: the engine at its quickest, the fairest baseline
    ("zxing-cpp", ScannerSettings(strategy="zxing", budget_ms=2000.0, aztec=False), True),
    ("pyzbar", ScannerSettings(strategy="pyzbar", budget_ms=2000.0), True),
    (
        f"door@{DOOR_BUDGET_MS:.0f}ms",
        ScannerSettings(strategy="multi", budget_ms=DOOR_BUDGET_MS, fallback_duty=1.0),
        False,
    ),
    (
        f"scan@{SCAN_BUDGET_MS:.0f}ms",
        ScannerSettings(strategy="multi", budget_ms=SCAN_BUDGET_MS, fallback_duty=1.0),
        True,
    ),
)


@dataclass
class Tally:
    """Figures of one row over a subset of the images (the whole set, or one kind)."""

    images: int = 0
    read: int = 0  # images with every expected code read
    codes: int = 0  # codes expected
    codes_read: int = 0
    misreads: int = 0
    ms: list[float] = field(default_factory=list)

    def add(self, expected: frozenset[str], texts: set[str], ms: float) -> None:
        self.images += 1
        self.read += bool(expected) and expected <= texts
        self.codes += len(expected)
        self.codes_read += len(expected & texts)
        self.misreads += len(texts - expected)
        self.ms.append(ms)

    def to_json(self) -> dict[str, Any]:
        ms = self.ms or [0.0]
        return {
            "read": self.read,
            "total": self.images,
            "codes_read": self.codes_read,
            "codes_total": self.codes,
            "code_rate": round(self.codes_read / max(1, self.codes), 4),
            "misreads": self.misreads,
            "median_ms": round(statistics.median(ms), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2),
        }


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
    all: Tally = field(default_factory=Tally)
    by_kind: dict[str, Tally] = field(default_factory=dict)
    steps: Counter[str] = field(default_factory=Counter)  # rung that read, per image

    def to_json(self) -> dict[str, Any]:
        """Rounded figures as JSON."""
        whole = self.all.to_json()
        return {
            "name": self.name,
            **whole,
            "rate": round(self.all.read / max(1, self.all.images), 4),
            "by_kind": {k: v.to_json() for k, v in sorted(self.by_kind.items())},
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


def run_row(name: str, settings: ScannerSettings, items: list[Labelled], still: bool = True) -> Row:
    """Scan every item with a fresh scanner of ``settings``; the figures as a :class:`Row`."""
    scanner = Scanner(settings, still=still)
    row = Row(name)
    for item in items:
        report = scanner.scan_detailed(item.image)
        texts = {c.text for c in report.codes}
        row.all.add(item.expected, texts, report.ms)
        row.by_kind.setdefault(item.kind, Tally()).add(item.expected, texts, report.ms)
        if report.step is not None:
            row.steps[report.step] += 1
    return row


def frame_cost(frames: int = 20, rounds: int = 5) -> dict[str, Any]:
    """Median ms of the door path's chain and of zxing-cpp alone (QR, its default options) on
    the same readable 1280×720 frames, interleaved frame by frame so both see the same load."""
    import time

    import zxingcpp

    from edge.tools.render import Look, render_frame

    images = [
        render_frame(f"CP1:FRAME-{i:04d}-" + "X" * 80, seed=i, look=Look(), width=1280, height=720)
        for i in range(frames)
    ]
    chain = Scanner(ScannerSettings())  # the door path's settings, duty limit and all
    qr = (zxingcpp.BarcodeFormat.QRCodeModel2,)
    t_chain: list[float] = []
    t_alone: list[float] = []
    read = 0
    for _ in range(rounds):
        for image in images:
            t0 = time.perf_counter()
            read += len(chain.scan(image))
            t1 = time.perf_counter()
            zxingcpp.read_barcodes(image, formats=qr)  # type: ignore[arg-type]  # as engines.py
            t2 = time.perf_counter()
            t_chain.append((t1 - t0) * 1000.0)
            t_alone.append((t2 - t1) * 1000.0)
    chain_ms, alone_ms = statistics.median(t_chain), statistics.median(t_alone)
    return {
        "frames": frames * rounds,
        "read": read,
        "chain_median_ms": round(chain_ms, 2),
        "zxing_median_ms": round(alone_ms, 2),
        "ratio": round(chain_ms / max(alone_ms, 1e-6), 2),
    }


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
    folder: Path, configs: tuple[tuple[str, ScannerSettings, bool], ...] = CONFIGS
) -> dict[str, Any]:
    """Run every config over the labelled images of ``folder`` on one thread."""
    cv2.setNumThreads(1)  # one thread, as on the gate where the detector needs the other core
    items, skipped = load_set(folder)
    rows = [run_row(name, settings, items, still).to_json() for name, settings, still in configs]
    return {
        "folder": str(folder),
        "images": len(items),
        "skipped": skipped,
        "machine": machine(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "results": rows,
        "frame_720p": frame_cost(),
    }


def format_table(result: dict[str, Any]) -> str:
    """The result as a plain-text table, engines side by side, then per kind: codes read,
    misreads and median / p95 ms of each engine/strategy."""
    rows = result["results"]
    lines = [
        f"{result['images']} images in {result['folder']} ({len(result['skipped'])} skipped),"
        f" load average {result.get('load_avg', '?')}",
        f"{'engine/strategy':16} {'codes read':>11} {'rate':>7} {'images':>9} {'misreads':>8}"
        f" {'median ms':>9} {'p95 ms':>7}",
    ]
    for r in rows:
        lines.append(
            f"{r['name']:16} {r['codes_read']:>5}/{r['codes_total']:<5}"
            f" {100 * r['code_rate']:6.1f}% {r['read']:>4}/{r['total']:<4} {r['misreads']:>8}"
            f" {r['median_ms']:>9.1f} {r['p95_ms']:>7.1f}"
        )
    kinds = sorted({k for r in rows for k in r["by_kind"]})
    if len(kinds) > 1:
        lines.append("")
        lines.append("per kind: codes read % / misreads / median ms / p95 ms")
        lines.append(f"{'kind':13}" + "".join(f"{r['name']:>24}" for r in rows))
        for k in kinds:
            cells = []
            for r in rows:
                v = r["by_kind"].get(k)
                if v is None:
                    cells.append(f"{'-':>24}")
                    continue
                cells.append(
                    f"{100 * v['code_rate']:>7.1f}% {v['misreads']:>2}"
                    f" {v['median_ms']:>6.1f} {v['p95_ms']:>6.1f}"
                )
            lines.append(f"{k:13}" + "".join(cells))
    fc = result.get("frame_720p")
    if fc:
        lines.append(
            f"readable 1280x720 frame: chain {fc['chain_median_ms']} ms, zxing-cpp alone"
            f" {fc['zxing_median_ms']} ms (median of {fc['frames']}): {fc['ratio']}x"
        )
    for r in rows:
        if r["steps"] and r["name"] not in ("zxing-cpp", "pyzbar"):
            lines.append(
                f"{r['name']} reads by rung: "
                + ", ".join(f"{k} {v}" for k, v in r["steps"].items())
            )
    for note in result["skipped"]:
        lines.append(f"skipped: {note}")
    return "\n".join(lines)
