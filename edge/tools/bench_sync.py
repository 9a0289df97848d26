"""Benchmark of the sync path on loopback, over TLS with end-to-end acks.

Drain: ``records`` records already durable in the outbox, a sender and a receiver start, and
the clock stops when central has acknowledged the last one (the outbox is empty). Latency:
records appended one by one at ``live_rate`` records/s while the sender runs; the latency of
each is the receiver's commit time minus the record's time (scan → stored at central).
"""

from __future__ import annotations

import datetime
import json
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.app.config import Config
from edge.central.db import CentralDB
from edge.central.receiver import Receiver
from edge.gate.credentials.trust import save_keypair
from edge.gate.settings import GateSettings
from edge.store.settings import StoreSettings
from edge.store.sqlite import Store
from edge.sync.client import LinkSettings
from edge.sync.payloads import RecordItem
from edge.sync.service import SyncService
from edge.sync.settings import SyncSettings
from edge.tools.loadgen import generate
from edge.tools.localbroker import PASSWORD, Broker

GATE = "bench-gate"


def _wait(cond: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return False


def run_bench(records: int = 20000, samples: int = 200, live_rate: float = 20.0) -> dict[str, Any]:
    """Start a throwaway broker, receiver and sender; returns measured numbers."""
    tmp = Path(tempfile.mkdtemp(prefix="edge-sync-bench-"))
    broker = Broker.throwaway(gates=(GATE,))
    broker.start()
    key = Ed25519PrivateKey.generate()
    save_keypair(key, tmp / "central.key", tmp / "central.pub")
    (tmp / "pw").write_text(PASSWORD)
    link = LinkSettings(
        port=broker.tls, client_id="central-bench", username="central", password=PASSWORD,
        tls=True, ca_file=broker.ca(),
    )  # fmt: skip
    receiver = Receiver(str(tmp / "central.sqlite3"), link, key)
    sync = SyncSettings(
        enabled=True, port=broker.tls, username=GATE, password_file=tmp / "pw", tls=True,
        ca_file=broker.ca(), central_keys=[tmp / "central.pub"], backlog_rate=0.0,
    )  # fmt: skip
    cfg = Config(gate=GateSettings(id=GATE), store=StoreSettings(path=tmp / "g.db"), sync=sync)
    store = Store(cfg.store.path)
    svc = SyncService(cfg.sync, cfg.gate.id, store)
    try:
        receiver.start()
        receiver.ready.wait(10)
        fill_s = generate(store, GATE, records)
        t0 = time.monotonic()
        svc.start()
        drained = _wait(lambda: store.outbox_depth() == 0, 120)
        drain_s = time.monotonic() - t0
        first = store.max_seq() + 1
        generate(store, GATE, samples, rate=live_rate, seed=2)
        _wait(lambda: store.outbox_depth() == 0, 30)
        db = CentralDB(receiver.db_url)
        rows = db.conn.execute(
            "SELECT received_at - ts FROM records WHERE gate=? AND seq >= ?", (GATE, first)
        ).fetchall()
        db.close()
        lat = sorted(float(r[0]) * 1000 for r in rows)
        q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [0.0] * 99
        return {
            "records": records,
            "fill_records_per_s": round(records / fill_s),
            "drained": drained,
            "drain_s": round(drain_s, 3),
            "drain_records_per_s": round(records / drain_s),
            "latency_samples": len(lat),
            "latency_ms_p50": round(q[49], 1),
            "latency_ms_p95": round(q[94], 1),
            "latency_ms_max": round(max(lat), 1) if lat else None,
            "transport": "TLS (password auth), MQTT " + svc.link.protocol,
            "batch_max": sync.batch_max,
            "inflight": sync.inflight,
        }
    finally:
        svc.stop()
        receiver.stop()
        store.close()
        broker.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


# --- the receiver's inserts on PostgreSQL: before and after batching ---------------------------

_OLD_RECORDS = (
    "CREATE TABLE records (gate TEXT NOT NULL, seq BIGINT NOT NULL, id TEXT NOT NULL, "
    "kind TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL, body TEXT NOT NULL, "
    "received_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (gate, seq))"
)
_OLD_INSERT = (
    "INSERT INTO records (gate, seq, id, kind, ts, body, received_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (gate, seq) DO NOTHING"
)

Flush = list[tuple[str, list[RecordItem]]]  # messages: (gate, records of one batch)


def _flushes(
    n: int, messages: int, per_message: int, gates: int, seqs: dict[str, int], models: Any
) -> list[Flush]:
    """``n`` receiver flushes of ``messages`` batches each, gates in turn, records of the
    field's mix (loadgen's model), seqs continuing per gate."""
    out: list[Flush] = []
    k = 0
    for _ in range(n):
        flush: Flush = []
        for _ in range(messages):
            gate = f"bench-{k % gates:05d}"
            k += 1
            items = []
            for _ in range(per_message):
                seqs[gate] = seqs.get(gate, 0) + 1
                body = models(gate).next()
                items.append(
                    RecordItem(
                        seq=seqs[gate], id=uuid.uuid4().hex, kind=str(body.kind), ts=time.time(),
                        **body.to_json(),
                    )
                )  # fmt: skip
            flush.append((gate, items))
        out.append(flush)
    return out


def bench_inserts(
    server_url: str,
    rounds: int = 6,
    flushes: int = 10,
    messages: int = 20,
    per_message: int = 50,
    gates: int = 100,
    days: int = 2,
) -> dict[str, Any]:
    """Rows/s of the receiver's insert step on a real PostgreSQL, before (one INSERT per row,
    psycopg's ``executemany``, per message, into the unpartitioned table of the earlier
    version) and after (:meth:`CentralDB.store_many`: one ``INSERT … SELECT FROM unnest`` of
    binary arrays per flush into the day-partitioned table, with its dedupe). Both commit
    once per flush (``fsync`` as the server has it). The two alternate round by round (the
    order swapped each round) on the same data, each in a fresh database of its own, so the
    machine's load hits both alike. ``days`` partitions exist in the partitioned table (a
    retention of that many days: the look-up of stored seqs visits each). ``server_url`` is
    any database of the server; two throwaway databases are created and dropped."""
    import psycopg

    from edge.tools.loadgen import GateModel

    tag = uuid.uuid4().hex[:8]
    base = server_url.rsplit("/", 1)[0]
    names = {"before": f"bench_before_{tag}", "after": f"bench_after_{tag}"}
    with psycopg.connect(server_url, autocommit=True) as admin:
        for name in names.values():
            admin.execute(f"CREATE DATABASE {name}")
    models: dict[str, GateModel] = {}

    def model(gate: str) -> GateModel:
        return models.setdefault(gate, GateModel(gate, alert_every=100))

    seqs: dict[str, int] = {}
    before = psycopg.connect(f"{base}/{names['before']}")
    before.execute(_OLD_RECORDS)
    before.commit()
    after = CentralDB(f"{base}/{names['after']}")
    today = datetime.date.today()
    after.ensure_days([today - datetime.timedelta(days=d) for d in range(days)])
    secs = {"before": 0.0, "after": 0.0}
    rows = 0
    per_round: list[dict[str, float]] = []
    try:
        for r in range(rounds):
            data = _flushes(flushes, messages, per_message, gates, seqs, model)
            n = sum(len(items) for flush in data for _, items in flush)
            rows += n
            this: dict[str, float] = {}
            for variant in ("before", "after") if r % 2 == 0 else ("after", "before"):
                t0 = time.perf_counter()
                for flush in data:
                    if variant == "before":
                        for gate, items in flush:
                            with before.cursor() as cur:
                                cur.executemany(_OLD_INSERT, [_old_row(gate, it) for it in items])
                        before.commit()
                    else:
                        by_gate: dict[str, list[RecordItem]] = {}
                        for gate, items in flush:
                            by_gate.setdefault(gate, []).extend(items)
                        after.store_many(by_gate, time.time())
                        after.commit()
                dt_s = time.perf_counter() - t0
                secs[variant] += dt_s
                this[variant] = round(n / dt_s)
            per_round.append(this)
    finally:
        before.close()
        after.close()
        with psycopg.connect(server_url, autocommit=True) as admin:
            for name in names.values():
                admin.execute(f"DROP DATABASE IF EXISTS {name}")
    return {
        "rows_each": rows,
        "flush": f"{messages} messages x {per_message} records, {gates} gates",
        "partitions": days,
        "before_rows_per_s": round(rows / secs["before"]),
        "after_rows_per_s": round(rows / secs["after"]),
        "speed_up": round(secs["before"] / secs["after"], 2),
        "rounds": per_round,
    }


def _old_row(gate: str, it: RecordItem) -> tuple[Any, ...]:
    body = json.dumps(it.body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return (gate, it.seq, it.id, it.kind, it.ts, body, time.time())


if __name__ == "__main__":  # pragma: no cover - measurement entry point (docs/scale.md)
    import argparse

    ap = argparse.ArgumentParser(description="receiver inserts on PostgreSQL, before/after")
    ap.add_argument("url", help="postgresql://… of any database of the server")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--flushes", type=int, default=10)
    ap.add_argument("--messages", type=int, default=20, help="batches per receiver flush")
    ap.add_argument("--per-message", type=int, default=50, help="records per batch")
    ap.add_argument("--gates", type=int, default=100)
    ap.add_argument("--days", type=int, default=2, help="partitions (days of retention)")
    a = ap.parse_args()
    result = bench_inserts(a.url, a.rounds, a.flushes, a.messages, a.per_message, a.gates, a.days)
    print(json.dumps(result, indent=2))
