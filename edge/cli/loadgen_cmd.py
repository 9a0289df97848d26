"""`edge-gate loadgen`: records of the field's mix (edge.tools.loadgen) through one gate's real
outbox and sync (``--config gate.toml --events N``), or from many simulated gates, one MQTT
client each, straight to the broker (``--fleet N --per-gate M``; docs/scale.md)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from edge.cli import CONFIG_HELP, UsageError
from edge.cli.sync_cmd import open_sync


def _fleet(args: argparse.Namespace) -> int:
    from edge.sync import topics
    from edge.sync.client import LinkSettings
    from edge.tools.loadgen import Fleet

    if args.fleet < 1 or args.per_gate < 1 or args.rate < 0 or args.batch < 1:
        raise UsageError("--fleet, --per-gate and --batch must be at least 1, --rate not negative")
    try:
        password = args.password_file.read_text().strip() if args.password_file else None
    except OSError as exc:
        raise UsageError(str(exc)) from None
    verify = None
    if args.central_key is not None:
        from edge.gate.credentials.trust import load_public_key
        from edge.sync.signing import Verifier

        verify = Verifier([load_public_key(args.central_key)]).open
    gates = [f"{args.gate_prefix}{i:05d}" for i in range(1, args.fleet + 1)]

    def link_for(gate: str) -> LinkSettings:
        return LinkSettings(
            host=args.host, port=args.port, client_id=gate, username=gate, password=password,
            tls=args.ca is not None, ca_file=args.ca, session_expiry_s=0,
            subscriptions=(topics.down(gate, "ack"),), reconnect_min_s=0.5,
            reconnect_max_s=5.0,
        )  # fmt: skip

    try:
        fleet = Fleet(
            link_for, gates, args.per_gate, rate=args.rate, batch=args.batch, hour=args.hour,
            alert_every=args.alert_every, seed=args.seed, verify=verify,
        )  # fmt: skip
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        result = fleet.run(ack_timeout=args.timeout)
    finally:
        fleet.close()
    summary = result.as_dict()
    print(json.dumps(summary, indent=2))
    return 0 if summary["drained"] else 1


def _run(args: argparse.Namespace) -> int:
    from edge.tools.loadgen import generate

    if args.fleet:
        return _fleet(args)
    if args.events is None:
        raise UsageError("--events N is required (or --fleet N --per-gate M)")
    if args.events < 1 or args.rate < 0:
        raise UsageError("--events must be at least 1 and --rate not negative")
    config, store, svc = open_sync(args.config)
    svc.start()
    gen_s = generate(store, config.gate.id, args.events, args.rate, args.alert_every, args.seed)
    deadline = time.monotonic() + args.timeout
    while store.outbox_depth() and time.monotonic() < deadline:
        time.sleep(0.05)
    total_s = gen_s + max(0.0, args.timeout - (deadline - time.monotonic()))
    depth = store.outbox_depth()
    summary = {
        "gate": config.gate.id,
        "events": args.events,
        "generate_s": round(gen_s, 3),
        "generated_per_s": round(args.events / gen_s, 1) if gen_s else None,
        "until_acked_s": round(total_s, 3),
        "outbox_depth": depth,
        "acked_upto": svc.acked_upto,
        "drained": depth == 0,
    }
    svc.stop()
    store.close()
    print(json.dumps(summary, indent=2))
    return 0 if depth == 0 else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("loadgen", help="push synthetic records through the outbox and MQTT sync")
    p.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    p.add_argument("--events", type=int, default=None, help="number of records to make")
    p.add_argument(
        "--rate",
        type=float,
        default=100.0,
        help="records/s (0 = as fast as possible); with --fleet: mean records/s per gate, "
        "times the rush factor of --hour",
    )
    p.add_argument("--alert-every", type=int, default=100, help="one alert per N records (0: none)")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    p.add_argument("--timeout", type=float, default=60.0, help="wait this long for acks, s")
    f = p.add_argument_group("many gates (--fleet): one MQTT client per simulated gate")
    f.add_argument(
        "--fleet", type=int, default=0, help="number of simulated gates (at most 320 a process)"
    )
    f.add_argument("--per-gate", type=int, default=100, help="records each gate sends")
    f.add_argument("--batch", type=int, default=50, help="records per published batch")
    f.add_argument(
        "--hour",
        type=float,
        default=8.0,
        help="local hour the load models: 7-9 morning rush x4, 17:30-19:30 x3, night x0.15",
    )
    f.add_argument("--gate-prefix", default="lg-", help="gate ids: PREFIX00001, PREFIX00002, …")
    f.add_argument("--host", default="127.0.0.1", help="MQTT broker host")
    f.add_argument("--port", type=int, default=1883, help="MQTT broker port")
    f.add_argument("--ca", type=Path, default=None, help="broker CA PEM (enables TLS)")
    f.add_argument(
        "--password-file", type=Path, default=None, help="MQTT password of every gate user"
    )
    f.add_argument(
        "--central-key", type=Path, default=None, help="central public key: verify the acks"
    )
    p.set_defaults(handler=_run)
