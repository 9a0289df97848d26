"""`edge-gate sync`: run the MQTT uplink alone; `sync status`; `sync bench`."""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.app.config import Config, ConfigError, load_config
from edge.cli import CONFIG_HELP, UsageError
from edge.core.process import wait_for_signal

if TYPE_CHECKING:  # imported lazily at run time: `edge-gate --help` stays fast
    from edge.store.sqlite import Store
    from edge.sync.service import SyncService


def load(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise UsageError(f"bad config:\n{exc}") from None


def open_sync(path: Path | None) -> tuple[Config, Store, SyncService]:
    """The config, the gate's store and a (not yet started) sync service; usage errors for
    a bad config or unreadable key files."""
    from edge.store.sqlite import Store
    from edge.sync.service import SyncService

    config = load(path)
    store = Store(config.store.path)
    try:
        return config, store, SyncService(config.sync, config.gate.id, store)
    except (ValueError, OSError) as exc:
        store.close()
        raise UsageError(str(exc)) from None


def _run(args: argparse.Namespace) -> int:
    config, store, svc = open_sync(args.config)
    s = config.sync
    print(f"syncing gate {config.gate.id} ({store.outbox_depth()} queued) to {s.host}:{s.port}")
    svc.start()
    try:
        wait_for_signal()
    finally:
        svc.stop()
        store.close()
    return 0


def _status(args: argparse.Namespace) -> int:
    from edge.store.sqlite import Store

    config = load(args.config)
    if not config.store.path.exists():
        raise UsageError(f"no gate store at {config.store.path}")
    try:  # read-only: never writes, nor creates a -wal beside a stopped gate's file
        store = Store(config.store.path, read_only=True)
    except (OSError, sqlite3.Error) as exc:
        raise UsageError(f"cannot read {config.store.path}: {exc}") from None
    oldest = store.oldest_unacked_ts()
    out: dict[str, Any] = {
        "gate": config.gate.id,
        "outbox_depth": store.outbox_depth(),
        "oldest_unacked_age_s": None if oldest is None else round(time.time() - oldest, 1),
        "acked_upto": int(store.get_meta("acked_upto") or 0),
        "last_seq": store.max_seq(),
        "list_versions": store.list_versions(),
        "snapshot_bytes": store.snapshot_bytes(),
    }
    store.close()
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k}: {v}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from edge.tools.bench_sync import run_bench
    from edge.tools.localbroker import MOSQUITTO

    if not Path(MOSQUITTO).exists():
        raise UsageError(f"{MOSQUITTO} not found: install mosquitto (make bootstrap)")
    result = run_bench(args.records, args.samples)
    print(json.dumps(result, indent=2))
    return 0 if result["drained"] else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sync", help="run the MQTT uplink to the central platform (alone)")
    p.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    p.set_defaults(handler=_run)
    vs = p.add_subparsers(dest="sync_verb", metavar="VERB")
    st = vs.add_parser("status", help="outbox depth, acked seq and list versions (offline)")
    st.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="TOML config")
    st.add_argument("--json", action="store_true", help="print JSON")
    st.set_defaults(handler=_status)
    b = vs.add_parser("bench", help="measure drain rate and latency on a throwaway broker")
    b.add_argument("--records", type=int, default=20000, help="records to drain")
    b.add_argument("--samples", type=int, default=200, help="live records timed one by one")
    b.set_defaults(handler=_bench)
