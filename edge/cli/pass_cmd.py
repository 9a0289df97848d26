"""`edge-gate pass issue|show`: issue community passes and show a phone's dynamic code."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import segno

from edge.cli import UsageError
from edge.gate.credentials import passes
from edge.gate.credentials.trust import load_private_key
from edge.gate.credentials.verified import Role


def _instant(text: str) -> int:
    """Unix seconds from an ISO 8601 date or time; no offset means UTC."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"not an ISO 8601 date or time: {text!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def _save_qr(text: str, out: Path | None, terminal: bool) -> None:
    qr = segno.make_qr(text, error="m", boost_error=False)
    if out is not None:
        try:
            qr.save(str(out), scale=6, border=4)
        except OSError as exc:
            raise UsageError(f"cannot write {out}: {exc.strerror}") from None
        print(f"QR version {qr.version}-M written to {out}", file=sys.stderr)
    if terminal:
        qr.terminal(out=sys.stdout, compact=True)


def _issue(args: argparse.Namespace) -> int:
    try:
        issuer = load_private_key(args.key)
        device = None
        if args.device_key is not None:
            from cryptography.hazmat.primitives import serialization

            from edge.gate.credentials.trust import load_public_key

            device = load_public_key(args.device_key).public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    parts = args.household.split("-")
    if len(parts) != 3 or not all(parts):
        raise UsageError("--household must be BUILDING-UNIT-ROOM, e.g. 3-2-501")
    valid_from = _instant(args.valid_from) if args.valid_from else int(time.time())
    valid_until = _instant(args.valid_until) if args.valid_until else valid_from + args.days * 86400
    if valid_until < valid_from:
        raise UsageError("--until is before --from")
    body = passes.PassBody(
        args.id,
        args.holder,
        parts[0],
        parts[1],
        parts[2],
        Role(args.role),
        valid_from,
        valid_until,
        device,
    )
    try:
        text = passes.issue(body, issuer)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(text)
    if args.text_out is not None:
        args.text_out.write_text(text + "\n", encoding="utf-8")
    _save_qr(text, args.out, terminal=False)
    return 0


def _read_pass(path: Path) -> str:
    if path.suffix.lower() in {".png", ".jpg", ".jpeg", ".bmp"}:
        from edge.vision.camera.sources import SourceError, read_image
        from edge.vision.qr.scanner import Scanner

        try:
            codes = Scanner().scan(read_image(path))
        except SourceError as exc:
            raise UsageError(str(exc)) from None
        texts = [c.text for c in codes if c.text.startswith(passes.PREFIX)]
        if not texts:
            raise UsageError(f"no community pass found in {path}")
        return texts[0]
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _show(args: argparse.Namespace) -> int:
    text = _read_pass(args.pass_file)
    if args.dynamic:
        if args.device_key is None:
            raise UsageError("--dynamic needs --device-key (the phone's private key)")
        try:
            device = load_private_key(args.device_key)
            now = _instant(args.now) if args.now else time.time()
            text = passes.dynamic_code(text, device, now)
        except passes.PassFormatError as exc:
            raise UsageError(f"not a base pass: {exc}") from None
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    print(text)
    _save_qr(text, args.out, terminal=not args.no_terminal)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("pass", help="issue and show community passes (小区出入证)")
    ps = p.add_subparsers(dest="pass_verb", metavar="VERB", required=True)
    i = ps.add_parser("issue", help="sign a pass and print its text; --out writes a QR PNG")
    i.add_argument("--key", type=Path, required=True, help="issuer private key (PEM)")
    i.add_argument("--id", required=True, help="pass id")
    i.add_argument("--holder", required=True, help="pseudonymous holder id")
    i.add_argument("--household", required=True, help="BUILDING-UNIT-ROOM, e.g. 3-2-501")
    i.add_argument("--role", choices=[r.value for r in Role], default="resident")
    i.add_argument("--from", dest="valid_from", help="valid from (ISO 8601; default now)")
    i.add_argument("--until", dest="valid_until", help="valid until (ISO 8601)")
    i.add_argument("--days", type=int, default=365, help="validity when --until is not given")
    i.add_argument("--device-key", type=Path, help="phone public key: makes a dynamic pass")
    i.add_argument("--out", type=Path, help="write the QR code as PNG")
    i.add_argument("--text-out", type=Path, help="write the pass text to a file")
    i.set_defaults(handler=_issue)
    s = ps.add_parser("show", help="render a pass (or its current dynamic code) as QR")
    s.add_argument("pass_file", type=Path, help="pass text file or QR image")
    s.add_argument("--dynamic", action="store_true", help="sign the current 30 s step")
    s.add_argument("--device-key", type=Path, help="phone private key (PEM) for --dynamic")
    s.add_argument("--now", help="time to sign for (ISO 8601; default now)")
    s.add_argument("--out", type=Path, help="write the QR code as PNG")
    s.add_argument(
        "--no-terminal", action="store_true", help="do not draw the code in the terminal"
    )
    s.set_defaults(handler=_show)
