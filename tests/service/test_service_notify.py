"""`edge-gate run` under a real NOTIFY_SOCKET: READY, WATCHDOG, STATUS, stop and bad configs."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

from svckit import GateProcess, NotifyListener

from edge.app.service import EXIT_CONFIG, EXIT_STARTUP


def test_ready_watchdog_status_and_watchdog_kept_while_camera_dead(
    make_config: Callable[..., Path],
    gate_process: Callable[..., GateProcess],
    notify: NotifyListener,
) -> None:
    # 15 frames replayed at 10 fps: the camera lives ~1.5 s, then its source ends.
    gate = gate_process(make_config(frames=15))
    ready = notify.wait_for("READY", "1")
    assert "running" in ready["STATUS"] and "test-gate" in ready["STATUS"]
    dead = notify.wait_for("STATUS", "dead", timeout=10)
    # Issue 16: a dead camera is DEGRADED; the door (exit button, fire input) keeps working,
    # so the watchdog is still fed from the door loop and systemd does not restart the gate.
    assert "DEGRADED" in dead["STATUS"] and "camera gate" in dead["STATUS"]
    assert "UNHEALTHY" not in dead["STATUS"]
    before = len(notify.messages)
    notify.drain(1.5)  # 15 watchdog intervals of 0.1 s
    after = [f for _, f in notify.messages[before:]]
    assert sum("WATCHDOG" in f for f in after) >= 5, f"watchdog withheld: {after}"
    assert gate.proc.poll() is None, "a dead camera must not crash the service"

    status, err = gate.stop(signal.SIGTERM)
    assert status == 0, err
    notify.drain(0.2)
    assert any(f.get("STOPPING") == "1" for _, f in notify.messages)
    assert "safe state" in err


def test_sigint_stops_cleanly(
    make_config: Callable[..., Path],
    gate_process: Callable[..., GateProcess],
    notify: NotifyListener,
) -> None:
    gate = gate_process(make_config(frames=300))
    notify.wait_for("READY", "1")
    notify.wait_for("WATCHDOG", "1")
    status, err = gate.stop(signal.SIGINT)
    assert status == 0, err
    assert "safe state" in err


def test_bad_config_refused_listing_every_problem(
    tmp_path: Path, gate_process: Callable[..., GateProcess], notify: NotifyListener
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[door]\npulse_s = 999\n[gate]\nnmae = "typo"\n', encoding="utf-8")
    gate = gate_process(bad)
    status, err = gate.wait()
    assert status == EXIT_CONFIG
    assert "door.pulse_s" in err and "gate.nmae" in err
    notify.drain(0.1)
    statuses = [f.get("STATUS", "") for _, f in notify.messages]
    assert any("refusing to start: 2 config problem(s)" in s for s in statuses)
    assert not any("READY" in f for _, f in notify.messages)


def test_sighup_with_bad_config_keeps_running_config(
    make_config: Callable[..., Path],
    gate_process: Callable[..., GateProcess],
    notify: NotifyListener,
) -> None:
    config = make_config(frames=600)
    gate = gate_process(config)
    notify.wait_for("READY", "1")
    good_text = config.read_text(encoding="utf-8")
    config.write_text(good_text + "\n[rules]\nno_such_rule = 1\n", encoding="utf-8")
    gate.send(signal.SIGHUP)
    refused = notify.wait_for("STATUS", "last reload refused")
    assert "rules.no_such_rule" in refused["STATUS"]
    keys = notify.keys_in_order()
    assert "RELOADING" in keys
    assert "READY" in keys[keys.index("RELOADING") :], "reload must end with READY=1"
    mark = len(notify.messages)
    notify.wait_for("WATCHDOG", "1")  # still healthy on the old config
    assert gate.proc.poll() is None

    # A good config with a door change: applied, the door part waits for a restart.
    fixed = good_text.replace("Test gate", "Renamed gate")
    config.write_text(fixed.replace("[camera]", "[door]\npulse_s = 5.0\n\n[camera]"), "utf-8")
    gate.send(signal.SIGHUP)
    applied = notify.wait_for("STATUS", "restart needed for [door]")
    assert "reload refused" not in applied["STATUS"]
    assert len(notify.messages) > mark
    status, err = gate.stop()
    assert status == 0
    assert "reload refused" in err and "door" in err and "after a restart" in err


def test_start_failure_exits_for_a_restart(
    make_config: Callable[..., Path],
    gate_process: Callable[..., GateProcess],
    notify: NotifyListener,
    tmp_path: Path,
) -> None:
    # A camera that never delivers a first frame within startup_timeout_s: systemd retries.
    config = make_config(
        camera={"source": str(tmp_path / "no-such-folder")}, service={"startup_timeout_s": 2.0}
    )
    gate = gate_process(config)
    status, err = gate.wait()
    assert status == EXIT_STARTUP, err
    notify.drain(0.1)
    assert any(f.get("STATUS", "").startswith("start failed") for _, f in notify.messages)
    assert not any("READY" in f for _, f in notify.messages)


def test_a_store_that_cannot_be_created_still_starts_degraded(
    make_config: Callable[..., Path],
    gate_process: Callable[..., GateProcess],
    notify: NotifyListener,
) -> None:
    # Nothing can be made under /proc, not even by root. Before issue 16: exit 1 at start
    # (a restart loop with the door dead); now the door works and records wait in memory.
    gate = gate_process(make_config(store={"path": "/proc/edge-gate-test/gate.sqlite3"}))
    notify.wait_for("READY", "1")
    status = notify.wait_for("STATUS", "store not writable")["STATUS"]
    assert status.startswith("running DEGRADED") and "cannot open" in status
    code, err = gate.stop()
    assert code == 0, err
    assert "Traceback" not in err
