"""Retention: keep the gate's disk from filling up without ever losing an unsynced record.

"Nobody is missed": a record may leave the gate's store only once the central platform has
acknowledged it **and** it is older than ``[retention] keep_days``. Acknowledged means the
record has no row in ``outbox`` any more — the sync service deletes the outbox row when the
central platform acknowledges the record (:mod:`edge.store.sqlite`). A record still in the outbox
is kept forever, however old, so a long network outage loses nothing.

Snapshots (alert images) are capped by total size and by the disk's free space, oldest first:
JPEGs held in the store (their cap by size is the sync service's ``[sync] snapshot_cap_mb``;
here they are also dropped when the disk runs low) and image files in ``snapshot_dir``.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

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
    store: Store, now: float, keep_days: float, batch: int = BATCH
) -> PurgeResult:
    """Delete acknowledged records older than ``keep_days`` (``now`` in Unix seconds)."""
    cutoff = now - keep_days * DAY_S
    deleted = 0
    while True:
        with store.transaction() as db:
            cur = db.execute(
                "DELETE FROM records WHERE seq IN ("
                " SELECT r.seq FROM records r WHERE r.ts < ?"
                " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.seq = r.seq)"
                " LIMIT ?)",
                (cutoff, batch),
            )
            n = cur.rowcount
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


__all__ = ["PurgeResult", "cap_snapshots", "purge_acknowledged", "relieve_disk_pressure"]
