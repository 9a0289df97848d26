"""The installer's dry run, the install make target and the shipped example config."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from svckit import REPO

from edge.app.config import Config, load_config, parse_config
from edge.vision.person.detector import file_sha256

INSTALLER = REPO / "scripts" / "install-pi.sh"
EXAMPLE = REPO / "examples" / "edge-gate.toml"


def dry_run(*args: str) -> str:
    out = subprocess.run(
        [str(INSTALLER), "--dry-run", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def planned(output: str) -> list[str]:
    """The commands the installer would run ('+ …' lines)."""
    return [line.strip()[2:] for line in output.splitlines() if line.strip().startswith("+ ")]


def test_dry_run_plans_every_install_step_and_changes_nothing(tmp_path: Path) -> None:
    key = tmp_path / "issuer.pub"
    key.write_text("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n")
    before = Path("/opt/edge-gate").exists(), Path("/etc/edge-gate").exists()
    output = dry_run("--issuer-key", str(key), "--start")
    steps = [line for line in output.splitlines() if line.startswith("== ")]
    assert [s.split(" ", 2)[1] for s in steps[1:7]] == ["1.", "2.", "3.", "4.", "5.", "6."]
    cmds = "\n".join(planned(output))
    ok = "\n".join(line for line in output.splitlines() if "ok:" in line)
    # Each step either plans its command or says it is already done (idempotent re-runs).
    assert "apt-get install" in cmds or "all installed" in ok
    assert re.search(r"useradd --system .* edge-gate$", cmds, re.M) or "user edge-gate exists" in ok
    assert (
        "python3 -m venv --system-site-packages /opt/edge-gate/venv" in cmds or "venv exists" in ok
    )
    assert f"/opt/edge-gate/venv/bin/python -m pip install -q --upgrade {REPO}" in cmds
    assert "install -d -m 0700 /etc/edge-gate/secrets" in cmds
    assert f"install -m 0644 {key} /etc/edge-gate/keys/issuer.pub" in cmds
    assert "/opt/edge-gate/venv/bin/edge-gate check-config /etc/edge-gate/edge-gate.toml" in cmds
    assert "systemctl enable edge-gate.service" in cmds or "edge-gate.service enabled" in ok
    assert "systemctl restart edge-gate.service" in cmds
    assert "edge-gate doctor --config /etc/edge-gate/edge-gate.toml" in cmds
    assert (Path("/opt/edge-gate").exists(), Path("/etc/edge-gate").exists()) == before
    assert dry_run("--issuer-key", str(key), "--start") == output  # nothing changed in between


def test_dry_run_central_adds_the_receiver_unit() -> None:
    output = dry_run("--central")
    text = "\n".join(planned(output))
    assert "install -d -m 0700 /etc/edge-gate-central/secrets" in text
    unit = "/etc/systemd/system/edge-gate-central.service"
    assert f"install -m 0644 {REPO}/systemd/edge-gate-central.service {unit}" in text or (
        f"{unit} is current" in output
    )
    assert (
        "systemctl enable edge-gate-central.service" in text or "central.service enabled" in output
    )


def test_installer_refuses_bad_arguments() -> None:
    out = subprocess.run(
        [str(INSTALLER), "--dry-run", "--bogus"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 2 and "unknown option" in out.stderr
    missing = subprocess.run(
        [str(INSTALLER), "--dry-run", "--issuer-key", "/nonexistent.pub"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2 and "not found" in missing.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_install_dry_run_target() -> None:
    out = subprocess.run(
        ["make", "-s", "-f", "mk/install.mk", "install-dry-run"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "== 6. check" in out.stdout


def test_example_config_is_valid_complete_and_commented() -> None:
    config = load_config(EXAMPLE)
    assert str(config.store.path).startswith("/var/lib/edge-gate/")
    assert [str(p) for p in config.trust.pass_issuer_keys] == ["/etc/edge-gate/keys/issuer.pub"]
    tomllib.loads(EXAMPLE.read_text())
    lines = EXAMPLE.read_text().splitlines()
    section = ""
    present: set[tuple[str, str]] = set()
    for i, line in enumerate(lines):
        if line.startswith("["):
            section = line.strip("[]")
        match = re.match(r"^#? ?([a-z_0-9]+) =", line)
        if match and section:
            present.add((section, match[1]))
            assert lines[i - 1].startswith("# "), f"{section}.{match[1]} has no comment above it"
    missing = [
        f"{s}.{k}"
        for s, info in Config.model_fields.items()
        for k in getattr(info.annotation, "model_fields", {})
        if (s, k) not in present
    ]
    assert not missing, f"run scripts/gen-example-config.py; missing: {missing}"


def test_example_perimeter_block_is_valid_when_uncommented() -> None:
    lines = EXAMPLE.read_text().splitlines()
    start = lines.index("#   [[perimeter.cameras]]")
    block = []
    for line in lines[start:]:
        if not line.startswith("#   "):
            break
        block.append(line[4:])
    data = tomllib.loads("\n".join(block))
    config = parse_config({"perimeter": {"enabled": True, **data["perimeter"]}})
    assert config.perimeter.zones[0].camera == config.perimeter.cameras[0].id


def test_example_model_is_the_shipped_file_with_its_hash() -> None:
    config = load_config(EXAMPLE)
    model = Path(str(config.detector.model).replace("/opt/edge-gate", str(REPO)))
    assert model.is_file(), f"the installer copies models/; {model} is not there"
    assert file_sha256(model) == config.detector.sha256
