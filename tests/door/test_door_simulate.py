"""`edge-gate simulate` over every scenario in examples/, compared with expected event
sequences; bad scenarios refused with a message naming the step, line or key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.cli import main
from edge.tools.scenario import ScenarioError, load_scenario, parse_scenario

# Scenarios are the example files with a timeline (examples/ also holds a config example).
EXAMPLES = sorted(
    p
    for p in (Path(__file__).resolve().parents[2] / "examples").glob("*.toml")
    if "[[step]]" in p.read_text(encoding="utf-8")
)

# The door-relevant part of each example, written out here as well as in the files, so a
# changed example cannot quietly change what is being proven.
EXPECTED = {
    "temperature.toml": [
        "deny(TEMPERATURE_UNAVAILABLE)",
        *["allow", "door:granted", "door:relocked"],
        "deny(TEMPERATURE_HIGH)",
    ],
    "door-grant.toml": [
        "allow", "door:granted", "door:opened", "door:closed", "door:relocked",
        "allow", "door:granted", "door:relocked",
    ],
    "held-open.toml": [
        "allow", "door:granted", "door:opened", "door:held_open", "door:relocked",
        "door:held_open_alarm", "door:closed", "door:alarm_cleared",
    ],
    "forced-open.toml": [
        "door:opened", "door:forced_open", "door:closed", "door:alarm_cleared",
        "door:tamper", "door:alarm_cleared",
    ],
    "exit-schedule.toml": [
        "door:exit_request", "door:opened", "door:closed", "door:relocked",
        "door:exit_request(refused)", "door:exit_request(refused)",
    ],
    "fire-release.toml": [
        "door:opened", "door:forced_open", "door:alarm_cleared", "door:emergency_release",
        "door:closed", "door:opened", "door:emergency_restored", "door:closed", "door:relocked",
        "door:hold_started", "door:emergency_release", "door:emergency_restored",
        "door:hold_started", "door:hold_ended", "door:relocked",
    ],
    "anti-passback-hard.toml": [
        "allow", "door:granted", "door:relocked", "deny(ANTI_PASSBACK)",
        "allow", "door:granted", "door:relocked", "allow", "door:granted", "door:relocked",
        "allow", "door:granted", "door:relocked",
    ],
    "anti-passback-soft.toml": [
        "allow", "door:granted", "door:relocked",
        "allow(ANTI_PASSBACK)", "door:granted", "door:relocked",
        "allow", "door:granted", "door:relocked",
    ],
}  # fmt: skip


def run_json(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, object]]]:
    status = main(["simulate", str(path), "--json"])
    out = capsys.readouterr().out
    return status, [json.loads(line) for line in out.splitlines()]


def test_there_are_examples() -> None:
    names = {p.name for p in EXAMPLES}
    assert set(EXPECTED) <= names and len(names) >= 8


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_runs_and_meets_its_expectation(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines = run_json(path, capsys)
    end = lines[-1]
    assert status == 0, end
    assert end["kind"] == "end" and end["expect"] == "ok"
    if path.name in EXPECTED:
        assert end["sequence"] == EXPECTED[path.name]
    # every line but the summary has its time; times never go backwards
    times = [float(x["t"]) for x in lines[:-1]]  # type: ignore[arg-type]
    assert times == sorted(times)
    assert all("time" in x for x in lines[:-1])
    # every decision and door event is a durable record (it carries its record seq)
    recorded = [x for x in lines if x["kind"] in ("decision", "door")]
    assert all(isinstance(x["seq"], int) for x in recorded)
    seqs = [x["seq"] for x in recorded]
    assert len(set(seqs)) == len(seqs)


def test_relay_pin_lines_show_lock_and_level(capsys: pytest.CaptureFixture[str]) -> None:
    path = next(p for p in EXAMPLES if p.name == "fail-safe-maglock.toml")
    _, lines = run_json(path, capsys)
    start = lines[0]
    assert start["kind"] == "start" and start["lock"] == "locked" and start["relay_level"] == 0
    relay = [(x["level"], x["lock"]) for x in lines if x.get("device") == "relay"]
    # grant: de-energised (high, open); re-lock: low; shutdown: unpowered = open (fail-safe)
    assert relay == [(1, "released"), (0, "locked"), (1, "released")]


def test_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(EXAMPLES[0])]) == 0
    out = capsys.readouterr().out
    assert "decision" in out and "expect: ok" in out


def test_mismatch_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.toml"
    f.write_text('[[passes]]\nname = "a"\n[[step]]\nat = 0\nscan = "a"\n'
                 '[expect]\nsequence = ["deny(EXPIRED)"]\n')  # fmt: skip
    assert main(["simulate", str(f)]) == 1
    assert "expected: deny(EXPIRED)" in capsys.readouterr().err


BAD = [
    ("[[step]]\nat = 0\nwarp = 1\n", "step 1 (line 1): unknown key 'warp'"),
    ("[[step]]\nat = 5\ndoor = 'open'\n", "set config.door.contact_pin"),
    (
        "[config.door]\ncontact_pin = 5\n[[step]]\nat = 5\ndoor = 'open'\n\n[[step]]\nat = 2\n"
        "door = 'close'\n",
        "step 2 (line 7): at = 2 goes back in time",
    ),
    ("[[step]]\nat = 1\n", "step 1 (line 1): give exactly one of"),
    ("[[step]]\nat = 1\nscan = 'nobody'\n", "no pass named 'nobody'"),
    ("[[step]]\nat = -1\njump = 5\n", "at must be a number of seconds"),
    ("[[step]]\nat = 1\nscan = 'x'\ntext = 'y'\n", "give exactly one of"),
    ("[[step]]\nat = 1\ntext = 'x'\nreader = 'gate9'\n", "unknown reader 'gate9'"),
    ("[[step]]\nat = 1\nfire = 'maybe'\n", "fire must be 'on' or 'off'"),
    ("[config.door]\nexit_pin = 17\n", "config.door: value error, door.exit_pin: pin 17"),
    ("[scenario]\nstart = '2026-01-05T09:00'\n", "give a UTC offset"),
    ("[[passes]]\nname = 'a'\nkey = 'ghost'\n", "passes[1].key: no key named 'ghost'"),
    ("[[passes]]\nname = 'a'\nhousehold = '12'\n", "building-unit-room"),
    ("[surprise]\n", "top level: unknown key 'surprise'"),
    ("[[step]]\nat = 1\nlists = { version = -1 }\n", "step 1 (line 1): lists"),
    ("not toml = = 1", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "needle"), BAD)
def test_bad_scenarios_are_refused_with_a_clear_message(text: str, needle: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text)
    assert needle in str(err.value)


def test_bad_scenario_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bad.toml"
    f.write_text("[[step]]\nat = 3\nwarp = 9\n")
    assert main(["simulate", str(f)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'warp'" in err and "Traceback" not in err
    assert main(["simulate", str(tmp_path / "missing.toml")]) == 2


def test_examples_load(tmp_path: Path) -> None:
    for path in EXAMPLES:
        assert load_scenario(path).steps


def test_image_and_temperature_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A camera frame goes through the real scanner; a temperature step feeds the thermometer
    fitted for the timeline."""
    import datetime as dt

    import cv2

    from edge.gate.credentials import passes
    from edge.gate.credentials.verified import Role
    from edge.tools.render import render_frame
    from edge.tools.scenario import DEFAULT_START
    from edge.tools.simulate import scenario_key

    t = int(dt.datetime.fromisoformat(DEFAULT_START).timestamp())
    body = passes.PassBody("P-img", "h-img", "3", "2", "501", Role.RESIDENT, t - 99, t + 9999)
    text = passes.issue(body, scenario_key("demo-issuer"))
    cv2.imwrite(str(tmp_path / "frame.png"), render_frame(text, seed=1))
    cv2.imwrite(str(tmp_path / "blank.png"), render_frame("", seed=2)[:50, :50] * 0)
    f = tmp_path / "s.toml"
    f.write_text(
        "[[step]]\nat = 0\ntemperature = 36.6\n"
        '[[step]]\nat = 1\nimage = "frame.png"\n'
        '[[step]]\nat = 2\nimage = "blank.png"\n'
        '[expect]\nsequence = ["allow", "door:granted"]\n'
    )
    status, lines = run_json(f, capsys)
    assert status == 0, lines[-1]
    decisions = [x for x in lines if x["kind"] == "decision"]
    assert len(decisions) == 1 and decisions[0]["allow"] is True
    assert [x["step"] for x in lines if x["kind"] == "no_code"] == [3]
    assert not any(x["kind"] == "note" for x in lines)  # the reading reaches a thermometer
