"""Limits at every door into the program, declared once with their units (no I/O here).

Each number bounds what an outside party (a passer-by holding up a picture, a laptop on the
booth's LAN, a message from the network) can make the gate spend. docs/security.md lists the
surfaces, these limits, what a violation gets and the test that proves it.
"""

from __future__ import annotations

import json
from typing import Any

from edge.core.errors import InputError

# --- console (HTTP) ---------------------------------------------------------------------------
CONSOLE_HEADER_TIMEOUT_S = 10.0  # seconds from connect until the request headers are complete
CONSOLE_BODY_TIMEOUT_S = 10.0  # seconds to receive a request body once headers are in
CONSOLE_MAX_CONNECTIONS = 512  # open TCP connections at once; more are closed on accept
CONSOLE_MAX_BODY_BYTES = 64 * 1024  # bytes; a zone or a note is far smaller
CONSOLE_MAX_LINE_BYTES = 8 * 1024  # bytes in the request line or one header line
CONSOLE_MAX_HEADERS = 64  # header lines per request
CONSOLE_WORKERS = 8  # threads running route functions (argon2 and SQLite are blocking)

# --- JSON from outside (console bodies, downlink payloads) ------------------------------------
JSON_MAX_DEPTH = 32  # nesting of objects/arrays; our payloads use fewer than 6
JSON_MAX_BYTES = 1024 * 1024  # bytes of one JSON document

# --- images from outside (files, folders, CLI pictures) ---------------------------------------
IMAGE_MAX_BYTES = 32 * 1024 * 1024  # bytes of one encoded picture file
IMAGE_MAX_PIXELS = 40_000_000  # width x height declared in the header (a 40 MP photo is fine)
IMAGE_MAX_SIDE = 16_384  # pixels on either side

# --- numbers meaning a time or a version ------------------------------------------------------
VERSION_MAX = 2**63 - 1  # versions are SQLite INTEGERs (int64)
TIME_MIN_S = 0.0  # Unix seconds: nothing before 1970
TIME_MAX_S = 253_402_300_799.0  # Unix seconds of 9999-12-31T23:59:59Z

# --- files naming keys and lists --------------------------------------------------------------
KEY_FILE_MAX_BYTES = 64 * 1024  # bytes; a PEM public key is under 1 KiB, a bundle a few
LIST_FILE_MAX_BYTES = 16 * 1024 * 1024  # bytes; a community's lists are far smaller

# --- text --------------------------------------------------------------------------------------
SCANNED_TEXT_MAX_CHARS = 8 * 1024  # characters of one scanned code's text (QR max is 7089)


class LimitError(InputError, ValueError):
    """An outside input broke a limit; ``code`` is a short machine-readable cause."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def json_depth_ok(text: str | bytes, max_depth: int = JSON_MAX_DEPTH) -> bool:
    """True when the JSON text nests no deeper than ``max_depth``; one linear pass, no recursion.

    Brackets inside strings do not count; escapes inside strings are skipped. The text need not
    be valid JSON: the parser that runs afterwards refuses what is malformed.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    depth = 0
    in_string = False
    escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > max_depth:
                return False
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return True


def _no_constant(name: str) -> Any:
    raise LimitError("bad_number", f"{name} is not a JSON number")


def load_json(
    raw: str | bytes, max_bytes: int = JSON_MAX_BYTES, max_depth: int = JSON_MAX_DEPTH
) -> Any:
    """Parse outside JSON within limits; raises :class:`LimitError` for every refusal.

    Refuses documents over ``max_bytes``, nesting over ``max_depth`` (checked before parsing,
    so ``json`` never recurses deeply), ``NaN``/``Infinity`` and text that is not UTF-8.
    """
    if len(raw) > max_bytes:
        raise LimitError("too_large", f"JSON document over {max_bytes} bytes")
    if not json_depth_ok(raw, max_depth):
        raise LimitError("too_deep", f"JSON nested deeper than {max_depth}")
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except LimitError:
        raise
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise LimitError("bad_json", f"not JSON: {exc}") from None
