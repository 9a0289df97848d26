"""The reference central receiver: ``edge-gate-central`` (its own console script) and the
same verbs under ``edge-gate central`` (``--db URL``; ``stats --db URL --json``)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.core.errors import InputError


class CentralUsageError(InputError):
    """Bad arguments or input: printed as one line, exit status 2."""


if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from edge.central.amqp import AmqpReceiver
    from edge.central.db import CentralDB
    from edge.central.metrics import ReceiverMetrics
    from edge.sync.client import LinkSettings


def _run(args: argparse.Namespace) -> int:
    from edge.central.metrics import MetricsServer, ReceiverMetrics
    from edge.central.receiver import Receiver
    from edge.core.process import wait_for_signal
    from edge.sync.signing import load_signing_key

    if args.sign_key is None:
        raise CentralUsageError("--sign-key KEY.pem is required (central's Ed25519 private key)")
    try:
        key = load_signing_key(args.sign_key)
        password = args.password_file.read_text().strip() if args.password_file else None
    except (ValueError, OSError) as exc:
        raise CentralUsageError(str(exc)) from None
    if not 0 <= args.metrics_port <= 65535:
        raise CentralUsageError(f"--metrics-port {args.metrics_port}: a TCP port (0 = off)")
    link = _link_settings(args, password)
    metrics = ReceiverMetrics() if args.metrics_port else None
    receiver: Receiver | AmqpReceiver
    if args.transport == "amqp":
        receiver = _amqp_receiver(args, key, password, metrics)
    else:
        receiver = Receiver(
            args.db, link, key, lists_dir=args.lists, group=args.group, metrics=metrics
        )
    server = None
    if metrics is not None:
        try:
            server = MetricsServer(metrics, receiver.alive, args.metrics_host, args.metrics_port)
        except OSError as exc:
            raise CentralUsageError(
                f"metrics port {args.metrics_host}:{args.metrics_port}: {exc}"
            ) from None
    receiver.start()
    if args.transport == "amqp":
        print(f"central receiver: AMQP queue {args.amqp_queue} → {args.db}")
    else:
        print(f"central receiver: {args.host}:{args.port} → {args.db} (group {args.group})")
    if server is not None:
        print(f"central receiver: metrics on http://{server.host}:{server.port}/metrics")
    sys.stdout.flush()
    try:
        stopped = wait_for_signal(receiver.alive)
    finally:
        receiver.stop()
        if server is not None:
            server.close()
    if not stopped:
        print(f"central receiver: consumer died ({receiver.error}); exiting", file=sys.stderr)
        return 1
    return 0


def _amqp_receiver(
    args: argparse.Namespace,
    key: Ed25519PrivateKey,
    password: str | None,
    metrics: ReceiverMetrics | None,
) -> AmqpReceiver:
    """The receiver of a RabbitMQ cluster's quorum queue (docs/cluster.md)."""
    from edge.central.amqp import AmqpReceiver, AmqpSettings, AmqpUnavailable

    if not args.amqp_url:
        raise CentralUsageError("--transport amqp needs --amqp-url URL (one per broker node)")
    if args.lists is not None:  # retained MQTT messages: RabbitMQ 3.10 does not give them
        raise CentralUsageError(  # to a gate's wildcard subscription (docs/cluster.md)
            "--lists needs --transport mqtt; on a RabbitMQ cluster publish lists with "
            "`central publish FILE` (docs/cluster.md)"
        )
    if not 1 <= args.prefetch <= 65535:
        raise CentralUsageError(f"--prefetch {args.prefetch}: 1 to 65535 deliveries")
    settings = AmqpSettings(
        urls=tuple(args.amqp_url),
        queue=args.amqp_queue,
        prefetch=args.prefetch,
        username=args.username,
        password=password,
    )
    try:
        return AmqpReceiver(args.db, settings, key, metrics=metrics)
    except AmqpUnavailable as exc:
        raise CentralUsageError(str(exc)) from None


def _link_settings(args: argparse.Namespace, password: str | None) -> LinkSettings:
    from edge.sync.client import LinkSettings

    return LinkSettings(
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


def _publish(args: argparse.Namespace) -> int:
    """Sign one downlink message described in FILE and publish it; exit 0 once the broker
    acknowledged it (PUBACK), 1 if it did not within --timeout."""
    import time

    from edge.central.publisher import publish_message
    from edge.sync.client import MqttLink
    from edge.sync.signing import load_signing_key

    if args.sign_key is None:
        raise CentralUsageError("--sign-key KEY.pem is required (central's Ed25519 private key)")
    try:
        key = load_signing_key(args.sign_key)
        password = args.password_file.read_text().strip() if args.password_file else None
        spec = json.loads(args.file.read_text(encoding="utf-8"))
        if not isinstance(spec, dict):
            raise ValueError("the file must hold one JSON object")
        topic, payload, retain = publish_message(key, spec)
    except (ValueError, OSError, KeyError) as exc:
        raise CentralUsageError(f"{args.file}: {exc}") from None
    settings = dataclasses.replace(
        _link_settings(args, password),
        client_id=args.client_id or f"central-publish-{socket.gethostname()}",
        session_expiry_s=0,  # a one-shot publisher leaves no session behind
    )
    link = MqttLink(settings)
    deadline = time.monotonic() + args.timeout
    mid = None
    try:
        while time.monotonic() < deadline:
            for ev in link.poll(0.05):
                if ev.kind == "published" and ev.mid == mid:
                    out = {"topic": topic, "retain": retain, "bytes": len(payload)}
                    print(json.dumps(out) if args.json else f"published {topic} ({len(payload)} B)")
                    return 0
            if mid is None and link.connected:
                mid = link.publish(topic, payload, retain=retain)
    finally:
        link.close()
    print(f"edge-gate-central: not published on {topic} within {args.timeout} s", file=sys.stderr)
    return 1


def _stats(args: argparse.Namespace) -> int:
    db = _open_db(args.db)
    rows = db.stats()
    kinds = db.kind_counts()
    db.close()
    for r in rows:
        r["kinds"] = kinds.get(r["gate"], {})  # what it stored per record kind
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'gate':<20} {'records':>9} {'last seq':>9} {'gaps':>6} {'alerts':>7}  last heartbeat")
    for r in rows:
        print(
            f"{r['gate']:<20} {r['records']:>9} {r['last_seq']:>9} {r['gaps']:>6} "
            f"{r['alerts']:>7}  {r['last_heartbeat'] or '-'}"
        )
    totals: dict[str, int] = {}
    for per_gate in kinds.values():
        for kind, n in per_gate.items():
            totals[kind] = totals.get(kind, 0) + n
    if totals:
        print("\nrecords per kind: " + ", ".join(f"{k} {n}" for k, n in sorted(totals.items())))
    return 0


def _open_db(url: str) -> CentralDB:
    from edge.central.db import CentralDB

    if not url.startswith(("postgresql://", "postgres://")):
        path = Path(url.removeprefix("sqlite://"))
        if not path.exists():
            raise CentralUsageError(f"no receiver database at {path}")
    try:
        return CentralDB(url)
    except Exception as exc:  # a bad URL or an unreachable server: say so plainly
        raise CentralUsageError(f"cannot open {url}: {exc}") from None


def _export(args: argparse.Namespace) -> int:
    """Stored records as JSON lines (one object per record, in gate and seq order)."""
    db = _open_db(args.db)
    out = sys.stdout if args.out is None else args.out.open("w", encoding="utf-8")
    n = 0
    try:
        for rec in db.export(args.gate, args.kind, args.since):
            out.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
            n += 1
    finally:
        db.close()
        if out is not sys.stdout:
            out.close()
    print(f"exported {n} records", file=sys.stderr)
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


def _connection_arguments(p: argparse.ArgumentParser, verb: bool = False) -> None:
    """Broker and key options; on a verb they may also follow it (their defaults stay the
    main parser's)."""

    def add(*flags: str, default: object = None, **kw: Any) -> None:
        p.add_argument(*flags, default=argparse.SUPPRESS if verb else default, **kw)

    add("--host", default="127.0.0.1", help="MQTT broker host")
    add("--port", type=int, default=1883, help="MQTT broker port")
    add("--tls", default=False, action="store_true", help="connect with TLS")
    add("--ca", type=Path, help="CA PEM of the broker (implies --tls)")
    add("--cert", type=Path, help="client cert PEM (mutual TLS)")
    add("--key", type=Path, help="client key PEM (mutual TLS)")
    add("--username", help="MQTT user name")
    add("--password-file", type=Path, help="file with the MQTT password")
    add("--sign-key", type=Path, help="central Ed25519 private key PEM")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default="var/central.sqlite3", help="SQLite path or postgresql:// URL")
    _connection_arguments(p)
    p.add_argument("--lists", type=Path, default=None, help="folder of list files to publish")
    p.add_argument("--group", default="central", help="shared subscription group")
    p.add_argument(
        "--transport",
        choices=("mqtt", "amqp"),
        default="mqtt",
        help="mqtt (default): a shared subscription on the broker; amqp: consume the quorum "
        "queue of a RabbitMQ cluster (docs/cluster.md)",
    )
    p.add_argument(
        "--amqp-url",
        action="append",
        metavar="URL",
        help="amqp://[user:pass@]host:port/vhost of a cluster node; repeat for each node, "
        "tried in turn (--transport amqp; --username/--password-file override the URL's)",
    )
    p.add_argument("--amqp-queue", default="edge-gate.uplink", help="the uplink quorum queue")
    p.add_argument(
        "--prefetch", type=int, default=200, help="unacknowledged deliveries held at most"
    )
    p.add_argument("--client-id", default=None, help="MQTT client id (default: central-HOST)")
    p.add_argument(
        "--session-expiry",
        type=int,
        default=0,
        help="s the broker keeps a stopped receiver's session; 0 (default) hands a dead "
        "member's share of the shared subscription to the others at once (gates resend "
        "whatever was not acknowledged, so nothing is lost)",
    )
    p.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        help="serve this receiver's /metrics (Prometheus) and /healthz on this TCP port "
        "(0, the default: off)",
    )
    p.add_argument(
        "--metrics-host", default="127.0.0.1", help="address of --metrics-port (default loopback)"
    )
    p.set_defaults(handler=_run)
    vs = p.add_subparsers(dest="central_verb", metavar="VERB")
    st = vs.add_parser(
        "stats", help="per gate: records, last seq, gaps, alerts, heartbeat, records per kind"
    )
    st.add_argument("--db", default=argparse.SUPPRESS, help="SQLite path or postgresql:// URL")
    st.add_argument("--json", action="store_true", help="print JSON")
    st.set_defaults(handler=_stats)
    ex = vs.add_parser("export", help="stored records as JSON lines (gate, seq, kind, ts, body)")
    ex.add_argument("--db", default=argparse.SUPPRESS, help="SQLite path or postgresql:// URL")
    ex.add_argument("--gate", default=None, help="only this gate")
    ex.add_argument("--kind", default=None, help="only this record kind")
    ex.add_argument("--since", type=float, default=None, help="only records made since (Unix s)")
    ex.add_argument("--out", type=Path, default=None, help="write here (default: stdout)")
    ex.set_defaults(handler=_export)
    pb = vs.add_parser(
        "publish",
        help="sign one downlink message (list, config, command, or any body naming its topic) "
        "from a JSON file and publish it (docs/sync.md)",
    )
    pb.add_argument("file", type=Path, help="JSON file describing the message")
    _connection_arguments(pb, verb=True)
    pb.add_argument("--timeout", type=float, default=15.0, help="s to wait for the broker")
    pb.add_argument("--json", action="store_true", help="print JSON")
    pb.set_defaults(handler=_publish)
