"""The gate's local store: SQLite in WAL mode, the single place where records become durable.

Every record gets a per-gate monotonic ``seq`` and a UUID and is written in the same
transaction as its outbox row, with ``synchronous=FULL``, so a record acknowledged by
:meth:`Store.append` survives a crash or power cut. Records hold outcomes and short hashes,
never raw QR text or health data.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
]


@dataclass(frozen=True)
class Record:
    """One durable record: ``kind`` is e.g. "access", "door", "alert", "guard", "gap"."""

    seq: int
    id: str
    kind: str
    ts: float  # Unix seconds
    body: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "id": self.id, "kind": self.kind, "ts": self.ts, **self.body}


class Store:
    """Thread-safe access to the gate database (one connection, serialised by a lock)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
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
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic transaction (BEGIN IMMEDIATE … COMMIT, rolled back on error)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @staticmethod
    def insert_record(
        db: sqlite3.Connection, kind: str, ts: float, body: dict[str, Any], priority: int = 0
    ) -> Record:
        """Insert a record and its outbox row inside an open transaction."""
        rid = str(uuid.uuid4())
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        cur = db.execute(
            "INSERT INTO records (id, kind, ts, body) VALUES (?, ?, ?, ?)", (rid, kind, ts, text)
        )
        seq = int(cur.lastrowid or 0)
        db.execute("INSERT INTO outbox (seq, priority) VALUES (?, ?)", (seq, priority))
        return Record(seq, rid, kind, ts, body)

    def append(self, kind: str, ts: float, body: dict[str, Any], priority: int = 0) -> Record:
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
        return [Record(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

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
