"""The QR reading engines: zxing-cpp (primary) and pyzbar (second opinion and fallback).

Both take a single-channel ``uint8`` image and return :class:`Code` objects with corners in
that image's pixel coordinates. Both are restricted to the symbologies credentials use (QR
and, for zxing-cpp, Aztec): with every format on, real photos yield false linear-code reads.
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

import numpy as np
import zxingcpp

from edge.vision.qr.codes import Code

log = logging.getLogger(__name__)

QR = "QRCode"
AZTEC = "Aztec"

# Model 2 is every QR code printed since 1997; Micro QR and rMQR are left out on purpose
_QR_FORMATS = (zxingcpp.BarcodeFormat.QRCodeModel2,)
_AZTEC_FORMATS = (zxingcpp.BarcodeFormat.AztecCode,)

BINARIZERS = {
    "local": zxingcpp.Binarizer.LocalAverage,
    "global": zxingcpp.Binarizer.GlobalHistogram,
}


def _symbology(fmt: Any) -> str:
    """Our stable name for a zxing-cpp format (its names changed between major versions)."""
    return AZTEC if "aztec" in str(fmt.name).lower() else QR


Quad = tuple[tuple[int, int], ...]


def zxing_detailed(
    grey: np.ndarray,
    aztec: bool,
    binarizer: str = "local",
    try_harder: bool = True,
    qr: bool = True,
) -> tuple[list[Code], list[Quad]]:
    """Read ``grey`` with zxing-cpp; ``try_harder`` adds its rotated, downscaled, inverted tries.

    ``qr`` and ``aztec`` choose the symbologies: reading Aztec too costs about twice a QR-only
    read on a camera frame, so the scanner asks for it only when it can be there.

    Returns the codes read and the corners of symbols zxing-cpp located but could not decode
    (failed error correction): free candidate regions for the fallbacks. A result that failed
    error correction is never returned as a code. Texts are what the symbol holds
    (``TextMode.Plain``): the default ``HRI`` mode rewrites control bytes as ``<SOH>`` names
    and GS1 data as ``(01)`` brackets, and a credential rewritten so no longer verifies.
    """
    formats = (_QR_FORMATS if qr else ()) + (_AZTEC_FORMATS if aztec else ())
    if not formats:
        return [], []
    results = zxingcpp.read_barcodes(
        grey,
        formats=formats,  # type: ignore[arg-type]  # a tuple is the non-deprecated spelling
        try_rotate=try_harder,
        try_downscale=try_harder,
        try_invert=try_harder,
        text_mode=zxingcpp.TextMode.Plain,
        binarizer=BINARIZERS[binarizer],
        return_errors=True,
    )
    codes, located = [], []
    for r in results:
        p = r.position
        corners = tuple(
            (int(pt.x), int(pt.y))
            for pt in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
        )
        if r.valid and r.error is None and r.text:
            codes.append(Code(r.text, _symbology(r.format), corners, bytes(r.bytes)))
        else:
            located.append(corners)
    return codes, located


def zxing(
    grey: np.ndarray,
    aztec: bool,
    binarizer: str = "local",
    try_harder: bool = True,
    qr: bool = True,
) -> list[Code]:
    """The codes zxing-cpp reads in ``grey`` (see :func:`zxing_detailed`)."""
    return zxing_detailed(grey, aztec, binarizer, try_harder, qr)[0]


_pyzbar_module: ModuleType | None = None
_pyzbar_missing = False


def _load_pyzbar() -> ModuleType | None:
    """pyzbar, imported on first use: it needs the libzbar0 system library."""
    global _pyzbar_module, _pyzbar_missing
    if _pyzbar_module is None and not _pyzbar_missing:
        try:
            from pyzbar import pyzbar

            _pyzbar_module = pyzbar
        except (ImportError, OSError):
            _pyzbar_missing = True
            log.warning("pyzbar unavailable (install the libzbar0 package): zxing-cpp only")
    return _pyzbar_module


def pyzbar_available() -> bool:
    """Whether the pyzbar engine can run here."""
    return _load_pyzbar() is not None


def pyzbar(grey: np.ndarray) -> list[Code]:
    """Read QR codes in ``grey`` with ZBar; an empty list when pyzbar is not installed.

    ZBar guesses the character set of byte-mode payloads and sometimes guesses wrong, so a
    payload that is not valid UTF-8 is dropped here and the scanner cross-checks the rest.
    """
    zbar = _load_pyzbar()
    if zbar is None:
        return []
    grey = np.ascontiguousarray(grey)
    out = []
    for r in zbar.decode(grey, symbols=[zbar.ZBarSymbol.QRCODE]):
        try:
            text = r.data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if not text:
            continue
        pts = [(int(p.x), int(p.y)) for p in r.polygon]
        out.append(Code(text, QR, _clockwise_from_top_left(pts), bytes(r.data)))
    return out


def _clockwise_from_top_left(pts: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """ZBar's polygon in our corner order: clockwise (in image coordinates) from top-left."""
    if len(pts) != 4:
        return tuple(pts)
    cx = sum(p[0] for p in pts) / 4
    cy = sum(p[1] for p in pts) / 4
    ordered = sorted(pts, key=lambda p: np.arctan2(p[1] - cy, p[0] - cx))  # clockwise in y-down
    start = min(range(4), key=lambda i: ordered[i][0] + ordered[i][1])
    return tuple(ordered[start:] + ordered[:start])
