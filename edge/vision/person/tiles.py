"""Tiled detection for cameras where people look small (far away, high-angle corridor views).

The shipped SSDLite model sees a 300×300 version of the whole frame, so a person under
~80 px tall in a 768×576 frame shrinks to ~40 px and is often missed. Running the detector
also on an overlapping ``grid``×``grid`` set of crops magnifies them; the boxes are mapped back
and merged. It costs ``grid² + 1`` inferences per frame, so it is a per-camera opt-in
(``[[perimeter.cameras]] tiles``). Measured on vtest.avi: ``docs/benchmarks.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np
import numpy.typing as npt

from edge.vision.geometry import Box, Detection

Frame = npt.NDArray[np.uint8]
DetectFn = Callable[[Frame], Sequence[Detection]]


def tile_origins(
    width: int, height: int, grid: int, overlap: float
) -> list[tuple[int, int, int, int]]:
    """``(x0, y0, x1, y1)`` pixel rectangles of a grid×grid tiling with fractional ``overlap``."""
    tw = width / (grid - (grid - 1) * overlap)
    th = height / (grid - (grid - 1) * overlap)
    rects = []
    for gy in range(grid):
        for gx in range(grid):
            x0, y0 = int(gx * tw * (1 - overlap)), int(gy * th * (1 - overlap))
            # The last row/column ends exactly at the frame edge (no pixel lost to rounding).
            x1 = width if gx == grid - 1 else min(width, round(x0 + tw))
            y1 = height if gy == grid - 1 else min(height, round(y0 + th))
            rects.append((x0, y0, x1, y1))
    return rects


def _contained(inner: Box, outer: Box) -> float:
    """Fraction of ``inner``'s area that lies inside ``outer``."""
    iw = min(inner[2], outer[2]) - max(inner[0], outer[0])
    ih = min(inner[3], outer[3]) - max(inner[1], outer[1])
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return max(0.0, iw) * max(0.0, ih) / area if area > 0 else 0.0


def merge(
    detections: Sequence[Detection], nms_iou: float = 0.45, contain: float = 0.7
) -> list[Detection]:
    """One box per person from overlapping tile results, best first.

    Plain NMS (``cv2.dnn.NMSBoxes``, IoU ``nms_iou``) removes near-identical boxes; a tile cut
    through a person also yields a half-body box inside the full one, which NMS keeps (their
    IoU is low), so a box with ≥ ``contain`` of its area inside a better box is dropped too.
    """
    if not detections:
        return []
    xywh = [[d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]] for d in detections]
    scores = [d.score for d in detections]
    keep = np.asarray(cv2.dnn.NMSBoxes(xywh, scores, 0.0, nms_iou), dtype=np.int64).reshape(-1)
    ordered = sorted((detections[int(i)] for i in keep), key=lambda d: -d.score)
    out: list[Detection] = []
    for det in ordered:
        if all(_contained(det.box, kept.box) < contain for kept in out):
            out.append(det)
    return out


def detect_tiled(
    detect: DetectFn, frame: Frame, grid: int, overlap: float = 0.25, nms_iou: float = 0.45
) -> list[Detection]:
    """Whole-frame detections plus those of ``grid``×``grid`` overlapping crops, merged.

    ``detect`` returns boxes in pixels of the image it is given; ``grid`` 1 is plain detection.
    """
    found = list(detect(frame))
    if grid <= 1:
        return found
    h, w = frame.shape[:2]
    for x0, y0, x1, y1 in tile_origins(w, h, grid, overlap):
        for d in detect(np.ascontiguousarray(frame[y0:y1, x0:x1])):
            b = d.box
            found.append(Detection((b[0] + x0, b[1] + y0, b[2] + x0, b[3] + y0), d.score))
    return merge(found, nms_iou)
