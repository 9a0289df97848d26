"""PostgreSQL ``records`` partitioned by day: partitions made on demand (also by receivers
racing for the same day), (gate, seq) still stored once whatever day a resend claims, and an
existing unpartitioned database migrated by a real receiver with nothing lost."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synckit import ReceiverProcess, fresh_database, gate_config, service_for, wait_for

from edge.central.db import CentralDB, partition_name, record_day
from edge.store.sqlite import Store
from edge.sync.payloads import RecordItem
from edge.tools.loadgen import generate
from edge.tools.localbroker import Broker

DAY = 86400.0
T0 = 1_780_000_000.0  # 2026-05-28, a fixed day


def items(seqs: list[int], ts: float) -> list[RecordItem]:
    return [RecordItem(seq=s, id=f"id-{s}", kind="access", ts=ts, n=s) for s in seqs]


def partitions(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'records'::regclass ORDER BY 1"
        ).fetchall()
    return [str(r[0]) for r in rows]


def relkind(url: str, name: str) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT relkind FROM pg_class WHERE relname = %s", (name,)).fetchone()
    return None if row is None else str(row[0])


def test_records_are_partitioned_by_day_and_stored_once(postgres_url: str) -> None:
    url = fresh_database(postgres_url)
    db = CentralDB(url)
    try:
        assert relkind(url, "records") == "p"
        db.ensure_gate("g")
        new = db.store_many({"g": items([1, 2, 3], T0) + items([4, 5], T0 + DAY)}, 1.0)
        db.commit()
        assert new == {"access": 5}
        days = {record_day(T0), record_day(T0 + DAY)}
        assert {partition_name(d) for d in days} <= set(partitions(url))
        # a resend: the same records, and the same seqs claiming another day (a gate whose
        # clock was set between two sends): none is stored again
        assert db.store_records("g", items([1, 2, 3, 4, 5], T0), 2.0) == 0
        assert db.store_records("g", items([3, 4, 6], T0 + 5 * DAY), 2.0) == 1
        db.commit()
        assert db.seqs("g") == [1, 2, 3, 4, 5, 6]
        # nothing at or below contig is stored again, whatever its day
        assert db.advance("g")[0] == 6
        db.commit()
        assert db.store_records("g", items([2, 7], T0 + 9 * DAY), 3.0) == 1
        db.commit()
        assert db.seqs("g") == [1, 2, 3, 4, 5, 6, 7]
        # a wrong clock is clamped, not a partition per absurd day
        assert db.store_records("g", items([8], 0.0) + items([9], 1e12), 3.0) == 2
        db.commit()
        assert {"records_p20000101", "records_p20991231"} <= set(partitions(url))
        assert [x["seq"] for x in db.export(gate="g")] == list(range(1, 10))
    finally:
        db.close()


def test_receivers_racing_for_a_new_day_both_store(postgres_url: str) -> None:
    """Eight connections create the same days' partitions at once: no error, one each."""
    url = fresh_database(postgres_url)
    CentralDB(url).close()
    errors: list[BaseException] = []
    start = threading.Event()

    def one(n: int) -> None:
        try:
            db = CentralDB(url)
            start.wait(10)
            for k in range(5):
                gate = f"g{n}"
                db.lock_gate(gate)
                db.ensure_gate(gate)
                db.store_records(gate, items([k + 1], T0 + 30 * DAY + k * DAY), 1.0)
                db.commit()
            db.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join(60)
    assert errors == []
    days = [partition_name(record_day(T0 + 30 * DAY + k * DAY)) for k in range(5)]
    assert set(days) <= set(partitions(url))
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*), count(DISTINCT (gate, seq)) FROM records").fetchone()
    assert row == (40, 40)


# the schema of the receivers before records were partitioned (commit 46198dd)
OLD_SCHEMA = [
    "CREATE TABLE records (gate TEXT NOT NULL, seq BIGINT NOT NULL, "
    "id TEXT NOT NULL, kind TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL, body TEXT NOT NULL, "
    "received_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (gate, seq))",
    "CREATE TABLE gates (gate TEXT PRIMARY KEY, contig BIGINT NOT NULL DEFAULT 0, "
    "status TEXT, status_ts DOUBLE PRECISION, last_heartbeat DOUBLE PRECISION, heartbeat TEXT, "
    "resend_requests BIGINT NOT NULL DEFAULT 0, rejected BIGINT NOT NULL DEFAULT 0, epoch TEXT)",
    "CREATE TABLE retired_epochs (gate TEXT NOT NULL, epoch TEXT NOT NULL, "
    "archived_as TEXT NOT NULL, retired_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (gate, epoch))",
    "CREATE TABLE snapshots (gate TEXT NOT NULL, id TEXT NOT NULL, "
    "data BYTEA NOT NULL, received_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (gate, id))",
]
OLD = [*range(1, 601), *range(650, 701)]  # stored before the upgrade; 601-649 never arrived


def _old_rows(url: str) -> str:
    """A digest of the rows the old receivers stored, as the new table holds them."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT gate, seq, id, kind, ts, body, received_at FROM records "
            "WHERE gate = 'gate-a' AND received_at < 100 ORDER BY seq"
        ).fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest() + f":{len(rows)}"


def test_an_unpartitioned_database_is_migrated_by_new_receivers_nothing_lost(
    broker: Broker,
    central_key: tuple[Ed25519PrivateKey, Path],
    central_private: Path,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    url = fresh_database(postgres_url)
    with psycopg.connect(url) as conn:
        for stmt in OLD_SCHEMA:
            conn.execute(stmt)
        conn.execute("INSERT INTO gates (gate, contig) VALUES ('gate-a', 600)")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO records VALUES ('gate-a', %s, %s, 'access', %s, %s, %s)",
                [(s, f"old-{s}", T0 + s * 600.0, f'{{"n":{s}}}', 50.0 + s / 1000) for s in OLD],
            )  # four days of records, 10 minutes apart
    before = _old_rows(url)
    assert before.endswith(f":{len(OLD)}")
    # the gate made 1000 records; it resends all of them (its outbox never saw an ack)
    store = Store(tmp_path / "gate-a.sqlite3")
    generate(store, "gate-a", 1000, alert_every=100)
    # two new receivers started at the same moment on the old database: one migrates
    receivers = [
        ReceiverProcess(broker, central_private, url, i, tmp_path / f"r{i}.log") for i in (1, 2)
    ]
    svc = None
    try:
        wait_for(lambda: relkind(url, "records") == "p", 60, "the migration")
        time.sleep(1.0)  # both subscribed
        cfg = gate_config(broker, central_key[1], "gate-a", tmp_path / "g", batch_max=50)
        svc = service_for(cfg, store)
        svc.start()
        wait_for(lambda: store.outbox_depth() == 0, 90, "the gate drained")
    finally:
        if svc is not None:
            svc.stop()
        store.close()
        codes = [r.stop() for r in receivers]
    logs = "".join(r.log.read_text() for r in receivers)
    assert codes == [0, 0], logs[-3000:]
    assert "Traceback" not in logs, logs[-3000:]
    assert relkind(url, "records_unpartitioned") is None
    assert _old_rows(url) == before  # every old row kept, unchanged
    db = CentralDB(url)
    try:
        assert db.seqs("gate-a") == list(range(1, 1001))  # 601-649 and 701-1000 added, once
    finally:
        db.close()
    old_days = {record_day(T0 + s * 600.0) for s in OLD}
    assert len(old_days) >= 4
    assert {partition_name(d) for d in old_days} <= set(partitions(url))
    today = dt.datetime.now(dt.UTC).date()
    assert partition_name(today) in partitions(url)


def test_two_inserts_in_one_transaction_store_each_record_once(postgres_url: str) -> None:
    """A flush inserts twice when a gate's epoch changes within it: the second insert does not
    see the first one's rows again (the connection's staging table is emptied between)."""
    url = fresh_database(postgres_url)
    db = CentralDB(url)
    try:
        assert db.store_many({"g": items([1, 2], T0)}, 1.0) == {"access": 2}
        assert db.store_many({"h": items([1], T0)}, 1.0) == {"access": 1}
        db.commit()
        assert db.store_many({"g": items([3], T0)}, 1.0) == {"access": 1}
        db.commit()
        assert (db.seqs("g"), db.seqs("h")) == ([1, 2, 3], [1])
    finally:
        db.close()


def test_retention_drops_a_day_and_a_late_record_makes_it_again(postgres_url: str) -> None:
    """Retention is dropping a day's partition; what was acked stays refused (contig), a
    late record above contig fails on the connection that thought the day existed (not
    acked, the gate resends) and is stored by a reopened one, which makes the day again."""
    url = fresh_database(postgres_url)
    db = CentralDB(url)
    try:
        db.ensure_gate("g")
        db.store_records("g", items([1, 2], T0), 1.0)
        db.commit()
        db.advance("g")
        db.commit()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP TABLE {partition_name(record_day(T0))}")
        assert db.seqs("g") == []
        assert db.store_records("g", items([1, 2], T0), 2.0) == 0  # at or below contig
        db.commit()
        with pytest.raises(psycopg.Error):
            db.store_records("g", items([3], T0), 2.0)
        db.conn.rollback()
    finally:
        db.close()
    db = CentralDB(url)  # the receiver reopens its connection after a failed flush
    try:
        assert db.store_records("g", items([3], T0), 3.0) == 1
        db.commit()
        assert db.seqs("g") == [3]
    finally:
        db.close()
