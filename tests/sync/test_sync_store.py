"""The store's sync state: ack only what central confirmed, resend, caps with gap records."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from edge.store.sqlite import MIGRATIONS, Store


def test_upgrade_from_schema_1_keeps_records(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + "; PRAGMA user_version=1;")
    db.execute("INSERT INTO records (id, kind, ts, body) VALUES ('x', 'access', 1.0, '{}')")
    db.execute("INSERT INTO outbox (seq) VALUES (1)")
    db.commit()
    db.close()
    store = Store(path)
    assert store.schema_version == len(MIGRATIONS)
    assert [r.seq for r in store.pending(10, upto_seq=10)] == [1]
    store.close()


def test_ack_resend_and_live_split(tmp_path: Path) -> None:
    store = Store(tmp_path / "g.sqlite3")
    for i in range(10):
        store.append("access", float(i), {"i": i}, priority=10 if i == 7 else 0)
    assert [r.seq for r in store.pending(3, upto_seq=6)] == [1, 2, 3]
    assert store.pending(20, upto_seq=10)[0].seq == 8  # priority first in backlog
    assert [r.seq for r in store.pending(20, above_seq=6)] == [7, 8, 9, 10]
    store.mark_sent(range(1, 11), time.time())
    assert store.pending(20) == []
    assert store.ack_upto(4) == 4 and store.outbox_depth() == 6
    assert store.requeue_ranges([(6, 7)]) == 2
    assert [r.seq for r in store.pending(20)] == [6, 7]
    assert store.requeue_stale(time.time() + 1) == 4
    assert store.oldest_unacked_ts() == 4.0
    assert store.get_meta("acked_upto") == "4"
    assert len(store.records()) == 10  # records stay until retention prunes acked ones
    assert store.prune_acked(before_ts=100.0) == 4
    store.close()


def test_snapshot_cap_drops_oldest_jpeg_and_leaves_gap(tmp_path: Path) -> None:
    store = Store(tmp_path / "g.sqlite3")
    access = store.append("access", 1.0, {"allow": True})
    snaps = [store.add_snapshot(bytes([i]) * 1000, 2.0, {"camera": "c"}) for i in range(3)]
    gaps = store.enforce_snapshot_cap(2500)
    assert len(gaps) == 1 and gaps[0].kind == "gap"
    assert gaps[0].body["snapshot_id"] == snaps[0].body["snapshot_id"]
    assert gaps[0].body["reason"] == "disk_cap"
    assert store.snapshot_blob(snaps[0].body["snapshot_id"]) == (None, "disk_cap")
    assert store.snapshot_blob(snaps[1].body["snapshot_id"])[0] == bytes([1]) * 1000
    kinds = [r.kind for r in store.records()]
    assert kinds == ["access", "snapshot", "snapshot", "snapshot", "gap"]  # nothing else lost
    assert access.seq == 1
    store.close()


def test_nonces_expire(tmp_path: Path) -> None:
    store = Store(tmp_path / "g.sqlite3")
    with store.transaction() as db:
        assert Store.use_nonce(db, "n", expires=10.0, now=5.0)
        assert not Store.use_nonce(db, "n", expires=10.0, now=6.0)
        assert Store.use_nonce(db, "n", expires=30.0, now=20.0)  # pruned after expiry
    store.close()
