"""Picture size from the file's header, before any decoding (image-bomb guard).

A 1 MB PNG can declare 30000 × 30000 pixels: decoding it would take gigabytes. Every outside
picture is sized here from its header (PNG IHDR, JPEG SOF, WebP VP8/VP8L/VP8X, BMP, TIFF IFD,
GIF, PNM) and refused when over :data:`edge.core.limits.IMAGE_MAX_PIXELS` or
:data:`~edge.core.limits.IMAGE_MAX_SIDE`; a format not recognised here is refused too, since
its size cannot be known without decoding it. Pure byte parsing: no I/O, no decoder.
"""

from __future__ import annotations

import struct

from edge.core import limits


class ImageHeaderError(ValueError):
    """The picture's header is unknown, malformed or declares too many pixels."""


def _png(b: bytes) -> tuple[int, int]:
    if len(b) < 24 or b[12:16] != b"IHDR":
        raise ImageHeaderError("PNG without an IHDR header")
    w, h = struct.unpack(">II", b[16:24])
    return w, h


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(b: bytes) -> tuple[int, int]:
    i = 2
    n = len(b)
    while i + 4 <= n:
        if b[i] != 0xFF:
            raise ImageHeaderError("JPEG marker expected")
        marker = b[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before a frame header
            break
        (length,) = struct.unpack(">H", b[i + 2 : i + 4])
        if length < 2:
            raise ImageHeaderError("JPEG segment with a bad length")
        if marker in _SOF:
            if i + 9 > n:
                break
            h, w = struct.unpack(">HH", b[i + 5 : i + 9])
            return w, h
        i += 2 + length
    raise ImageHeaderError("JPEG without a frame header")


def _webp(b: bytes) -> tuple[int, int]:
    chunk = b[12:16]
    if chunk == b"VP8 " and len(b) >= 30:
        if b[23:26] != b"\x9d\x01\x2a":
            raise ImageHeaderError("WebP VP8 without its start code")
        w, h = struct.unpack("<HH", b[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and len(b) >= 25:
        if b[20] != 0x2F:
            raise ImageHeaderError("WebP VP8L without its signature")
        bits = int.from_bytes(b[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(b) >= 30:
        w = int.from_bytes(b[24:27], "little") + 1
        h = int.from_bytes(b[27:30], "little") + 1
        return w, h
    raise ImageHeaderError("WebP with an unknown or short first chunk")


def _bmp(b: bytes) -> tuple[int, int]:
    if len(b) < 26:
        raise ImageHeaderError("BMP header too short")
    (dib,) = struct.unpack("<I", b[14:18])
    if dib == 12:
        w, h = struct.unpack("<HH", b[18:22])
        return w, h
    w, h = struct.unpack("<ii", b[18:26])
    return abs(w), abs(h)


def _tiff(b: bytes) -> tuple[int, int]:
    e = "<" if b[:2] == b"II" else ">"
    if len(b) < 8:
        raise ImageHeaderError("TIFF header too short")
    (ifd,) = struct.unpack(e + "I", b[4:8])
    if ifd + 2 > len(b):
        raise ImageHeaderError("TIFF directory outside the file")
    (count,) = struct.unpack(e + "H", b[ifd : ifd + 2])
    size: dict[int, int] = {}
    for k in range(min(count, 4096)):
        at = ifd + 2 + 12 * k
        if at + 12 > len(b):
            break
        tag, kind = struct.unpack(e + "HH", b[at : at + 4])
        if tag in (256, 257):
            if kind == 3:
                (size[tag],) = struct.unpack(e + "H", b[at + 8 : at + 10])
            elif kind == 4:
                (size[tag],) = struct.unpack(e + "I", b[at + 8 : at + 12])
            else:
                raise ImageHeaderError("TIFF size of an unexpected type")
    if 256 not in size or 257 not in size:
        raise ImageHeaderError("TIFF without width and height")
    return size[256], size[257]


def _gif(b: bytes) -> tuple[int, int]:
    if len(b) < 10:
        raise ImageHeaderError("GIF header too short")
    w, h = struct.unpack("<HH", b[6:10])
    return w, h


def _pnm(b: bytes) -> tuple[int, int]:
    tokens: list[bytes] = []
    i, n = 2, min(len(b), 1024)
    while len(tokens) < 2 and i < n:
        c = b[i : i + 1]
        if c == b"#":
            while i < n and b[i : i + 1] not in (b"\n", b"\r"):
                i += 1
        elif c.isspace():
            i += 1
        else:
            j = i
            while j < n and b[j : j + 1].isdigit():
                j += 1
            if j == i:
                raise ImageHeaderError("PNM header with a non-number")
            tokens.append(b[i:j])
            i = j
    if len(tokens) < 2:
        raise ImageHeaderError("PNM header without a size")
    return int(tokens[0]), int(tokens[1])


def image_size(data: bytes) -> tuple[str, int, int]:
    """``(format, width, height)`` from the header; :class:`ImageHeaderError` if unknown."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return ("PNG", *_png(data))
    if data[:3] == b"\xff\xd8\xff":
        return ("JPEG", *_jpeg(data))
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ("WebP", *_webp(data))
    if data[:2] == b"BM":
        return ("BMP", *_bmp(data))
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return ("TIFF", *_tiff(data))
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ("GIF", *_gif(data))
    if len(data) > 2 and data[:1] == b"P" and data[1:2] in b"123456" and data[2:3].isspace():
        return ("PNM", *_pnm(data))
    raise ImageHeaderError("not a PNG, JPEG, WebP, BMP, TIFF, GIF or PNM picture")


def check_image_header(data: bytes) -> tuple[str, int, int]:
    """:func:`image_size`, refusing sizes over the limits of :mod:`edge.core.limits`."""
    fmt, w, h = image_size(data)
    if w <= 0 or h <= 0:
        raise ImageHeaderError(f"{fmt} declares an empty picture ({w} × {h})")
    if max(w, h) > limits.IMAGE_MAX_SIDE or w * h > limits.IMAGE_MAX_PIXELS:
        raise ImageHeaderError(
            f"{fmt} declares {w} × {h} pixels, over the limit of "
            f"{limits.IMAGE_MAX_PIXELS // 1_000_000} megapixels / {limits.IMAGE_MAX_SIDE} px a side"
        )
    return fmt, w, h
