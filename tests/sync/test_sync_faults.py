"""Fault tests: SIGKILL the broker, the gate process, or both, while records flow.

At the end central's database must hold every record exactly once, in seq order, no gap.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synckit import GateProcess, gate_config, write_gate_toml

from edge.central.db import CentralDB
from edge.central.receiver import Receiver
from edge.store.sqlite import Store
from edge.tools.loadgen import generate
from edge.tools.localbroker import Broker

pytestmark = pytest.mark.slow
N = 3000  # records per scenario
RATE = 600.0  # records/s appended while faults happen


@pytest.mark.parametrize(
    ("fault", "gate"), [("broker", "gate-f"), ("gate", "gate-g"), ("both", "gate-h")]
)
def test_no_record_lost_or_doubled(
    broker: Broker,
    central_key: tuple[Ed25519PrivateKey, Path],
    receiver: Receiver,
    tmp_path: Path,
    fault: str,
    gate: str,
) -> None:
    store_path = tmp_path / "gate.sqlite3"
    cfg = gate_config(broker, central_key[1], gate, store_path, "tls")
    sync = cfg.sync.model_dump(exclude_none=True, mode="json")
    toml = write_gate_toml(tmp_path / "gate.toml", gate, store_path, sync)
    store = Store(store_path)
    proc = GateProcess(toml, tmp_path / "gate.log")
    proc.start()
    feeder = threading.Thread(target=generate, args=(store, gate, N, RATE), daemon=True)
    started = time.monotonic()
    feeder.start()
    try:
        for _ in range(3):  # three faults spread over the ~5 s of traffic
            time.sleep(1.2)
            if fault in ("broker", "both"):
                broker.kill()
            if fault in ("gate", "both"):
                proc.kill()
            time.sleep(0.4)
            if fault in ("broker", "both"):
                broker.start()
            if fault in ("gate", "both"):
                proc.start()
        feeder.join(30)
        assert not feeder.is_alive()
        deadline = time.monotonic() + 60
        while store.outbox_depth() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store.outbox_depth() == 0, f"{store.outbox_depth()} never acknowledged"
    finally:
        proc.stop()
        if broker.proc is None:
            broker.start()
    db = CentralDB(receiver.db_url)
    seqs = db.seqs(gate)
    assert len(seqs) == N == len(set(seqs))
    assert seqs == list(range(1, N + 1))
    n_rows = db.conn.execute("SELECT COUNT(*) FROM records WHERE gate=?", (gate,)).fetchone()[0]
    assert n_rows == N
    stats = {s["gate"]: s for s in db.stats()}[gate]
    assert stats["gaps"] == 0 and stats["contiguous_upto"] == N
    db.close()
    store.close()
    print(f"{fault}: {N} records, {time.monotonic() - started:.1f} s")
