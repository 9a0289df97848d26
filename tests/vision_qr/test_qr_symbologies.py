"""Only the symbologies credentials use are reported: QR and (optionally) Aztec.

With every format on, real photos yield false reads of linear codes (a Codabar read in a
certificate photo), so other symbologies in view are ignored on purpose.
"""

from __future__ import annotations

import numpy as np
import pytest
import zxingcpp

from edge.vision.qr.scanner import Scanner
from edge.vision.qr.settings import ScannerSettings


def _symbol(fmt: zxingcpp.BarcodeFormat, text: str = "HC1:TEST123") -> np.ndarray:
    img = np.asarray(zxingcpp.create_barcode(text, fmt).to_image(scale=6), np.uint8)
    return np.pad(img, 60, constant_values=255)  # a quiet zone and some frame around it


def test_aztec_is_read_when_enabled_and_ignored_when_not() -> None:
    frame = _symbol(zxingcpp.BarcodeFormat.Aztec)
    codes = Scanner().scan(frame)
    assert [(c.text, c.symbology) for c in codes] == [("HC1:TEST123", "Aztec")]
    assert Scanner(ScannerSettings(aztec=False)).scan(frame) == []


@pytest.mark.parametrize(
    "fmt",
    [
        zxingcpp.BarcodeFormat.DataMatrix,
        zxingcpp.BarcodeFormat.Code128,
        zxingcpp.BarcodeFormat.MicroQRCode,
    ],
    ids=["datamatrix", "code128", "microqr"],
)
def test_other_symbologies_are_not_reported(fmt: zxingcpp.BarcodeFormat) -> None:
    assert Scanner(ScannerSettings(budget_ms=2000.0)).scan(_symbol(fmt)) == []
