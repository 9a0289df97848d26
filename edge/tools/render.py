"""Render camera-like frames of a person presenting a QR code, for the demo and for tests.

The frames are deterministic for a given seed: a textured background, the code on a phone
screen (or a printed card) warped in perspective, then blur, sensor noise and screen glare.
The harder looks of the generated QR test set (low contrast, moiré from photographing a screen,
a bent card in uneven light, motion blur, JPEG artefacts) are further fields of :class:`Look`;
their defaults leave the original frames unchanged.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
import segno


@dataclass(frozen=True)
class Look:
    """How a code is presented. Angles in degrees, sizes in pixels of the output frame."""

    code_px: int = 300  # side of the code in the frame
    tilt: float = 12.0  # perspective strength, degrees
    rotate: float = 6.0  # in-plane rotation, degrees
    blur: float = 1.0  # Gaussian sigma, pixels
    noise: float = 6.0  # sensor noise sigma, grey levels
    glare: float = 0.35  # peak brightness of a specular highlight, 0..1
    phone: bool = True  # dark phone bezel around a lit screen; False = printed card
    invert: bool = False  # light modules on a dark screen (dark-mode apps)
    error: str = "m"  # QR error-correction level: l, m, q or h
    contrast: float = 1.0  # dark-to-light module difference as a fraction of full range, 0..1
    moire: bool = False  # screen shown as an RGB sub-pixel grid, sampled without prefilter
    curve: float = 0.0  # bend of a card: sag at its middle as a fraction of its height
    shadow: float = 0.0  # darkening of one side of the frame by a light gradient, 0..1
    motion: float = 0.0  # length of a straight motion-blur streak, pixels
    jpeg: int = 0  # JPEG quality the frame is compressed at, 1..100; 0 = not compressed
    exposure: float = 1.0  # light gain before the sensor clips: < 1 under-, > 1 over-exposed
    gamma: float = 1.0  # sensor response ``out = in ** gamma`` on 0..1; 1 = linear


def qr_image(text: str, error: str = "m", scale: int = 8, border: int = 4) -> np.ndarray:
    """A clean grey QR image of ``text`` (alphanumeric mode where the text allows it)."""
    qr = segno.make_qr(text, error=error, boost_error=False)
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=scale, border=border)
    img = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert img is not None  # segno always writes a valid PNG
    return img


def qr_version(text: str, error: str = "m") -> int:
    """The QR version ``text`` needs at error correction ``error``."""
    return int(segno.make_qr(text, error=error, boost_error=False).version)


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    base = rng.uniform(60, 140, size=3).astype(np.float32)  # float32 keeps the frame float32
    ramp = np.linspace(0.7, 1.2, width, dtype=np.float32)[None, :, None]
    bg = np.ones((height, width, 3), np.float32) * base[None, None, :] * ramp
    small = rng.uniform(-25, 25, size=(height // 40 + 1, width // 40 + 1, 3)).astype(np.float32)
    bg += cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    return bg


def render_frame(
    text: str,
    seed: int = 0,
    look: Look | None = None,
    width: int = 1280,
    height: int = 720,
) -> np.ndarray:
    """A BGR ``uint8`` frame of ``text`` presented to the gate camera."""
    look = look or Look()
    rng = np.random.default_rng(seed)
    frame = _background(rng, width, height)
    code = qr_image(text, error=look.error, scale=4, border=4).astype(np.float32)
    if look.contrast < 1.0:
        # squeeze both module colours towards mid grey
        code = 128.0 + (code - 128.0) * look.contrast
    if look.invert:
        code = 255.0 - code
    if look.phone:
        # lit screen slightly blue, darker than paper
        screen = np.dstack([code * 0.95 + 10, code * 0.92 + 8, code * 0.85 + 5])
        if look.moire:
            screen = _subpixels(screen)
            code = screen[..., 0]  # only its shape is used below
        pad = code.shape[0] // 6
        card = np.full((code.shape[0] + 4 * pad, code.shape[1] + 2 * pad, 3), 25, np.float32)
        card[2 * pad : 2 * pad + code.shape[0], pad : pad + code.shape[1]] = screen
    else:
        paper = np.dstack([code * 0.93 + 8] * 3)
        pad = code.shape[0] // 10
        card = np.full((code.shape[0] + 2 * pad, code.shape[1] + 2 * pad, 3), 235, np.float32)
        card[pad : pad + code.shape[0], pad : pad + code.shape[1]] = paper
        card += rng.normal(0, 4, card.shape[:2]).astype(np.float32)[..., None]  # paper grain
    if look.curve > 0:
        card = _bend(card, look.curve)
    h, w = card.shape[:2]
    scale = look.code_px / code.shape[0]
    cx = width / 2 + rng.uniform(-0.15, 0.15) * width
    cy = height / 2 + rng.uniform(-0.1, 0.1) * height
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    k = np.tan(np.radians(look.tilt)) * 0.5
    dx, dy = w * scale / 2, h * scale / 2
    quad = np.array(
        [[-dx * (1 - k), -dy], [dx * (1 - k), -dy * (1 + k)], [dx, dy * (1 + k)], [-dx, dy]],
        np.float32,
    )
    a = np.radians(look.rotate)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
    dst = (quad @ rot.T + np.array([cx, cy], np.float32)).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    # without area averaging the sub-pixel grid aliases into moiré bands, as a camera's does
    warped = cv2.warpPerspective(card, m, (width, height), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), m, (width, height))[..., None]
    frame = frame * (1 - mask) + warped * mask
    if look.glare > 0:
        yy = np.arange(height, dtype=np.float32)[:, None]  # broadcast, not a full grid
        xx = np.arange(width, dtype=np.float32)[None, :]
        gx = cx + rng.uniform(-0.3, 0.3) * dx
        gy = cy + rng.uniform(-0.3, 0.3) * dy
        r = max(dx, dy) * 0.35
        spot = np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * r * r)) * mask[..., 0]
        frame += (255 - frame) * (look.glare * spot)[..., None]
    if look.shadow > 0:
        frame *= _light_gradient(rng, width, height, look.shadow)[..., None]
    if look.blur > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), look.blur)
    if look.motion > 0:
        frame = cv2.filter2D(frame, -1, _streak(look.motion, rng.uniform(0, 180)))
    if look.exposure != 1.0:
        frame *= np.float32(look.exposure)  # clipped below, as a sensor clips
    # float32 draws: half the time of float64 ones on a 720p frame
    frame += rng.standard_normal(frame.shape, dtype=np.float32) * np.float32(look.noise)
    if look.gamma != 1.0:
        frame = 255.0 * (np.clip(frame, 0, 255) / 255.0) ** np.float32(look.gamma)
    out: np.ndarray = np.clip(frame, 0, 255).astype(np.uint8)
    if look.jpeg > 0:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(look.jpeg)])
        decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
        if decoded is not None:
            out = np.asarray(decoded, np.uint8)
    return out


def _subpixels(screen: np.ndarray) -> np.ndarray:
    """``screen`` (BGR float) as a display panel: each pixel three vertical R, G, B stripes of
    one third of its width each, with a dark gap row, at 3× the resolution."""
    big = np.repeat(np.repeat(screen, 3, axis=0), 3, axis=1)
    stripes = np.zeros((3, 3, 3), np.float32)  # (row, column, channel) of one pixel
    for col, channel in enumerate((2, 1, 0)):  # red, green, blue from left to right (BGR)
        stripes[:, col, channel] = 2.6  # a stripe lit alone is brighter to keep mean level
    stripes[2] *= 0.35  # the black matrix between pixel rows
    reps = (screen.shape[0], screen.shape[1], 1)
    return big * np.tile(stripes, reps)


def _bend(card: np.ndarray, sag: float) -> np.ndarray:
    """``card`` bent like a held card: rows sag by up to ``sag`` × height at the middle."""
    h, w = card.shape[:2]
    margin = int(np.ceil(sag * h)) + 1
    out_h = h + margin
    xs = np.arange(w, dtype=np.float32)
    drop = sag * h * (1 - ((2 * xs / max(w - 1, 1)) - 1) ** 2)  # parabola: 0 at edges
    map_x = np.tile(xs, (out_h, 1))
    map_y = np.arange(out_h, dtype=np.float32)[:, None] - drop[None, :]
    fill = float(card[0, 0].mean())
    return cv2.remap(
        card,
        map_x,
        map_y,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(fill, fill, fill),
    )


def _light_gradient(rng: np.random.Generator, width: int, height: int, depth: float) -> np.ndarray:
    """Gain per pixel, 1 on the lit side falling linearly to ``1 - depth`` on the other."""
    a = rng.uniform(0, 2 * np.pi)
    yy = np.arange(height, dtype=np.float32)[:, None]
    xx = np.arange(width, dtype=np.float32)[None, :]
    t = (xx / width - 0.5) * np.cos(a) + (yy / height - 0.5) * np.sin(a) + 0.5
    return np.asarray(1.0 - depth * np.clip(t, 0.0, 1.0), np.float32)


def _streak(length: float, angle_deg: float) -> np.ndarray:
    """A normalised straight motion-blur kernel ``length`` pixels long at ``angle_deg``."""
    n = max(3, int(np.ceil(length)) | 1)
    k = np.zeros((n, n), np.float32)
    c = n // 2
    dx, dy = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    for t in np.linspace(-length / 2, length / 2, n * 3):
        k[round(c + t * dy), round(c + t * dx)] = 1.0
    return np.asarray(k / k.sum(), np.float32)
