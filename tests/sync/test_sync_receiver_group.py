"""A receiver group on one fresh PostgreSQL: receivers started at the same moment set the schema
up once, share the gates' traffic without deadlocking, and a member SIGKILLed in the middle of
a run (records still coming) loses nothing — what was in flight to it is resent by the gates
on their adaptive ack timeout, the others store it within seconds, and every gate drains within
1.5x the time of the same run without the kill. A receiver whose consumer dies exits non-zero
so that its supervisor restarts it."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
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
RUN_S = 10.0  # records keep coming this long; the kill is in the middle
RATE = 400  # records/s each gate makes meanwhile (in chunks every 0.1 s)


@dataclass
class Run:
    """One run of the group: seconds from the start until every gate drained, after the
    records stopped coming (tail), from the kill until the others had stored everything made
    before it (recovery); records each gate made; the receivers' exit codes."""

    drained: float
    tail: float
    recovery: float | None
    made: dict[str, int]
    codes: list[int]
    resent: int  # records the gates sent again (the dead member's share, spurious resends)


def _produce(store: Store, gate: str, until: float) -> None:
    """Records at RATE until ``until`` (monotonic), as a gate makes them: durable in its
    outbox while its uplink drains it."""
    chunk = max(1, RATE // 10)
    i = 0
    while time.monotonic() < until:
        generate(store, gate, chunk, alert_every=100, seed=i)
        i += 1
        time.sleep(0.1)


def run_group(broker: Broker, pub: Path, key: Path, db: str, tmp_path: Path, kill: bool) -> Run:
    """Three receivers started together on ``db``, three gates making records for RUN_S
    seconds while they drain; with ``kill``, one receiver is frozen (SIGSTOP) for 0.5 s in
    the middle and then SIGKILLed. Recovery counts from the kill."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    receivers = [ReceiverProcess(broker, key, db, i, tmp_path / f"r{i}.log") for i in range(3)]
    stores: list[Store] = []
    services: list[SyncService] = []
    producers: list[threading.Thread] = []
    recovery: float | None = None
    try:
        wait_for(lambda: _tables_exist(db), 30, "the schema set up by one of the receivers")
        time.sleep(1.0)  # all three subscribed (a receiver logs nothing until it is)
        stores = [Store(tmp_path / f"{gate}.sqlite3") for gate in GATES]
        start = time.monotonic()
        for gate, store in zip(GATES, stores, strict=True):
            cfg = gate_config(
                broker, pub, gate, tmp_path / f"{gate}-cfg", batch_max=10, ack_timeout_s=15.0
            )  # the field's ack timeout: the adaptive one must not wait for it
            svc = service_for(cfg, store)
            svc.start()
            services.append(svc)
            t = threading.Thread(target=_produce, args=(store, gate, start + RUN_S))
            t.start()
            producers.append(t)
        if kill:
            time.sleep(RUN_S / 2 - 0.5)
            # frozen first (a hung process, then killed): the broker keeps routing the
            # member's share to it meanwhile, so the kill surely takes messages with it
            receivers[1].proc.send_signal(signal.SIGSTOP)
            time.sleep(0.5)
            made_before = {g: s.max_seq() for g, s in zip(GATES, stores, strict=True)}
            receivers[1].kill()
            killed_at = time.monotonic()
            wait_for(lambda: _caught_up(db, made_before), 60, "the dead member's share stored")
            recovery = time.monotonic() - killed_at
        for t in producers:
            t.join(RUN_S + 30)
        made = {g: s.max_seq() for g, s in zip(GATES, stores, strict=True)}
        wait_for(lambda: all(s.outbox_depth() == 0 for s in stores), 120, "every gate drained")
        drained = time.monotonic() - start
    finally:
        for t in producers:
            t.join(RUN_S + 30)
        resent = sum(svc.counters["requeued"] for svc in services)
        for svc in services:
            svc.stop()
        for store in stores:
            store.close()
        codes = [r.stop() for r in receivers]
    return Run(drained, drained - RUN_S, recovery, made, codes, resent)


BURST = 1500  # records waiting in each gate's outbox (the burst runs)


def run_burst(broker: Broker, pub: Path, key: Path, db: str, tmp_path: Path, kill: bool) -> Run:
    """Three receivers, three gates each with BURST records already waiting and nothing made
    after: with ``kill``, one receiver is frozen and SIGKILLed once a third is stored, so
    what it held is lost near the end, with no later batch behind it to reveal the gap."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    receivers = [ReceiverProcess(broker, key, db, i, tmp_path / f"r{i}.log") for i in range(3)]
    stores: list[Store] = []
    services: list[SyncService] = []
    try:
        wait_for(lambda: _tables_exist(db), 30, "the schema set up by one of the receivers")
        time.sleep(1.0)
        for gate in GATES:
            store = Store(tmp_path / f"{gate}.sqlite3")
            generate(store, gate, BURST, alert_every=100)
            stores.append(store)
        start = time.monotonic()
        for gate, store in zip(GATES, stores, strict=True):
            cfg = gate_config(
                broker, pub, gate, tmp_path / f"{gate}-cfg", batch_max=50, ack_timeout_s=15.0
            )
            svc = service_for(cfg, store)
            svc.start()
            services.append(svc)
        if kill:
            wait_for(lambda: _stored(db) >= BURST, 60, "a third stored")
            receivers[1].proc.send_signal(signal.SIGSTOP)
            time.sleep(0.3)
            receivers[1].kill()
        wait_for(lambda: all(s.outbox_depth() == 0 for s in stores), 120, "every gate drained")
        drained = time.monotonic() - start
        made = {g: s.max_seq() for g, s in zip(GATES, stores, strict=True)}
        resent = sum(svc.counters["requeued"] for svc in services)
    finally:
        for svc in services:
            svc.stop()
        for store in stores:
            store.close()
        codes = [r.stop() for r in receivers]
    return Run(drained, 0.0, None, made, codes, resent)


def _caught_up(db: str, made: dict[str, int]) -> bool:
    """Central holds every gate's records up to ``made`` without a gap (its contig)."""
    import psycopg

    with psycopg.connect(db) as conn:
        rows = dict(conn.execute("SELECT gate, contig FROM gates").fetchall())
    return all(int(rows.get(g, 0)) >= n for g, n in made.items())


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


def _check_exactly_once(db: str, made: dict[str, int]) -> None:
    central = CentralDB(db)
    try:
        for gate, n in made.items():
            assert central.seqs(gate) == list(range(1, n + 1)), gate  # none lost
        assert _stored(db) == sum(made.values())  # none stored twice
    finally:
        central.close()


def test_receivers_started_together_then_one_killed_mid_run_lose_nothing(
    broker: Broker,
    central_key: tuple[Ed25519PrivateKey, Path],
    central_private: Path,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    calm_db = fresh_database(postgres_url)
    calm = run_group(broker, central_key[1], central_private, calm_db, tmp_path / "a", False)
    logs = [(tmp_path / "a" / f"r{i}.log").read_text() for i in range(3)]
    assert calm.codes == [0, 0, 0], logs
    _check_exactly_once(calm_db, calm.made)

    killed_db = fresh_database(postgres_url)
    killed = run_group(broker, central_key[1], central_private, killed_db, tmp_path / "b", True)
    assert killed.codes[0] == 0 and killed.codes[2] == 0 and killed.codes[1] == -signal.SIGKILL
    _check_exactly_once(killed_db, killed.made)
    logs_b = "".join((tmp_path / "b" / f"r{i}.log").read_text() for i in range(3))
    assert "Deadlock" not in logs_b and "UniqueViolation" not in logs_b, logs_b[-2000:]
    print(
        f"\n{len(GATES)} gates x {RATE}/s for {RUN_S:.0f} s ({sum(killed.made.values())} "
        f"records): drained after calm {calm.drained:.1f} s (tail {calm.tail:.1f} s), "
        f"one receiver killed {killed.drained:.1f} s (tail {killed.tail:.1f} s), the dead "
        f"member's share stored {killed.recovery:.1f} s after the kill; records resent "
        f"calm {calm.resent}, killed {killed.resent}"
    )
    assert killed.resent > 0  # the kill was real: messages in flight to it were lost
    # the gates resent them on their adaptive timeout, well before the configured 15 s one
    assert killed.recovery is not None and killed.recovery < 7.5, killed
    # every gate drained within 1.5x the time of the run without the kill
    assert killed.drained <= 1.5 * calm.drained, (calm, killed)


def test_a_receiver_killed_late_in_a_burst_costs_about_a_second_not_the_ack_timeout(
    broker: Broker,
    central_key: tuple[Ed25519PrivateKey, Path],
    central_private: Path,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    """The batches a dead receiver took with it near the end of a burst have no later batch
    behind them, so no receiver sees a gap: only the gate's resend timeout brings them back.
    It adapts to the ack round trip, so they come back about a second late, not after the
    configured 15 s."""
    calm_db = fresh_database(postgres_url)
    calm = run_burst(broker, central_key[1], central_private, calm_db, tmp_path / "a", False)
    assert calm.codes == [0, 0, 0]
    _check_exactly_once(calm_db, calm.made)
    killed_db = fresh_database(postgres_url)
    killed = run_burst(broker, central_key[1], central_private, killed_db, tmp_path / "b", True)
    assert killed.codes[1] == -signal.SIGKILL and killed.codes[0] == killed.codes[2] == 0
    _check_exactly_once(killed_db, killed.made)
    print(
        f"\nburst of {len(GATES)} x {BURST}: drained calm {calm.drained:.1f} s, one receiver "
        f"killed {killed.drained:.1f} s; records resent {killed.resent}"
    )
    assert killed.resent > 0
    assert killed.drained <= calm.drained + 5.0, (calm, killed)  # the fixed timeout: +15 s


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
    yield
    # only this test process's own children: other work on the machine may run receivers
    stray = [
        p
        for p in os.listdir("/proc")
        if p.isdigit() and _parent(p) == os.getpid() and "edge-gate-central" in _cmdline(p)
    ]
    assert not stray, f"receivers left running: {stray}"


def _parent(pid: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("PPid:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""
