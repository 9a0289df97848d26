"""Find and read every credential code in a camera frame.

zxing-cpp reads first (fast, robust on photos); pyzbar is the fallback engine.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
import zxingcpp

from edge.vision.codes import Code

log = logging.getLogger(__name__)

_FORMATS = zxingcpp.BarcodeFormat.QRCode | zxingcpp.BarcodeFormat.Aztec


def to_grey(frame: np.ndarray) -> np.ndarray:
    """A single-channel 8-bit view of ``frame`` (BGR, BGRA or already grey)."""
    if frame.ndim == 2:
        return frame
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _zxing(grey: np.ndarray) -> list[Code]:
    out = []
    for r in zxingcpp.read_barcodes(grey, formats=_FORMATS):
        if not r.valid or not r.text:
            continue
        p = r.position
        corners = tuple(
            (int(pt.x), int(pt.y)) for pt in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
        )
        out.append(Code(r.text, str(r.format.name), corners))
    return out


def _pyzbar(grey: np.ndarray) -> list[Code]:
    from pyzbar import pyzbar  # imported lazily: needs the libzbar0 system library

    out = []
    for r in pyzbar.decode(grey, symbols=[pyzbar.ZBarSymbol.QRCODE]):
        try:
            text = r.data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        corners = tuple((int(p.x), int(p.y)) for p in r.polygon)
        out.append(Code(text, "QRCode", corners))
    return out


class Scanner:
    """Reads codes from frames. Stateless and safe to share between threads."""

    def scan(self, frame: np.ndarray) -> list[Code]:
        """Every code in ``frame``; an empty list when none can be read."""
        if frame.size == 0 or min(frame.shape[:2]) < 21:
            return []
        grey = to_grey(frame)
        codes = _zxing(grey)
        if not codes:
            try:
                codes = _pyzbar(grey)
            except ImportError:
                log.debug("pyzbar unavailable (libzbar0 missing)")
        return codes
