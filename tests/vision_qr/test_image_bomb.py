"""Image bombs: a small file declaring a huge picture is refused from its header (issue 17).

Before: an 0.1 MB PNG declaring 30000 × 30000 px took 27 s and 5.3 GB in ``read_image``.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.core import limits
from edge.vision.camera.imagehead import ImageHeaderError, check_image_header, image_size
from edge.vision.camera.sources import ImageFolderSource, SourceError, read_image

EDGE_GATE = Path(sys.executable).with_name("edge-gate")


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_bomb(side: int = 30_000) -> bytes:
    """A real, decodable 1-bit PNG of side × side pixels (about 0.1 MB; 2.7 GB as BGR)."""
    z = zlib.compressobj(9)
    row = b"\x00" * ((side + 7) // 8 + 1)
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    path.write_bytes(png_bomb())
    return path


PROBE = """
import resource, sys, time
from pathlib import Path
from edge.vision.camera.sources import SourceError, read_image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.monotonic()
try:
    read_image(Path(sys.argv[1]))
    outcome = "decoded"
except SourceError as exc:
    outcome = str(exc)
print(time.monotonic() - t0, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
print(outcome)
"""


def test_png_bomb_is_refused_fast_and_small(bomb: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(bomb)], capture_output=True, text=True, timeout=120
    )
    first, outcome = out.stdout.strip().splitlines()
    seconds, extra_mb = map(float, first.split())
    assert "30000 × 30000 pixels" in outcome
    assert seconds < 1.0 and extra_mb < 100.0


def test_scan_cli_reports_the_bomb_and_goes_on(bomb: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), np.full((40, 40, 3), 255, np.uint8))
    out = subprocess.run(
        [str(EDGE_GATE), "scan", "--json", str(bomb), str(good)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert "over the limit" in lines[0]["error"] and "error" not in lines[1]
    assert out.returncode == 0 and "Traceback" not in out.stderr


def test_folder_source_skips_the_bomb(bomb: Path, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(bomb.read_bytes())
    cv2.imwrite(str(tmp_path / "b.png"), np.zeros((30, 40, 3), np.uint8))
    src = ImageFolderSource(tmp_path)
    frame = src.read()
    assert frame is not None and frame.shape == (30, 40, 3)
    assert src.read() is None


ENCODINGS = {
    "PNG": ".png",
    "JPEG": ".jpg",
    "WebP": ".webp",
    "BMP": ".bmp",
    "TIFF": ".tiff",
}


@pytest.mark.parametrize("fmt", list(ENCODINGS))
def test_header_size_of_real_pictures(fmt: str) -> None:
    img = np.random.default_rng(1).integers(0, 255, (37, 53, 3), np.uint8)
    ok, enc = cv2.imencode(ENCODINGS[fmt], img)
    assert ok
    assert image_size(enc.tobytes()) == (fmt, 53, 37)


def test_lossless_webp_size() -> None:
    ok, enc = cv2.imencode(
        ".webp", np.zeros((21, 34, 3), np.uint8), [cv2.IMWRITE_WEBP_QUALITY, 101]
    )
    assert ok and image_size(enc.tobytes()) == ("WebP", 34, 21)


def _patched(fmt: str, side: int) -> bytes:
    """A real small picture whose header was rewritten to declare side × side pixels."""
    noise = np.random.default_rng(2).integers(0, 255, (16, 16, 3), np.uint8)
    ok, enc = cv2.imencode(ENCODINGS[fmt], noise)
    assert ok
    b = bytearray(enc.tobytes())
    if fmt == "PNG":
        b[16:24] = struct.pack(">II", side, side)
    elif fmt == "JPEG":
        i = 2
        while b[i + 1] not in (0xC0, 0xC1, 0xC2):
            i += 2 + struct.unpack(">H", b[i + 2 : i + 4])[0]
        b[i + 5 : i + 9] = struct.pack(">HH", side, side)
    elif fmt == "WebP" and b[12:16] == b"VP8L":  # libwebp may pick lossless for noise
        bits = ((side - 1) & 0x3FFF) | (((side - 1) & 0x3FFF) << 14)
        b[21:25] = (bits | (b[24] & 0xF0) << 24).to_bytes(4, "little")
    elif fmt == "WebP":
        b[26:30] = struct.pack("<HH", side & 0x3FFF, side & 0x3FFF)
    elif fmt == "BMP":
        b[18:26] = struct.pack("<ii", side, side)
    elif fmt == "TIFF":
        e = "<" if b[:2] == b"II" else ">"
        ifd = struct.unpack(e + "I", b[4:8])[0]
        for k in range(struct.unpack(e + "H", b[ifd : ifd + 2])[0]):
            at = ifd + 2 + 12 * k
            tag, kind = struct.unpack(e + "HH", b[at : at + 4])
            if tag in (256, 257):
                val = struct.pack(e + ("H" if kind == 3 else "I"), min(side, 65535))
                b[at + 8 : at + 8 + len(val)] = val
    return bytes(b)


@pytest.mark.parametrize("fmt", list(ENCODINGS))
def test_each_format_declaring_too_many_pixels_is_refused(fmt: str, tmp_path: Path) -> None:
    data = _patched(fmt, 16_000)  # 256 MP: over the limit, yet within every format's range
    with pytest.raises(ImageHeaderError, match="over the limit"):
        check_image_header(data)
    path = tmp_path / f"bomb{ENCODINGS[fmt]}"
    path.write_bytes(data)
    with pytest.raises(SourceError, match="over the limit"):
        read_image(path)


def test_unknown_format_and_special_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(b"P7\nWIDTH 100000\n" + b"\0" * 100)  # PAM: size unknown without parsing
    with pytest.raises(SourceError, match="not a PNG"):
        read_image(path)
    with pytest.raises(SourceError, match="not a regular file"):
        read_image(Path("/dev/zero"))
    big = tmp_path / "big.png"
    with big.open("wb") as f:
        f.truncate(limits.IMAGE_MAX_BYTES + 1)
    with pytest.raises(SourceError, match="larger than"):
        read_image(big)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo.png"
        os.mkfifo(fifo)
        with pytest.raises(SourceError, match="not a regular file"):
            read_image(fifo)


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"\x89PNG\r\n\x1a\n",
        b"\xff\xd8\xff",
        b"RIFF\0\0\0\0WEBP",
        b"BM",
        b"II*\0\xff\xff\xff\xff",
        b"GIF89a",
        b"P6 ",
    ],
)
def test_truncated_headers_are_typed_errors(junk: bytes) -> None:
    with pytest.raises(ImageHeaderError):
        check_image_header(junk)


def test_camera_source_spec_naming_a_picture_checks_it(bomb: Path, tmp_path: Path) -> None:
    """A camera source set to one picture went through OpenCV's image-sequence backend,
    which decodes without the header check."""
    from edge.vision.camera.sources import open_source

    with pytest.raises(SourceError, match="over the limit"):
        open_source(str(bomb))
    good = tmp_path / "one.png"
    cv2.imwrite(str(good), np.zeros((12, 20, 3), np.uint8))
    src = open_source(str(good))
    frame = src.read()
    assert frame is not None and frame.shape == (12, 20, 3) and src.read() is None
