"""Storage faults under the real service: disk full while running, a corrupt database at start.

Before issue 16 a full disk ended ``edge-gate run`` with exit 1 and a traceback at the next
decision (the commit in ``Gate._finish``), and a corrupt file gave a traceback ending in
``file is not a database`` and exit 1 — a restart loop with the door locked.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from faultkit import (
    GateRun,
    NotifyListener,
    Pass,
    SmallDisk,
    base_config,
    code_folder,
    decisions,
    every,
    pulse_kept,
    pulses,
    read_records,
    wait_until,
)

from edge.core.records import AlertBody, RecordKind
from edge.store.sqlite import Store


def test_disk_full_keeps_deciding_and_writes_every_record_in_order_when_space_returns(
    tmp_path: Path,
    signed_pass: Pass,
    small_disk: Callable[[int], SmallDisk],
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    disk = small_disk(2048)
    store = disk.path / "gate.sqlite3"
    camera = code_folder(tmp_path / "cam", every(signed_pass.text, 20, 40))  # a pass every 2 s
    gate = gate_run(base_config(tmp_path, signed_pass, camera, store))
    notify.wait_for("READY", "1")
    wait_until("a first decision", lambda: decisions(gate.log()))

    filler = disk.fill()
    full = notify.wait_for("STATUS", "store not writable", timeout=40)
    assert "records waiting in memory" in full["STATUS"]
    before = len(decisions(gate.log()))
    t_full = time.monotonic()
    wait_until(
        "decisions on a full disk", lambda: len(decisions(gate.log())) >= before + 3, gate=gate
    )
    assert gate.alive(), gate.log()[-3000:]
    assert len(notify.watchdog_times(since=t_full)) >= 3, "watchdog withheld on a full disk"

    filler.unlink()
    notify.wait_for("STATUS", "running", timeout=20)
    wait_until(
        "the store to catch up", lambda: "store not writable" not in notify.status(), gate=gate
    )
    assert gate.stop() == 0
    log = gate.log()
    assert "Traceback" not in log, log[-3000:]
    logged = [seq for verdict, _, seq in decisions(log) if verdict == "ALLOW"]
    records = read_records(store)
    access = [seq for seq, kind, body in records if kind == "access" and body.get("allow")]
    assert len(logged) >= before + 3
    missing = sorted(set(logged) - set(access))
    assert not missing, f"logged ALLOW but never stored: {missing}"
    seqs = [seq for seq, _, _ in records]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    # door timing kept while the disk refused writes (±10 %)
    lengths = pulses(log)
    assert lengths and all(pulse_kept(x) for x in lengths), lengths


def test_full_queue_counts_what_it_could_not_keep(
    tmp_path: Path,
    signed_pass: Pass,
    small_disk: Callable[[int], SmallDisk],
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    disk = small_disk(2048)
    store = disk.path / "gate.sqlite3"
    camera = code_folder(tmp_path / "cam", every(signed_pass.text, 5, 10))  # two per second
    sections = base_config(tmp_path, signed_pass, camera, store, store={"pending_max": 10})
    gate = gate_run(sections)
    notify.wait_for("READY", "1")
    filler = disk.fill()
    notify.wait_for("STATUS", "store not writable", timeout=40)

    def lost() -> int:
        status = notify.status()
        words = status.split(" lost")[0].rsplit(" ", 1)
        return int(words[-1]) if " lost" in status and words[-1].isdigit() else 0

    wait_until("records pushed out of the queue", lambda: lost() >= 3, timeout=40)
    filler.unlink()
    wait_until(
        "a gap record",
        lambda: any(kind == "gap" for _, kind, _ in read_records(store)),
        timeout=20,
    )
    assert gate.stop() == 0
    gaps = [body for _, kind, body in read_records(store) if kind == "gap"]
    assert gaps[0]["what"] == "records" and gaps[0]["reason"] == "store_unavailable"
    assert gaps[0]["count"] >= 3
    assert gaps[0]["last_seq"] - gaps[0]["first_seq"] + 1 == gaps[0]["count"]


def test_corrupt_database_is_moved_aside_and_unsynced_records_salvaged(
    tmp_path: Path,
    signed_pass: Pass,
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    store = tmp_path / "state" / "gate.sqlite3"
    camera = code_folder(tmp_path / "cam", every(signed_pass.text, 20, 40))
    sections: dict[str, Any] = base_config(tmp_path, signed_pass, camera, store)
    first = gate_run(sections)
    notify.wait_for("READY", "1")
    wait_until("two decisions", lambda: len(decisions(first.log())) >= 2)
    assert first.stop() == 0
    kept = read_records(store)
    # Damage the header: SQLite then calls it "file is not a database".
    with store.open("r+b") as f:
        f.write(b"this is no longer a SQLite file")
    for side in ("-wal", "-shm"):
        Path(str(store) + side).unlink(missing_ok=True)

    second = gate_run(sections)
    ready = notify.wait_for("READY", "1")
    assert "moved to" in ready["STATUS"] and "unsynced records salvaged" in ready["STATUS"]
    assert second.alive()
    wait_until("a decision on the new store", lambda: decisions(second.log()))
    assert second.stop() == 0
    log = second.log()
    assert "Traceback" not in log, log[-3000:]
    moved = [p for p in store.parent.iterdir() if ".corrupt-" in p.name]
    assert len(moved) == 1 and moved[0].read_bytes().startswith(b"this is no longer")
    records = read_records(store)
    alerts = [b for _, k, b in records if k == "alert" and b.get("alert") == "store_salvaged"]
    assert alerts and str(moved[0]) in alerts[0]["reason"]
    # The header was destroyed, so nothing could be read back: the alert says so.
    assert "not a database" in alerts[0]["reason"] or len(kept) == 0


def test_corrupt_page_salvages_the_readable_unsynced_records(tmp_path: Path) -> None:
    """A damaged page deep in the file (the header intact, so it still opens): the file fails
    its check at start, is moved aside, and the unsynced records SQLite can still read are
    copied to the new file with their ids (central drops duplicates by id)."""
    from edge.core.records import GapBody, RecordKind
    from edge.store.sqlite import Store

    path = tmp_path / "gate.sqlite3"
    s = Store(path)
    with s.transaction() as db:  # one commit: the test is about reading, not writing
        for i in range(3000):
            body = GapBody(what="records", reason=f"r{i:05d}", count=i)
            Store.insert_record(db, RecordKind.GAP, 1.0 + i, body)
    ids = [r.id for r in s.records(limit=5000)]
    s.close()
    db = sqlite3.connect(path)
    size = int(db.execute("PRAGMA page_size").fetchone()[0])
    pages = int(db.execute("PRAGMA page_count").fetchone()[0])
    db.close()
    with path.open("r+b") as f:  # two pages: some of the table's, some of its index's
        for page in (pages // 3, 2 * pages // 3):
            f.seek(size * page)
            f.write(b"\xff" * size)

    s2 = Store(path, check=True)
    assert s2.salvage is not None and s2.salvage.moved_to.exists()
    got = [r.id for r in s2.records(limit=5000)]
    assert 0 < len(got) <= len(ids), (len(got), s2.salvage)
    if len(got) < len(ids):
        assert s2.salvage.unreadable, "records left behind are named"
    assert s2.salvage.salvaged == len(got)
    assert set(got) <= set(ids)
    assert got == [i for i in ids if i in set(got)], "salvaged records keep their order"
    # the new file is sound and takes new records
    s2.append(RecordKind.GAP, 9.0, GapBody(what="records", reason="after"))
    assert s2.integrity_ok()
    s2.close()


def test_disk_full_before_the_database_exists_starts_and_recovers(
    tmp_path: Path,
    signed_pass: Pass,
    small_disk: Callable[[int], SmallDisk],
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    """Before: the start raised ``database or disk is full`` opening the new file, exit 1."""
    disk = small_disk(1024)
    filler = disk.fill()  # full before the gate ever made its database
    store = disk.path / "gate.sqlite3"
    camera = code_folder(tmp_path / "cam", every(signed_pass.text, 20, 40))
    gate = gate_run(base_config(tmp_path, signed_pass, camera, store))
    notify.wait_for("READY", "1", timeout=40)
    notify.wait_for("STATUS", "store not writable")
    assert "DEGRADED" in notify.status()
    wait_until("decisions on a full disk", lambda: len(decisions(gate.log())) >= 2, gate=gate)
    assert gate.alive()
    assert next(v for v, _, _ in decisions(gate.log())) == "ALLOW"

    filler.unlink()
    wait_until("the store opened", lambda: "store not writable" not in notify.status(), gate=gate)
    assert gate.stop() == 0
    log = gate.log()
    assert "Traceback" not in log, log[-3000:]
    records = read_records(store)
    alerts = [b for _, k, b in records if k == "alert" and b.get("alert") == "store_unavailable"]
    assert alerts and "full" in alerts[0]["reason"], records[:3]
    logged = {seq for verdict, _, seq in decisions(log) if verdict == "ALLOW"}
    stored = {seq for seq, kind, body in records if kind == "access" and body.get("allow")}
    assert logged and logged <= stored, (logged, stored)
    seqs = [seq for seq, _, _ in records]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    lengths = pulses(log)
    assert lengths and all(pulse_kept(x) for x in lengths), lengths


def test_the_console_returns_as_soon_as_the_store_opens(
    tmp_path: Path,
    signed_pass: Pass,
    small_disk: Callable[[int], SmallDisk],
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    """The console keeps its accounts in the store, so it cannot start while the database
    cannot be made. Before: it waited out its back-off (30 s, doubling to 10 min) after the
    disk freed; now the store opening tries the failed parts again at once."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    disk = small_disk(1024)
    filler = disk.fill()
    store = disk.path / "gate.sqlite3"
    camera = code_folder(tmp_path / "cam", every(signed_pass.text, 20, 40))
    console = {"enabled": True, "port": port, "bind_retry_s": 0.0}
    gate = gate_run(base_config(tmp_path, signed_pass, camera, store, console=console))
    notify.wait_for("READY", "1", timeout=40)
    notify.wait_for("STATUS", "console", timeout=20)  # failed to start: reported

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    assert not up()
    filler.unlink()
    wait_until("the store opened", lambda: "store not writable" not in notify.status(), gate=gate)
    t0 = time.monotonic()
    wait_until("the console up", up, timeout=12, gate=gate)
    print(f"console up {time.monotonic() - t0:.1f} s after the store opened")
    assert gate.stop() == 0
    assert "Traceback" not in gate.log()


def test_a_fifo_at_the_database_path_is_refused_and_never_opened(
    tmp_path: Path,
    signed_pass: Pass,
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    """Before: the start blocked opening the FIFO (SQLite reads the header) until killed."""
    store = tmp_path / "gate.sqlite3"
    os.mkfifo(store)
    camera = code_folder(tmp_path / "cam", every(signed_pass.text, 20, 40))
    gate = gate_run(base_config(tmp_path, signed_pass, camera, store))
    notify.wait_for("READY", "1", timeout=40)
    status = notify.wait_for("STATUS", "not a regular file")["STATUS"]
    assert "FIFO" in status and "DEGRADED" in status
    wait_until("a decision", lambda: decisions(gate.log()), gate=gate)
    assert stat.S_ISFIFO(store.stat().st_mode)  # never replaced, never opened
    t0 = time.monotonic()
    assert gate.stop() == 0
    assert time.monotonic() - t0 < 5.0
    assert "Traceback" not in gate.log()


@pytest.mark.parametrize(
    ("policy", "direction", "opens"),
    [("exit_only", "in", False), ("exit_only", "out", True), ("locked", "out", False)],
)
def test_when_not_durable_policy_decides_which_doors_open_on_a_full_disk(
    policy: str,
    direction: str,
    opens: bool,
    tmp_path: Path,
    signed_pass: Pass,
    small_disk: Callable[[int], SmallDisk],
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    """``[store] when_not_durable``: ``exit_only`` refuses entries (not exits) and ``locked``
    every pass while records wait in memory; once they are written passes open again."""
    disk = small_disk(2048)
    store = disk.path / "gate.sqlite3"
    camera = code_folder(tmp_path / "cam", every(signed_pass.text, 10, 20))  # a pass a second
    sections = base_config(
        tmp_path,
        signed_pass,
        camera,
        store,
        store={"when_not_durable": policy},
        gate={"id": "fault-gate", "direction": direction},
    )
    gate = gate_run(sections)
    notify.wait_for("READY", "1")
    wait_until("a first decision", lambda: decisions(gate.log()), gate=gate)
    assert decisions(gate.log())[0][0] == "ALLOW"
    filler = disk.fill()
    notify.wait_for("STATUS", "store not writable", timeout=40)
    full_from = len(decisions(gate.log()))
    wait_until("3 decisions on the full disk", lambda: len(decisions(gate.log())) >= full_from + 3)
    filler.unlink()
    wait_until("the store writable", lambda: "store not writable" not in notify.status(), gate=gate)
    freed_from = len(decisions(gate.log()))
    wait_until("2 decisions after", lambda: len(decisions(gate.log())) >= freed_from + 2, gate=gate)
    assert gate.stop() == 0
    log = gate.log()
    verdicts = [v for v, _, _ in decisions(log)]
    expected = "ALLOW" if opens else "DENY"
    assert verdicts[full_from:freed_from] and set(verdicts[full_from:freed_from]) == {expected}
    assert set(verdicts[freed_from:]) == {"ALLOW"}
    refused = [
        body["reasons"]
        for _, kind, body in read_records(store)
        if kind == "access" and not body["allow"]
    ]
    assert all("RECORDS_NOT_DURABLE" in r for r in refused) and bool(refused) != opens
    pulse_lengths = pulses(log)
    assert pulse_lengths and all(pulse_kept(x) for x in pulse_lengths), pulse_lengths


def test_a_record_written_while_others_wait_goes_after_them(
    small_disk: Callable[[int], SmallDisk],
) -> None:
    """Records waiting in memory own their seqs (logged, alarms among them published live):
    a transaction that succeeds before the writer caught up (a downlink's ``lists_applied``)
    gets the next seq after them. Before: it took the first waiting record's seq, and that
    record was written under another one (central, holding the live alarm under the old seq,
    would have dropped the new record there as a duplicate)."""
    disk = small_disk(2048)
    db = disk.path / "gate.sqlite3"
    store = Store(db)
    try:
        for i in range(2):
            store.append(RecordKind.ALERT, time.time(), AlertBody(alert="test", reason=f"ok {i}"))
        filler = disk.fill()
        waiting = [
            store.append(RecordKind.ALERT, time.time(), AlertBody(alert="test", reason=f"w {i}"))
            for i in range(3)
        ]
        assert not store.durable and [r.seq for r in waiting] == [3, 4, 5]
        filler.unlink()
        with store.transaction() as tx:
            body = AlertBody(alert="test", reason="direct")
            direct = Store.insert_record(tx, RecordKind.ALERT, time.time(), body)
        assert direct.seq == 6
        assert store.flush() == 3 and store.durable
    finally:
        store.close()
    stored = {b["reason"]: seq for seq, _, b in read_records(db)}
    assert stored == {"ok 0": 1, "ok 1": 2, "w 0": 3, "w 1": 4, "w 2": 5, "direct": 6}


def test_records_made_on_a_read_only_filesystem_follow_the_files_own(
    small_disk: Callable[[int], SmallDisk],
) -> None:
    """A database that exists but cannot be opened for writing (read-only mount) at start:
    its top seq is read without writing, and records made meanwhile continue from it, so
    none is renumbered when the filesystem takes writes again."""
    disk = small_disk(2048)
    db = disk.path / "gate.sqlite3"
    store = Store(db)
    for i in range(4):
        store.append(RecordKind.ALERT, time.time(), AlertBody(alert="test", reason=f"old {i}"))
    store.close()
    subprocess.run(["mount", "-o", "remount,ro", str(disk.path)], check=True)
    store = Store(db, check=True)
    try:
        assert not store.opened and "cannot open" in store.fault
        made = [
            store.append(RecordKind.ALERT, time.time(), AlertBody(alert="test", reason=f"new {i}"))
            for i in range(2)
        ]
        assert [r.seq for r in made] == [5, 6]
        subprocess.run(["mount", "-o", "remount,rw", str(disk.path)], check=True)
        assert store.flush() == 2 and store.opened and store.durable
    finally:
        store.close()
    stored = {b["reason"]: seq for seq, _, b in read_records(db)}
    assert stored == {f"old {i}": i + 1 for i in range(4)} | {"new 0": 5, "new 1": 6}
