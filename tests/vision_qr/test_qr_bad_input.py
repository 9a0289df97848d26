"""Bad frames and files never crash the reader: a clear status, an empty result, no traceback."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.tools.render import qr_image
from edge.vision.camera.sources import SourceError, read_image
from edge.vision.qr.codes import Code
from edge.vision.qr.scanner import Scanner
from edge.vision.qr.settings import ScannerSettings

BAD_FRAMES: dict[str, np.ndarray] = {
    "empty": np.zeros((0, 0, 3), np.uint8),
    "one pixel": np.zeros((1, 1), np.uint8),
    "tiny": np.full((20, 20, 3), 255, np.uint8),
    "all black": np.zeros((720, 1280, 3), np.uint8),
    "all white": np.full((720, 1280, 3), 255, np.uint8),
    "two channels": np.zeros((100, 100, 2), np.uint8),
    "four dims": np.zeros((2, 100, 100, 3), np.uint8),
    "float noise": np.random.default_rng(0).random((240, 320)),
    "int32": np.zeros((240, 320), np.int32),
    "NaN floats": np.full((240, 320), np.nan, np.float32),
}


@pytest.mark.parametrize("name", sorted(BAD_FRAMES))
@pytest.mark.parametrize("strategy", ["multi", "zxing", "pyzbar"])
def test_bad_frames_read_nothing(name: str, strategy: str, no_edge_logs: None) -> None:
    scanner = Scanner(ScannerSettings(strategy=strategy))  # type: ignore[arg-type]
    assert scanner.scan(BAD_FRAMES[name]) == []


def test_not_an_array_reads_nothing() -> None:
    assert Scanner().scan(None) == []  # type: ignore[arg-type]
    assert Scanner().scan([[0, 1], [1, 0]]) == []  # type: ignore[arg-type]


def test_huge_frame_is_read_within_reason() -> None:
    """8000 × 8000 (64 MP): shrunk for the first read, the code in it is still found."""
    frame = np.full((8000, 8000), 255, np.uint8)
    code = qr_image("CP1:HUGE-FRAME", scale=40)
    frame[3000 : 3000 + code.shape[0], 3000 : 3000 + code.shape[1]] = code
    assert [c.text for c in Scanner().scan(frame)] == ["CP1:HUGE-FRAME"]


def test_grey_bgra_and_16_bit_frames_are_read() -> None:
    grey = np.pad(qr_image("CP1:FORMATS", scale=6), 40, constant_values=255)
    bgra = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGRA)
    deep = grey.astype(np.uint16) * 257
    for frame in (grey, bgra, deep, grey[..., None]):
        assert [c.text for c in Scanner().scan(frame)] == ["CP1:FORMATS"]


def test_several_codes_in_one_frame_are_all_reported() -> None:
    a, b = qr_image("CP1:LEFT", scale=6), qr_image("CP1:RIGHT", scale=6)
    frame = np.full((400, 800), 255, np.uint8)
    frame[50 : 50 + a.shape[0], 50 : 50 + a.shape[1]] = a
    frame[50 : 50 + b.shape[0], 450 : 450 + b.shape[1]] = b
    assert sorted(c.text for c in Scanner().scan(frame)) == ["CP1:LEFT", "CP1:RIGHT"]


def test_budget_stops_the_ladder() -> None:
    """A clock that jumps 50 ms per reading leaves room for the first rung only."""
    ticks = iter(np.arange(0.0, 1000.0, 0.05))
    scanner = Scanner(ScannerSettings(budget_ms=80.0), clock=lambda: float(next(ticks)))
    report = scanner.scan_detailed(np.zeros((480, 640), np.uint8))
    assert report.tried == ["zxing"]
    assert report.out_of_budget
    assert report.codes == []


def test_cross_check_drops_a_disagreeing_read() -> None:
    """A pyzbar read that zxing-cpp reads differently at the same place is dropped."""
    grey = np.pad(qr_image("CP1:TRUE", scale=6), 40, constant_values=255)
    scanner = Scanner()
    h, w = grey.shape
    corners = ((40, 40), (w - 40, 40), (w - 40, h - 40), (40, h - 40))
    run = _run(scanner)
    assert scanner._checked([Code("CP1:FALSE", "QRCode", corners)], grey, run) == []
    assert run.report.rejected == 1
    kept = scanner._checked([Code("CP1:TRUE", "QRCode", corners)], grey, run)
    assert [c.text for c in kept] == ["CP1:TRUE"]


def test_cross_check_keeps_unconfirmed_ascii_only() -> None:
    """Where zxing-cpp sees nothing, only printable ASCII (every credential) is trusted."""
    blank = np.full((200, 200), 255, np.uint8)
    corners = ((10, 10), (190, 10), (190, 190), (10, 190))
    scanner = Scanner()
    run = _run(scanner)
    assert scanner._checked([Code("CP1:ASCII", "QRCode", corners)], blank, run) != []
    assert scanner._checked([Code("ｼﾞｬﾊﾟﾝ", "QRCode", corners)], blank, run) == []


def _run(scanner: Scanner):  # type: ignore[no-untyped-def]
    from edge.vision.qr.scanner import ScanReport, _Run

    return _Run(scanner, ScanReport())


@pytest.mark.parametrize(
    "content",
    [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, bytes(range(256)) * 40],
    ids=["empty", "text", "truncated png", "binary junk"],
)
def test_unreadable_files_raise_source_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(SourceError):
        read_image(path)


def test_missing_file_and_folder_raise_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        read_image(tmp_path / "missing.png")
    with pytest.raises(SourceError):
        read_image(tmp_path)


class Ticker:
    """A clock that moves 5 ms each time it is read: scans seem to take time, deterministically."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 0.005
        return self.t


def test_fallbacks_on_empty_frames_are_limited_to_their_share_of_time() -> None:
    blank = np.full((480, 640), 128, np.uint8)
    unlimited = Scanner(ScannerSettings(fallback_duty=1.0), clock=Ticker())
    assert not any(unlimited.scan_detailed(blank).deferred for _ in range(20))
    clock = Ticker()
    limited = Scanner(ScannerSettings(fallback_duty=0.2), clock=clock)
    deferred = [limited.scan_detailed(blank).deferred for _ in range(20)]
    assert deferred.count(False) >= 2 and deferred.count(True) >= 10, deferred
    clock.t += 10.0  # a quiet spell: credit comes back
    report = limited.scan_detailed(blank)
    assert not report.deferred and len(report.tried) > 1
