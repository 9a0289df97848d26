"""Retention: keep the gate's disk from filling up without ever losing an unsynced record.

"Nobody is missed": a record may leave the gate's store only once the central platform has
acknowledged it **and** it is older than ``[retention] keep_days``. Acknowledged means the
record has no row in ``outbox`` any more — the sync service deletes the outbox row when the
central platform acknowledges the record (:mod:`edge.store.sqlite`). A record still in the outbox
is kept forever, however old, so a long network outage loses nothing.

With sync disabled nothing is ever acknowledged: then ``keep_days`` applies to every record
(``unsynced_too``), or an SD card would fill with records nobody will fetch. Independently,
``[retention] max_db_mb`` caps the records by size (:func:`cap_records`): acknowledged records
go first, then unsynced ones oldest-first, and a ``gap`` record plus an ``alert`` say how many.

Snapshots (alert images) are capped by total size and by the disk's free space, oldest first:
JPEGs held in the store (their cap by size is the sync service's ``[sync] snapshot_cap_mb``;
here they are also dropped when the disk runs low) and image files in ``snapshot_dir``.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from edge.core.records import AlertBody, GapBody, RecordKind
from edge.store.sqlite import Store

log = logging.getLogger(__name__)

DAY_S = 86_400.0
BATCH = 2000  # rows per transaction: short write locks, so the gate's scans never wait long
# A dynamic code's time step is 30 s, accepted within a few steps: a used step older than this
# can never be replayed successfully, so its replay-guard row is dead weight.
USED_STEP_KEEP_S = 2 * DAY_S
SNAPSHOT_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


@dataclass(frozen=True)
class PurgeResult:
    records: int  # acknowledged records deleted
    used_steps: int  # expired replay-guard rows deleted
    kept_unacked: int  # records older than the cutoff still waiting for the central ack


def purge_acknowledged(
    store: Store, now: float, keep_days: float, batch: int = BATCH, *, unsynced_too: bool = False
) -> PurgeResult:
    """Delete acknowledged records older than ``keep_days`` (``now`` in Unix seconds); with
    ``unsynced_too`` (sync disabled: nothing will ever acknowledge them) every old record."""
    cutoff = now - keep_days * DAY_S
    deleted = 0
    while True:
        with store.transaction() as db:
            if unsynced_too:
                n = _delete_oldest(db, "ts < ?", (cutoff,), batch)
            else:
                n = db.execute(
                    "DELETE FROM records WHERE seq IN ("
                    " SELECT r.seq FROM records r WHERE r.ts < ?"
                    " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.seq = r.seq)"
                    " LIMIT ?)",
                    (cutoff, batch),
                ).rowcount
        deleted += n
        if n < batch:
            break
    with store.transaction() as db:
        steps = db.execute(
            "DELETE FROM used_steps WHERE ts < ?", (now - USED_STEP_KEEP_S,)
        ).rowcount
        kept = int(
            db.execute(
                "SELECT COUNT(*) FROM records r JOIN outbox o ON o.seq = r.seq WHERE r.ts < ?",
                (cutoff,),
            ).fetchone()[0]
        )
    if deleted or steps:
        log.info("retention: purged %d acknowledged records, %d used steps", deleted, steps)
    if kept:
        log.warning(
            "retention: %d records older than %.0f days are not acknowledged by the central "
            "platform yet; they are kept until they are",
            kept,
            keep_days,
        )
    return PurgeResult(deleted, steps, kept)


def _delete_oldest(db: sqlite3.Connection, where: str, args: tuple[float, ...], limit: int) -> int:
    """Delete up to ``limit`` of the oldest records matching ``where`` with everything that
    points at them (outbox, snapshots, dead letters); returns how many records went."""
    seqs = [
        int(r[0])
        for r in db.execute(
            f"SELECT seq FROM records WHERE {where} ORDER BY seq LIMIT ?", (*args, limit)
        )
    ]
    if not seqs:
        return 0
    marks = ",".join("?" * len(seqs))
    for table in ("outbox", "snapshots", "dead_letter"):
        db.execute(f"DELETE FROM {table} WHERE seq IN ({marks})", seqs)
    return int(db.execute(f"DELETE FROM records WHERE seq IN ({marks})", seqs).rowcount)


@dataclass(frozen=True)
class CapResult:
    acknowledged: int  # acknowledged records deleted to get under the cap
    unsynced: int  # records deleted before the central platform had them (counted, alerted)


def db_bytes(store: Store) -> int:
    """Bytes the database's pages hold (free pages excluded)."""
    with store.transaction() as db:
        pages = int(db.execute("PRAGMA page_count").fetchone()[0])
        free = int(db.execute("PRAGMA freelist_count").fetchone()[0])
        size = int(db.execute("PRAGMA page_size").fetchone()[0])
    return (pages - free) * size


def cap_records(store: Store, max_bytes: int, now: float, batch: int = 500) -> CapResult:
    """Delete the oldest records until the database holds at most ``max_bytes``: acknowledged
    ones first, then unsynced ones (oldest first), which a ``gap`` record and an ``alert``
    record count — so the central platform knows exactly what it will never get."""
    acked = unsynced = 0
    first = last = 0
    while db_bytes(store) > max_bytes:
        with store.transaction() as db:
            n = _delete_oldest(
                db, "NOT EXISTS (SELECT 1 FROM outbox o WHERE o.seq = records.seq)", (), batch
            )
            if n:
                acked += n
                continue
            rows = db.execute(
                "SELECT seq FROM records WHERE kind != 'gap' ORDER BY seq LIMIT ?", (batch,)
            ).fetchall()
            if not rows:
                break
            first = first or int(rows[0][0])
            last = int(rows[-1][0])
            unsynced += _delete_oldest(db, "seq <= ? AND kind != 'gap'", (last,), batch)
    if unsynced:
        gap = GapBody(
            what="records", reason="size_cap", count=unsynced, first_seq=first, last_seq=last
        )
        store.append(RecordKind.GAP, now, gap, 10)
        why = f"size_cap: {unsynced} unsynced records dropped (seq {first}-{last})"
        store.append(RecordKind.ALERT, now, AlertBody(alert="records_dropped", reason=why), 10)
        log.error(
            "retention: the database is over its size cap: %d unsynced records dropped "
            "oldest-first (seq %d-%d)",
            unsynced,
            first,
            last,
        )
    if acked:
        log.info("retention: %d acknowledged records deleted to stay under the size cap", acked)
    return CapResult(acked, unsynced)


def relieve_disk_pressure(store: Store, min_free_bytes: int) -> int:
    """Drop the oldest snapshot blobs kept in the store while the disk holding it has less than
    ``min_free_bytes`` free. Their records stay and a ``gap`` record says why (the store's
    policy). Returns the number of bytes of snapshots released."""
    free = shutil.disk_usage(store.path.resolve().parent).free
    if free >= min_free_bytes:
        return 0
    held = store.snapshot_bytes()
    target = max(0, held - (min_free_bytes - free))
    gaps = store.enforce_snapshot_cap(target)
    released = held - store.snapshot_bytes()
    if gaps:
        log.warning(
            "retention: disk nearly full (%d MB free): dropped %d snapshot images (%d kB)",
            free >> 20,
            len(gaps),
            released >> 10,
        )
    return released


def cap_snapshots(folder: Path, max_bytes: int, min_free_bytes: int) -> int:
    """Delete the oldest snapshot images until the folder is under ``max_bytes`` and the disk
    has at least ``min_free_bytes`` free. Returns the number of files deleted."""
    if not folder.is_dir():
        return 0
    files: list[tuple[float, int, Path]] = []
    for path in folder.rglob("*"):
        if path.suffix.lower() in SNAPSHOT_SUFFIXES and path.is_file():
            st = path.stat()
            files.append((st.st_mtime, st.st_size, path))
    files.sort()
    total = sum(size for _, size, _ in files)
    deleted = 0
    for _, size, path in files:
        if total <= max_bytes and shutil.disk_usage(folder).free >= min_free_bytes:
            break
        try:
            os.unlink(path)
        except OSError as exc:
            log.warning("retention: cannot delete snapshot %s: %s", path, exc)
            continue
        total -= size
        deleted += 1
    if deleted:
        log.info("retention: deleted %d oldest snapshots in %s", deleted, folder)
    return deleted


__all__ = [
    "CapResult",
    "PurgeResult",
    "cap_records",
    "cap_snapshots",
    "db_bytes",
    "purge_acknowledged",
    "relieve_disk_pressure",
]
