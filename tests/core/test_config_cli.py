"""Config validation and the skeleton's CLI verbs, run as a user would run them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edge.app.config import Config, ConfigError, load_config, parse_config
from edge.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge", *args], capture_output=True, text=True, timeout=120
    )


def test_defaults_need_no_file() -> None:
    config = load_config(None)
    assert config == Config()
    assert config.door.pulse_s == 3.0 and config.gate.id == "demo-gate"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"door": {"pulse_s": 100}}, "door.pulse_s: input should be less than or equal to 30"),
        ({"door": {"pulse_s": 100}}, "use a value from 0.2 to 30.0"),
        ({"door": {"pin": 3}}, "door.pin: unknown key (got 3) — remove it or check its spelling"),
        ({"gate": {"id": "Main Gate"}}, "gate.id: string should match pattern"),
        ({"gate": {"direction": "up"}}, "gate.direction: input should be 'in' or 'out'"),
        ({"camera": "usb"}, "camera: input should be a valid dictionary"),
        ({"rules": {"roles_in": ["alien"]}}, "rules.roles_in.0"),
        ({"door": {"relay_pin": -1}}, "(got -1) — use a value from 0 to 27"),
    ],
)
def test_each_problem_names_key_value_and_fix(data: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert any(expected in line for line in err.value.problems), err.value.problems
    for line in err.value.problems:
        assert "(got " in line and " — " in line


def test_all_problems_reported_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"door": {"pulse_s": 0, "relay_pin": 99}, "oops": {}})
    keys = sorted(line.split(":")[0] for line in err.value.problems)
    assert keys == ["door.pulse_s", "door.relay_pin", "oops"]


def test_check_config_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[gate]\nid = "north-1"\n[door]\npulse_s = 5\n')
    assert main(["check-config", str(good)]) == 0
    assert "OK" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text("[door]\npulse_s = 'long'\n")
    assert main(["check-config", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "door.pulse_s: input should be a valid number" in out
    broken = tmp_path / "broken.toml"
    broken.write_text("[door\n")
    assert main(["check-config", str(broken)]) == 1
    assert "not valid TOML" in capsys.readouterr().out
    assert main(["check-config", str(tmp_path / "missing.toml")]) == 1
    assert "cannot read" in capsys.readouterr().out


def test_keys_issue_show_round_trip(tmp_path: Path) -> None:
    from edge.gate.credentials import passes
    from edge.gate.credentials.trust import TrustStore
    from edge.vision.camera.sources import read_image
    from edge.vision.qr.scanner import Scanner

    issuer, phone = tmp_path / "issuer", tmp_path / "phone"
    assert run_cli("keys", "new", "--out", str(issuer)).returncode == 0
    assert run_cli("keys", "new", "--out", str(phone)).returncode == 0
    again = run_cli("keys", "new", "--out", str(issuer))
    assert again.returncode == 2 and "exists" in again.stderr
    png = tmp_path / "pass.png"
    issued = run_cli(
        "pass",
        "issue",
        "--key",
        f"{issuer}.key",
        "--id",
        "P-77",
        "--holder",
        "h77",
        "--household",
        "5-1-302",
        "--device-key",
        f"{phone}.pub",
        "--out",
        str(png),
    )
    assert issued.returncode == 0, issued.stderr
    base = issued.stdout.strip()
    assert base.startswith("CP1:")
    assert [c.text for c in Scanner().scan(read_image(png))] == [base]
    shown = run_cli(
        "pass",
        "show",
        str(png),
        "--dynamic",
        "--device-key",
        f"{phone}.key",
        "--out",
        str(tmp_path / "now.png"),
        "--no-terminal",
    )
    assert shown.returncode == 0, shown.stderr
    trust = TrustStore.from_files([Path(f"{issuer}.pub")])
    import time

    check = passes.verify(shown.stdout.strip(), trust, time.time())
    assert check.reasons == () and check.payload["dynamic"] is True
    assert check.payload["household"] == {"building": "5", "unit": "1", "room": "302"}


def test_pass_issue_rejects_bad_input(tmp_path: Path) -> None:
    run_cli("keys", "new", "--out", str(tmp_path / "k"))
    bad_household = run_cli(
        "pass",
        "issue",
        "--key",
        str(tmp_path / "k.key"),
        "--id",
        "P",
        "--holder",
        "h",
        "--household",
        "5-1",
    )
    assert bad_household.returncode == 2 and "BUILDING-UNIT-ROOM" in bad_household.stderr
    long_id = run_cli(
        "pass",
        "issue",
        "--key",
        str(tmp_path / "k.key"),
        "--id",
        "P" * 40,
        "--holder",
        "h",
        "--household",
        "5-1-1",
    )
    assert long_id.returncode == 2 and "pass id must be" in long_id.stderr
    no_key = run_cli(
        "pass",
        "issue",
        "--key",
        str(tmp_path / "nope.key"),
        "--id",
        "P",
        "--holder",
        "h",
        "--household",
        "5-1-1",
    )
    assert no_key.returncode == 2 and "cannot read key file" in no_key.stderr
    assert "Traceback" not in bad_household.stderr + long_id.stderr + no_key.stderr


def test_demo_shows_allowed_and_refused_residents() -> None:
    proc = run_cli("demo")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for reason in (
        "EXPIRED",
        "UNKNOWN_KEY",
        "BAD_SIGNATURE",
        "REVOKED",
        "QUARANTINE_NO_EXIT",
        "DYNAMIC_CODE_REPLAYED",
        "UNKNOWN_FORMAT",
    ):
        assert reason in out, reason
    assert out.count("ALLOW") == 2
    assert "0 unexpected" in out
    assert "Traceback" not in proc.stderr


def test_show_defaults_is_json() -> None:
    proc = run_cli("show-defaults")
    assert json.loads(proc.stdout)["door"]["pulse_s"] == 3.0


def test_cli_issued_pass_verifies_and_tampering_or_expiry_is_refused(tmp_path: Path) -> None:
    import base45

    from edge.gate.credentials import passes

    key = tmp_path / "issuer"
    assert run_cli("keys", "new", "--out", str(key)).returncode == 0
    png = tmp_path / "p.png"
    issued = run_cli(
        "pass", "issue", "--key", f"{key}.key", "--id", "P-5", "--holder", "h5",
        "--household", "2-1-101", "--from", "2026-01-01", "--until", "2026-12-31T23:59:59+08:00",
        "--out", str(png),
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    text = issued.stdout.strip()
    trust = ("--trust", f"{key}.pub")
    ok = run_cli("verify", "--json", "--now", "2026-06-01T08:00:00Z", *trust, str(png))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    answer = json.loads(ok.stdout)
    assert answer["format"] == "PASS" and answer["signature_valid"] is True
    assert answer["reasons"] == [] and answer["payload"]["pass_id"] == "P-5"
    late = run_cli("verify", "--json", "--now", "2027-01-01T00:00:00+08:00", *trust, "--text", text)
    assert late.returncode == 1 and json.loads(late.stdout)["reasons"] == ["EXPIRED"]
    raw = bytes(base45.b45decode(text[len(passes.PREFIX) :]))
    for i in range(0, len(raw), 9):  # a spread of single flipped bytes, each through the CLI
        flipped = bytearray(raw)
        flipped[i] ^= 0x20
        forged = passes.PREFIX + bytes(base45.b45encode(bytes(flipped))).decode("ascii")
        out = run_cli("verify", "--json", "--now", "2026-06-01T08:00:00Z", *trust, "--text", forged)
        result = json.loads(out.stdout)
        assert out.returncode == 1 and result["signature_valid"] is False, i
        assert set(result["reasons"]) & {"BAD_SIGNATURE", "UNKNOWN_KEY", "MALFORMED"}, i
