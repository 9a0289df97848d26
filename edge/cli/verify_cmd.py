"""``edge-gate verify``: verify a pass or health credential from an image or text.

    edge-gate verify --json [--now ISO8601] [--trust FILE]… [--jwks FILE]… [--crl FILE]…
                     (IMAGE | --text TEXT | --text-file FILE)

Prints one JSON object: ``format`` (PASS / HC1 / SHC / UNKNOWN / NONE), ``decoded``,
``signature_valid``, ``expired``, ``time_valid``, ``key_usage_valid``, ``payload``,
``evidence``, ``reasons``. When an image or file holds several codes, the object describes the
first valid one (else the first) and ``codes`` lists them all; SHC chunks are assembled. A
picture that cannot be read (corrupt, over the size limits, not an image) gives ``decoded:
false`` with ``UNREADABLE_CODE`` and an ``error`` sentence. Exit 0 when valid, 1 when not, 2
on a usage error (e.g. a missing file).

``--trust`` takes any trust file and detects its kind: a DCC signer certificate (PEM/DER), a
JSON trust list, a community pass issuer Ed25519 PEM key, an SHC JWKS or an SHC CRL.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from edge.core.isotime import parse_iso8601
from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verify import MAX_TEXT, Verification, verify_texts
from edge.gate.reasons import Reason, sentence

MAX_TEXT_FILE = 1024 * 1024  # bytes


def _usage(msg: str) -> Exception:
    from edge.cli import UsageError

    return UsageError(msg)


def _now(spec: str | None) -> float:
    if spec is None:
        return time.time()
    try:
        return parse_iso8601(spec)
    except ValueError as exc:
        raise _usage(f"--now: {exc}") from None


def _trust(args: argparse.Namespace) -> TrustStore:
    store = TrustStore()
    for path in [*args.trust, *args.jwks, *args.crl]:
        try:
            store.add_file(path)
        except ValueError as exc:
            raise _usage(str(exc)) from None
    return store


def _texts(args: argparse.Namespace) -> list[str]:
    if args.text is not None:
        return [args.text]
    if args.text_file is not None:
        path: Path = args.text_file
        try:
            if path.stat().st_size > MAX_TEXT_FILE:
                raise _usage(f"{path} is larger than {MAX_TEXT_FILE} bytes")
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise _usage(f"cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise _usage(f"{path} is not UTF-8 text") from None
        lines = [ln.strip() for ln in raw.splitlines() if ln.strip()]
        # one credential per line (e.g. SHC chunks), unless one credential was wrapped
        if len(lines) > 1 and not all(":" in ln[:6] for ln in lines):
            return ["".join(lines)]
        return lines
    return _image_texts(args.image)


def _image_texts(path: Path) -> list[str]:
    from edge.vision.camera.sources import SourceError, read_image
    from edge.vision.qr.scanner import Scanner
    from edge.vision.qr.settings import ScannerSettings

    if not path.exists():
        raise _usage(f"{path} does not exist")
    try:
        frame = read_image(path)
    except SourceError as exc:
        # a picture that exists but cannot be read (corrupt, too large, not an image) is a
        # verification result like a picture without a code: decoded false, not a usage error
        raise _Unreadable(str(exc)) from None
    # a still image may be a phone screenshot or a photographed printout: give it time
    scanner = Scanner(ScannerSettings(budget_ms=2000.0))
    return [c.text for c in scanner.scan(frame)]


class _Unreadable(Exception):
    """The picture exists but could not be read as an image."""


def _none() -> dict[str, Any]:
    return {
        "format": "NONE",
        "decoded": False,
        "signature_valid": False,
        "expired": False,
        "time_valid": False,
        "key_usage_valid": None,
        "payload": {},
        "evidence": [],
        "reasons": [Reason.UNREADABLE_CODE.value],
    }


def run_verify(args: argparse.Namespace) -> int:
    """Verify and print; see the module docstring for output and exit status."""
    sources = sum(x is not None for x in (args.image, args.text, args.text_file))
    if sources != 1:
        raise _usage("give exactly one of IMAGE, --text or --text-file")
    now = _now(args.now)
    trust = _trust(args)
    problem = None
    try:
        texts = [t for t in _texts(args) if t.strip()]
    except _Unreadable as exc:
        texts, problem = [], str(exc)
    results: list[Verification] = verify_texts(texts, trust, now) if texts else []
    if results:
        primary = next((v for v in results if v.valid), results[0])
        out = primary.to_json()
        if len(results) > 1:
            out["codes"] = [v.to_json() for v in results]
        valid = primary.valid
    else:
        out, valid = _none(), False
        if problem is not None:
            out["error"] = problem
    out["now"] = now
    if args.json:
        print(json.dumps(out, ensure_ascii=False, default=str))
    else:
        status = "VALID" if valid else "NOT VALID"
        print(f"{out['format']}: {status}")
        if "error" in out:
            print(f"  picture: {out['error']}")
        for r in out["reasons"]:
            print(f"  {r}: {sentence(Reason(r), args.lang)}")
        for e in out["evidence"]:
            print(f"  evidence: {json.dumps(e, ensure_ascii=False)}")
    sys.stdout.flush()
    return 0 if valid else 1


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "verify",
        help="verify a community pass or health credential (PASS, HC1, SHC)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("image", nargs="?", type=Path, metavar="IMAGE", help="image with the code")
    p.add_argument("--text", help=f"the code's text (at most {MAX_TEXT} characters)")
    p.add_argument("--text-file", type=Path, help="file holding the code's text")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--now", help="verify at this ISO 8601 time (default: now); no offset = UTC")
    p.add_argument(
        "--trust", type=Path, action="append", default=[], help="trust file (repeatable)"
    )
    p.add_argument(
        "--jwks", type=Path, action="append", default=[], help="SHC issuer JWKS (repeatable)"
    )
    p.add_argument("--crl", type=Path, action="append", default=[], help="SHC CRL (repeatable)")
    p.add_argument("--lang", choices=["zh", "en"], default="en", help="language of sentences")
    p.set_defaults(handler=run_verify)
