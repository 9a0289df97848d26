"""Detection at the model's resolution: letterboxed frames, square regions, tiles (issue 20).

The shipped model sees a 300×300 image. Squeezing a whole 1280×720 frame into it shrinks a
person 4.3× horizontally and 2.4× vertically, so people seen from a high corridor camera (small,
foreshortened) vanish. Like Frigate, the perimeter therefore detects *inside regions*: square
crops around what matters (an armed zone's bounding box with a margin, a patch of motion),
each letterboxed (padded, never stretched) and handed to the model, the boxes mapped back and
merged with NMS across regions. When a whole frame must be covered (a still image, a camera
without zones), overlapping square tiles do it. A time budget per camera frame caps how many
regions are run: the door shares the CPU and keeps its priority.

Strategies (``[detector] strategy``, ``edge-gate detect --strategy``):

* ``single``: the whole frame squeezed into the model's input (the behaviour before issue 20;
  street-level cameras where people are large).
* ``tiles``: overlapping tiles covering the whole frame, the finest the budget allows (plus the
  whole frame when a run is left over).
* ``regions``: squares around the given regions (zones, motion); without any, as ``tiles``.
* ``overhead``: the whole frame once, squeezed, through the *overhead* model
  (``[detector] overhead_model``, NanoDet trained on COCO), which sees people from above at
  sizes the street-level SSD misses even in tiles (docs/perimeter.md has the figures).
* ``auto``: ``overhead`` when the overhead model is ready, else ``regions`` when there are
  regions, else ``tiles`` — the perimeter's default.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import cv2
import numpy as np
import numpy.typing as npt

from edge.vision.geometry import Detection
from edge.vision.person.tiles import merge

Frame = npt.NDArray[np.uint8]
DetectFn = Callable[[Frame], Sequence[Detection]]
Strategy = Literal["single", "tiles", "regions", "overhead", "auto"]
Model = Literal["street", "overhead"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)
Rect = tuple[int, int, int, int]  # (x1, y1, x2, y2) pixels, x2/y2 exclusive
PAD_GREY = 114  # letterbox fill: mid-grey carries no edges the model could take for a person
#: Default widest input fed to the model unpadded (width/height or height/width). The SSD was
#: trained on COCO photos squeezed to 300×300 (4:3 landscapes and portraits alike), and
#: ``single`` feeds whole 16:9 frames, so it knows people squeezed that much; measured on the
#: high-view set, 2×2 tiles of 16:9 beat square tiles 2–3× at the same runs (docs/perimeter.md).
TILE_ASPECT = 16 / 9


def letterbox_square(image: Frame, max_aspect: float = 1.0) -> Frame:
    """``image`` padded at the right or bottom to a square (its aspect ratio kept).

    With ``max_aspect`` > 1 it is padded only as far as needed for its width/height (or
    height/width) to be at most that; the model's input then squeezes it by at most as much.
    Padding only right/bottom keeps the origin, so boxes in the padded image's pixels are
    already boxes in ``image``'s pixels (clip them to it).
    """
    h, w = image.shape[:2]
    limit = max(1.0, max_aspect)
    out_w = max(w, math.ceil(h / limit - 1e-6))  # 1280/(16/9) is 720.0000000001
    out_h = max(h, math.ceil(w / limit - 1e-6))
    if out_w - w <= 1 and out_h - h <= 1:  # a tile rounded up by a pixel: nothing to pad
        return image
    if (out_w, out_h) == (w, h):
        return image
    out = np.full((out_h, out_w, 3), PAD_GREY, dtype=np.uint8)
    out[:h, :w] = image
    return out


def detect_letterboxed(detect: DetectFn, image: Frame, max_aspect: float = 1.0) -> list[Detection]:
    """Detections in ``image`` fed padded to at most ``max_aspect`` (1: a square, no
    distortion), boxes in its pixels."""
    h, w = image.shape[:2]
    out = []
    for d in detect(letterbox_square(image, max_aspect)):
        x1, y1 = min(d.box[0], w), min(d.box[1], h)
        x2, y2 = min(d.box[2], w), min(d.box[3], h)
        if x2 - x1 > 1 and y2 - y1 > 1:  # a box only in the padding is nobody
            out.append(Detection((x1, y1, x2, y2), d.score))
    return out


def detect_in(
    detect: DetectFn, frame: Frame, rect: Rect, max_aspect: float = 1.0
) -> list[Detection]:
    """Detections inside ``rect`` of ``frame`` (letterboxed to at most ``max_aspect``), boxes
    in ``frame``'s pixels."""
    x1, y1, x2, y2 = rect
    crop = np.ascontiguousarray(frame[y1:y2, x1:x2])
    return [
        Detection((d.box[0] + x1, d.box[1] + y1, d.box[2] + x1, d.box[3] + y1), d.score)
        for d in detect_letterboxed(detect, crop, max_aspect)
    ]


def square_around(
    box: tuple[float, float, float, float], width: int, height: int, min_side: int
) -> Rect:
    """The smallest square of at least ``min_side`` px centred on ``box``, moved into the frame.

    A square crop is fed to the model unstretched; ``min_side`` keeps a tiny patch of motion
    from being magnified so much that texture looks like a person. A square larger than the
    frame's short side is cut to it (the crop is then letterboxed).
    """
    cx, cy = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
    side = max(box[2] - box[0], box[3] - box[1], float(min_side))
    sw, sh = min(side, float(width)), min(side, float(height))
    x1 = round(min(max(cx - sw / 2.0, 0.0), width - sw))
    y1 = round(min(max(cy - sh / 2.0, 0.0), height - sh))
    return (x1, y1, min(width, x1 + round(sw)), min(height, y1 + round(sh)))


def _starts(length: int, side: int, overlap: float) -> list[int]:
    """Starts of tiles of ``side`` along ``length``, neighbours overlapping by ≥ ``overlap``."""
    if length <= side:
        return [0]
    n = math.ceil((length - side) / (side * (1.0 - overlap))) + 1
    step = (length - side) / (n - 1)
    return [round(i * step) for i in range(n)]


def square_tiles(width: int, height: int, side: int, overlap: float = 0.2) -> list[Rect]:
    """Overlapping squares of ``side`` px covering the whole frame, row by row.

    Neighbours overlap by at least ``overlap`` of a side, so a person cut by one tile's edge is
    whole in the next; the last row/column ends exactly at the frame's edge.
    """
    side = max(1, min(side, width, height))
    xs, ys = _starts(width, side, overlap), _starts(height, side, overlap)
    return [(x, y, x + side, y + side) for y in ys for x in xs]


def tiling_for(
    width: int, height: int, count: int, overlap: float = 0.2, max_aspect: float = 1.0
) -> list[Rect]:
    """The tiling of the frame with at most ``count`` tiles whose tiles are smallest.

    Smaller tiles magnify small people more, so every grid of ``cols × rows ≤ count`` is
    tried and the one whose tiles have the smallest area wins (neighbours overlapping by
    ``overlap``); [] when ``count`` < 1. A tile's width/height stays within ``max_aspect``
    (its short side is grown when needed): 1 gives squares — a 16:9 frame with 6 tiles gets
    3×2 of 0.68 the frame's height rather than 2 of its full height — and 16/9 lets 4 tiles
    be 2×2 of 0.56 the frame's size, each squeezed by the model's input as the whole frame is.
    """
    limit = max(1.0, max_aspect)
    best: tuple[float, list[Rect]] | None = None
    for cols in range(1, count + 1):
        for rows in range(1, count // cols + 1):
            tw = width / (1.0 + (cols - 1) * (1.0 - overlap))
            th = height / (1.0 + (rows - 1) * (1.0 - overlap))
            tw, th = max(tw, th / limit), max(th, tw / limit)
            if tw > width + 0.5 or th > height + 0.5:
                continue  # a tile of this shape cannot be that wide or tall in the frame
            side_w, side_h = min(width, math.ceil(tw)), min(height, math.ceil(th))
            xs, ys = _starts(width, side_w, overlap), _starts(height, side_h, overlap)
            area = float(side_w * side_h)
            if len(xs) * len(ys) <= count and (best is None or area < best[0] - 0.5):
                best = (area, [(x, y, x + side_w, y + side_h) for y in ys for x in xs])
    return [] if best is None else best[1]


def merge_boxes(rects: Sequence[Rect], gap: int = 0) -> list[Rect]:
    """Rectangles closer than ``gap`` px merged into their union, until none touch."""
    out = [list(r) for r in rects]
    changed = True
    while changed:
        changed = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if (
                    a[0] - gap <= b[2]
                    and b[0] - gap <= a[2]
                    and a[1] - gap <= b[3]
                    and b[1] - gap <= a[3]
                ):
                    out[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del out[j]
                    changed = True
                    break
            if changed:
                break
    return [(r[0], r[1], r[2], r[3]) for r in out]


#: Width of the grey picture the motion gate compares, px (its height keeps the frame's
#: aspect). The camera-health thumbnail (64×48) is too coarse for people seen from high up: a
#: 60–95 px person walking across a 1280×720 corridor changed 0–0.2 % of it, below the
#: default ``motion_threshold`` of 0.2 %, so detection ran only every ``max_skip_s``; at 160×90
#: the same walk changes 0.2–0.4 %, and far more of an armed zone's region.
MOTION_PROBE_WIDTH = 160
MOTION_PIXEL_DELTA = 25  # grey levels: a pixel "changed" above this (sensor noise stays below)


def motion_probe(frame: Frame) -> Frame:
    """The small grey picture the motion gate compares: ``MOTION_PROBE_WIDTH`` wide, the
    frame's aspect kept (a 16:9 frame gives 160×90)."""
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    h, w = grey.shape[:2]
    size = (MOTION_PROBE_WIDTH, max(1, round(MOTION_PROBE_WIDTH * h / max(1, w))))
    return np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def motion_fraction(
    prev: Frame | None,
    cur: Frame,
    areas: Sequence[Rect] = (),
    frame_size: tuple[int, int] | None = None,
) -> float:
    """How much moved between two probes: the largest changed fraction of the whole picture
    and of each of ``areas`` (pixel boxes of a ``frame_size`` = (width, height) frame, e.g.
    armed zones with their margin); 1.0 without history.

    Measured against an area rather than the whole picture, a small far person walking into
    a zone is a sizeable change, so one ``motion_threshold`` suits near and far people.
    """
    if prev is None or prev.shape != cur.shape:
        return 1.0
    a = cv2.GaussianBlur(prev, (5, 5), 0)
    b = cv2.GaussianBlur(cur, (5, 5), 0)
    changed = cv2.absdiff(a, b) > MOTION_PIXEL_DELTA
    best = float(changed.mean())
    if areas and frame_size is not None:
        ph, pw = cur.shape[:2]
        sx, sy = pw / max(1, frame_size[0]), ph / max(1, frame_size[1])
        for x1, y1, x2, y2 in areas:
            cx1, cy1 = max(0, int(x1 * sx)), max(0, int(y1 * sy))
            cx2, cy2 = min(pw, math.ceil(x2 * sx)), min(ph, math.ceil(y2 * sy))
            if cx2 > cx1 and cy2 > cy1:
                best = max(best, float(changed[cy1:cy2, cx1:cx2].mean()))
    return best


def motion_boxes(
    prev: Frame | None, cur: Frame, width: int, height: int, delta: int = 25, min_area: int = 4
) -> list[Rect]:
    """Boxes (pixels of a width×height frame) around what changed between two thumbnails.

    ``prev``/``cur`` are the small grey frames the motion gate keeps; blobs under ``min_area``
    thumbnail pixels are sensor noise. Nearby blobs are merged (a walking person's legs and
    head move apart), biggest first.
    """
    if prev is None or prev.shape != cur.shape:
        return []
    diff = cv2.absdiff(cv2.GaussianBlur(prev, (5, 5), 0), cv2.GaussianBlur(cur, (5, 5), 0))
    changed = ((diff > delta) * 255).astype(np.uint8)
    mask = cv2.dilate(changed, np.ones((3, 3), np.uint8), iterations=2)
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    th, tw = cur.shape[:2]
    sx, sy = width / tw, height / th
    rects = [
        (
            int(stats[i][0] * sx),
            int(stats[i][1] * sy),
            math.ceil((stats[i][0] + stats[i][2]) * sx),
            math.ceil((stats[i][1] + stats[i][3]) * sy),
        )
        for i in range(1, count)
        if stats[i][4] >= min_area
    ]
    merged = merge_boxes(rects, gap=int(0.02 * max(width, height)))
    return sorted(merged, key=lambda r: -(r[2] - r[0]) * (r[3] - r[1]))


def expand(box: tuple[float, float, float, float], margin: float, width: int, height: int) -> Rect:
    """``box`` grown by ``margin`` of its size on every side, clipped to the frame."""
    mw, mh = (box[2] - box[0]) * margin, (box[3] - box[1]) * margin
    return (
        max(0, int(box[0] - mw)),
        max(0, int(box[1] - mh)),
        min(width, math.ceil(box[2] + mw)),
        min(height, math.ceil(box[3] + mh)),
    )


def cover(rect: Rect, side: int, width: int, height: int, overlap: float = 0.2) -> list[Rect]:
    """Squares of ~``side`` px covering ``rect`` (one when it fits; a zone larger than that
    is tiled so people in it are not shrunk)."""
    rw, rh = rect[2] - rect[0], rect[3] - rect[1]
    if max(rw, rh) <= side:
        return [square_around(rect, width, height, side)]
    short = max(side, min(rw, rh))
    tiles = square_tiles(rw, rh, short, overlap)
    return [(x1 + rect[0], y1 + rect[1], x2 + rect[0], y2 + rect[1]) for x1, y1, x2, y2 in tiles]


@dataclass
class Plan:
    """What one frame gets: the inputs to run, in priority order, and why."""

    strategy: str
    rects: list[Rect] = field(default_factory=list)
    whole: bool = False  # also the letterboxed whole frame
    squeezed: bool = False  # the whole frame stretched to the model's input (``single``)
    max_aspect: float = 1.0  # inputs are padded to at most this width/height, then squeezed
    model: Model = "street"  # which model runs the inputs

    @property
    def inferences(self) -> int:
        return len(self.rects) + int(self.whole) + int(self.squeezed)


def plan(
    strategy: str,
    width: int,
    height: int,
    budget: int,
    *,
    zones: Sequence[Rect] = (),
    motion: Sequence[Rect] = (),
    region_px: int = 224,
    overlap: float = 0.2,
    max_aspect: float = TILE_ASPECT,
    overhead: bool = False,
) -> Plan:
    """Which inputs a frame gets under ``strategy`` with room for ``budget`` inferences.

    ``zones`` (armed zones' boxes, margin included) come first — the door a household must
    not leave — then ``motion`` boxes, each covered by squares of ``region_px``; what the
    budget cannot hold is dropped, least important last; a run left over goes to the
    letterboxed whole frame. ``tiles`` runs the finest
    tiling the budget holds, plus the whole frame if a run is left over. Tiles and the whole
    frame are padded to at most ``max_aspect`` (width/height) and squeezed by the model's
    input (1: squares, never squeezed); region squares stay squares. At least one inference
    always runs. ``overhead`` says whether the overhead model is ready: ``overhead`` and
    ``auto`` then run it once on the whole frame; without it ``overhead`` still plans it (the
    caller reports the model unavailable) and ``auto`` falls back to regions or tiles.
    """
    budget = max(1, budget)
    if strategy == "overhead" or (strategy == "auto" and overhead):
        return Plan("overhead", squeezed=True, model="overhead")
    if strategy == "single":
        return Plan("single", squeezed=True)
    if strategy in ("regions", "auto") and (zones or motion):
        rects: list[Rect] = []
        for rect in list(zones) + list(motion):
            room = budget - len(rects)
            if room <= 0:
                break
            squares = cover(rect, region_px, width, height, overlap)
            if len(squares) > room:
                # Too few runs left to tile it: one coarser square over all of it beats
                # fine squares over part of it (a zone half-watched misses half its people).
                rw, rh = rect[2] - rect[0], rect[3] - rect[1]
                squares = [square_around(rect, width, height, max(rw, rh))]
            rects += [q for q in squares if not any(_inside(q, r) for r in rects)]
        # A run left over goes to the letterboxed whole frame: a person close to the camera
        # is larger than any region, and someone may stand still outside every zone.
        return Plan("regions", rects, whole=len(rects) < budget, max_aspect=max_aspect)
    tiles = tiling_for(width, height, budget, overlap, max_aspect)
    if len(tiles) < 2:  # one tile is (nearly) the frame: the whole frame is as good
        return Plan("tiles", whole=True, max_aspect=max_aspect)
    # The whole frame finds people too big for a tile, when the budget has room.
    return Plan("tiles", tiles, whole=len(tiles) < budget, max_aspect=max_aspect)


def _inside(inner: Rect, outer: Rect) -> bool:
    return (
        inner[0] >= outer[0]
        and inner[1] >= outer[1]
        and inner[2] <= outer[2]
        and inner[3] <= outer[3]
    )


def run_plan(
    detect: DetectFn,
    frame: Frame,
    p: Plan,
    nms_iou: float = 0.45,
    *,
    overhead: DetectFn | None = None,
) -> list[Detection]:
    """Detections of every input of ``p``, mapped to ``frame``'s pixels and merged, best first.

    ``detect`` runs the street-level model, ``overhead`` the overhead one (for plans whose
    ``model`` is ``overhead``; without it such a plan finds nobody).
    """
    if p.model == "overhead":
        if overhead is None:
            return []
        detect = overhead
    found: list[Detection] = []
    if p.squeezed:
        found += detect(frame)
    if p.whole:
        found += detect_letterboxed(detect, frame, p.max_aspect)
    for rect in p.rects:
        found += detect_in(detect, frame, rect, p.max_aspect)
    if p.squeezed and not p.whole and not p.rects:
        return sorted(found, key=lambda d: -d.score)  # the model's own NMS already ran
    return merge(found, nms_iou)


def inference_ms(detector: Any, runs: int = 3) -> float:
    """One inference's time, ms: the fastest of ``runs`` on a blank model-sized image.

    For stills (``edge-gate detect``, benchmarks) the budget uses this fixed figure, so a run
    gives the same plan for every image; the fastest run is the machine's own speed without
    the noise of other processes.
    """
    side = 300
    status = getattr(detector, "status", None)
    if status is not None and status.input_size:
        side = int(status.input_size[0])
    blank = np.full((side, side, 3), PAD_GREY, dtype=np.uint8)
    best = float("inf")
    for _ in range(max(1, runs)):
        start = time.perf_counter()
        detector.detect(blank)
        best = min(best, (time.perf_counter() - start) * 1000.0)
    return max(0.1, best)


@dataclass
class Budget:
    """How many inferences fit ``budget_ms`` per frame, from the detector's measured speed.

    Keeps an exponential average of one inference's wall time on this camera's thread (it
    includes waiting for a core the door holds, which is what the budget must respect).
    Before the first measurement it assumes ``initial_ms``.
    """

    budget_ms: float
    initial_ms: float = 12.0
    max_regions: int = 16
    _avg_ms: float | None = None

    @property
    def per_inference_ms(self) -> float:
        return self._avg_ms if self._avg_ms is not None else self.initial_ms

    def count(self) -> int:
        return max(1, min(self.max_regions, int(self.budget_ms // self.per_inference_ms)))

    def observe(self, ms: float, inferences: int) -> None:
        if inferences <= 0:
            return
        each = ms / inferences
        self._avg_ms = each if self._avg_ms is None else 0.8 * self._avg_ms + 0.2 * each
