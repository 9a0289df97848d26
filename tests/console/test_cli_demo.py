"""`edge-gate user`, `edge-gate console` and the console in the demo."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from console_rig import Client

from edge.app.config import Config
from edge.app.gate import Gate
from edge.cli import main
from edge.console.settings import ConsoleSettings
from edge.tools.console_demo import corridor
from edge.tools.demo import run_demo


def test_user_add_and_list(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    cfg = tmp_path / "gate.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "g.db"}"\n')
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert (
        main(["user", "add", "wang", "--role", "admin", "--password-stdin", "--config", str(cfg)])
        == 0
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "add", "li", "--password-stdin", "--config", str(cfg)]) == 2
    assert "8-256 characters" in capsys.readouterr().err
    assert main(["user", "list", "--config", str(cfg)]) == 0
    assert capsys.readouterr().out == "wang\tadmin\n"


def test_console_verb_without_demo_explains(capsys: Any) -> None:
    assert main(["console"]) == 2
    assert "[console] enabled = true" in capsys.readouterr().err


@pytest.mark.timeout(90)
def test_demo_prints_console_url_and_logins_and_its_alert_shows(tmp_path: Path) -> None:
    out = io.StringIO()
    seen: dict[str, Any] = {}

    def while_open(gate: Gate) -> None:
        text = out.getvalue()
        m = re.search(
            r"guard console: (http://127\.0\.0\.1:\d+)/ +\(logins: demo-guard / (\S+),", text
        )
        assert m, text
        c = Client(m.group(1))
        assert c.login("demo-guard", m.group(2)) == 200
        seen["live"] = c.api("GET", "/api/live")[1]
        key = seen["live"]["alerts"][0]["key"]
        seen["snapshot"] = c.request("GET", f"/api/alerts/{key}/snapshot")
        seen["ack"] = c.api("POST", f"/api/alerts/{key}/ack", {"note": "已通知社区"})[1]
        seen["acked"] = c.api("GET", "/api/live")[1]["alerts"][0]

    config = Config().model_copy(update={"console": ConsoleSettings(port=0)})
    assert run_demo(out, config, workdir=tmp_path, after_gate=while_open) == 0
    alerts = seen["live"]["alerts"]
    assert alerts and alerts[0]["household"] == "3-2-601"
    # the alert's zone is the household's door, not another flat's (issue 22)
    assert alerts[0]["zone"] == "door-3-2-601"
    assert len(seen["live"]["scans"]) == 9
    assert seen["snapshot"][0] == 200 and seen["snapshot"][1][:2] == b"\xff\xd8"
    # the snapshot is the corridor the camera sees (doors 602 and 601, the floor), not a
    # person pasted on grey noise: it looks like the drawn scene away from the walker
    shot = cv2.imdecode(np.frombuffer(seen["snapshot"][1], np.uint8), cv2.IMREAD_COLOR)
    scene = corridor(width=shot.shape[1], height=shot.shape[0])
    left = (slice(int(0.15 * shot.shape[0]), shot.shape[0]), slice(0, int(0.4 * shot.shape[1])))
    assert float(np.abs(shot[left].astype(int) - scene[left].astype(int)).mean()) < 12.0
    door = shot[int(0.3 * shot.shape[0]), int(0.16 * shot.shape[1])]
    assert abs(int(door[2]) - 110) < 30 and door[2] > door[0] + 30  # door 602 is brown
    # acknowledged after it was raised, never before
    assert seen["ack"]["ok"] and seen["acked"]["acked_ts"] >= seen["acked"]["first_ts"]
    assert seen["ack"]["record"]["ts"] >= alerts[0]["first_ts"]
