"""`edge-gate doctor --json` on the demo config, a runnable one and broken ones."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from svckit import EDGE_GATE

from edge.app.config import Config
from edge.app.doctor import check_model, check_overhead_model, check_store
from edge.store.settings import StoreSettings
from edge.store.sqlite import MIGRATIONS
from edge.vision.perimeter.settings import PerimeterSettings
from edge.vision.person.settings import DetectorSettings


def doctor(cwd: Path, config: Path | None) -> tuple[int, dict[str, Any]]:
    args = [str(EDGE_GATE), "doctor", "--json"]
    if config is not None:
        args += ["--config", str(config)]
    # An empty $EDGE_GATE_CONFIG: the embedded defaults, never the host's /etc/edge-gate.
    env = {**os.environ, "EDGE_GATE_CONFIG": ""}
    out = subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=60, check=False, env=env
    )
    return out.returncode, json.loads(out.stdout)


def by_name(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in report["checks"]}


def test_demo_config_is_not_fit_without_issuer_keys(tmp_path: Path) -> None:
    demo = tmp_path / "demo.toml"
    demo.write_text("# the demo runs on the embedded defaults\n")
    status, report = doctor(tmp_path, demo)
    checks = by_name(report)
    assert status == 1 and report["fit"] is False
    assert checks["config"]["status"] == "ok"
    assert checks["keys"]["status"] == "fail" and "issuer" in checks["keys"]["fix"]
    assert checks["camera gate"]["status"] == "ok"  # the synthetic camera delivers frames
    assert checks["gpio"]["status"] == "warn"  # mock pins off a Pi
    assert checks["model"]["status"] in ("ok", "skip")
    assert checks["broker"]["status"] == "skip"
    assert checks["disk"]["status"] == "ok" and checks["store"]["status"] == "ok"
    for c in report["checks"]:
        assert c["status"] in ("ok", "warn", "fail", "skip")
        assert c["status"] not in ("warn", "fail") or c["fix"], f"{c['name']} has no fix"


def test_runnable_config_is_fit(tmp_path: Path, make_config: Callable[..., Path]) -> None:
    status, report = doctor(tmp_path, make_config())
    checks = by_name(report)
    failed = [n for n, c in checks.items() if c["status"] == "fail"]
    # Only the host's clock may fail here (a dev machine without NTP); the gate's own parts pass.
    assert set(failed) <= {"clock"}, report
    assert status == (1 if failed else 0) and report["fit"] is (not failed)
    assert checks["keys"]["detail"] == "1 pass issuer key(s) loaded"
    assert checks["gpio"]["status"] == "warn" and "mock" in checks["gpio"]["detail"]


def test_broken_config_fails_with_every_problem_and_skips_the_rest(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[door]\nrelay_pin = 99\n[camera]\nsorce = "0"\n')
    status, report = doctor(tmp_path, bad)
    checks = by_name(report)
    assert status == 1 and report["fit"] is False
    assert checks["config"]["status"] == "fail"
    assert "door.relay_pin" in checks["config"]["detail"]
    assert "camera.sorce" in checks["config"]["detail"]
    assert "check-config" in checks["config"]["fix"]
    assert {c["status"] for n, c in checks.items() if n not in ("config", "clock")} == {"skip"}


def test_dead_camera_fails_with_a_fix(tmp_path: Path, make_config: Callable[..., Path]) -> None:
    config = make_config(camera={"source": str(tmp_path / "no-such-video.avi")})
    status, report = doctor(tmp_path, config)
    camera = by_name(report)["camera gate"]
    assert status == 1 and camera["status"] == "fail"
    assert "cannot open" in camera["detail"] and "source" in camera["fix"]


def test_store_check_corrupt_and_old_schema(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    bad = check_store(Config(store=StoreSettings(path=garbage)))
    assert bad.status == "fail" and bad.fix

    old = tmp_path / "v1.sqlite3"
    db = sqlite3.connect(old)
    db.executescript(MIGRATIONS[0] + "; PRAGMA user_version=1;")
    db.close()
    result = check_store(Config(store=StoreSettings(path=old)))
    if len(MIGRATIONS) > 1:
        assert result.status == "warn" and "upgraded" in result.detail
    else:
        assert result.status == "ok"


def test_model_check_hash_and_test_inference() -> None:
    good = check_model(Config())
    assert good.status == "ok" and "sha256" in good.detail and "test" in good.detail
    tampered = Config(detector=DetectorSettings(sha256="0" * 64))
    assert check_model(tampered).status == "warn"  # no perimeter camera uses it
    used = tampered.model_copy(update={"perimeter": PerimeterSettings(enabled=True)})
    result = check_model(used)
    assert result.status == "fail" and "sha256" in result.detail and result.fix


def test_overhead_model_check_follows_the_strategy(tmp_path: Path) -> None:
    [good] = check_overhead_model(Config())  # auto, the default, uses the high-view model
    assert good.status == "ok" and "nanodet" in good.detail and "test" in good.detail
    assert check_overhead_model(Config(detector=DetectorSettings(strategy="single"))) == []
    missing = DetectorSettings(overhead_model=tmp_path / "gone.onnx")
    on = PerimeterSettings(enabled=True)
    [soft] = check_overhead_model(Config(detector=missing, perimeter=on))
    assert soft.status == "warn" and "gone.onnx" in soft.detail and "tiles" in (soft.fix or "")
    strict = missing.model_copy(update={"strategy": "overhead"})
    [hard] = check_overhead_model(Config(detector=strict, perimeter=on))
    assert hard.status == "fail"
