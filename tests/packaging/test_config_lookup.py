"""One config lookup for every verb: --config, $EDGE_GATE_CONFIG, /etc/edge-gate, defaults.

The CLI runs as a real process in a scratch folder; the "installed" path is always a file under
tmp_path (never the host's /etc), and $EDGE_GATE_CONFIG is set for every process started here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.app.config_lookup import ConfigChoice, announce, find_config

EDGE_GATE = Path(sys.executable).parent / "edge-gate"


def write_config(folder: Path, gate_id: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "edge-gate.toml"
    store = folder / "state" / "edge-gate.sqlite3"
    path.write_text(f'[gate]\nid = "{gate_id}"\n\n[store]\npath = "{store}"\n')
    return path


def cli(cwd: Path, env_value: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EDGE_GATE_CONFIG": env_value}
    return subprocess.run(
        [str(EDGE_GATE), *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_lookup_order(tmp_path: Path) -> None:
    flag, from_env = tmp_path / "flag.toml", tmp_path / "env.toml"
    installed = tmp_path / "etc" / "edge-gate.toml"
    env = {"EDGE_GATE_CONFIG": str(from_env)}
    assert find_config(flag, env, installed) == ConfigChoice(flag, "--config")
    assert find_config(None, env, installed) == ConfigChoice(from_env, "$EDGE_GATE_CONFIG")
    # Not installed yet: the embedded defaults.
    assert find_config(None, {}, installed) == ConfigChoice(None, "embedded")
    installed.parent.mkdir()
    installed.write_text("")
    assert find_config(None, {}, installed) == ConfigChoice(installed, "installed")
    # Empty variable: the defaults even where a gate is installed (tests, demos on a gate).
    assert find_config(None, {"EDGE_GATE_CONFIG": ""}, installed) == ConfigChoice(None, "embedded")


def test_announce_names_the_file_and_the_state_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(tmp_path / "etc", "gate-a")
    caplog.set_level("INFO", logger="edge-gate.config")
    line = announce("doctor", ConfigChoice(path, "installed"))
    assert (
        line == f"edge-gate doctor: config {path} (installed); state {tmp_path / 'etc' / 'state'}"
    )
    assert caplog.messages == [line]


def test_user_add_and_doctor_use_the_config_from_the_environment(tmp_path: Path) -> None:
    config = write_config(tmp_path / "etc", "gate-env")
    work = tmp_path / "cwd"
    work.mkdir()
    added = cli(work, str(config), "user", "add", "guard1", "--password-stdin", stdin="s3cret-pw\n")
    assert added.returncode == 0, added.stderr
    first = added.stderr.splitlines()[0]
    assert first == (
        f"INFO edge-gate.config: edge-gate user: config {config} ($EDGE_GATE_CONFIG); "
        f"state {tmp_path / 'etc' / 'state'}"
    )
    # The account is in the config's store, not in ./var under the current directory.
    assert (tmp_path / "etc" / "state" / "edge-gate.sqlite3").is_file()
    assert not (work / "var").exists()
    listed = cli(tmp_path, str(config), "user", "list")
    assert listed.stdout.split() == ["guard1", "guard"]

    doctor = cli(work, str(config), "doctor", "--json")
    assert json.loads(doctor.stdout)["config"] == str(config)
    assert doctor.stderr.splitlines()[0].startswith(
        f"INFO edge-gate.config: edge-gate doctor: config {config}"
    )


def test_explicit_flag_wins_and_empty_variable_means_defaults(tmp_path: Path) -> None:
    env_config = write_config(tmp_path / "env", "gate-env")
    flag_config = write_config(tmp_path / "flag", "gate-flag")
    doctor = cli(tmp_path, str(env_config), "doctor", "--json", "--config", str(flag_config))
    assert json.loads(doctor.stdout)["config"] == str(flag_config)
    assert "(--config)" in doctor.stderr.splitlines()[0]
    defaults = cli(tmp_path, "", "doctor", "--json")
    assert json.loads(defaults.stdout)["config"] is None
    assert "config: embedded defaults" in defaults.stderr.splitlines()[0]


def test_a_missing_config_named_by_the_environment_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    out = cli(tmp_path, str(missing), "user", "list")
    assert out.returncode == 2
    assert f"config {missing} ($EDGE_GATE_CONFIG)" in out.stderr.splitlines()[0]
    assert "cannot read" in out.stderr
