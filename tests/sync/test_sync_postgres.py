"""The receiver on PostgreSQL: two receivers share the load through ``$share`` and one
database, and every record is stored exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synckit import central_link, gate_config, service_for, wait_for

from edge.central.db import CentralDB
from edge.central.receiver import Receiver
from edge.store.sqlite import Store
from edge.sync.client import LinkSettings
from edge.tools.loadgen import generate
from edge.tools.localbroker import Broker

ROOT = Path(__file__).resolve().parents[2]


def test_two_receivers_one_postgres_database(
    broker: Broker, central_key: tuple[Ed25519PrivateKey, Path], postgres_url: str, tmp_path: Path
) -> None:
    receivers = []
    for i in (1, 2):
        link = LinkSettings(**{**central_link(broker).__dict__, "client_id": f"central-pg-{i}"})
        r = Receiver(postgres_url, link, central_key[0], gap_wait_s=1.0)
        r.start()
        assert r.ready.wait(10)
        receivers.append(r)
    store = Store(tmp_path / "gate.sqlite3")
    generate(store, "gate-a", 2000, alert_every=100)
    cfg = gate_config(broker, central_key[1], "gate-a", tmp_path / "g", batch_max=50)
    svc = service_for(cfg, store)
    svc.start()
    try:
        wait_for(lambda: store.outbox_depth() == 0, 30, "drain into PostgreSQL")
    finally:
        svc.stop()
        for r in receivers:
            r.stop()
    assert all(r.stored > 0 for r in receivers)  # the shared subscription split the load
    db = CentralDB(postgres_url)
    assert db.seqs("gate-a") == list(range(1, 2001))
    store.close()
    out = subprocess.run(
        [sys.executable, "-m", "edge", "central", "stats", "--db", postgres_url, "--json"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    stats = {s["gate"]: s for s in json.loads(out.stdout)}["gate-a"]
    assert stats["records"] == 2000 and stats["last_seq"] == 2000 and stats["gaps"] == 0
    assert stats["alerts"] == 20
    db.close()
