"""The gate's local store: SQLite in WAL mode, the single place where records become durable.

Every record gets a per-gate monotonic ``seq`` and a UUID and is written in the same
transaction as its outbox row, with ``synchronous=FULL``, so a record acknowledged by
:meth:`Store.append` survives a crash or power cut. Records hold outcomes and short hashes,
never raw QR text or health data.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.core.records import (
    PRIORITY,
    GapBody,
    RecordBody,
    RecordKind,
    SnapshotBody,
    read_body,
)

# Each entry upgrades the schema by one version (PRAGMA user_version); never edit old entries.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE records (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        ts REAL NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY REFERENCES records(seq),
        priority INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        sent_at REAL
    );
    CREATE TABLE used_steps (
        pass_id TEXT NOT NULL,
        step INTEGER NOT NULL,
        ts REAL NOT NULL,
        PRIMARY KEY (pass_id, step)
    );
    """,
    # 2: sync state — resend due times, snapshot blobs, pushed lists, command nonces.
    """
    CREATE INDEX outbox_sent ON outbox(sent_at);
    CREATE TABLE snapshots (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        data BLOB,
        size INTEGER NOT NULL,
        dropped TEXT
    );
    CREATE INDEX snapshots_seq ON snapshots(seq);
    CREATE TABLE lists (
        name TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        body TEXT NOT NULL,
        applied_at REAL NOT NULL
    );
    CREATE TABLE nonces (nonce TEXT PRIMARY KEY, expires REAL NOT NULL);
    """,
    # 3: the backlog query walks unsent rows in priority order without sorting the outbox.
    """
    CREATE INDEX outbox_unsent ON outbox(priority DESC, seq) WHERE sent_at IS NULL;
    """,
]


@dataclass(frozen=True)
class Record:
    """One durable record; ``body`` is its JSON object as stored (see :mod:`edge.core.records`)."""

    seq: int
    id: str
    kind: RecordKind
    ts: float  # Unix seconds
    body: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "id": self.id, "kind": self.kind, "ts": self.ts, **self.body}

    def typed(self) -> RecordBody:
        """The body as its kind's model (fields a newer version added are ignored)."""
        return read_body(self.kind, self.body)


def _body_json(kind: RecordKind, body: RecordBody) -> dict[str, Any]:
    """The JSON object of a body. Edge code passes models (mypy checks it); a plain mapping is
    still taken as it is, for tests and tools that write bodies of their own."""
    if isinstance(body, RecordBody):
        if body.kind is not kind:
            raise ValueError(f"a {body.kind} body given for a {kind} record")
        return body.to_json()
    return dict(body)


class Store:
    """Thread-safe access to the gate database (one connection, serialised by a lock)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._listeners: list[Callable[[], None]] = []
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._migrate()

    def _migrate(self) -> None:
        with self.transaction() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            for i, sql in enumerate(MIGRATIONS[version:], start=version + 1):
                for stmt in filter(str.strip, sql.split(";")):
                    db.execute(stmt)
                db.execute(f"PRAGMA user_version={i}")

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def _atomic(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on error; the caller holds the lock."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic transaction, durable when it returns (synchronous=FULL)."""
        with self._lock, self._atomic() as db:
            yield db
        for listener in self._listeners:
            listener()  # wakes the sync sender: must be quick and never raise

    @contextmanager
    def volatile_transaction(self) -> Iterator[sqlite3.Connection]:
        """A transaction committed without fsync, for state that is rebuilt after a crash
        (send times, acks: at worst a record is sent again and central drops the duplicate)."""
        with self._lock:
            self._db.execute("PRAGMA synchronous=OFF")
            try:
                with self._atomic() as db:
                    yield db
            finally:
                self._db.execute("PRAGMA synchronous=FULL")

    @staticmethod
    def insert_record(
        db: sqlite3.Connection,
        kind: RecordKind,
        ts: float,
        body: RecordBody,
        priority: int | None = None,
    ) -> Record:
        """Insert a record and its outbox row inside an open transaction; ``priority``
        defaults to the kind's (:data:`edge.core.records.PRIORITY`)."""
        kind = RecordKind(kind)
        data = _body_json(kind, body)
        priority = PRIORITY[kind] if priority is None else priority
        rid = str(uuid.uuid4())
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        cur = db.execute(
            "INSERT INTO records (id, kind, ts, body) VALUES (?, ?, ?, ?)", (rid, kind, ts, text)
        )
        seq = int(cur.lastrowid or 0)
        db.execute("INSERT INTO outbox (seq, priority) VALUES (?, ?)", (seq, priority))
        return Record(seq, rid, kind, ts, data)

    def append(
        self, kind: RecordKind, ts: float, body: RecordBody, priority: int | None = None
    ) -> Record:
        """Make one record durable (committed with synchronous=FULL) and queue it for sync."""
        with self.transaction() as db:
            return self.insert_record(db, kind, ts, body, priority)

    def step_used(self, pass_id: str, step: int) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM used_steps WHERE pass_id=? AND step=?", (pass_id, step)
            ).fetchone()
        return row is not None

    @staticmethod
    def mark_step_used(db: sqlite3.Connection, pass_id: str, step: int, ts: float) -> None:
        db.execute(
            "INSERT OR IGNORE INTO used_steps (pass_id, step, ts) VALUES (?, ?, ?)",
            (pass_id, step, ts),
        )

    def records(self, after_seq: int = 0, limit: int = 1000) -> list[Record]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, id, kind, ts, body FROM records WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [Record(r[0], r[1], RecordKind(r[2]), r[3], json.loads(r[4])) for r in rows]

    def outbox_depth(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )

    def integrity_ok(self) -> bool:
        with self._lock:
            return bool(self._db.execute("PRAGMA quick_check").fetchone()[0] == "ok")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- sync state: outbox send / ack / resend -------------------------------------------

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every committed transaction (e.g. to wake the sender)."""
        self._listeners.append(listener)

    def epoch(self) -> str:
        """Random id of this database, made once: central tells a reinstalled gate apart."""
        with self.transaction() as db:
            new = uuid.uuid4().hex
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?)", (new,))
        return str(self.get_meta("epoch"))

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _rows(self, sql: str, args: tuple[Any, ...]) -> list[Record]:
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [Record(r[0], r[1], RecordKind(r[2]), r[3], json.loads(r[4])) for r in rows]

    def pending(self, limit: int, above_seq: int = 0, upto_seq: int | None = None) -> list[Record]:
        """Unsent outbox records with ``above_seq < seq <= upto_seq``. With ``upto_seq`` (the
        backlog) highest priority first, then oldest; without (live rows) in seq order."""
        sql = (
            "SELECT r.seq, r.id, r.kind, r.ts, r.body FROM outbox o {} JOIN records r USING (seq) "
            "WHERE o.sent_at IS NULL AND o.seq > ? "
        )
        if upto_seq is None:
            return self._rows(sql.format("") + "ORDER BY o.seq LIMIT ?", (above_seq, limit))
        # the planner prefers outbox_sent and sorts the whole backlog (30 ms per batch at 100k)
        return self._rows(
            sql.format("INDEXED BY outbox_unsent")
            + "AND o.seq <= ? ORDER BY o.priority DESC, o.seq LIMIT ?",
            (above_seq, upto_seq, limit),
        )

    def max_seq(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT MAX(seq) FROM records").fetchone()
        return int(row[0] or 0)

    def mark_sent(self, seqs: Iterable[int], now: float) -> None:
        """Rows handed to MQTT at ``now`` (Unix s); they wait for the end-to-end ack."""
        with self.volatile_transaction() as db:
            db.executemany(
                "UPDATE outbox SET sent_at=?, attempts=attempts+1 WHERE seq=?",
                [(now, s) for s in seqs],
            )

    def requeue_ranges(self, ranges: Iterable[tuple[int, int]]) -> int:
        """The receiver asked for these inclusive seq ranges again."""
        n = 0
        with self.volatile_transaction() as db:
            for lo, hi in ranges:
                n += db.execute(
                    "UPDATE outbox SET sent_at=NULL WHERE seq BETWEEN ? AND ?", (lo, hi)
                ).rowcount
        return n

    def requeue_stale(self, sent_before: float) -> int:
        """Rows sent before ``sent_before`` (Unix s) and still unacknowledged: send again."""
        with self.volatile_transaction() as db:
            return db.execute(
                "UPDATE outbox SET sent_at=NULL WHERE sent_at IS NOT NULL AND sent_at < ?",
                (sent_before,),
            ).rowcount

    def requeue_all(self) -> int:
        """At start-up nothing is in flight: every unacknowledged row is sent again."""
        return self.requeue_stale(float("inf"))

    def ack_upto(self, seq: int) -> int:
        """The receiver stored every record up to ``seq``: drop those outbox rows and blobs."""
        with self.volatile_transaction() as db:
            n = db.execute("DELETE FROM outbox WHERE seq <= ?", (seq,)).rowcount
            db.execute("DELETE FROM snapshots WHERE seq <= ?", (seq,))
            prev = db.execute("SELECT value FROM meta WHERE key='acked_upto'").fetchone()
            if prev is None or int(prev[0]) < seq:
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('acked_upto', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                    (str(seq),),
                )
        return n

    def oldest_unacked_ts(self) -> float | None:
        """Record time (Unix s) of the oldest record not yet acknowledged, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(r.ts) FROM outbox o JOIN records r USING (seq)"
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def prune_acked(self, before_ts: float) -> int:
        """Retention: delete acknowledged records older than ``before_ts`` (Unix s)."""
        with self.transaction() as db:
            return db.execute(
                "DELETE FROM records WHERE ts < ? AND seq NOT IN (SELECT seq FROM outbox)",
                (before_ts,),
            ).rowcount

    def add_snapshot(self, jpeg: bytes, ts: float, meta: Mapping[str, Any]) -> Record:
        """Keep a JPEG and a ``snapshot`` record pointing at it (same transaction); ``meta``
        holds the other fields of :class:`~edge.core.records.SnapshotBody` (alert, camera)."""
        sid = uuid.uuid4().hex
        sha = hashlib.sha256(jpeg).hexdigest()
        body = SnapshotBody(**meta, snapshot_id=sid, size=len(jpeg), sha256=sha)
        with self.transaction() as db:
            rec = self.insert_record(db, RecordKind.SNAPSHOT, ts, body)
            db.execute(
                "INSERT INTO snapshots (id, seq, data, size) VALUES (?, ?, ?, ?)",
                (sid, rec.seq, jpeg, len(jpeg)),
            )
        return rec

    def snapshot_blob(self, sid: str) -> tuple[bytes | None, str | None]:
        """(JPEG, None) or (None, why it was dropped); (None, "unknown") if never stored."""
        with self._lock:
            row = self._db.execute(
                "SELECT data, dropped FROM snapshots WHERE id=?", (sid,)
            ).fetchone()
        if row is None:
            return None, "unknown"
        return (None if row[0] is None else bytes(row[0])), row[1]

    def snapshot_bytes(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT SUM(size) FROM snapshots WHERE data IS NOT NULL")
            return int(row.fetchone()[0] or 0)

    def drop_snapshot(self, sid: str, reason: str, now: float | None = None) -> Record | None:
        """Drop one JPEG (its record stays) and leave a synced ``gap`` record saying so."""
        now = time.time() if now is None else now
        with self.transaction() as db:
            row = db.execute(
                "SELECT seq, size FROM snapshots WHERE id=? AND data IS NOT NULL", (sid,)
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE snapshots SET data=NULL, dropped=? WHERE id=?", (reason, sid))
            body = GapBody(
                what="snapshot", snapshot_id=sid, of_seq=row[0], size=row[1], reason=reason
            )
            return self.insert_record(db, RecordKind.GAP, now, body)

    def enforce_snapshot_cap(self, max_bytes: int, now: float | None = None) -> list[Record]:
        """Policy: records are never dropped; the oldest snapshots go first over the cap."""
        gaps: list[Record] = []
        while self.snapshot_bytes() > max_bytes:
            with self._lock:
                row = self._db.execute(
                    "SELECT id FROM snapshots WHERE data IS NOT NULL ORDER BY seq LIMIT 1"
                ).fetchone()
            if row is None:
                break
            gap = self.drop_snapshot(str(row[0]), "disk_cap", now)
            if gap is not None:
                gaps.append(gap)
        return gaps

    def list_versions(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT name, version FROM lists").fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def get_list(self, name: str) -> tuple[int, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT version, body FROM lists WHERE name=?", (name,)
            ).fetchone()
        return None if row is None else (int(row[0]), json.loads(row[1]))

    @staticmethod
    def put_list(db: sqlite3.Connection, name: str, version: int, body: Any, now: float) -> None:
        """Replace one list inside an open transaction (callers check the version first)."""
        db.execute(
            "INSERT INTO lists (name, version, body, applied_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET version=excluded.version, body=excluded.body, "
            "applied_at=excluded.applied_at",
            (name, version, json.dumps(body, ensure_ascii=False, sort_keys=True), now),
        )

    @staticmethod
    def use_nonce(db: sqlite3.Connection, nonce: str, expires: float, now: float) -> bool:
        """Remember ``nonce`` until ``expires``; False if it was already used (a replay)."""
        db.execute("DELETE FROM nonces WHERE expires < ?", (now,))
        cur = db.execute(
            "INSERT OR IGNORE INTO nonces (nonce, expires) VALUES (?, ?)", (nonce, expires)
        )
        return cur.rowcount == 1
