"""A receiver group on one fresh PostgreSQL: receivers started at the same moment set the schema
up once, share the gates' traffic without deadlocking, and a SIGKILLed member loses nothing —
its share goes to the others and every gate drains. A receiver whose consumer dies exits
non-zero so that its supervisor restarts it."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synckit import ReceiverProcess, fresh_database, gate_config, service_for, wait_for

from edge.central.db import CentralDB
from edge.store.sqlite import Store
from edge.sync.service import SyncService
from edge.tools.loadgen import generate
from edge.tools.localbroker import Broker

GATES = ("gate-r1", "gate-r2", "gate-r3")
PER_GATE = 1500


def run_group(
    broker: Broker, pub: Path, key: Path, db: str, tmp_path: Path, kill_after: int | None
) -> tuple[float, list[int]]:
    """Three receivers started together, three gates draining PER_GATE records each; with
    ``kill_after``, one receiver is SIGKILLed once that many records are stored. Returns the
    drain time in seconds and the receivers' exit codes."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    receivers = [ReceiverProcess(broker, key, db, i, tmp_path / f"r{i}.log") for i in range(3)]
    stores: list[Store] = []
    services: list[SyncService] = []
    try:
        wait_for(lambda: _tables_exist(db), 30, "the schema set up by one of the receivers")
        time.sleep(1.0)  # all three subscribed (a receiver logs nothing until it is)
        for gate in GATES:
            store = Store(tmp_path / f"{gate}.sqlite3")
            generate(store, gate, PER_GATE, alert_every=100)
            stores.append(store)
        start = time.monotonic()
        for gate, store in zip(GATES, stores, strict=True):
            cfg = gate_config(broker, pub, gate, tmp_path / f"{gate}-cfg", batch_max=50)
            svc = service_for(cfg, store)
            svc.start()
            services.append(svc)
        if kill_after is not None:
            wait_for(lambda: _stored(db) >= kill_after, 60, "records stored before the kill")
            receivers[1].kill()
        wait_for(lambda: all(s.outbox_depth() == 0 for s in stores), 120, "every gate drained")
        drained = time.monotonic() - start
    finally:
        for svc in services:
            svc.stop()
        for store in stores:
            store.close()
        codes = [r.stop() for r in receivers]
    return drained, codes


def _tables_exist(db: str) -> bool:
    import psycopg

    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT to_regclass('public.records') IS NOT NULL").fetchone()
    return bool(row and row[0])


def _stored(db: str) -> int:
    import psycopg

    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT count(*) FROM records").fetchone()
    return int(row[0]) if row else 0


def _check_exactly_once(db: str) -> None:
    central = CentralDB(db)
    try:
        for gate in GATES:
            assert central.seqs(gate) == list(range(1, PER_GATE + 1)), gate  # none lost
        assert _stored(db) == len(GATES) * PER_GATE  # none stored twice
    finally:
        central.close()


def test_receivers_started_together_then_one_killed_lose_nothing(
    broker: Broker,
    central_key: tuple[Ed25519PrivateKey, Path],
    central_private: Path,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    calm_db = fresh_database(postgres_url)
    calm, codes = run_group(broker, central_key[1], central_private, calm_db, tmp_path / "a", None)
    assert codes == [0, 0, 0], [(tmp_path / "a" / f"r{i}.log").read_text() for i in range(3)]
    _check_exactly_once(calm_db)

    killed_db = fresh_database(postgres_url)
    killed, codes = run_group(
        broker, central_key[1], central_private, killed_db, tmp_path / "b", PER_GATE
    )
    assert codes[0] == 0 and codes[2] == 0 and codes[1] == -signal.SIGKILL
    _check_exactly_once(killed_db)
    logs = "".join((tmp_path / "b" / f"r{i}.log").read_text() for i in range(3))
    assert "Deadlock" not in logs and "UniqueViolation" not in logs, logs[-2000:]
    print(
        f"drain of {len(GATES)} x {PER_GATE}: calm {calm:.1f} s, one receiver killed {killed:.1f} s"
    )
    # the dead member's share is picked up by the others within the gates' ack timeout (3 s)
    # plus a retry, not after the broker's session expiry
    assert killed <= max(1.5 * calm, calm + 8.0), (calm, killed)


def test_a_receiver_whose_consumer_dies_exits_non_zero(
    broker: Broker, central_private: Path, tmp_path: Path
) -> None:
    """A database the receiver cannot open kills its consumer: the process says so and exits 1
    (before, the thread died and the process stayed up looking healthy)."""
    bad = tmp_path / "not-a-dir"
    bad.write_text("a file where the database's folder should be")
    r = ReceiverProcess(
        broker, central_private, str(bad / "central.sqlite3"), 9, tmp_path / "r.log"
    )
    try:
        r.proc.wait(20)
    finally:
        code = r.stop()
    assert code == 1, r.log.read_text()
    assert "consumer died" in r.log.read_text()


@pytest.fixture(autouse=True)
def _no_stray_receivers() -> Iterator[None]:
    before = set(os.listdir("/proc"))
    yield
    stray = [
        p
        for p in set(os.listdir("/proc")) - before
        if p.isdigit() and "edge-gate-central" in _cmdline(p)
    ]
    assert not stray, f"receivers left running: {stray}"


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""
