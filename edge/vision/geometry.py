"""Boxes, polygons and detections: the small pure geometry the perimeter logic shares.

Boxes are ``(x1, y1, x2, y2)`` with x to the right and y down. The detector reports them in
pixels of the original frame; the perimeter normalises them to 0..1 of the frame so zones,
masks and area filters are independent of the camera's resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

Box = tuple[float, float, float, float]
Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Detection:
    """One person found in a frame: box (pixels or normalised, see the producer) and score 0..1."""

    box: Box
    score: float

    def normalised(self, width: int, height: int) -> Detection:
        """The same detection with the box divided by the frame size (pixels -> 0..1)."""
        x1, y1, x2, y2 = self.box
        return Detection((x1 / width, y1 / height, x2 / width, y2 / height), self.score)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes, 0..1 (0 for empty boxes)."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def bottom_centre(box: Box) -> Point:
    """Where a standing person touches the ground: the middle of the box's bottom edge."""
    return ((box[0] + box[2]) / 2.0, box[3])


def point_in_polygon(point: Point, polygon: Sequence[Point]) -> bool:
    """True when the point is inside or on the edge of the polygon (same units for both)."""
    contour = np.asarray(polygon, dtype=np.float32).reshape(-1, 1, 2)
    # measureDist=False returns +1 inside, 0 on the edge, -1 outside.
    return bool(cv2.pointPolygonTest(contour, (float(point[0]), float(point[1])), False) >= 0)


def _orientation(p: Point, q: Point, r: Point) -> float:
    return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])


def _segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Proper or touching intersection of segments ab and cd."""
    o1, o2 = _orientation(a, b, c), _orientation(a, b, d)
    o3, o4 = _orientation(c, d, a), _orientation(c, d, b)
    if (o1 > 0) != (o2 > 0) and (o3 > 0) != (o4 > 0) and 0 not in (o1, o2, o3, o4):
        return True

    def on_segment(p: Point, q: Point, r: Point) -> bool:
        return min(p[0], q[0]) <= r[0] <= max(p[0], q[0]) and min(p[1], q[1]) <= r[1] <= max(
            p[1], q[1]
        )

    return (
        (o1 == 0 and on_segment(a, b, c))
        or (o2 == 0 and on_segment(a, b, d))
        or (o3 == 0 and on_segment(c, d, a))
        or (o4 == 0 and on_segment(c, d, b))
    )


def polygon_problem(points: Sequence[Sequence[float]]) -> str | None:
    """Why a normalised polygon is unusable, in words for check-config, or None if it is fine.

    Refuses fewer than 3 corners, coordinates outside 0..1, zero area and self-intersection
    (a "bow tie" drawn by mistake would make inside/outside meaningless).
    """
    if len(points) < 3:
        return f"needs at least 3 corners, got {len(points)}"
    for i, p in enumerate(points):
        if len(p) != 2:
            return f"corner {i + 1} must be [x, y], got {list(p)}"
        if not (0.0 <= p[0] <= 1.0 and 0.0 <= p[1] <= 1.0):
            return (
                f"corner {i + 1} {list(p)} is outside the frame: "
                "coordinates are fractions of width/height, 0..1"
            )
    pts: list[Point] = [(float(p[0]), float(p[1])) for p in points]
    n = len(pts)
    for i in range(n):
        a, b = pts[i], pts[(i + 1) % n]
        for j in range(i + 1, n):
            # Neighbouring edges share a corner by construction; skip them.
            if j == i or (j + 1) % n == i or (i + 1) % n == j:
                continue
            c, d = pts[j], pts[(j + 1) % n]
            if _segments_cross(a, b, c, d):
                return f"edges {i + 1} and {j + 1} cross (self-intersecting); list corners in order"
    area2 = sum(pts[i][0] * pts[(i + 1) % n][1] - pts[(i + 1) % n][0] * pts[i][1] for i in range(n))
    if abs(area2) < 1e-9:
        return "has zero area (all corners on one line)"
    return None


def check_polygon(points: list[Point], what: str) -> list[Point]:
    """``points`` if they form a usable polygon, else ``ValueError`` naming ``what``."""
    problem = polygon_problem(points)
    if problem:
        raise ValueError(f"{what}: {problem}")
    return points
