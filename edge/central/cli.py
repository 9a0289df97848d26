"""The reference central receiver: ``edge-gate-central`` (its own console script) and the
same verbs under ``edge-gate central`` (``--db URL``; ``stats --db URL --json``)."""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from edge.core.errors import InputError


class UsageError(InputError):
    """Bad arguments or input: printed as one line, exit status 2."""


def _run(args: argparse.Namespace) -> int:
    from edge.central.receiver import Receiver
    from edge.core.process import wait_for_signal
    from edge.sync.client import LinkSettings
    from edge.sync.signing import load_signing_key

    if args.sign_key is None:
        raise UsageError("--sign-key KEY.pem is required (central's Ed25519 private key)")
    try:
        key = load_signing_key(args.sign_key)
        password = args.password_file.read_text().strip() if args.password_file else None
    except (ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None
    link = LinkSettings(
        host=args.host,
        port=args.port,
        client_id=args.client_id or f"central-{socket.gethostname()}",
        username=args.username,
        password=password,
        tls=args.tls or args.ca is not None,
        ca_file=args.ca,
        cert_file=args.cert,
        key_file=args.key,
        session_expiry_s=args.session_expiry,
    )
    receiver = Receiver(args.db, link, key, lists_dir=args.lists, group=args.group)
    receiver.start()
    print(f"central receiver: {args.host}:{args.port} → {args.db} (group {args.group})")
    try:
        stopped = wait_for_signal(receiver.alive)
    finally:
        receiver.stop()
    if not stopped:
        print(f"central receiver: consumer died ({receiver.error}); exiting", file=sys.stderr)
        return 1
    return 0


def _stats(args: argparse.Namespace) -> int:
    from edge.central.db import CentralDB

    if not args.db.startswith(("postgresql://", "postgres://")):
        path = Path(args.db.removeprefix("sqlite://"))
        if not path.exists():
            raise UsageError(f"no receiver database at {path}")
    try:
        db = CentralDB(args.db)
    except Exception as exc:  # a bad URL or an unreachable server: say so plainly
        raise UsageError(f"cannot open {args.db}: {exc}") from None
    rows = db.stats()
    db.close()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'gate':<20} {'records':>9} {'last seq':>9} {'gaps':>6} {'alerts':>7}  last heartbeat")
    for r in rows:
        print(
            f"{r['gate']:<20} {r['records']:>9} {r['last_seq']:>9} {r['gaps']:>6} "
            f"{r['alerts']:>7}  {r['last_heartbeat'] or '-'}"
        )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add_arguments(
        sub.add_parser("central", help="reference central receiver (stores, acks, pushes lists)")
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``edge-gate-central``: the same options and verbs as ``edge-gate central``."""
    parser = argparse.ArgumentParser(
        prog="edge-gate-central",
        description="Reference central receiver: stores every gate's records once, acks, "
        "pushes lists.",
    )
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``edge-gate-central`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args))
    except InputError as exc:
        print(f"edge-gate-central: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default="var/central.sqlite3", help="SQLite path or postgresql:// URL")
    p.add_argument("--host", default="127.0.0.1", help="MQTT broker host")
    p.add_argument("--port", type=int, default=1883, help="MQTT broker port")
    p.add_argument("--tls", action="store_true", help="connect with TLS")
    p.add_argument("--ca", type=Path, default=None, help="CA PEM of the broker (implies --tls)")
    p.add_argument("--cert", type=Path, default=None, help="client cert PEM (mutual TLS)")
    p.add_argument("--key", type=Path, default=None, help="client key PEM (mutual TLS)")
    p.add_argument("--username", default=None, help="MQTT user name")
    p.add_argument("--password-file", type=Path, default=None, help="file with the MQTT password")
    p.add_argument("--sign-key", type=Path, default=None, help="central Ed25519 private key PEM")
    p.add_argument("--lists", type=Path, default=None, help="folder of list files to publish")
    p.add_argument("--group", default="central", help="shared subscription group")
    p.add_argument("--client-id", default=None, help="MQTT client id (default: central-HOST)")
    p.add_argument(
        "--session-expiry",
        type=int,
        default=0,
        help="s the broker keeps a stopped receiver's session; 0 (default) hands a dead "
        "member's share of the shared subscription to the others at once (gates resend "
        "whatever was not acknowledged, so nothing is lost)",
    )
    p.set_defaults(handler=_run)
    vs = p.add_subparsers(dest="central_verb", metavar="VERB")
    st = vs.add_parser("stats", help="per gate: records, last seq, gaps, alerts, heartbeat")
    st.add_argument("--db", default=argparse.SUPPRESS, help="SQLite path or postgresql:// URL")
    st.add_argument("--json", action="store_true", help="print JSON")
    st.set_defaults(handler=_stats)
