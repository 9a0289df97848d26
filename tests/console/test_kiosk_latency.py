"""How long a decision takes to reach the resident's screen (issue 22: within 200 ms).

A real gate decides (``process_text``: verify, decide, durable record, door), the kiosk page
in Chromium gets it over the console's live stream and draws it. Latency = the time the page
drew (and painted) the decision minus the decision's own timestamp; both are this machine's
wall clock. The figures go to ``test-output/console/kiosk-latency.json`` and
docs/benchmarks.md; the assertion is generous (a loaded CI box), the target is a benchmark.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from console_rig import OUTPUT, Env, login
from test_booth import GREEN_HOUSEHOLD, _pass

DECISIONS = 25


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def test_kiosk_shows_each_decision_quickly(env: Env, page: Any) -> None:
    env.gate.clock_trust = None  # this container has no NTP; the pass check needs a clock
    login(page, env, "guard1")
    page.wait_for_url("**/live")
    page.goto(env.url + "/kiosk")
    page.locator("body[data-stream=open]").wait_for()
    drawn: list[float] = []
    painted: list[float] = []
    good = _pass(GREEN_HOUSEHOLD)
    for i in range(DECISIONS):
        env.gate.door.tick()
        out = env.gate.process_text(good if i % 2 == 0 else f"https://shop.example/coupon/{i}")
        assert out.record is not None
        seq = out.record.seq
        page.wait_for_function(
            f"document.body.dataset.seq === '{seq}' && !!document.body.dataset.paintedAt"
        )
        shown = float(page.locator("body").get_attribute("data-shown-at") or 0)
        paint = float(page.locator("body").get_attribute("data-painted-at") or 0)
        drawn.append(shown - out.record.ts * 1000)
        painted.append(paint - out.record.ts * 1000)
        time.sleep(0.3)  # people do not follow each other faster than this
    figures = {
        "decisions": DECISIONS,
        "drawn_ms": {"p50": statistics.median(drawn), "p90": _pct(drawn, 0.9)},
        "painted_ms": {"p50": statistics.median(painted), "p90": _pct(painted, 0.9)},
        "max_painted_ms": max(painted),
    }
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "kiosk-latency.json").write_text(json.dumps(figures, indent=2))
    print("kiosk latency", json.dumps(figures))
    assert all(v >= 0 for v in drawn)  # never before the decision: the clocks agree
    assert figures["painted_ms"]["p90"] < 2000  # generous; the 200 ms target is measured
