"""Image preparations for the fallback reads, and a cheap finder of code-like regions.

Each preparation answers one way a code defeats a plain read, measured on the generated hard
set (see docs/benchmarks.md):

* moiré and sensor noise: halve the resolution with area averaging and blur a little;
* small modules: crop the region and upscale it so a module spans several pixels;
* blur and JPEG smear: unsharp masking;
* low contrast and glare: local histogram equalisation (CLAHE);
* uneven light for ZBar, which thresholds globally: adaptive threshold.

Everything here is pure and works on single-channel ``uint8`` images.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from edge.vision.qr.codes import Code

_CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))


@dataclass(frozen=True)
class Region:
    """An axis-aligned box in frame pixels: ``x0 <= x < x1``, ``y0 <= y < y1``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def area(self) -> int:
        """Area in pixels²."""
        return max(0, self.x1 - self.x0) * max(0, self.y1 - self.y0)

    def overlap(self, other: Region) -> float:
        """Intersection over the smaller box's area, 0..1."""
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        if w <= 0 or h <= 0:
            return 0.0
        return (w * h) / max(1, min(self.area, other.area))

    def grown(self, margin: float, width: int, height: int) -> Region:
        """This box grown by ``margin`` × its size on every side, clipped to the frame."""
        mx = int((self.x1 - self.x0) * margin) + 2
        my = int((self.y1 - self.y0) * margin) + 2
        return Region(
            max(0, self.x0 - mx),
            max(0, self.y0 - my),
            min(width, self.x1 + mx),
            min(height, self.y1 + my),
        )

    @staticmethod
    def around(points: tuple[tuple[int, int], ...]) -> Region:
        """The box around ``points``."""
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        return Region(min(xs), min(ys), max(xs) + 1, max(ys) + 1)


def shrink(grey: np.ndarray, max_pixels: int) -> tuple[np.ndarray, float]:
    """``grey`` area-averaged down to at most ``max_pixels``, and the factor applied (≤ 1)."""
    h, w = grey.shape[:2]
    if h * w <= max_pixels:
        return grey, 1.0
    f = float(np.sqrt(max_pixels / (h * w)))
    size = (max(1, int(w * f)), max(1, int(h * f)))
    # Gaussian pyramid halvings (~3 ms from 12 MP), then linear interpolation for the last
    # factor (0.5 .. 1, where it aliases little): area averaging costs 15-55 ms on 12 MP
    out = grey
    while out.shape[1] >= 2 * size[0] and out.shape[0] >= 2 * size[1]:
        out = cv2.pyrDown(out)
    if (out.shape[1], out.shape[0]) != size:
        out = cv2.resize(out, size, interpolation=cv2.INTER_LINEAR)
    return out, f


def half_blurred(grey: np.ndarray) -> np.ndarray:
    """Half resolution, area-averaged, then a 3×3 Gaussian: melts moiré and sensor noise."""
    h, w = grey.shape[:2]
    small = cv2.resize(grey, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(small, (3, 3), 0)


def sharpened(grey: np.ndarray, sigma: float = 2.0, amount: float = 0.8) -> np.ndarray:
    """Unsharp mask: ``grey`` + ``amount`` × (``grey`` − blur(``grey``, ``sigma`` px))."""
    return cv2.addWeighted(grey, 1 + amount, cv2.GaussianBlur(grey, (0, 0), sigma), -amount, 0)


def equalised(grey: np.ndarray) -> np.ndarray:
    """CLAHE: stretches contrast tile by tile, so a dim or half-glared code gets full range."""
    return _CLAHE.apply(grey)


def gamma(grey: np.ndarray, g: float) -> np.ndarray:
    """``grey`` stretched to the full 0..255 range (1st to 99th percentile), then put through
    ``out = in ** g``: ``g`` < 1 lifts the shadows of a dark frame, ``g`` > 1 the highlights of
    a bright one."""
    lo, hi = np.percentile(grey[::4, ::4], (1, 99))
    span = max(float(hi - lo), 1.0)
    x = np.arange(256, dtype=np.float32)
    lut = 255.0 * np.clip((x - float(lo)) / span, 0.0, 1.0) ** g
    return cv2.LUT(grey, lut.astype(np.uint8))


def thresholded(grey: np.ndarray, block: int = 31, c: int = 5) -> np.ndarray:
    """Adaptive Gaussian threshold over ``block``-pixel neighbourhoods, offset ``c`` levels."""
    return cv2.adaptiveThreshold(
        grey, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, block, c
    )


def upscale_factor(region: Region, target_px: int = 800, limit: float = 6.0) -> float:
    """How much to enlarge a crop: towards ``target_px`` on its shorter side, 1.5 .. ``limit``.

    Enlarging by less than 1.5 gains little: zxing-cpp's detector samples at module centres,
    and it is interpolated sub-pixel detail that rescues blurred and tilted codes. Crops whose
    shorter side is ``target_px`` or more (photos) are read as they are.
    """
    side = max(1, min(region.x1 - region.x0, region.y1 - region.y0))
    if side >= target_px:
        return 1.0
    return float(min(limit, max(1.5, target_px / side)))


def crop(grey: np.ndarray, region: Region, factor: float) -> np.ndarray:
    """The pixels of ``region`` enlarged by ``factor`` (bicubic)."""
    part = grey[region.y0 : region.y1, region.x0 : region.x1]
    if factor <= 1.0:
        return np.ascontiguousarray(part)
    return cv2.resize(part, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)


def to_frame(codes: list[Code], scale: float, dx: int = 0, dy: int = 0) -> list[Code]:
    """Codes read on a scaled (by ``scale``) crop at (``dx``, ``dy``), in frame pixels."""
    return [
        replace(
            c, corners=tuple((round(x / scale) + dx, round(y / scale) + dy) for x, y in c.corners)
        )
        for c in codes
    ]


def find_candidates(grey: np.ndarray, limit: int = 3) -> list[Region]:
    """Up to ``limit`` boxes (frame pixels) dense in fine edges, largest first.

    A code is a square patch of many strong edges a few pixels apart. On a quarter-size copy
    the morphological gradient marks edges, closing merges a code's modules into one blob, and
    blobs of plausible size and squareness become candidates. About 1 ms on a 720p frame.
    """
    h, w = grey.shape[:2]
    f = min(1.0, 480.0 / max(h, w))
    small = cv2.resize(grey, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
    grad = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    _, mask = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    found = []
    min_side = 8  # pixels of the small copy: below this nothing is decodable anyway
    for c in contours:
        x, y, bw, bh = cv2.boundingRect(c)
        if min(bw, bh) < min_side or max(bw, bh) > 4 * min(bw, bh):
            continue
        fill = cv2.contourArea(c) / float(bw * bh)
        if fill < 0.35:
            continue
        found.append(Region(int(x / f), int(y / f), int((x + bw) / f), int((y + bh) / f)))
    found.sort(key=lambda r: r.area, reverse=True)
    return found[:limit]


def merge_regions(regions: list[Region], limit: int) -> list[Region]:
    """``regions`` without near-duplicates (overlap ≥ 0.6 with one kept earlier), in order."""
    kept: list[Region] = []
    for r in regions:
        if r.area > 0 and all(r.overlap(k) < 0.6 for k in kept):
            kept.append(r)
    return kept[:limit]


RECT_SIDE = 600  # pixels: a located symbol is rectified onto a square this size
RECT_MARGIN = 40  # pixels of quiet zone kept around it


def rectified(grey: np.ndarray, quad: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    """The symbol whose corners are ``quad`` warped onto an upright square, and the 3×3
    homography from that square back to frame pixels."""
    s, m = RECT_SIDE, RECT_MARGIN
    src = np.array(quad[:4], np.float32)
    dst = np.array([[m, m], [s - m, m], [s - m, s - m], [m, s - m]], np.float32)
    forward = cv2.getPerspectiveTransform(src, dst)
    img = cv2.warpPerspective(
        grey, forward, (s, s), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(img, np.uint8), np.asarray(np.linalg.inv(forward), np.float64)


def unbent(img: np.ndarray, sag: float, axis: int) -> np.ndarray:
    """``img`` with a parabolic bend removed: with ``axis`` 0 the middle columns are moved up
    by ``sag`` × height (a card sagging in the middle, as held by its two ends); axis 1 does
    the same across rows. A negative ``sag`` undoes a bulge the other way."""
    work = img.T if axis == 1 else img
    h, w = work.shape[:2]
    xs = np.arange(w, dtype=np.float32)
    drop = sag * h * (1 - ((2 * xs / max(w - 1, 1)) - 1) ** 2)  # 0 at both edges
    map_x = np.tile(xs, (h, 1))
    map_y = np.arange(h, dtype=np.float32)[:, None] + drop[None, :]
    out = cv2.remap(work, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(out.T if axis == 1 else out)


def through(codes: list[Code], homography: np.ndarray) -> list[Code]:
    """Codes read on a rectified image, with corners mapped back to frame pixels."""
    out = []
    for c in codes:
        pts = np.array(c.corners, np.float64).reshape(-1, 1, 2)
        back = cv2.perspectiveTransform(pts, homography).reshape(-1, 2)
        out.append(replace(c, corners=tuple((round(x), round(y)) for x, y in back)))
    return out
