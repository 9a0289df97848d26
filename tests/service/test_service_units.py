"""systemd units (systemd-analyze verify/security) and shellcheck on every shell script."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from svckit import EDGE_GATE, REPO

UNITS = ["edge-gate.service", "edge-gate-central.service"]
INSTALLED_BIN = "/opt/edge-gate/venv/bin/edge-gate"

needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed"
)


def directives(unit: str) -> dict[str, list[str]]:
    """Every ``Key=value`` of a unit file (keys may repeat, e.g. DeviceAllow=)."""
    found: dict[str, list[str]] = {}
    for line in (REPO / "systemd" / unit).read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def local_copy(tmp_path: Path, unit: str) -> Path:
    """The unit with its binary pointed at this checkout's edge-gate (the Pi path is absent)."""
    text = (REPO / "systemd" / unit).read_text().replace(INSTALLED_BIN, str(EDGE_GATE))
    path = tmp_path / unit
    path.write_text(text)
    return path


@needs_systemd
@pytest.mark.parametrize("unit", UNITS)
def test_unit_verifies(tmp_path: Path, unit: str) -> None:
    # As shipped, the only complaint allowed is the binary the installer has not put there yet.
    shipped = subprocess.run(
        ["systemd-analyze", "verify", str(REPO / "systemd" / unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    problems = [
        line
        for line in shipped.stderr.splitlines()
        if line.strip() and f"{INSTALLED_BIN} is not executable" not in line
    ]
    assert not problems, shipped.stderr
    local = subprocess.run(
        ["systemd-analyze", "verify", str(local_copy(tmp_path, unit))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert local.returncode == 0 and not local.stderr.strip(), local.stderr


@needs_systemd
@pytest.mark.parametrize("unit", UNITS)
def test_unit_exposure_is_low(tmp_path: Path, unit: str) -> None:
    # --threshold is in tenths of the printed 0–10 exposure score: fail above 3.0.
    cmd = ["systemd-analyze", "security", "--offline=yes", "--threshold=30"]
    result = subprocess.run(
        [*cmd, str(local_copy(tmp_path, unit))], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-800:] + result.stderr
    score = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert score is not None and float(score[1]) <= 3.0


def test_gate_unit_contract() -> None:
    d = directives("edge-gate.service")
    one = {k: v[-1] for k, v in d.items()}
    assert one["Type"] == "notify" and one["NotifyAccess"] == "main"
    assert float(one["WatchdogSec"]) > 0
    assert one["Restart"] == "on-failure" and "StartLimitBurst" in one
    assert "78" in one["RestartPreventExitStatus"].split()  # a bad config is not retried
    assert one["User"] == "edge-gate"
    assert set(one["SupplementaryGroups"].split()) == {"gpio", "video", "i2c"}
    assert one["StateDirectory"] == "edge-gate" and one["ConfigurationDirectory"] == "edge-gate"
    assert one["LoadCredential"].startswith("secrets:/etc/edge-gate/secrets")
    assert one["ProtectSystem"] == "strict" and one["ProtectHome"] == "yes"
    assert one["PrivateTmp"] == "yes" and one["NoNewPrivileges"] == "yes"
    assert one["CapabilityBoundingSet"] == "" and one["DevicePolicy"] == "closed"
    assert sorted(d["DeviceAllow"]) == ["char-gpiochip rw", "char-video4linux rw"]
    assert set(one["RestrictAddressFamilies"].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert one["MemoryMax"].endswith("M")
    assert "safe-door" in one["ExecStopPost"] and "-HUP" in one["ExecReload"]


def shell_scripts() -> list[Path]:
    scripts = sorted((REPO / "scripts").glob("*.sh"))
    scripts.append(REPO / ".ci" / "run")
    return [p for p in scripts if p.exists()]


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_shellcheck_every_script() -> None:
    scripts = shell_scripts()
    assert any(p.name == "install-pi.sh" for p in scripts)
    result = subprocess.run(
        ["shellcheck", "--severity=style", *map(str, scripts)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
