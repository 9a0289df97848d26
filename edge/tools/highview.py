"""A reproducible development set of people seen from high corridor cameras (issue 20).

We have no corridor footage we may ship, so the set is built from what Debian ships:
``vtest.avi`` (OpenCV samples in ``opencv-doc``, an elevated outdoor CCTV camera). People are
cut out of it by background subtraction (the median of many frames is an empty street), then
warped as a high camera sees them — foreshortened, the head end wider than the feet, leaning
away from the image centre as in a wide-angle lens looking down — and pasted into rendered
corridors (floor converging to a vanishing point, walls, doors) of 1280×720. The ground truth
is the bounding box of each pasted person's warped mask. Three kinds:

* ``corridor``: 1–4 people, 55–170 px tall, the nearest at the bottom of the frame;
* ``crowd``: 6–12 smaller people (35–100 px), as from a ceiling camera over a lobby;
* ``ceiling``: 10–20 people spread over the whole picture of a lobby floor seen steeply from
  a ceiling camera (more foreshortened, leaning away from the point below the camera), their
  size varying with distance, 40–130 px (issue 20's held-back set is of this kind; we do not
  see it, so this kind is built from its description only: ~14 people per frame).

Kinds are rendered in this order from one random stream, so adding a kind after the others
leaves their images unchanged.

The same seed and the same ``vtest.avi`` always give the same images (numpy's PCG64 and
OpenCV's deterministic drawing). Layout: ``DIR/<kind>-NNN.png`` and ``DIR/truth.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.vision.geometry import Box

Frame = npt.NDArray[np.uint8]
WIDTH, HEIGHT = 1280, 720
KINDS = ("corridor", "crowd", "ceiling")


@dataclass(frozen=True)
class Sprite:
    """A person cut out of vtest.avi: BGR pixels and a 0..255 mask of the same size."""

    image: Frame
    mask: Frame


def extract_sprites(video: Path, frames: int = 795, every: int = 9) -> list[Sprite]:
    """Isolated people from ``video``: foreground blobs of a person's size and shape.

    The background is the per-pixel median of every ``every``-th frame (people keep moving,
    so the median is the empty scene). A blob counts when it is 50–140 px tall with a width
    0.25–0.6 of its height (one upright person, not a group) and touches no frame edge.
    """
    cap = cv2.VideoCapture(str(video))
    sample: list[Frame] = []
    index = 0
    while index < frames:
        ok, frame = cap.read()
        if not ok:
            break
        if index % every == 0:
            sample.append(np.asarray(frame, dtype=np.uint8))
        index += 1
    cap.release()
    if len(sample) < 10:
        raise ValueError(f"{video}: too few frames to model the background")
    background = np.median(np.stack(sample), axis=0).astype(np.int16)
    sprites: list[Sprite] = []
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    for frame in sample[::2]:
        diff = np.abs(frame.astype(np.int16) - background).max(axis=2)
        fg = ((diff > 35) * 255).astype(np.uint8)
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, kernel)
        fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, kernel, iterations=2)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
        h, w = fg.shape
        for i in range(1, count):
            x, y, bw, bh, area = (int(v) for v in stats[i])
            if not 50 <= bh <= 140 or not 0.25 <= bw / bh <= 0.6:
                continue
            if x <= 1 or y <= 1 or x + bw >= w - 1 or y + bh >= h - 1:
                continue
            if area < 0.45 * bw * bh:  # a thin stripe or two people touching
                continue
            mask = ((labels[y : y + bh, x : x + bw] == i) * 255).astype(np.uint8)
            sprites.append(Sprite(frame[y : y + bh, x : x + bw].copy(), mask))
    return sprites


def corridor(rng: np.random.Generator) -> tuple[Frame, tuple[float, float]]:
    """A rendered corridor seen from high at one end: image and its vanishing point."""
    img = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    vx = float(rng.uniform(0.4, 0.6) * WIDTH)
    vy = float(rng.uniform(0.05, 0.22) * HEIGHT)
    half = float(rng.uniform(0.09, 0.16) * WIDTH)  # half the far end's width
    wall = tuple(int(v) for v in rng.integers(120, 215, 3))
    floor = tuple(int(v) for v in rng.integers(60, 170, 3))
    img[:] = wall
    far_l, far_r = (vx - half, vy + 40.0), (vx + half, vy + 40.0)
    left_x = float(rng.uniform(-0.25, 0.05) * WIDTH)
    right_x = float(rng.uniform(0.95, 1.25) * WIDTH)
    floor_poly = np.array([(left_x, HEIGHT), (right_x, HEIGHT), far_r, far_l], dtype=np.float32)
    cv2.fillPoly(img, [floor_poly.astype(np.int32)], floor)
    # Floor tiles: lines to the vanishing point and across, like a tiled corridor.
    line = tuple(max(0, c - 25) for c in floor)
    for t in np.linspace(0.0, 1.0, 9):
        x_bottom = left_x + t * (right_x - left_x)
        x_far = far_l[0] + t * (far_r[0] - far_l[0])
        cv2.line(img, (int(x_bottom), HEIGHT), (int(x_far), int(far_l[1])), line, 1)
    for k in range(1, 12):
        y = far_l[1] + (HEIGHT - far_l[1]) * (k / 12) ** 1.8
        cv2.line(img, (0, int(y)), (WIDTH, int(y)), line, 1)
    # The far wall and doors along both side walls, smaller with distance.
    cv2.rectangle(img, (int(far_l[0]), 0), (int(far_r[0]), int(far_l[1])), wall, -1)
    door = tuple(int(v) for v in rng.integers(30, 110, 3))
    for side in (-1, 1):
        for t in (0.25, 0.5, 0.75):
            tt = t + float(rng.uniform(-0.05, 0.05))
            base_x = (left_x if side < 0 else right_x) * (1 - tt) + (
                far_l[0] if side < 0 else far_r[0]
            ) * tt
            base_y = HEIGHT * (1 - tt) + far_l[1] * tt
            scale = 1 - tt * 0.8
            dw, dh = 70 * scale, 260 * scale
            x0 = base_x - dw if side < 0 else base_x
            pts = np.array(
                [(x0, base_y - dh), (x0 + dw, base_y - dh * 0.9), (x0 + dw, base_y), (x0, base_y)],
                dtype=np.int32,
            )
            cv2.fillPoly(img, [pts], door)
    # Lighting falls off with distance from the ceiling lamp; sensor noise on top.
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    lamp = 1.15 - 0.45 * np.hypot((xx - vx) / WIDTH, (yy - HEIGHT * 0.6) / HEIGHT)
    lit = img.astype(np.float32) * lamp[..., None]
    return np.clip(lit, 0, 255).astype(np.uint8), (vx, vy)


def lobby(rng: np.random.Generator) -> tuple[Frame, tuple[float, float]]:
    """A lobby floor seen steeply from a ceiling camera: image and the point below the camera.

    The floor fills the picture (a strip of far wall at the top at most), with tiles whose
    lines converge gently, a few rugs, benches and pillars, and light falling off from the
    lamps; the point below the camera (nadir) lies below the picture's bottom edge.
    """
    img = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    floor = tuple(int(v) for v in rng.integers(70, 190, 3))
    img[:] = floor
    wall_h = int(rng.uniform(0.0, 0.12) * HEIGHT)
    nx, ny = float(rng.uniform(0.35, 0.65) * WIDTH), float(rng.uniform(1.1, 1.6) * HEIGHT)
    line = tuple(max(0, c - 30) for c in floor)
    for t in np.linspace(-1.2, 2.2, 18):  # tile lines towards the far end, spreading near
        x_top = WIDTH * t
        x_bottom = nx + (x_top - nx) * 1.6
        cv2.line(img, (int(x_top), wall_h), (int(x_bottom), HEIGHT), line, 1)
    for k in range(1, 10):
        y = wall_h + (HEIGHT - wall_h) * (k / 10) ** 1.3
        cv2.line(img, (0, int(y)), (WIDTH, int(y)), line, 1)
    for _ in range(int(rng.integers(1, 4))):  # rugs, benches, planters: clutter to ignore
        colour = tuple(int(v) for v in rng.integers(20, 230, 3))
        x0, y0 = int(rng.uniform(0, WIDTH - 200)), int(rng.uniform(wall_h, HEIGHT - 80))
        cv2.rectangle(
            img,
            (x0, y0),
            (x0 + int(rng.uniform(60, 260)), y0 + int(rng.uniform(25, 90))),
            colour,
            -1,
        )
    for _ in range(int(rng.integers(0, 3))):  # pillars: tall dark shapes people pass behind
        x0 = int(rng.uniform(0, WIDTH - 40))
        cv2.rectangle(
            img,
            (x0, 0),
            (x0 + int(rng.uniform(25, 50)), int(rng.uniform(150, 400))),
            tuple(int(v) for v in rng.integers(40, 120, 3)),
            -1,
        )
    if wall_h:
        img[:wall_h] = tuple(int(v) for v in rng.integers(120, 215, 3))
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    lamp = 1.2 - 0.5 * np.hypot((xx - nx) / WIDTH, (yy - 0.7 * HEIGHT) / HEIGHT)
    lit = img.astype(np.float32) * lamp[..., None]
    return np.clip(lit, 0, 255).astype(np.uint8), (nx, ny)


def warp_person(
    sprite: Sprite,
    height: float,
    lean_deg: float,
    rng: np.random.Generator,
    squash_range: tuple[float, float] = (0.7, 0.95),
) -> tuple[Frame, npt.NDArray[np.float32]]:
    """The sprite as a high camera sees it, ``height`` px tall: pixels and 0..1 alpha."""
    sh, sw = sprite.image.shape[:2]
    squash = float(rng.uniform(*squash_range))  # foreshortening of a body seen from above
    head = float(rng.uniform(1.05, 1.35))  # the head is nearer the camera than the feet
    scale = height / (sh * squash)
    w, h = sw * scale, sh * scale * squash
    pad = (head - 1) * w / 2
    src = np.array([(0, 0), (sw, 0), (sw, sh), (0, sh)], dtype=np.float32)
    dst = np.array([(0, 0), (w + 2 * pad, 0), (w + pad, h), (pad, h)], dtype=np.float32)
    # Lean: rotate about the feet (a wide-angle lens looking down tilts people outwards).
    angle = math.radians(lean_deg)
    feet = np.array([pad + w / 2, h], dtype=np.float32)
    rot = np.array(
        [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]], np.float32
    )
    dst = np.asarray((dst - feet) @ rot.T + feet, dtype=np.float32)
    dst -= dst.min(axis=0)
    out_w, out_h = math.ceil(dst[:, 0].max()) + 1, math.ceil(dst[:, 1].max()) + 1
    matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    image = cv2.warpPerspective(sprite.image, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(sprite.mask, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (3, 3), 0)
    return np.asarray(image, dtype=np.uint8), np.asarray(alpha, dtype=np.float32)


def _overlaps(box: tuple[int, int, int, int], boxes: list[tuple[int, int, int, int]]) -> bool:
    for b in boxes:
        iw = min(box[2], b[2]) - max(box[0], b[0])
        ih = min(box[3], b[3]) - max(box[1], b[1])
        if iw > 0 and ih > 0 and iw * ih > 0.15 * (box[2] - box[0]) * (box[3] - box[1]):
            return True
    return False


def render_scene(
    sprites: list[Sprite], kind: str, rng: np.random.Generator
) -> tuple[Frame, list[tuple[int, int, int, int]]]:
    """One 1280×720 frame of ``kind`` and the boxes of the people in it."""
    if kind == "ceiling":
        return _ceiling_scene(sprites, rng)
    img, (vx, vy) = corridor(rng)
    canvas = img.astype(np.float32)
    if kind == "corridor":
        count, near, far = int(rng.integers(1, 5)), 170.0, 55.0
    else:
        count, near, far = int(rng.integers(6, 13)), 100.0, 35.0
    boxes: list[tuple[int, int, int, int]] = []
    attempts = 0
    while len(boxes) < count and attempts < 200:
        attempts += 1
        sprite = sprites[int(rng.integers(len(sprites)))]
        depth = float(rng.uniform(0.0, 1.0))  # 0 = far end, 1 = nearest the camera
        feet_y = vy + 60 + depth * (HEIGHT - vy - 62)
        height = far + (near - far) * depth
        spread = (0.15 + 0.8 * depth) * WIDTH / 2
        feet_x = vx + float(rng.uniform(-spread, spread))
        lean = float(np.clip((feet_x - WIDTH / 2) / WIDTH * 40, -18, 18))
        image, alpha = warp_person(sprite, height, lean, rng)
        ah, aw = alpha.shape
        x0, y0 = int(feet_x - aw / 2), int(feet_y - ah)
        if x0 < 0 or y0 < 0 or x0 + aw > WIDTH or y0 + ah > HEIGHT:
            continue
        ys, xs = np.nonzero(alpha > 0.5)
        if ys.size == 0:
            continue
        box = (
            x0 + int(xs.min()),
            y0 + int(ys.min()),
            x0 + int(xs.max()) + 1,
            y0 + int(ys.max()) + 1,
        )
        if _overlaps(box, boxes):
            continue
        gain = float(rng.uniform(0.8, 1.15))  # lit differently from the street it came from
        region = canvas[y0 : y0 + ah, x0 : x0 + aw]
        person = np.clip(image.astype(np.float32) * gain, 0, 255)
        region[:] = region * (1 - alpha[..., None]) + person * alpha[..., None]
        boxes.append(box)
    noise = rng.normal(0.0, 3.0, canvas.shape)
    out = np.clip(cv2.GaussianBlur(canvas, (3, 3), 0) + noise, 0, 255).astype(np.uint8)
    return out, boxes


def _paste(
    canvas: npt.NDArray[np.float32],
    image: Frame,
    alpha: npt.NDArray[np.float32],
    feet: tuple[float, float],
    boxes: list[tuple[int, int, int, int]],
    rng: np.random.Generator,
    overlap: float = 0.15,
) -> bool:
    """Paste one warped person with its feet at ``feet``; False if it does not fit."""
    ah, aw = alpha.shape
    x0, y0 = int(feet[0] - aw / 2), int(feet[1] - ah)
    if x0 < 0 or y0 < 0 or x0 + aw > WIDTH or y0 + ah > HEIGHT:
        return False
    ys, xs = np.nonzero(alpha > 0.5)
    if ys.size == 0:
        return False
    box = (x0 + int(xs.min()), y0 + int(ys.min()), x0 + int(xs.max()) + 1, y0 + int(ys.max()) + 1)
    for b in boxes:
        iw = min(box[2], b[2]) - max(box[0], b[0])
        ih = min(box[3], b[3]) - max(box[1], b[1])
        if iw > 0 and ih > 0 and iw * ih > overlap * (box[2] - box[0]) * (box[3] - box[1]):
            return False
    gain = float(rng.uniform(0.8, 1.15))
    region = canvas[y0 : y0 + ah, x0 : x0 + aw]
    person = np.clip(image.astype(np.float32) * gain, 0, 255)
    region[:] = region * (1 - alpha[..., None]) + person * alpha[..., None]
    boxes.append(box)
    return True


def _ceiling_scene(
    sprites: list[Sprite], rng: np.random.Generator
) -> tuple[Frame, list[tuple[int, int, int, int]]]:
    """10–20 people anywhere on a lobby floor, seen steeply from a ceiling camera."""
    img, (nx, ny) = lobby(rng)
    canvas = img.astype(np.float32)
    count = int(rng.integers(10, 21))
    near = float(rng.uniform(95.0, 130.0))  # the size at the bottom edge varies per camera
    far = float(rng.uniform(40.0, 55.0))
    boxes: list[tuple[int, int, int, int]] = []
    attempts = 0
    while len(boxes) < count and attempts < 400:
        attempts += 1
        sprite = sprites[int(rng.integers(len(sprites)))]
        fy = float(rng.uniform(0.12, 1.0)) * HEIGHT
        fx = float(rng.uniform(0.02, 0.98)) * WIDTH
        height = (far + (near - far) * fy / HEIGHT) * float(rng.uniform(0.85, 1.15))
        # Seen from above, a body leans away from the point below the camera.
        lean = float(np.clip(math.degrees(math.atan2(fx - nx, ny - fy)), -35, 35))
        image, alpha = warp_person(sprite, height, lean, rng, squash_range=(0.55, 0.85))
        _paste(canvas, image, alpha, (fx, fy), boxes, rng, overlap=0.2)
    noise = rng.normal(0.0, 3.0, canvas.shape)
    out = np.clip(cv2.GaussianBlur(canvas, (3, 3), 0) + noise, 0, 255).astype(np.uint8)
    return out, boxes


def build_set(video: Path, folder: Path, per_kind: int = 30, seed: int = 2026) -> dict[str, Any]:
    """Write ``per_kind`` images of each kind and ``truth.json``; return the truth record."""
    sprites = extract_sprites(video)
    if len(sprites) < 20:
        raise ValueError(f"{video}: only {len(sprites)} people could be cut out")
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    images: list[dict[str, Any]] = []
    for kind in KINDS:
        for n in range(per_kind):
            frame, boxes = render_scene(sprites, kind, rng)
            name = f"{kind}-{n:03d}.png"
            cv2.imwrite(str(folder / name), frame)
            images.append({"file": name, "kind": kind, "persons": [list(b) for b in boxes]})
    truth = {
        "source": f"{video.name} (opencv-doc), {len(sprites)} people cut out",
        "seed": seed,
        "size": [WIDTH, HEIGHT],
        "images": images,
    }
    (folder / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    return truth


def load_truth(folder: Path) -> list[tuple[Path, str, list[Box]]]:
    """(image path, kind, person boxes) from a folder written by :func:`build_set`."""
    record = json.loads((folder / "truth.json").read_text())
    out: list[tuple[Path, str, list[Box]]] = []
    for item in record["images"]:
        boxes: list[Box] = [
            (float(b[0]), float(b[1]), float(b[2]), float(b[3])) for b in item["persons"]
        ]
        out.append((folder / item["file"], str(item["kind"]), boxes))
    return out


def walking_scene(
    sprite: Sprite, steps: int = 16, wait: int = 25, seed: int = 3
) -> tuple[list[Frame], list[tuple[float, float]]]:
    """A person seen from a high corridor camera walking from the far end to a door, waiting.

    ``sprite`` is warped once (one person keeps one shape) and grows from 60 px tall at the
    far end to ~95 px at the door on the right: small enough that the whole 1280×720 frame
    squeezed into the model's 300×300 input loses him. Returns the frames (fresh sensor noise
    each, so camera health sees a live camera) and a normalised zone polygon in front of the
    door where he stops.
    """
    rng = np.random.default_rng(seed)
    background, (vx, vy) = corridor(rng)
    start, stop = (vx, vy + 120.0), (0.72 * WIDTH, 0.8 * HEIGHT)
    frames: list[Frame] = []
    for i in range(steps + wait):
        t = min(i, steps) / steps
        fx, fy = start[0] + t * (stop[0] - start[0]), start[1] + t * (stop[1] - start[1])
        image, alpha = warp_person(sprite, 60.0 + 35.0 * t, 6.0 * t, np.random.default_rng(seed))
        ah, aw = alpha.shape
        x0, y0 = int(fx - aw / 2), int(fy - ah)
        canvas = background.astype(np.float32)
        region = canvas[y0 : y0 + ah, x0 : x0 + aw]
        region[:] = region * (1 - alpha[..., None]) + image * alpha[..., None]
        noise = rng.normal(0.0, 2.0, canvas.shape)
        frames.append(np.clip(canvas + noise, 0, 255).astype(np.uint8))
    zone = [(0.62, 0.68), (0.84, 0.68), (0.84, 0.9), (0.62, 0.9)]
    return frames, zone
