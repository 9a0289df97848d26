"""The gate's local store: SQLite in WAL mode, the single place where records become durable.

Every record gets a per-gate monotonic ``seq`` and a UUID and is written in the same
transaction as its outbox row, with ``synchronous=FULL``, so a record acknowledged by
:meth:`Store.append` survives a crash or power cut. Records hold outcomes and short hashes,
never raw QR text or health data.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import sqlite3
import stat
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from edge.core.errors import StorageError
from edge.core.records import (
    PRIORITY,
    AlertBody,
    GapBody,
    RecordBody,
    RecordKind,
    SnapshotBody,
    on_alerts_topic,
    read_body,
)

log = logging.getLogger(__name__)

DEFAULT_PENDING_MAX = 10_000  # records held in memory while the disk refuses writes
BUSY_TIMEOUT_MS = 5000

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
    # 4: a record the broker can never take (too large) leaves the outbox for this table, so
    # it stops blocking the records behind it; the record itself stays.
    """
    CREATE TABLE dead_letter (
        seq INTEGER PRIMARY KEY REFERENCES records(seq),
        reason TEXT NOT NULL,
        size INTEGER NOT NULL,
        ts REAL NOT NULL
    );
    """,
]


def is_store_fault(exc: BaseException) -> bool:
    """A fault of the disk or the database file (full, read-only, I/O error, busy, corrupt),
    as opposed to a bug in a statement (those still raise)."""
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.ProgrammingError):
        return False
    return isinstance(exc, sqlite3.DatabaseError | OSError)


def _read_unsynced(path: Path) -> tuple[list[Any], str]:
    """(id, kind, ts, body, priority) of the unsynced records of a damaged file that SQLite
    can still read, and the first error met ("" if none). Read one record at a time, so a bad
    page costs only the records on it."""
    rows: list[Any] = []
    problem = ""
    try:
        old = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.DatabaseError as exc:
        return rows, str(exc)
    try:
        try:
            unsynced = old.execute("SELECT seq, priority FROM outbox ORDER BY seq").fetchall()
        except sqlite3.DatabaseError as exc:
            return rows, str(exc)
        for seq, priority in unsynced:
            try:
                row = old.execute(
                    "SELECT id, kind, ts, body FROM records WHERE seq=?", (seq,)
                ).fetchone()
            except sqlite3.DatabaseError as exc:
                problem = problem or f"seq {seq}: {exc}"
                continue
            if row is not None:
                rows.append((*row, priority))
    finally:
        old.close()
    return rows, problem


class NotARegularFile(StorageError, OSError):
    """The store path names a FIFO, a device or a folder: never opened (a FIFO would block
    the open until a writer came)."""


def refuse_special_file(path: Path) -> None:
    """Raise :class:`NotARegularFile` when ``path`` exists and is not a regular file."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a folder" if stat.S_ISDIR(mode) else "special"
        raise NotARegularFile(errno.EINVAL, f"{path} is {kind}, not a regular file: not opened")


def _top_seq(path: Path) -> int:
    """The highest seq a database file ever handed out, read without writing; 0 if unknown."""
    if not _holds_data(path):
        return 0
    try:
        db = open_read_only(path)
        try:
            row = db.execute("SELECT seq FROM sqlite_sequence WHERE name='records'").fetchone()
            top = db.execute("SELECT MAX(seq) FROM records").fetchone()
        finally:
            db.close()
    except (sqlite3.DatabaseError, OSError):
        return 0
    return max(int(row[0]) if row else 0, int(top[0] or 0))


def _file_epoch(path: Path) -> str:
    """The database id stored in ``path``, read without writing; "" if it cannot be read."""
    try:
        db = open_read_only(path)
        try:
            row = db.execute("SELECT value FROM meta WHERE key='epoch'").fetchone()
        finally:
            db.close()
    except (sqlite3.DatabaseError, OSError):
        return ""
    return str(row[0]) if row else ""


def _reserve_seqs(db: sqlite3.Connection, upto: int) -> None:
    """Make AUTOINCREMENT hand out seqs above ``upto`` (inside the caller's transaction)."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'").fetchone() is None:
        return  # a file being made: its migrations have not created the records table yet
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name='records'").fetchone()
    if row is None:
        db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('records', ?)", (upto,))
    elif int(row[0]) < upto:
        db.execute("UPDATE sqlite_sequence SET seq=? WHERE name='records'", (upto,))


def _holds_data(path: Path) -> bool:
    """Whether ``path`` is a regular file with bytes in it (SQLite takes an empty file for an
    empty database: what a full disk leaves behind when the first write fails)."""
    try:
        st = path.stat()
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size > 0


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that never writes, nor creates a file, next to ``path``.

    ``mode=ro`` alone still creates ``-wal`` and ``-shm`` beside a WAL database (and fails in
    a read-only folder). When no ``-wal`` exists no writer has the file open, so it is opened
    ``immutable``: nothing is created or locked. Beside a running gate (``-wal`` present) the
    files already exist and ``mode=ro`` reads its latest commits."""
    refuse_special_file(path)
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, f"no gate store at {path}")
    wal = path.with_name(path.name + "-wal")
    flags = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    uri = f"file:{quote(str(path.resolve()))}?{flags}"
    db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return db


@dataclass(frozen=True)
class Salvage:
    """What happened to a database file SQLite could not open: moved aside, records kept."""

    moved_to: Path
    error: str
    salvaged: int  # unsynced records copied into the new database
    unreadable: str  # "" when every unsynced record could be read


@dataclass(frozen=True)
class _Pending:
    """A record that could not be made durable yet (disk full, read-only, I/O error)."""

    seq: int
    id: str
    kind: str
    ts: float
    text: str
    priority: int
    used_step: tuple[str, int] | None


def _corrupt(exc: sqlite3.DatabaseError) -> bool:
    """SQLITE_CORRUPT / SQLITE_NOTADB: the file itself is bad (moving it aside helps); a full,
    read-only or missing disk is not (moving the file would not help)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return bool(code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB))
    text = str(exc)
    return "not a database" in text or "malformed" in text


@dataclass(frozen=True)
class Record:
    """One durable record; ``body`` is its JSON object as stored (see :mod:`edge.core.records`)."""

    seq: int
    id: str
    kind: RecordKind | str  # str: a kind of a newer release, read back after a downgrade
    ts: float  # Unix seconds
    body: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "id": self.id, "kind": self.kind, "ts": self.ts, **self.body}

    def typed(self) -> RecordBody:
        """The body as its kind's model (fields a newer version added are ignored); raises
        ``ValueError`` for a kind this release does not know."""
        return read_body(self.kind, self.body)


def stored_kind(text: str) -> RecordKind | str:
    """The kind of a stored row. A kind this release does not know (written by a newer one
    before a downgrade) stays text: the record is still synced, never a reason to stop."""
    try:
        return RecordKind(text)
    except ValueError:
        return text


def _body_json(kind: RecordKind, body: RecordBody) -> dict[str, Any]:
    """The JSON object of a body. Edge code passes models (mypy checks it); a plain mapping is
    still taken as it is, for tests and tools that write bodies of their own."""
    if isinstance(body, RecordBody):
        if body.kind is not kind:
            raise ValueError(f"a {body.kind} body given for a {kind} record")
        return body.to_json()
    return dict(body)


class Store:
    """Thread-safe access to the gate database (one connection, serialised by a lock).

    Storage faults never stop the gate: :meth:`append` and :meth:`record` keep a record the
    disk refuses (full, read-only, I/O error, busy) in a bounded in-memory queue and
    :meth:`flush` writes the queue in order once the disk takes writes again; records pushed
    out of a full queue are counted and a ``gap`` record says how many. A file SQLite cannot
    open at all is moved aside and its unsynced records salvaged (:attr:`salvage`).
    ``read_only=True`` opens the file without ever writing to it (for inspection commands).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        pending_max: int = DEFAULT_PENDING_MAX,
        read_only: bool = False,
        check: bool = False,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.RLock()
        self._listeners: list[Callable[[], None]] = []
        self._alarm_listeners: list[Callable[[Record], None]] = []
        self._pending: deque[_Pending] = deque()
        self.pending_max = pending_max
        self.lost = 0  # records pushed out of the pending queue since the last gap record
        self._lost_seqs: tuple[int, int] | None = None
        self.lost_total = 0
        self.fault = ""  # the last storage fault, "" once writes succeed again
        self.salvage: Salvage | None = None
        # True while the file could not be opened (disk full or read-only before it existed,
        # not a regular file): an empty in-memory database answers the reads, every record
        # waits in memory and :meth:`flush` tries the file again.
        self._stand_in = False
        self._epoch = ""  # chosen while the stand-in ran, written when the file is made
        self._file_top = 0  # the highest seq of a file that could not be opened
        if read_only:
            self._db = open_read_only(self.path)
            self._last_seq = 0
            return
        if str(path) == ":memory:":
            self._db = self._connect()
            self._last_seq = self._sequence()
            return
        try:
            self._open_file(check)
        except (sqlite3.DatabaseError, OSError) as exc:
            if not is_store_fault(exc):
                raise
            self._use_stand_in(exc)
        self._last_seq = self._sequence()

    @property
    def opened(self) -> bool:
        """Whether the database file is open (False while it could not be, see ``fault``)."""
        return not self._stand_in

    def _open_file(self, check: bool) -> None:
        """Open (create, migrate, salvage if corrupt) the database file as ``self._db``."""
        refuse_special_file(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._connect()
        except sqlite3.DatabaseError as exc:
            if not _corrupt(exc):
                raise
            self._db = self._salvage(exc)
        if check and self.salvage is None:
            # A file that opens but fails quick_check is salvaged the same way: the records
            # SQLite can still read move to a fresh file instead of failing one by one.
            problem = self._quick_check()
            if problem:
                self._db.close()
                self._db = self._salvage(sqlite3.DatabaseError(f"integrity check: {problem}"))

    def _use_stand_in(self, exc: BaseException) -> None:
        why = f"cannot open {self.path}: {exc}"
        log.error("store: %s; the gate runs on, records wait in memory", why)
        stand_in = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        for sql in MIGRATIONS:
            for stmt in filter(str.strip, sql.split(";")):
                stand_in.execute(stmt)
        self._db = stand_in
        self._stand_in = True
        self.fault = why
        # Records made meanwhile are numbered after the file's own, read without writing, so
        # they keep their seq (and a live alarm's) when the file opens later.
        self._file_top = _top_seq(self.path)

    def _reopen(self) -> bool:
        """Try the file again (the caller holds the lock); True once it is open."""
        stand_in = self._db
        try:
            self._open_file(check=True)
        except (sqlite3.DatabaseError, OSError) as exc:
            if not is_store_fault(exc):
                raise
            self._db = stand_in
            self._stand_in = True
            why = f"cannot open {self.path}: {exc}"
            if why != self.fault:
                log.error("store: %s", why)
            self.fault = why
            return False
        stand_in.close()
        self._stand_in = False
        top = self._sequence()
        self._last_seq = max(self._last_seq, top)
        if top:
            # Records made meanwhile were numbered from 0: a file that held records before
            # renumbers them after its own (each keeps its id; the log names both seqs).
            log.warning("store: %s opened with records up to seq %d", self.path, top)
        log.warning("store: %s opened; %d waiting records follow", self.path, len(self._pending))
        return True

    def _quick_check(self) -> str:
        """ "" when ``PRAGMA quick_check`` passes, else its first complaint."""
        try:
            row = self._db.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as exc:
            return str(exc)
        return "" if row[0] == "ok" else str(row[0])

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._db = db
            self._stand_in = False
            self._migrate()
        except BaseException:
            db.close()
            raise
        return db

    def _salvage(self, exc: sqlite3.DatabaseError) -> sqlite3.Connection:
        """Move an unreadable file aside (kept, timestamped), start a fresh one, and copy over
        the unsynced records SQLite can still read from the old one."""
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        moved = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        self.path.rename(moved)
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                side.rename(moved.with_name(moved.name + suffix))
        log.error("store %s could not be opened (%s): moved aside to %s", self.path, exc, moved)
        db = self._connect()
        rows, unreadable = _read_unsynced(moved)
        with self.transaction() as new:
            for rid, kind, ts, body, priority in rows:
                cur = new.execute(
                    "INSERT OR IGNORE INTO records (id, kind, ts, body) VALUES (?, ?, ?, ?)",
                    (rid, kind, ts, body),
                )
                if cur.rowcount:
                    new.execute(
                        "INSERT INTO outbox (seq, priority) VALUES (?, ?)",
                        (cur.lastrowid, priority),
                    )
        self.salvage = Salvage(moved, str(exc), len(rows), unreadable)
        log.error(
            "store: %d unsynced records salvaged from %s%s",
            len(rows),
            moved,
            f"; the rest could not be read ({unreadable})" if unreadable else "",
        )
        return db

    def _keep_epoch(self) -> bool:
        """Write the epoch chosen while the file could not be made (the caller holds the
        lock); False while the disk still refuses."""
        try:
            with self.transaction() as db:
                db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?)", (self._epoch,)
                )
        except (sqlite3.DatabaseError, OSError) as exc:
            if not is_store_fault(exc):
                raise
            self._note_fault(exc)
            return False
        held = self.get_meta("epoch")
        if held != self._epoch:  # someone made the file meanwhile: its own id stands
            log.error(
                "store: %s holds epoch %s; batches so far said %s", self.path, held, self._epoch
            )
        self._epoch = ""
        return True

    def _sequence(self) -> int:
        """The highest seq ever handed out (AUTOINCREMENT never reuses one)."""
        if self._stand_in:
            return self._file_top
        with self._lock:
            row = self._db.execute(
                "SELECT seq FROM sqlite_sequence WHERE name='records'"
            ).fetchone()
            top = self._db.execute("SELECT MAX(seq) FROM records").fetchone()
        return max(int(row[0]) if row else 0, int(top[0] or 0))

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
    def _atomic(self, volatile: bool = False) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on error; the caller holds the lock.

        A failed COMMIT (disk full) is rolled back too. SQLite may already have rolled back
        by itself (SQLITE_FULL, SQLITE_IOERR): then there is nothing to roll back, and the
        original error is the one raised. On the stand-in only ``volatile`` state (send
        times, acks: rebuilt anyway) may be written; nothing durable may believe it was."""
        if self._stand_in and not volatile:
            raise sqlite3.OperationalError(self.fault or f"{self.path} is not open")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error as exc:
                    log.error("store: rollback failed: %s", exc)
            raise

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic transaction, durable when it returns (synchronous=FULL)."""
        with self._lock, self._atomic() as db:
            if self._pending:
                # Seqs up to _last_seq belong to records waiting in memory (logged, perhaps
                # published live): a record written now goes after them, never in their place.
                _reserve_seqs(db, self._last_seq)
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
                with self._atomic(volatile=True) as db:
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
        """Make one record durable (committed with synchronous=FULL) and queue it for sync.

        When the disk refuses the write the record waits in memory (see :meth:`record`)."""
        return self.record(kind, ts, body, priority)

    def record(
        self,
        kind: RecordKind,
        ts: float,
        body: RecordBody,
        priority: int | None = None,
        used_step: tuple[str, int] | None = None,
    ) -> Record:
        """Append a record (and mark a pass's time step used) in one transaction; never raises
        a storage fault. While the disk refuses writes, or earlier records still wait, the
        record joins the in-memory queue with the next seq and :attr:`durable` is False."""
        with self._lock:
            if not self._pending and not self.read_only:
                try:
                    with self.transaction() as db:
                        rec = self.insert_record(db, kind, ts, body, priority)
                        if used_step is not None:
                            self.mark_step_used(db, used_step[0], used_step[1], ts)
                    self._last_seq = max(self._last_seq, rec.seq)
                    self.fault = ""
                    self._alarm(rec)
                    return rec
                except (sqlite3.DatabaseError, OSError) as exc:
                    if not is_store_fault(exc):
                        raise
                    self._note_fault(exc)
            self._last_seq += 1
            rid = str(uuid.uuid4())
            kind = RecordKind(kind)
            data = _body_json(kind, body)
            priority = PRIORITY[kind] if priority is None else priority
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
            self._pending.append(_Pending(self._last_seq, rid, kind, ts, text, priority, used_step))
            while len(self._pending) > self.pending_max:
                gone = self._pending.popleft()
                self.lost += 1
                self.lost_total += 1
                first = gone.seq if self._lost_seqs is None else self._lost_seqs[0]
                self._lost_seqs = (first, gone.seq)
            rec = Record(self._last_seq, rid, kind, ts, data)
            self._alarm(rec)
            return rec

    def _alarm(self, rec: Record) -> None:
        """Hand an alarm record (perimeter alert, door alarm) to the live listeners, durable
        or not: a store that cannot write never hides a live alarm."""
        if not self._alarm_listeners or not on_alerts_topic(rec.kind, rec.body):
            return
        for listener in self._alarm_listeners:
            try:
                listener(rec)
            except Exception:  # the record is kept whatever a listener does
                log.exception("store: live alarm listener failed")

    def add_alarm_listener(self, listener: Callable[[Record], None]) -> None:
        """Call ``listener(record)`` for every alarm record as it is made (under the store's
        lock: it must only queue the record, e.g. for the sync thread to publish)."""
        self._alarm_listeners.append(listener)

    def remove_alarm_listener(self, listener: Callable[[Record], None]) -> None:
        if listener in self._alarm_listeners:
            self._alarm_listeners.remove(listener)

    def _note_fault(self, exc: BaseException) -> None:
        text = str(exc) or type(exc).__name__
        if text != self.fault:
            log.error("store: write failed (%s); records wait in memory until it works", text)
        self.fault = text

    @property
    def durable(self) -> bool:
        """Whether every record handed to the store so far is on disk."""
        return not self._pending and not self.fault

    def pending_count(self) -> int:
        return len(self._pending)

    def flush(self, now: float | None = None) -> int:
        """Write the records waiting in memory, in order; returns how many were written.

        Stops at the first storage fault (the rest keep waiting). Once the queue is empty, a
        ``gap`` record says how many records the full queue could not keep."""
        written = 0
        with self._lock:
            if self._stand_in and not self._reopen():
                return 0
            if self._epoch and not self._keep_epoch():
                return 0
            while self._pending:
                p = self._pending[0]
                try:
                    with self.transaction() as db:
                        seq = self._insert_pending(db, p)
                        db.execute(
                            "INSERT INTO outbox (seq, priority) VALUES (?, ?)", (seq, p.priority)
                        )
                        if p.used_step is not None:
                            self.mark_step_used(db, p.used_step[0], p.used_step[1], p.ts)
                except (sqlite3.DatabaseError, OSError) as exc:
                    if not is_store_fault(exc):
                        raise
                    self._note_fault(exc)
                    return written
                self._pending.popleft()
                written += 1
            if self.lost and self._lost_seqs is not None:
                body = GapBody(
                    what="records",
                    count=self.lost,
                    first_seq=self._lost_seqs[0],
                    last_seq=self._lost_seqs[1],
                    reason="store_unavailable",
                )
                try:
                    with self.transaction() as db:
                        rec = self.insert_record(
                            db, RecordKind.GAP, time.time() if now is None else now, body, 10
                        )
                except (sqlite3.DatabaseError, OSError) as exc:
                    if not is_store_fault(exc):
                        raise
                    self._note_fault(exc)
                    return written
                self._last_seq = max(self._last_seq, rec.seq)
                log.error(
                    "store: %d records could not be kept while the disk refused writes "
                    "(seq %d-%d); gap record seq=%d",
                    self.lost,
                    self._lost_seqs[0],
                    self._lost_seqs[1],
                    rec.seq,
                )
                self.lost = 0
                self._lost_seqs = None
            if self.fault:
                log.warning("store: writes work again; %d waiting records written", written)
            self.fault = ""
        return written

    @staticmethod
    def _insert_pending(db: sqlite3.Connection, p: _Pending) -> int:
        """Insert a waiting record under the seq it was given (as logged); if a direct
        transaction took that seq meanwhile, under the next free one."""
        try:
            db.execute(
                "INSERT INTO records (seq, id, kind, ts, body) VALUES (?, ?, ?, ?, ?)",
                (p.seq, p.id, p.kind, p.ts, p.text),
            )
            return p.seq
        except sqlite3.IntegrityError:
            cur = db.execute(
                "INSERT INTO records (id, kind, ts, body) VALUES (?, ?, ?, ?)",
                (p.id, p.kind, p.ts, p.text),
            )
            log.warning("store: waiting record seq=%d written as seq=%s", p.seq, cur.lastrowid)
            return int(cur.lastrowid or 0)

    def step_used(self, pass_id: str, step: int) -> bool:
        with self._lock:
            if any(p.used_step == (pass_id, step) for p in self._pending):
                return True
            try:
                row = self._db.execute(
                    "SELECT 1 FROM used_steps WHERE pass_id=? AND step=?", (pass_id, step)
                ).fetchone()
            except sqlite3.DatabaseError as exc:
                if not is_store_fault(exc):
                    raise
                self._note_fault(exc)
                return False  # the signature and time-step checks still apply
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
        return [Record(r[0], r[1], stored_kind(r[2]), r[3], json.loads(r[4])) for r in rows]

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

    def dead_letter(self, seq: int, reason: str, size: int, now: float) -> Record:
        """Take record ``seq`` out of the outbox for good (e.g. larger than the broker
        accepts): it stays in ``records``, a ``dead_letter`` row says why, and an ``alert``
        record tells the central platform. The outbox moves on to the records behind it."""
        with self.transaction() as db:
            db.execute("DELETE FROM outbox WHERE seq=?", (seq,))
            db.execute(
                "INSERT OR REPLACE INTO dead_letter (seq, reason, size, ts) VALUES (?, ?, ?, ?)",
                (seq, reason, size, now),
            )
            body = AlertBody(alert="dead_letter", of_seq=seq, reason=reason, size=size)
            return self.insert_record(db, RecordKind.ALERT, now, body, 10)

    def dead_letters(self) -> list[tuple[int, str, int]]:
        with self._lock:
            rows = self._db.execute("SELECT seq, reason, size FROM dead_letter ORDER BY seq")
            return [(int(r[0]), str(r[1]), int(r[2])) for r in rows.fetchall()]

    def close(self) -> None:
        with self._lock:
            if self._pending:
                try:
                    self.flush()
                except sqlite3.Error:
                    log.exception("store: flush at close failed")
            if self._pending:
                log.error("store: %d records could not be written before stop", len(self._pending))
            self._db.close()

    # --- sync state: outbox send / ack / resend -------------------------------------------

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every committed transaction (e.g. to wake the sender)."""
        self._listeners.append(listener)

    def epoch(self) -> str:
        """Random id of this database, made once: central tells a reinstalled gate apart.

        While a file that does not exist yet cannot be made (disk full), the id is chosen
        now and written into the file when it is made, so sync (and live alarms) can run."""
        with self._lock:
            if not self._epoch and self._stand_in and _holds_data(self.path):
                # a file with records that cannot be opened for writing (read-only card):
                # its own id, read without writing, so central sees the same install
                self._epoch = _file_epoch(self.path)
            if self._epoch or (self._stand_in and not _holds_data(self.path)):
                self._epoch = self._epoch or uuid.uuid4().hex
                return self._epoch
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
        return [Record(r[0], r[1], stored_kind(r[2]), r[3], json.loads(r[4])) for r in rows]

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
