"""The receiver's database: SQLite (default) or PostgreSQL, through plain DB-API calls.

Records are stored once per (gate, seq). ``contig`` per gate is the highest seq below which
nothing is missing: the ack central sends back. The SQL is written with ``?`` placeholders and
rewritten to ``%s`` for psycopg.

On PostgreSQL ``records`` is partitioned by day (declarative RANGE partitioning on ``day``, the
UTC date of the record's own ``ts``), so retention is dropping a partition. PostgreSQL wants the
partition key in every unique constraint, so the key is (gate, seq, day); (gate, seq) stays
unique because ``day`` is derived from the record itself (a resent record carries the same
``ts``, lands on the same day and conflicts), because nothing at or below a gate's ``contig`` is
inserted again, and because the seqs of a batch are looked up across partitions, under the
gate's lock, before they are inserted (docs/scale.md explains the choice).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from edge.sync.payloads import RecordItem

SCHEMA_LOCK = 0x6564676547617465  # advisory lock key of schema set-up ("edgeGate")
MAX_WALK = 20000  # seqs read past ``contig`` per advance; bounds the work during a long gap

_COLUMNS = (
    "gate TEXT NOT NULL, seq BIGINT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, "
    "ts DOUBLE PRECISION NOT NULL, body TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL"
)
# SQLite has no partitioning: one table keyed (gate, seq), as before.
_RECORDS_SQLITE = f"CREATE TABLE IF NOT EXISTS records ({_COLUMNS}, PRIMARY KEY (gate, seq))"
_RECORDS_PG = (
    f"CREATE TABLE IF NOT EXISTS records ({_COLUMNS}, day DATE NOT NULL, "
    "PRIMARY KEY (gate, seq, day)) PARTITION BY RANGE (day)"
)
# A wrong clock must not create partitions without bound: days are clamped to this range.
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2099, 12, 31)
# One statement per flush: the rows as binary arrays (formatted in C by psycopg), nothing at or
# below the gate's contig, and a seq at or below the highest one stored for the gate (``top``)
# looked up in every partition's index first — whatever its day. ``top`` moves in the same
# statement, so the next flush of any receiver sees it (they hold the gate's lock).
_INSERT_PG = (
    "WITH k AS (SELECT * FROM unnest(%b::text[], %b::bigint[], %b::text[], %b::text[], "
    "%b::float8[], %b::text[], %b::float8[], %b::date[]) "
    "AS k(gate, seq, id, kind, ts, body, received_at, day)), "
    "ins AS (INSERT INTO records (gate, seq, id, kind, ts, body, received_at, day) "
    "SELECT k.gate, k.seq, k.id, k.kind, k.ts, k.body, k.received_at, k.day FROM k "
    "LEFT JOIN gates g ON g.gate = k.gate WHERE k.seq > COALESCE(g.contig, 0) "
    "AND (k.seq > COALESCE(g.top, 0) "
    "OR NOT EXISTS (SELECT 1 FROM records r WHERE r.gate = k.gate AND r.seq = k.seq)) "
    "ON CONFLICT DO NOTHING RETURNING gate, seq, kind), "
    "up AS (UPDATE gates SET top = GREATEST(gates.top, m.top) "
    "FROM (SELECT gate, max(seq) AS top FROM ins GROUP BY gate) m WHERE gates.gate = m.gate) "
    "SELECT kind FROM ins"
)
# gates.top (PostgreSQL): highest seq stored per gate; added to a database of an earlier
# version, it starts at what that version stored
_GATES_TOP = [
    "ALTER TABLE gates ADD COLUMN top BIGINT NOT NULL DEFAULT 0",
    "UPDATE gates SET top = m.top FROM (SELECT gate, max(seq) AS top FROM records "
    "GROUP BY gate) m WHERE gates.gate = m.gate",
]


# record_day in SQL (the migration of an unpartitioned table)
_DAY_SQL = (
    "CASE WHEN ts = 'NaN'::float8 OR ts < 946684800 THEN DATE '2000-01-01' "
    "WHEN ts >= 4102444800 THEN DATE '2099-12-31' "
    "ELSE (to_timestamp(ts) AT TIME ZONE 'UTC')::date END"
)


def record_day(ts: float) -> dt.date:
    """The partition day of a record: the UTC date of its ``ts``, clamped to a sane range.
    Depends on the record alone, so a resend always lands on the same day."""
    if math.isnan(ts) or ts < 946684800.0:  # 2000-01-01
        return FIRST_DAY
    if ts >= 4102444800.0:  # 2100-01-01
        return LAST_DAY
    return dt.datetime.fromtimestamp(ts, dt.UTC).date()


def partition_name(day: dt.date) -> str:
    return f"records_p{day:%Y%m%d}"


_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS gates (gate TEXT PRIMARY KEY, contig BIGINT NOT NULL DEFAULT 0, "
    "status TEXT, status_ts DOUBLE PRECISION, last_heartbeat DOUBLE PRECISION, heartbeat TEXT, "
    "resend_requests BIGINT NOT NULL DEFAULT 0, rejected BIGINT NOT NULL DEFAULT 0, epoch TEXT)",
    "CREATE TABLE IF NOT EXISTS retired_epochs (gate TEXT NOT NULL, epoch TEXT NOT NULL, "
    "archived_as TEXT NOT NULL, retired_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (gate, epoch))",
    "CREATE TABLE IF NOT EXISTS snapshots (gate TEXT NOT NULL, id TEXT NOT NULL, "
    "data {blob} NOT NULL, received_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (gate, id))",
]


class CentralDB:
    """One connection; call :meth:`commit` after a batch of writes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith(("postgresql://", "postgres://"))
        if self.postgres:
            import psycopg

            self.conn: Any = psycopg.connect(url)
            blob = "BYTEA"
        else:
            path = url.removeprefix("sqlite://") if url.startswith("sqlite://") else url
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(path, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")  # we ack only what is on disk
            self.conn.execute("PRAGMA busy_timeout=10000")
            blob = "BLOB"
        self._days: set[dt.date] = set()  # partitions known to exist
        if self.postgres:
            # Receivers started together on a fresh database would race on CREATE TABLE IF NOT
            # EXISTS (UniqueViolation on pg_type): one of them at a time sets the schema up.
            self._x("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
            self._migrate_unpartitioned()
            self._x(_RECORDS_PG)
        else:
            self._x(_RECORDS_SQLITE)
        for stmt in _SCHEMA:
            self._x(stmt.replace("{blob}", blob))
        if (
            self.postgres
            and not self._x(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = 'gates' AND column_name = 'top'"
            ).fetchone()
        ):
            for stmt in _GATES_TOP:
                self._x(stmt)
        self.commit()  # also ends the advisory lock's transaction
        if self.postgres:
            today = dt.datetime.now(dt.UTC).date()
            self.ensure_days([today, today + dt.timedelta(days=1)])

    def _relkind(self, name: str) -> str | None:
        row = self._x(
            "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = ? AND n.nspname = current_schema()",
            (name,),
        ).fetchone()
        return None if row is None else str(row[0])

    def _migrate_unpartitioned(self) -> None:
        """An existing database of an earlier version holds ``records`` as one plain table:
        move its rows into the partitioned table, in this (schema-locked) transaction, so a
        failure leaves the old table as it was. Receivers of the earlier version must be
        stopped first: their inserts (without ``day``) fail and are not acked, so their gates
        resend to the new receivers — nothing is lost either way."""
        if self._relkind("records") != "r":
            return
        self._x("ALTER TABLE records RENAME TO records_unpartitioned")
        self._x("ALTER TABLE records_unpartitioned RENAME CONSTRAINT records_pkey TO "
                "records_unpartitioned_pkey")  # fmt: skip
        self._x(_RECORDS_PG)
        days = self._x(f"SELECT DISTINCT {_DAY_SQL} FROM records_unpartitioned").fetchall()
        for (day,) in days:
            self._create_partition(day)
        self._x(
            "INSERT INTO records (gate, seq, id, kind, ts, body, received_at, day) "
            f"SELECT gate, seq, id, kind, ts, body, received_at, {_DAY_SQL} "
            "FROM records_unpartitioned"
        )
        self._x("DROP TABLE records_unpartitioned")

    def _create_partition(self, day: dt.date) -> None:
        if self._relkind(partition_name(day)) is None:
            nxt = day + dt.timedelta(days=1)
            self._x(
                f"CREATE TABLE {partition_name(day)} PARTITION OF records "
                f"FOR VALUES FROM ('{day.isoformat()}') TO ('{nxt.isoformat()}')"
            )

    def ensure_days(self, days: Iterable[dt.date]) -> None:
        """Create the partitions of ``days`` that do not exist yet (PostgreSQL), in a short
        transaction of their own under the schema lock: never inside a batch, where creating
        a partition (an exclusive lock on ``records``) would wait for other receivers' batches
        while holding gate locks they wait for."""
        missing = sorted(set(days) - self._days) if self.postgres else []
        if not missing:
            return
        self.commit()
        self._x("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
        for day in missing:
            self._create_partition(day)
        self.commit()
        self._days.update(missing)

    def _x(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        if self.postgres:
            sql = sql.replace("?", "%s")
        return self.conn.execute(sql, args)

    def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        """executemany; returns the rows it changed."""
        if self.postgres:
            with self.conn.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), rows)
                return int(cur.rowcount)
        return int(self.conn.executemany(sql, rows).rowcount)

    def commit(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()

    def lock_gate(self, gate: str) -> None:
        """Hold ``gate`` for the rest of this transaction (PostgreSQL; SQLite has one writer).

        Receivers of a group take their gates' locks first and in one (sorted) order, so a
        batch resent to two receivers at once makes one wait for the other, never a deadlock.
        """
        if self.postgres:
            self._x("SELECT pg_advisory_xact_lock(hashtext(?))", (gate,))

    def ensure_gate(self, gate: str) -> None:
        self._x("INSERT INTO gates (gate) VALUES (?) ON CONFLICT (gate) DO NOTHING", (gate,))

    def store_records(self, gate: str, items: Sequence[RecordItem], now: float) -> int:
        """Insert one gate's records; returns how many were new (see :meth:`store_many`)."""
        return sum(self.store_many({gate: items}, now).values())

    def store_many(self, by_gate: Mapping[str, Sequence[RecordItem]], now: float) -> dict[str, int]:
        """Insert records of several gates in one statement, ignoring (gate, seq) already
        stored; returns the new rows per record kind. The body is kept as sent, also for a
        kind this version does not know (a newer gate's). On PostgreSQL the caller holds the
        gates' locks (:meth:`lock_gate`), so the look-up of stored seqs cannot race, and has
        made the records' days first (:meth:`ensure_days`): a missing one is made here, which
        commits the transaction so far and with it those locks."""
        rows: list[tuple[Any, ...]] = []
        for gate, items in by_gate.items():
            if not items:
                continue
            # PostgreSQL checks contig and stored seqs inside the insert itself
            fresh = {it.seq for it in items} if self.postgres else self._not_stored(gate, items)
            for it in items:
                if it.seq not in fresh:
                    continue
                fresh.discard(it.seq)  # the same seq twice in one batch: the first one
                body = json.dumps(
                    it.body, ensure_ascii=False, separators=(",", ":"), sort_keys=True
                )
                rows.append((gate, it.seq, it.id, it.kind, it.ts, body, now))
        kinds: dict[str, int] = {}
        if not rows:
            return kinds
        if self.postgres:
            days = [record_day(float(r[4])) for r in rows]
            self.ensure_days(days)  # normally known already (the caller ensures them first)
            cols = [list(c) for c in zip(*rows, strict=True)]
            new = [str(r[0]) for r in self.conn.execute(_INSERT_PG, (*cols, days)).fetchall()]
        else:  # one writer: what _not_stored found missing is what gets inserted
            self._many(
                "INSERT INTO records (gate, seq, id, kind, ts, body, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (gate, seq) DO NOTHING",
                rows,
            )
            new = [str(r[3]) for r in rows]
        for k in new:
            kinds[k] = kinds.get(k, 0) + 1
        return kinds

    def _not_stored(self, gate: str, items: Sequence[RecordItem]) -> set[int]:
        """The seqs of ``items`` this (SQLite) database does not hold yet: nothing at or below
        the gate's ``contig``, nothing stored already."""
        row = self._x("SELECT contig FROM gates WHERE gate=?", (gate,)).fetchone()
        contig = int(row[0]) if row else 0
        want = sorted({it.seq for it in items if it.seq > contig})
        if not want:
            return set()
        have = self._x(
            "SELECT seq FROM records WHERE gate = ? AND seq BETWEEN ? AND ?",
            (gate, want[0], want[-1]),
        ).fetchall()
        return set(want) - {int(r[0]) for r in have}

    def epoch_of(self, gate: str) -> str | None:
        row = self._x("SELECT epoch FROM gates WHERE gate=?", (gate,)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def check_epoch(self, gate: str, epoch: str) -> bool:
        """False for a batch from a retired database of this gate (ignore it). A new epoch
        means the gate was reinstalled and restarts at seq 1: the old records are kept under
        ``{gate}~{old epoch[:8]}`` so the new ones are not mistaken for duplicates."""
        current = self.epoch_of(gate)
        if current == epoch:
            return True
        if current is None:
            self._x("UPDATE gates SET epoch=? WHERE gate=?", (epoch, gate))
            return True
        retired = self._x(
            "SELECT 1 FROM retired_epochs WHERE gate=? AND epoch=?", (gate, epoch)
        ).fetchone()
        if retired is not None:
            return False
        archive = f"{gate}~{current[:8]}"
        self._x(
            "INSERT INTO gates (gate, contig, status, last_heartbeat, heartbeat, epoch) "
            "SELECT ?, contig, 'retired', last_heartbeat, heartbeat, epoch FROM gates "
            "WHERE gate=? ON CONFLICT (gate) DO NOTHING",
            (archive, gate),
        )
        for table in ("records", "snapshots"):
            self._x(f"UPDATE {table} SET gate=? WHERE gate=?", (archive, gate))
        self._x(
            "INSERT INTO retired_epochs (gate, epoch, archived_as, retired_at) VALUES "
            "(?, ?, ?, ?) ON CONFLICT (gate, epoch) DO NOTHING",
            (gate, current, archive, time.time()),
        )
        self._x("UPDATE gates SET epoch=?, contig=0 WHERE gate=?", (epoch, gate))
        if self.postgres:  # the new database's seqs start again at 1
            self._x("UPDATE gates SET top=0 WHERE gate=?", (gate,))
        return True

    def store_blob(self, gate: str, sid: str, data: bytes, now: float) -> None:
        self._x(
            "INSERT INTO snapshots (gate, id, data, received_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (gate, id) DO NOTHING",
            (gate, sid, data, now),
        )

    def has_blob(self, gate: str, sid: str) -> bool:
        row = self._x("SELECT 1 FROM snapshots WHERE gate=? AND id=?", (gate, sid)).fetchone()
        return row is not None

    def advance(self, gate: str) -> tuple[int, list[tuple[int, int]]]:
        """Move ``contig`` over newly stored seqs; returns it and the missing ranges after it."""
        row = self._x("SELECT contig FROM gates WHERE gate=?", (gate,)).fetchone()
        contig = int(row[0]) if row else 0
        seqs = [
            int(r[0])
            for r in self._x(
                "SELECT seq FROM records WHERE gate=? AND seq > ? ORDER BY seq LIMIT ?",
                (gate, contig, MAX_WALK),
            ).fetchall()
        ]
        i = 0
        while i < len(seqs) and seqs[i] == contig + 1:
            contig += 1
            i += 1
        gaps: list[tuple[int, int]] = []
        prev = contig
        for s in seqs[i:]:
            if s > prev + 1 and len(gaps) < 16:
                gaps.append((prev + 1, s - 1))
            prev = s
        top = "GREATEST" if self.postgres else "MAX"
        self._x(f"UPDATE gates SET contig = {top}(contig, ?) WHERE gate=?", (contig, gate))
        return contig, gaps

    def note(self, gate: str, column: str, value: Any = None) -> None:
        """Status/heartbeat bookkeeping: ``column`` one of status, heartbeat, resend, rejected."""
        now = time.time()
        if column == "status":
            self._x("UPDATE gates SET status=?, status_ts=? WHERE gate=?", (value, now, gate))
        elif column == "heartbeat":
            sql = "UPDATE gates SET heartbeat=?, last_heartbeat=? WHERE gate=?"
            self._x(sql, (value, now, gate))
        elif column in ("resend_requests", "rejected"):
            self._x(f"UPDATE gates SET {column} = {column} + 1 WHERE gate=?", (gate,))

    def stats(self) -> list[dict[str, Any]]:
        """Per gate: records, last seq, contig, missing seqs, alerts, last heartbeat, status."""
        out = []
        gates = self._x(
            "SELECT gate, contig, status, last_heartbeat, resend_requests, rejected FROM gates "
            "ORDER BY gate"
        ).fetchall()
        for gate, contig, status, beat, resends, rejected in gates:
            n, last, alerts = self._x(
                "SELECT COUNT(*), MAX(seq), SUM(CASE WHEN kind IN ('alert','alarm') THEN 1 "
                "ELSE 0 END) FROM records WHERE gate=?",
                (gate,),
            ).fetchone()
            last = int(last or 0)
            out.append(
                {
                    "gate": gate,
                    "records": int(n),
                    "last_seq": last,
                    "contiguous_upto": int(contig),
                    "gaps": last - int(n),  # seqs below the last one not (yet) stored
                    "alerts": int(alerts or 0),
                    "last_heartbeat": beat,
                    "status": status,
                    "resend_requests": int(resends),
                    "rejected": int(rejected),
                }
            )
        self.commit()
        return out

    def kind_counts(self) -> dict[str, dict[str, int]]:
        """Stored records per gate and kind: ``{gate: {kind: n}}``."""
        rows = self._x("SELECT gate, kind, COUNT(*) FROM records GROUP BY gate, kind").fetchall()
        self.commit()
        out: dict[str, dict[str, int]] = {}
        for gate, kind, n in rows:
            out.setdefault(gate, {})[kind] = int(n)
        return {g: dict(sorted(k.items())) for g, k in sorted(out.items())}

    def export(
        self,
        gate: str | None = None,
        kind: str | None = None,
        since: float | None = None,
        page: int = 2000,
    ) -> Iterator[dict[str, Any]]:
        """Stored records in (gate, seq) order, as ``{gate, seq, id, kind, ts, received_at,
        body}``; read a page at a time (keyset), so a large table is never held in memory."""
        where: list[str] = []
        args: list[Any] = []
        if gate is not None:
            where.append("gate = ?")
            args.append(gate)
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if since is not None:
            where.append("ts >= ?")
            args.append(since)
        after: tuple[str, int] | None = None
        while True:
            cond = list(where)
            extra: list[Any] = []
            if after is not None:
                cond.append("(gate > ? OR (gate = ? AND seq > ?))")
                extra = [after[0], after[0], after[1]]
            sql = "SELECT gate, seq, id, kind, ts, received_at, body FROM records"
            if cond:
                sql += " WHERE " + " AND ".join(cond)
            sql += f" ORDER BY gate, seq LIMIT {int(page)}"
            rows = self._x(sql, (*args, *extra)).fetchall()
            self.commit()
            for g, seq, rid, k, ts, received, body in rows:
                yield {
                    "gate": g,
                    "seq": int(seq),
                    "id": rid,
                    "kind": k,
                    "ts": ts,
                    "received_at": received,
                    "body": json.loads(body),
                }
            if len(rows) < page:
                return
            after = (rows[-1][0], int(rows[-1][1]))

    def seqs(self, gate: str) -> list[int]:
        """Every stored seq of a gate, in order (for tests and audits)."""
        rows = self._x("SELECT seq FROM records WHERE gate=? ORDER BY seq", (gate,)).fetchall()
        self.commit()
        return [int(r[0]) for r in rows]
