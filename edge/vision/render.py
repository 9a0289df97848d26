"""Render camera-like frames of a person presenting a QR code, for the demo and for tests.

The frames are deterministic for a given seed: a textured background, the code on a phone
screen (or a printed card) warped in perspective, then blur, sensor noise and screen glare.
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
    base = rng.uniform(60, 140, size=3)
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
    code = qr_image(text, scale=4, border=4).astype(np.float32)
    if look.invert:
        code = 255.0 - code
    if look.phone:
        # lit screen slightly blue, darker than paper
        screen = np.dstack([code * 0.95 + 10, code * 0.92 + 8, code * 0.85 + 5])
        pad = code.shape[0] // 6
        card = np.full((code.shape[0] + 4 * pad, code.shape[1] + 2 * pad, 3), 25, np.float32)
        card[2 * pad : 2 * pad + code.shape[0], pad : pad + code.shape[1]] = screen
    else:
        paper = np.dstack([code * 0.93 + 8] * 3)
        pad = code.shape[0] // 10
        card = np.full((code.shape[0] + 2 * pad, code.shape[1] + 2 * pad, 3), 235, np.float32)
        card[pad : pad + code.shape[0], pad : pad + code.shape[1]] = paper
    h, w = card.shape[:2]
    scale = look.code_px / code.shape[0]
    cx = width / 2 + rng.uniform(-0.15, 0.15) * width
    cy = height / 2 + rng.uniform(-0.1, 0.1) * height
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    k = np.tan(np.radians(look.tilt)) * 0.5
    dx, dy = w * scale / 2, h * scale / 2
    quad = np.float32(
        [[-dx * (1 - k), -dy], [dx * (1 - k), -dy * (1 + k)], [dx, dy * (1 + k)], [-dx, dy]]
    )
    a = np.radians(look.rotate)
    rot = np.float32([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    dst = (quad @ rot.T + np.float32([cx, cy])).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(card, m, (width, height), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), m, (width, height))[..., None]
    frame = frame * (1 - mask) + warped * mask
    if look.glare > 0:
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        gx = cx + rng.uniform(-0.3, 0.3) * dx
        gy = cy + rng.uniform(-0.3, 0.3) * dy
        r = max(dx, dy) * 0.35
        spot = np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * r * r)) * mask[..., 0]
        frame += (255 - frame) * (look.glare * spot)[..., None]
    if look.blur > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), look.blur)
    frame += rng.normal(0, look.noise, frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)
