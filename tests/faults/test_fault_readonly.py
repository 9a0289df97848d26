"""Read-only commands open the store read-only: ``sync status`` and ``doctor`` work on a
database in a read-only filesystem and never create or change a file beside it.

Before issue 16 ``sync status`` opened the store for writing (migrations, WAL mode): on a
read-only filesystem it failed, and beside a stopped gate it left ``-wal``/``-shm`` files.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from configkit import write_config
from faultkit import EDGE_GATE, Pass, SmallDisk, base_config

from edge.core.records import AlertBody, RecordKind
from edge.store.sqlite import Store


def _store_with_records(path: Path, n: int) -> None:
    store = Store(path)
    for i in range(n):
        store.append(RecordKind.ALERT, time.time(), AlertBody(alert="test", reason=str(i)))
    store.close()


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


def _run(config: Path, *verb: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EDGE_GATE), *verb, "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_read_only_verbs_change_no_file_beside_a_stopped_gate(
    tmp_path: Path, signed_pass: Pass
) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    db = folder / "gate.sqlite3"
    _store_with_records(db, 5)
    before = _files(folder)
    assert set(before) == {"gate.sqlite3"}, before  # a clean stop leaves no -wal
    config = write_config(
        tmp_path / "gate.toml", base_config(tmp_path, signed_pass, tmp_path / "cam", db)
    )
    time.sleep(0.01)  # an mtime written now would differ
    out = _run(config, "sync", "status")
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    assert status["last_seq"] == 5 and status["outbox_depth"] == 5
    doctor = _run(config, "doctor")
    store_check = next(c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "store")
    assert store_check["status"] == "ok", store_check
    users = _user_list(config)
    assert users.returncode == 0 and users.stdout == "", users.stderr  # no accounts yet
    assert _files(folder) == before, "a read-only verb created or changed a file"


def test_read_only_verbs_work_on_a_read_only_filesystem(
    tmp_path: Path, signed_pass: Pass, small_disk: Callable[[int], SmallDisk]
) -> None:
    disk = small_disk(1024)
    db = disk.path / "gate.sqlite3"
    _store_with_records(db, 3)
    store = Store(db)
    from edge.console.auth import Accounts

    Accounts(store).add("ana", "correct horse battery", "guard")
    store.close()
    res = subprocess.run(["mount", "-o", "remount,ro", str(disk.path)], capture_output=True)
    assert res.returncode == 0, res.stderr
    assert not os.access(disk.path, os.W_OK) or os.statvfs(disk.path).f_flag & os.ST_RDONLY
    config = write_config(
        tmp_path / "gate.toml", base_config(tmp_path, signed_pass, tmp_path / "cam", db)
    )
    out = _run(config, "sync", "status")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["last_seq"] == 3
    doctor = _run(config, "doctor")
    store_check = next(c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "store")
    assert store_check["status"] == "ok", store_check
    users = _user_list(config)
    assert users.returncode == 0, users.stderr
    assert users.stdout.split() == ["ana", "guard"], users.stdout


def _user_list(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EDGE_GATE), "user", "list", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
