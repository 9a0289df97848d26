"""The console in a real browser (headless Debian Chromium through Playwright).

Each test saves a screenshot of its page under ``test-output/console/`` for a person to look
at; the assertions check what a guard would rely on.
"""

from __future__ import annotations

import time
from typing import Any

from console_rig import OUTPUT, Env, login

from edge.tools.console_demo import BOX, ZONE, corridor, jpeg


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)


def test_login_wrong_password_then_right(env: Env, page: Any) -> None:
    login(page, env, "guard1", "not-the-password")
    # the login form speaks the browser's language (Accept-Language: en-US here)
    assert page.locator("#login-msg").inner_text() == "Wrong name or password."
    shot(page, "login-wrong-password")
    assert "/login" in page.url
    login(page, env, "guard1")
    page.wait_for_url("**/live")
    assert "guard1" in page.locator("[data-testid=who]").inner_text()


def test_intrusion_shows_within_2s_and_ack_is_recorded(env: Env, page: Any) -> None:
    login(page, env, "guard1")
    page.wait_for_url("**/live")
    page.wait_for_function("document.querySelector('#alerts .empty') !== null")
    page.locator("body[data-stream=open]").wait_for()  # live updates flowing
    snap = env.tmp / "alert1.jpg"
    snap.write_bytes(jpeg(corridor(person=True)))
    assert env.ctx.save_zone is not None  # the armed zone of the quarantined household
    env.ctx.save_zone({k: v for k, v in ZONE.items() if k != "source"}, "test")
    started = time.monotonic()
    env.gate.events.publish(
        "alert",
        env.gate.clock.time(),
        id="a1",
        type="person_in_zone",
        phase="new",
        camera=ZONE["camera"],
        zone=ZONE["id"],
        household="3-2-601",
        box=list(BOX),
        snapshot=str(snap),
        message_en="person at an isolated household's door",
    )
    card = page.locator("article[data-key=a1]")
    card.wait_for(timeout=2000)
    assert time.monotonic() - started < 2.0
    page.locator("article[data-key=a1] .snap img").wait_for()
    page.wait_for_function(
        "document.querySelector('article[data-key=a1] .snap img').naturalWidth > 0"
    )
    assert page.locator("article[data-key=a1] svg polygon.zone").count() == 1
    assert "3-2-601" in card.inner_text()
    shot(page, "live-alert")
    card.locator("textarea").fill("checked by phone, resident fetching a delivery")
    card.locator(".ack-btn").click()
    page.locator("article[data-key=a1].acked").wait_for(timeout=2000)
    acks = [r for r in env.guard_records() if r["action"] == "ack"]
    assert len(acks) == 1
    assert acks[0]["user"] == "guard1" and acks[0]["alert"] == "a1"
    assert acks[0]["note"].startswith("checked by phone") and acks[0]["ts"] > 0
    shot(page, "live-acked")


def test_refused_scan_shows_its_reason(env: Env, page: Any) -> None:
    login(page, env, "guard1")
    page.wait_for_url("**/live")
    page.locator("body[data-stream=open]").wait_for()  # live updates flowing
    outcome = env.gate.process_text("https://shop.example/coupon/42")
    assert not outcome.decision.allow
    row = page.locator("#scans li.scan.deny").first
    row.wait_for(timeout=2000)
    assert outcome.decision.sentence("en") in row.inner_text()  # the gate's own reason
    assert "REFUSED" in row.inner_text()
    shot(page, "live-refused-scan")


def test_refused_scan_in_chinese_for_a_chinese_account(env: Env, page: Any) -> None:
    outcome = env.gate.process_text("https://shop.example/coupon/42")
    login(page, env, "zhguard")
    page.wait_for_url("**/live")
    row = page.locator("#scans li.scan.deny").first
    row.wait_for(timeout=2000)
    assert outcome.decision.sentence("zh") in row.inner_text() and "拒绝" in row.inner_text()
    assert page.locator("nav a[data-nav=live]").inner_text() == "实时"
    shot(page, "live-zh")


def test_zone_editor_round_trip(env: Env, page: Any) -> None:
    login(page, env, "admin1")
    page.wait_for_url("**/live")
    page.goto(env.url + "/cameras")
    page.locator("#editor").wait_for()
    page.wait_for_function("document.getElementById('editor-img').naturalWidth > 0")
    box = page.locator("#editor-snap").bounding_box()
    assert box is not None
    corners = [(0.52, 0.42), (0.8, 0.42), (0.86, 0.97), (0.47, 0.97)]  # floor at door 601
    snap = page.locator("#editor-snap")
    for x, y in corners:  # click() scrolls the picture into view first
        snap.click(position={"x": x * box["width"], "y": y * box["height"]})
    page.fill("#zone-id", "door-3-2-601")
    page.fill("#zone-household", "3-2-601")
    assert page.locator("#editor-svg circle.corner").count() == 4
    shot(page, "cameras-zone-drawing")
    page.click("#zone-save")
    msg = page.locator("#zone-msg.ok, #zone-msg.warn, #zone-msg.error")
    msg.wait_for(timeout=30_000)  # a loaded CI machine can be slow; the answer must be ok
    assert msg.get_attribute("class") == "msg ok", msg.inner_text()
    saved = {z["id"]: z for z in env.ctx.zones()}["door-3-2-601"]
    assert saved["household"] == "3-2-601" and saved["camera"] == "corridor-3-2"
    for (x, y), (sx, sy) in zip(corners, saved["polygon"], strict=True):
        assert abs(sx - x) < 0.01 and abs(sy - y) < 0.01
    saves = [r["zone"] for r in env.guard_records() if r["action"] == "zone_save"]
    assert saves == ["door-3-2-601"]
    page.reload()
    page.locator("#cameras svg polygon.zone").first.wait_for()
    page.locator("#zone-list li[data-zone='door-3-2-601']").wait_for()
    page.wait_for_function("document.getElementById('editor-img').naturalWidth > 0")
    shot(page, "cameras-zone-editor")
    # a bow tie is refused with a message, and nothing is saved
    page.click("#zone-clear")
    for x, y in [(0.5, 0.5), (0.9, 0.9), (0.9, 0.5), (0.5, 0.9)]:
        snap.click(position={"x": x * box["width"], "y": y * box["height"]})
    page.fill("#zone-id", "bowtie")
    page.fill("#zone-household", "3-2-601")
    page.click("#zone-save")
    page.locator("#zone-msg.error").wait_for()
    assert "cross" in page.locator("#zone-msg").inner_text()
    assert "bowtie" not in {z["id"] for z in env.ctx.zones()}


def test_guard_sees_no_zone_editor(env: Env, page: Any) -> None:
    login(page, env, "guard1")
    page.wait_for_url("**/live")
    env.ctx.camera_snapshot = lambda cam: None  # a camera that gives no picture
    page.goto(env.url + "/cameras")
    page.locator("#editor-denied").wait_for()
    assert page.locator("#editor").is_hidden()
    page.locator("#cameras .no-picture").wait_for()
    shot(page, "cameras-guard-no-picture")


def test_colour_map_filters(env: Env, page: Any) -> None:
    login(page, env, "guard1")
    page.wait_for_url("**/live")
    page.goto(env.url + "/households")
    tiles = page.locator("#hh-grid .hh")
    page.wait_for_function("document.querySelectorAll('#hh-grid .hh').length > 0")
    total = tiles.count()
    assert total == 31
    shot(page, "households-all")
    page.click("#colour-chips .chip.c-red")
    page.wait_for_function("document.querySelectorAll('#hh-grid .hh:not(.c-red)').length === 0")
    reds = tiles.count()
    assert 0 < reds < total and page.locator("#hh-count").inner_text() == str(reds)
    page.select_option("#status-filter", "home_quarantine")
    quarantined_red = tiles.count()
    assert quarantined_red >= 1
    statuses = tiles.evaluate_all("e => e.map(x => x.dataset.status)")
    assert all(s == "home_quarantine" for s in statuses)
    shot(page, "households-red-quarantine")
    page.click("#colour-chips .chip.all")
    page.select_option("#status-filter", "")
    page.fill("#hh-search", "3-2-601")
    page.wait_for_function("document.querySelectorAll('#hh-grid .hh').length === 1")
    assert tiles.first.get_attribute("data-key") == "3-2-601"


def test_health_page_says_not_available(env: Env, page: Any) -> None:
    env.gate.process_text("garbage")
    login(page, env, "guard1")
    page.wait_for_url("**/live")
    page.goto(env.url + "/health")
    page.locator("tr[data-key=outbox_depth] td").wait_for()
    assert page.locator("tr[data-key=outbox_depth] td").inner_text() == "1"
    assert page.locator("tr[data-key=broker_connected] td").inner_text() == "not available"
    assert "lists: 7" in page.locator("tr[data-key=list_versions] td").inner_text()
    shot(page, "health")


def test_expired_session_goes_back_to_login(env: Env, page: Any) -> None:
    login(page, env, "guard1")
    page.wait_for_url("**/live")
    page.goto("about:blank")  # the Live page's own 401 redirect must not race this one
    for token in list(env.server.console.sessions._by_token):
        env.server.console.sessions.drop(token)
    page.goto(env.url + "/households")
    page.wait_for_url("**/login?expired=1")
    assert "session has ended" in page.locator("#login-msg").inner_text()


def test_manual_open_by_admin_asks_a_reason_and_is_recorded(env: Env, page: Any) -> None:
    env.gate.process_text("https://shop.example/coupon/42")
    login(page, env, "admin1")
    page.wait_for_url("**/live")
    page.locator("#open-form").wait_for()
    page.click("#open-form button")  # no reason: the browser itself asks for one
    assert [r for r in env.guard_records() if r["action"] == "manual_open"] == []
    page.fill("#open-reason", "elderly resident without a phone, known to the guard")
    page.click("#open-form button")
    page.locator("#open-msg.ok").wait_for()
    page.wait_for_function("document.getElementById('door-last').textContent.length > 0")
    rec = next(r for r in env.guard_records() if r["action"] == "manual_open")
    assert rec["user"] == "admin1" and rec["reason"].startswith("elderly resident")
    shot(page, "live-admin-manual-open")


def test_guard_has_no_manual_open(env: Env, page: Any) -> None:
    login(page, env, "guard1")
    page.wait_for_url("**/live")
    page.locator("#door-state").wait_for()
    assert page.locator("#open-form").is_hidden()
