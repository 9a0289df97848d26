"""Housekeeping that keeps an SD card alive, in the real service: retention by age with sync
off, and by size (``[retention] max_db_mb``), unsynced records dropped oldest-first and counted.

Before issue 16, with sync disabled (the default) retention never deleted anything: 3,000
records 200 days old with keep_days=1 were all kept, and there was no cap by size.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path

from faultkit import (
    GateRun,
    NotifyListener,
    Pass,
    base_config,
    code_folder,
    every,
    pulse_kept,
    pulses,
    read_records,
    wait_until,
)

from edge.core.records import AlertBody, RecordKind
from edge.store.retention import db_bytes
from edge.store.sqlite import Store

DAY = 86_400.0


def prefill(path: Path, old: int, recent: int) -> None:
    """``old`` records 200 days old and ``recent`` ones from the last hour (~1 kB each), none
    of them ever acknowledged (sync is off)."""
    store = Store(path)
    now = time.time()
    pad = "x" * 1000
    with store.transaction() as db:
        for i in range(old):
            body = AlertBody(alert="test", reason=f"old {i} {pad}")
            Store.insert_record(db, RecordKind.ALERT, now - 200 * DAY + i, body)
        for i in range(recent):
            body = AlertBody(alert="test", reason=f"recent {i} {pad}")
            Store.insert_record(db, RecordKind.ALERT, now - 3600 + i * 0.1, body)
    store.close()


def test_retention_by_age_with_sync_off_and_by_size(
    tmp_path: Path,
    signed_pass: Pass,
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    db = tmp_path / "gate.sqlite3"
    prefill(db, old=3000, recent=3000)
    camera = code_folder(tmp_path / "cam", every(signed_pass.text, 20, 40))
    retention = {"keep_days": 1.0, "interval_s": 10.0, "max_db_mb": 1.0}
    gate = gate_run(base_config(tmp_path, signed_pass, camera, db, retention=retention))
    notify.wait_for("READY", "1")

    def swept() -> bool:
        return any(k == "gap" and b.get("reason") == "size_cap" for _, k, b in read_records(db))

    wait_until("a retention run", swept, timeout=40, gate=gate)
    assert gate.alive()
    assert gate.stop() == 0
    records = read_records(db)
    old = [b for _, k, b in records if str(b.get("reason", "")).startswith("old ")]
    assert old == [], f"{len(old)} records past keep_days kept with sync off"
    recent = [s for s, _, b in records if str(b.get("reason", "")).startswith("recent ")]
    gap = next(b for _, k, b in records if k == "gap" and b.get("reason") == "size_cap")
    alert = [b for _, k, b in records if k == "alert" and b.get("alert") == "records_dropped"]
    assert alert and str(gap["count"]) in alert[0]["reason"]
    # dropped oldest-first: what is left is the newest, and the gap counts exactly the rest
    newer = [s for s, k, _ in records if k != "gap" and s > gap["last_seq"]]
    assert gap["count"] + len(recent) >= 3000  # the gate's own records may be dropped too
    assert recent and min(recent) > gap["last_seq"] and len(newer) >= len(recent)
    store = Store(db)
    assert db_bytes(store) <= 1 << 20
    store.close()


def test_retention_over_300k_records_never_holds_the_door_or_the_watchdog(
    tmp_path: Path,
    signed_pass: Pass,
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    """Before issue 16 this purge ran on the frame loop: 7.9 s without a watchdog ping."""
    db = tmp_path / "gate.sqlite3"
    store = Store(db)
    now = time.time()
    with store.transaction() as tx:
        tx.executemany(
            "INSERT INTO records (id, kind, ts, body) VALUES (?, 'alert', ?, ?)",
            (
                (f"old-{i}", now - 200 * DAY, '{"alert":"test","reason":"old"}')
                for i in range(300_000)
            ),
        )
    store.close()
    camera = code_folder(tmp_path / "cam", every(signed_pass.text, 20, 40))
    retention = {"keep_days": 1.0, "interval_s": 10.0}
    gate = gate_run(
        base_config(tmp_path, signed_pass, camera, db, retention=retention),
        watchdog_usec=1_000_000,
    )
    notify.wait_for("READY", "1")
    start = time.monotonic()
    wait_until("the purge", lambda: "retention: purged 300000" in gate.log(), timeout=60, gate=gate)
    assert gate.alive()
    pings = notify.watchdog_times(since=start)
    assert gate.stop() == 0
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert gaps and max(gaps) < 1.0, max(gaps)
    lengths = pulses(gate.log())
    assert len(lengths) >= 3 and all(pulse_kept(x) for x in lengths), lengths
    assert not [r for r in read_records(db) if r[2].get("reason") == "old"]
