"""A slow disk under the real service: the SQLite store on a real FUSE filesystem
(``slowfs.py``) whose every fsync waits 0.5 s (and every write 0.05 s) for ~10 s while passes
are shown, then is fast again — an SD card that stalls on wear-levelling, a failing USB stick.

The gate is durable-first (record committed, then the door moves), so a slow commit may make a
decision slower; what must not happen is the door loop or the watchdog waiting on the disk, a
pulse stretched or cut, or a decided pass missing from the store afterwards — nor when it is
stopped while commits still wait for the disk.

Without the door's event thread (door events written on the door's own loop, as before issue
16) the first test fails: the watchdog gap reached 2.5 s (WatchdogSec=1 s).
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from faultkit import (
    GateRun,
    NotifyListener,
    Pass,
    base_config,
    code_folder,
    decisions,
    log_time,
    pulse_kept,
    pulses,
    read_records,
    wait_until,
)
from needs import unavailable
from slowfs import SlowMount

SLOW_SYNC_S = 0.5  # each fsync of the store while the disk is slow
SLOW_WRITE_S = 0.05  # each write (a commit of one record writes ~20 WAL pieces)
SLOW_FOR_S = 10.0


@pytest.fixture
def slow_disk(tmp_path: Path) -> Iterator[SlowMount]:
    """A FUSE passthrough mounted for this test; unmounted (and its process stopped by pid)
    after the gate, which is requested later and so torn down first."""
    if not os.path.exists("/dev/fuse"):
        unavailable("no /dev/fuse: the slow-disk test needs FUSE")
    try:
        import mfusepy  # noqa: F401  (only to say what is missing; slowfs.py loads it itself)
    except (ImportError, OSError) as exc:
        unavailable(f"mfusepy or libfuse3 missing (scripts/bootstrap.sh test): {exc}")
    mount = SlowMount(tmp_path / "fuse")
    if not mount.mounted:
        unavailable(f"cannot mount the FUSE slow disk: {mount.error}")
    yield mount
    mount.close()


def latencies(log: str, store: Path) -> dict[int, float]:
    """seq → seconds from the code being read (the record's ``ts``) to its decision line, which
    is logged once the record is committed and the door told."""
    logged = dict((seq, t) for t, seq in decision_times(log))
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT seq, ts FROM records WHERE kind = 'access'").fetchall()
    finally:
        db.close()
    return {int(seq): logged[int(seq)] - float(ts) for seq, ts in rows if int(seq) in logged}


def decision_times(log: str) -> list[tuple[float, int]]:
    """(wall time of the log line, seq) of every decision."""
    out: list[tuple[float, int]] = []
    for line in log.splitlines():
        found = decisions(line)
        t = log_time(line)
        if found and t is not None:
            out.append((t, found[0][2]))
    return out


def test_slow_disk_slows_decisions_but_never_the_door_or_the_watchdog_and_loses_nothing(
    tmp_path: Path,
    signed_pass: Pass,
    slow_disk: SlowMount,
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    store = slow_disk.path / "gate.sqlite3"
    # a pass held up for 0.4 s every 2 s (one frame would be missed by a loop busy for 0.1 s)
    shown: list[str | None] = [signed_pass.text] * 4 + [None] * 16
    camera = code_folder(tmp_path / "cam", shown * 2)
    gate = gate_run(base_config(tmp_path, signed_pass, camera, store), watchdog_usec=1_000_000)
    notify.wait_for("READY", "1")
    wait_until("a first decision", lambda: decisions(gate.log()), gate=gate)

    slow_disk.slow(SLOW_SYNC_S, SLOW_WRITE_S)
    slow_from = time.time()
    t_slow = time.monotonic()
    time.sleep(SLOW_FOR_S)
    slow_disk.slow(0)
    slow_until = time.time()
    pings = notify.watchdog_times(since=t_slow)
    assert gate.alive(), gate.log()[-3000:]
    waited = [s for s in slow_disk.slowed() if s[3].startswith("/gate.sqlite3")]
    assert len(waited) >= 5, f"the store hardly touched the slow disk: {waited}"

    during = [seq for t, seq in decision_times(gate.log()) if slow_from <= t <= slow_until]
    wait_until("two decisions after the disk is fast again",
               lambda: len([t for t, _ in decision_times(gate.log()) if t > slow_until + 1]) >= 2,
               gate=gate)  # fmt: skip
    assert gate.stop() == 0
    log = gate.log()
    assert "Traceback" not in log, log[-3000:]
    assert during, "no decision while the disk was slow"
    late = latencies(log, store)
    # durable first: a decision waits for its commit (~1.5 s here) and at most one commit of
    # a door event before it, never for a queue of them
    assert max(late[seq] for seq in during) < 5.0, late

    # the watchdog was fed from the door loop while commits waited on the disk
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert gaps and max(gaps) < 1.0, gaps
    # relay pulses kept their length (±10 %, see faultkit.PULSE_MAX_S for the load margin)
    lengths = pulses(log)
    assert lengths and all(pulse_kept(x) for x in lengths), lengths
    # every logged decision is in the store, in order, once
    logged = [seq for _, _, seq in decisions(log)]
    records = read_records(store)
    access = {seq for seq, kind, _ in records if kind == "access"}
    missing = sorted(set(logged) - access)
    assert not missing, f"logged but never stored: {missing}"
    seqs = [seq for seq, _, _ in records]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    print(f"slow disk: {len(waited)} slowed calls; code read → decision (s): "
          f"{ {seq: round(x, 2) for seq, x in late.items()} }, while slow: {during}; "
          f"pulses {[round(x, 3) for x in lengths]}; watchdog max gap {max(gaps):.3f} s "
          f"({len(pings)} pings)")  # fmt: skip


def test_sigterm_while_the_disk_is_slow_stops_cleanly_and_keeps_every_record(
    tmp_path: Path,
    signed_pass: Pass,
    slow_disk: SlowMount,
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    store = slow_disk.path / "gate.sqlite3"
    shown: list[str | None] = [signed_pass.text] * 4 + [None] * 16
    camera = code_folder(tmp_path / "cam", shown * 2)
    gate = gate_run(base_config(tmp_path, signed_pass, camera, store))
    notify.wait_for("READY", "1")
    wait_until("a first decision", lambda: decisions(gate.log()), gate=gate)
    slow_disk.slow(SLOW_SYNC_S, SLOW_WRITE_S)
    first = len(decisions(gate.log()))
    wait_until("a decision on the slow disk",
               lambda: len(decisions(gate.log())) > first, timeout=20, gate=gate)  # fmt: skip
    # stopped while the door events of that pass still wait for the disk
    t = time.monotonic()
    code = gate.stop()
    took = time.monotonic() - t
    log = gate.log()
    assert code == 0 and "Traceback" not in log, log[-3000:]
    slow_disk.slow(0)
    records = read_records(store)
    access = {seq for seq, kind, _ in records if kind == "access"}
    missing = sorted({seq for _, _, seq in decisions(log)} - access)
    assert not missing, f"logged but never stored: {missing}"
    door_logged = log.count("edge.gate.door.controller: door ")
    door_stored = [body["event"] for _, kind, body in records if kind == "door"]
    print(f"SIGTERM on a slow disk: stopped in {took:.2f} s; door events logged {door_logged}, "
          f"stored {door_stored}")  # fmt: skip
    assert len(door_stored) >= door_logged, (door_logged, door_stored)
