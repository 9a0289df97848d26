"""`edge-gate loadgen --events N --rate R`: synthetic records through the real outbox and sync."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from edge.cli import CONFIG_HELP, UsageError
from edge.cli.sync_cmd import open_sync


def _run(args: argparse.Namespace) -> int:
    from edge.tools.loadgen import generate

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
    p.add_argument("--events", type=int, required=True, help="number of records to make")
    p.add_argument("--rate", type=float, default=100.0, help="records/s (0 = as fast as possible)")
    p.add_argument("--alert-every", type=int, default=100, help="one alert per N records (0: none)")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    p.add_argument("--timeout", type=float, default=60.0, help="wait this long for acks, s")
    p.set_defaults(handler=_run)
