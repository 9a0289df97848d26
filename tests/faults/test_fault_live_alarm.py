"""Alarms are live first, on MQTT too: the real service with its store on a full disk sees a
person in an armed perimeter zone, and the alarm reaches the broker's alerts topic at once;
the record follows through the outbox when the disk frees.

Before issue 16 a perimeter alarm went out only through the store's outbox: with the store
failing, nothing reached MQTT until the disk came back (and an append that raised swallowed
the alarm altogether).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from faultkit import (
    GateRun,
    NotifyListener,
    Pass,
    SmallDisk,
    UpWatch,
    base_config,
    code_folder,
    every,
    read_records,
    wait_until,
)
from needs import unavailable
from test_fault_broker import GATE, broker  # noqa: F401 (the fixture)

from edge.gate.credentials.trust import save_keypair
from edge.tools.localbroker import PASSWORD, Broker

PERSON = Path(__file__).resolve().parents[2] / ".cache" / "testdata" / "messi5.jpg"


def _sync(tmp_path: Path, on: Broker) -> dict[str, Any]:
    """``[sync]`` for a gate on the test broker (TLS, its password), with a central key."""
    central = Ed25519PrivateKey.generate()
    save_keypair(central, tmp_path / "central.key", tmp_path / "central.pub")
    pw = tmp_path / "gate.pw"
    pw.write_text(PASSWORD)
    return {
        "enabled": True, "port": on.tls, "username": GATE, "password_file": str(pw),
        "tls": True, "ca_file": str(on.ca()), "central_keys": [str(tmp_path / "central.pub")],
        "reconnect_min_s": 0.1, "reconnect_max_s": 1.0,
    }  # fmt: skip


def test_perimeter_alarm_reaches_mqtt_at_once_while_the_store_is_full(
    tmp_path: Path,
    signed_pass: Pass,
    broker: Broker,  # noqa: F811
    small_disk: Callable[[int], SmallDisk],
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    if not PERSON.exists():
        unavailable(f"{PERSON} is missing (tests/vision_detect fetches it: make testdata)")
    sync = _sync(tmp_path, broker)
    scene = tmp_path / "corridor.jpg"  # the perimeter camera: absent until the person shows
    perimeter = {
        "enabled": True,
        "snapshot_dir": str(tmp_path / "snaps"),
        "cameras": [{"id": "cam-501", "source": str(scene), "motion_threshold": 0.0}],
        "zones": [
            {
                "id": "door-501", "camera": "cam-501", "household": "3-2-501", "arm": "on",
                "inertia": 1, "dwell_s": 0.0, "min_score": 0.3, "median_score": 0.3,
                "polygon": [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],
            }
        ],
    }  # fmt: skip
    disk = small_disk(2048)
    db = disk.path / "gate.sqlite3"
    camera = code_folder(tmp_path / "cam", every(signed_pass.text, 20, 40))
    sections = base_config(tmp_path, signed_pass, camera, db, sync=sync, perimeter=perimeter)
    alerts = UpWatch(broker, GATE, "alerts")
    gate = gate_run(sections)
    try:
        notify.wait_for("READY", "1", timeout=60)
        # the camera that is not there yet raises camera_offline: the live path works
        wait_until("camera_offline on MQTT", lambda: alerts.find("camera_offline"), 60, gate=gate)
        filler = disk.fill()
        notify.wait_for("STATUS", "store not writable", timeout=40)
        shutil.copy(PERSON, scene)
        arrived, record = wait_until(
            "the person alarm on MQTT", lambda: alerts.find("person_in_zone"), 60, gate=gate
        )[0]
        lag = arrived - record["ts"]
        print(f"live alarm on MQTT {lag:.3f} s after it was raised (store full)")
        assert lag < 2.0, f"live alarm took {lag:.2f} s"
        stored = {b.get("alert_id") for _, k, b in read_records(db) if k == "alert"}
        assert record["alert_id"] not in stored, "the store was meant to be refusing writes"
        assert gate.alive()

        filler.unlink()
        wait_until(
            "the alarm record in the store",
            lambda: record["id"] in _ids(db),
            timeout=30,
            gate=gate,
        )
        row = next(r for r in _rows(db) if r[1] == record["id"])
        assert row[0] == record["seq"], "the record kept the seq it was published with"
        assert gate.stop() == 0
        assert "Traceback" not in gate.log()
    finally:
        alerts.close()


def _rows(db: Path) -> list[tuple[int, str]]:
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    except sqlite3.OperationalError:  # no file yet
        return []
    try:
        return [(int(s), str(i)) for s, i in con.execute("SELECT seq, id FROM records")]
    except sqlite3.OperationalError:  # not made yet (the empty file a full disk leaves)
        return []
    finally:
        con.close()


def _ids(db: Path) -> set[str]:
    return {i for _, i in _rows(db)}


def test_alarms_reach_mqtt_while_the_database_could_never_be_made(
    tmp_path: Path,
    signed_pass: Pass,
    broker: Broker,  # noqa: F811
    small_disk: Callable[[int], SmallDisk],
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    """The disk is full before the gate ever made its database: sync still starts (the
    database's id is chosen now, written when the file is made), so a perimeter alarm
    (camera_offline) is on MQTT at once; its record follows when space returns."""
    sync = _sync(tmp_path, broker)
    perimeter = {
        "enabled": True,
        "snapshot_dir": str(tmp_path / "snaps"),
        "cameras": [{"id": "cam-501", "source": str(tmp_path / "unplugged.jpg")}],
    }
    disk = small_disk(1024)
    filler = disk.fill()
    db = disk.path / "gate.sqlite3"
    camera = code_folder(tmp_path / "cam", every(signed_pass.text, 20, 40))
    sections = base_config(tmp_path, signed_pass, camera, db, sync=sync, perimeter=perimeter)
    alerts = UpWatch(broker, GATE, "alerts")
    gate = gate_run(sections)
    try:
        notify.wait_for("READY", "1", timeout=60)
        notify.wait_for("STATUS", "store not writable")
        _, record = wait_until(
            "camera_offline on MQTT", lambda: alerts.find("camera_offline"), 60, gate=gate
        )[0]
        assert record["id"] not in _ids(db)
        filler.unlink()
        wait_until("the alarm record in the store", lambda: record["id"] in _ids(db), 30, gate=gate)
        assert next(s for s, i in _rows(db) if i == record["id"]) == record["seq"]
        assert gate.stop() == 0
        assert "Traceback" not in gate.log()
        import sqlite3

        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            epoch = con.execute("SELECT value FROM meta WHERE key='epoch'").fetchone()[0]
        finally:
            con.close()
        assert alerts.epochs == {epoch}, "the live batches named the database made later"
    finally:
        alerts.close()


def test_alarms_reach_mqtt_while_an_existing_database_is_on_a_read_only_disk(
    tmp_path: Path,
    signed_pass: Pass,
    broker: Broker,  # noqa: F811
    small_disk: Callable[[int], SmallDisk],
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    """The SD card went read-only (the kernel does that after I/O errors) under a database that
    holds records: sync still starts with the database's own id and numbers live alarms after
    its records, so the central sees no new install; the record follows when it is writable."""
    from edge.core.records import AlertBody, RecordKind
    from edge.store.sqlite import Store

    sync = _sync(tmp_path, broker)
    perimeter = {
        "enabled": True,
        "snapshot_dir": str(tmp_path / "snaps"),
        "cameras": [{"id": "cam-501", "source": str(tmp_path / "unplugged.jpg")}],
    }
    disk = small_disk(4096)
    db = disk.path / "gate.sqlite3"
    earlier = Store(db)  # an earlier run's database: an id and some records
    epoch = earlier.epoch()
    for i in range(5):
        earlier.append(RecordKind.ALERT, 1_700_000_000.0 + i, AlertBody(alert="test", reason="x"))
    top = max(s for s, _ in _rows_of(earlier))
    earlier.close()
    disk.read_only(True)
    camera = code_folder(tmp_path / "cam", every(signed_pass.text, 20, 40))
    sections = base_config(tmp_path, signed_pass, camera, db, sync=sync, perimeter=perimeter)
    alerts = UpWatch(broker, GATE, "alerts")
    gate = gate_run(sections)
    try:
        notify.wait_for("READY", "1", timeout=60)
        _, record = wait_until(
            "camera_offline on MQTT", lambda: alerts.find("camera_offline"), 60, gate=gate
        )[0]
        assert alerts.epochs == {epoch}, "the live batch must name the database's own id"
        assert record["seq"] > top, "a live alarm is numbered after the file's records"
        assert gate.alive()
        disk.read_only(False)
        wait_until("the alarm record in the store", lambda: record["id"] in _ids(db), 40, gate=gate)
        assert next(s for s, i in _rows(db) if i == record["id"]) == record["seq"]
        assert gate.stop() == 0
        assert "Traceback" not in gate.log()
    finally:
        alerts.close()


def _rows_of(store: Any) -> list[tuple[int, str]]:
    return [(r.seq, r.id) for r in store.records()]
