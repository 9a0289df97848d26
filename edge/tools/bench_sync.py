"""Benchmark of the sync path on loopback, over TLS with end-to-end acks.

Drain: ``records`` records already durable in the outbox, a sender and a receiver start, and
the clock stops when central has acknowledged the last one (the outbox is empty). Latency:
records appended one by one at ``live_rate`` records/s while the sender runs; the latency of
each is the receiver's commit time minus the record's time (scan → stored at central).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
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
