"""Texts come back as the symbol holds them: no human-readable rewriting.

zxing-cpp's default ``TextMode.HRI`` turned the control bytes of a symbol holding
``\\x01\\x10AD:SUB:…`` into ``<SOH><DLE>AD:SUB:…`` and the FNC1 separators of a GS1 symbol into
``(10)…(21)…`` brackets: a credential rewritten that way fails verification, or verifies
something else. These symbols are made by zxing-cpp's own writer, read back through every
strategy and through ``edge-gate scan --json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp

from edge.cli import main
from edge.vision.qr.scanner import Scanner
from edge.vision.qr.settings import ScannerSettings

CONTROL = b"\x01\x10AD:SUB:4711:2026-12-06"
GS1_HRI = "(10)ABC123(21)XYZ789"
GS1_PLAIN = "10ABC123\x1d21XYZ789"  # FNC1 after a variable-length field is a GS byte


def _framed(symbol: zxingcpp.Barcode) -> np.ndarray:
    """The symbol as a grey camera-sized frame: a quiet zone and some frame around it."""
    img = np.asarray(zxingcpp.write_barcode_to_image(symbol, scale=6), np.uint8)
    frame = np.full((480, 640), 200, np.uint8)
    h, w = img.shape
    frame[100 : 100 + h, 200 : 200 + w] = img
    return frame


@pytest.fixture(scope="module")
def control_frame() -> np.ndarray:
    return _framed(zxingcpp.create_barcode(CONTROL, zxingcpp.BarcodeFormat.QRCode))


@pytest.fixture(scope="module")
def gs1_frame() -> np.ndarray:
    return _framed(zxingcpp.create_barcode(GS1_HRI, zxingcpp.BarcodeFormat.QRCode, gs1=True))


@pytest.mark.parametrize("strategy", ["multi", "zxing"])
def test_control_bytes_are_not_named(control_frame: np.ndarray, strategy: str) -> None:
    codes = Scanner(ScannerSettings(strategy=strategy)).scan(control_frame)  # type: ignore[arg-type]
    assert [c.text for c in codes] == [CONTROL.decode("ascii")]
    assert codes[0].raw == CONTROL


@pytest.mark.parametrize("strategy", ["multi", "zxing"])
def test_gs1_keeps_its_separators(gs1_frame: np.ndarray, strategy: str) -> None:
    codes = Scanner(ScannerSettings(strategy=strategy)).scan(gs1_frame)  # type: ignore[arg-type]
    assert [c.text for c in codes] == [GS1_PLAIN]
    assert "(" not in codes[0].text


def test_scan_json_prints_the_symbol_text(
    tmp_path: Path,
    control_frame: np.ndarray,
    gs1_frame: np.ndarray,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = tmp_path / "control.png", tmp_path / "gs1.png"
    cv2.imwrite(str(a), control_frame)
    cv2.imwrite(str(b), gs1_frame)
    assert main(["scan", "--json", str(a), str(b)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    assert [[c["text"] for c in line["codes"]] for line in lines] == [
        [CONTROL.decode("ascii")],
        [GS1_PLAIN],
    ]
