"""Issue 22 walk-throughs in a real browser (Debian Chromium, Playwright) at a booth PC's and
a phone's size: attention on every page, the resident's kiosk screen. Screenshots go into
``test-output/console/``; ``EDGE_UPDATE_SCREENSHOTS=1`` refreshes the ones in ``docs/console/``
(linked from docs/console.md) so a person can look at what was tested.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_rig import Env, login
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.console.board import GROUP_S, Board
from edge.console.booth import attention, next_step
from edge.core.clock import FakeClock
from edge.core.events import Event
from edge.core.records import EventKind
from edge.gate.credentials import passes
from edge.gate.credentials.verified import Role
from edge.gate.door.thermometer import FakeThermometer
from edge.gate.reasons import Reason
from edge.gate.rules.lists import ColourClass, Household, HouseholdStatus
from edge.gate.rules.profile import Mode, Rules
from edge.tools.render import Look, render_frame

# Screenshots go to test-output/ on every run; EDGE_UPDATE_SCREENSHOTS=1 writes them into
# docs/console/ instead, so that a test run never dirties the checkout by accident.
DOCS = Path(__file__).resolve().parents[2] / (
    "docs/console" if os.environ.get("EDGE_UPDATE_SCREENSHOTS") == "1" else "test-output/console"
)
VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}
GREEN_HOUSEHOLD = ("3", "1", "103")  # colour_map(): green, normal


@pytest.fixture(params=sorted(VIEWPORTS))
def vpage(request: pytest.FixtureRequest, browser: Any) -> Iterator[tuple[Any, str]]:
    width, height = VIEWPORTS[request.param]
    context = browser.new_context(
        viewport={"width": width, "height": height},
        bypass_csp=True,  # only so wait_for_function may evaluate; page scripts keep the CSP
        is_mobile=request.param == "phone",
        has_touch=request.param == "phone",
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page, request.param
    context.close()


def shot(page: Any, name: str, full: bool = False) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / f"{name}.png"), full_page=full)


def _alert(env: Env, alert_id: str) -> None:
    env.gate.events.publish(
        "alert",
        env.gate.clock.time(),
        id=alert_id,
        type="person_in_zone",
        phase="new",
        camera="cam-corridor",
        zone="door-3-2-601",
        household="3-2-601",
        message_en="person at an isolated household's door",
        message="有人在隔离住户门口",
    )


def test_alert_on_another_page_shows_badge_title_banner(env: Env, vpage: Any) -> None:
    page, size = vpage
    login(page, env, "zhguard")
    page.wait_for_url("**/live")
    page.click('nav a[data-nav="households"]')  # the guard is looking at the colour map
    page.wait_for_url("**/households")
    page.locator("body[data-stream=open]").wait_for()
    assert not page.locator("[data-testid=alert-badge]").is_visible()
    # the login click unlocked the alarm tone: no extra click on a "sound" button needed
    assert page.locator("body").get_attribute("data-audio") == "running"
    started = time.monotonic()
    _alert(env, "a1")
    badge = page.locator("[data-testid=alert-badge]")
    badge.wait_for(state="visible", timeout=2000)
    page.locator("[data-testid=attention]").wait_for(state="visible", timeout=2000)
    page.wait_for_function("document.title.startsWith('(1) ')", timeout=2000)
    assert time.monotonic() - started < 2.0
    assert badge.inner_text() == "1"
    banner = page.locator("[data-testid=attention]").inner_text()
    assert "3-2-601" in banner and "1 条未确认告警" in banner
    page.wait_for_function("Number(document.body.dataset.beeps || 0) >= 1", timeout=2000)
    # the same intruder seen again under a new id is the same event: still one alert
    _alert(env, "a2")
    page.wait_for_function(
        "document.querySelector('[data-testid=attention]').innerText.includes('×2')"
    )
    assert badge.inner_text() == "1"
    shot(page, f"attention-households-{size}")
    # acknowledge from the banner's link: gone everywhere, recorded with who and when
    page.click("[data-testid=attention] a.go")
    page.wait_for_url("**/live")
    card = page.locator("article[data-key=a1]")
    assert "×2" in card.locator("h3").inner_text()
    card.locator("textarea").fill("已电话核实")
    before = env.gate.clock.time()
    card.locator(".ack-btn").click()
    page.locator("article[data-key=a1].acked").wait_for(timeout=2000)
    page.wait_for_function("!document.title.startsWith('(')", timeout=2000)
    assert not badge.is_visible()
    assert page.locator("[data-testid=attention]").is_hidden()
    acks = [r for r in env.guard_records() if r["action"] == "ack"]
    assert len(acks) == 1 and acks[0]["user"] == "zhguard" and acks[0]["note"] == "已电话核实"
    assert acks[0]["ts"] >= before
    pending = {r.seq for r in env.gate.store.pending(100)}
    assert acks[0]["seq"] in pending  # queued for the platform like any record
    shot(page, f"attention-acked-{size}")


def _pass(room: tuple[str, str, str], valid_until_days: int = 30) -> str:
    # the demo issuer's deterministic key (edge.tools.demo), which the rig's gate trusts
    issuer = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"demo-issuer").digest())
    now = int(time.time())
    body = passes.PassBody(
        "P-K1", "h-K1", *room, Role.RESIDENT, now - 86_400, now + valid_until_days * 86_400
    )
    return passes.issue(body, issuer)


def test_kiosk_shows_decision_sentence_and_next_step(env: Env, vpage: Any) -> None:
    page, size = vpage
    login(page, env, "guard1")
    page.wait_for_url("**/live")
    page.goto(env.url + "/kiosk")
    page.locator("body[data-stream=open]").wait_for()
    assert page.locator("body").get_attribute("data-state") == "idle"
    assert "请出示通行码" in page.locator("[data-testid=kiosk-verdict]").inner_text()
    shot(page, f"kiosk-idle-{size}")
    env.gate.clock_trust = None  # this container has no NTP; the pass check needs a clock
    ok = env.gate.process_text(_pass(GREEN_HOUSEHOLD))
    assert ok.decision.allow
    page.locator("body[data-state=allow]").wait_for(timeout=2000)
    text = page.locator("main").inner_text()
    assert "请通行" in text and "Welcome" in text
    shot(page, f"kiosk-allow-{size}")
    refused = env.gate.process_text("https://shop.example/coupon/42")
    page.locator("body[data-state=deny]").wait_for(timeout=2000)
    text = page.locator("main").inner_text()
    assert refused.decision.sentence("zh") in text and refused.decision.sentence("en") in text
    zh, en = next_step(False, [r.value for r in refused.decision.reasons])
    assert zh in text and en in text
    assert "3-1-103" not in page.content()  # no household on the resident's screen
    shot(page, f"kiosk-deny-{size}")


def test_board_groups_one_event_into_one_alert() -> None:
    board = Board()
    data = {"type": "person_in_zone", "camera": "c", "zone": "z", "phase": "new"}
    board.on_event(Event(EventKind.ALERT, 100.0, {"id": "x1", **data}))
    board.on_event(Event(EventKind.ALERT, 130.0, {"id": "x2", **data}))
    board.on_event(Event(EventKind.ALERT, 131.0, {"id": "y1", **data, "zone": "other"}))
    got = attention(board, 140.0)
    assert got["count"] == 2
    assert {a["key"]: a["count"] for a in got["alerts"]} == {"x1": 2, "y1": 1}
    assert board.alert("x2") is board.alert("x1")  # the grouped id still finds its row
    board.acknowledge("x2", "g", 150.0, "")
    assert attention(board, 151.0)["count"] == 1
    # after an acknowledgement, or long after, the same place makes a new alert again
    board.on_event(Event(EventKind.ALERT, 160.0, {"id": "x3", **data}))
    board.on_event(Event(EventKind.ALERT, 160.0 + GROUP_S + 1, {"id": "x4", **data}))
    assert attention(board, 0.0)["count"] == 3


def test_next_step_for_every_reason_is_bilingual() -> None:
    from edge.gate.reasons import Reason

    for reason in Reason:
        zh, en = next_step(False, [reason.value])
        assert zh and en and zh != en
    assert next_step(True, []) == ("请通行", "Please go ahead")
    assert next_step(False, ["SOMETHING_NEW"])[1].startswith("Please wait beside the booth")


def test_history_search_finds_the_passage_and_exports_csv(env: Env, vpage: Any) -> None:
    page, size = vpage
    env.gate.clock_trust = None  # this container has no NTP; the pass check needs a clock
    assert env.gate.process_text(_pass(GREEN_HOUSEHOLD)).decision.allow
    refused = env.gate.process_text("https://shop.example/coupon/42")
    login(page, env, "zhguard")
    page.wait_for_url("**/live")
    page.click('nav a[data-nav="history"]')
    page.wait_for_url("**/history")
    page.locator("body[data-loaded]").wait_for(state="attached")
    assert page.locator("#h-rows tr").count() >= 2
    page.fill("#h-household", "3-1-103")
    page.select_option("#h-outcome", "allow")
    page.click("#h-search")
    page.wait_for_function("document.querySelectorAll('#h-rows tr').length === 1")
    row = page.locator("#h-rows tr").first.inner_text()
    assert "3-1-103" in row and "通过" in row
    assert str(time.localtime().tm_year) in row  # dates, not only times
    shot(page, f"history-search-{size}")
    # refusals by reason
    page.fill("#h-household", "")
    page.select_option("#h-outcome", "deny")
    page.select_option("#h-reason", refused.decision.reasons[0].value)
    page.click("#h-search")
    page.wait_for_function("document.querySelectorAll('#h-rows tr.o-deny').length === 1")
    assert refused.decision.sentence("zh") in page.locator("#h-rows").inner_text()
    href = page.locator("#h-csv").get_attribute("href")
    assert href is not None and "outcome=deny" in href
    with page.expect_download() as got:
        page.click("#h-csv")
    data = Path(got.value.path()).read_bytes()
    assert data.startswith("\ufeff".encode())  # spreadsheets need the BOM for Chinese
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("time,seq,kind,outcome,household")
    assert len(lines) == 2 and ",access,deny," in lines[1]
    assert refused.decision.sentence("zh") in lines[1]


def test_history_api_refuses_bad_filters_and_neutralises_formulas(env: Env) -> None:
    from console_rig import Client

    c = Client(env.url)
    assert c.login("guard1") == 200
    for bad in ("outcome=maybe", "kind=x", "reason=NOPE", "since=yesterday", "page=-1"):
        status, answer = c.api("GET", "/api/history?" + bad)
        assert status == 400 and answer["error"] == "bad_input", bad
    env.ctx.store.append(
        "guard",
        env.gate.clock.time(),
        {"gate": "g", "action": "ack", "user": "u", "role": "guard", "note": "=HYPERLINK(1)"},
    )
    status, raw, _ = c.request("GET", "/api/history.csv?kind=guard")
    assert status == 200
    text = raw.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text
    status, answer = c.api("GET", "/api/history?kind=guard")
    assert status == 200 and answer["rows"][0]["detail"] == "=HYPERLINK(1)"


def test_colour_map_tile_leads_to_the_households_history(env: Env, vpage: Any) -> None:
    page, size = vpage
    env.gate.clock_trust = None
    assert env.gate.process_text(_pass(GREEN_HOUSEHOLD)).decision.allow
    login(page, env, "guard1")
    page.wait_for_url("**/live")
    page.click('nav a[data-nav="households"]')
    page.click('#hh-grid a.hh[data-key="3-1-103"]')
    page.wait_for_url("**/history?household=3-1-103")
    page.wait_for_function("document.querySelectorAll('#h-rows tr.k-access').length === 1")
    assert page.input_value("#h-household") == "3-1-103"
    assert "3-1-103" in page.locator("#h-rows").inner_text()
    card = page.locator("[data-testid=household-card]")
    card.wait_for(state="visible")
    assert "3-1-103" in card.inner_text() and "Green" in card.inner_text()
    shot(page, f"household-history-{size}")


def _register(page: Any, visit: str, household: str, temp: str = "36.5") -> None:
    page.check(f'input[name="visit"][value="{visit}"]')
    page.fill("#v-name", "王小明")
    page.fill("#v-phone", "138 0013 8000")
    page.fill("#v-household", household)
    page.fill("#v-purpose", "探望老人" if visit == "visitor" else "送外卖")
    page.fill("#v-temp", temp)
    page.select_option("#v-colour", "green")
    page.check("#v-accept")
    page.click("#v-submit")


def test_visitor_registered_pass_scanned_allowed_then_refused_after_expiry(
    env: Env, vpage: Any
) -> None:
    page, size = vpage
    env.gate.clock_trust = None  # this container has no NTP; the pass check needs a clock
    login(page, env, "zhguard")
    page.wait_for_url("**/live")
    page.click('nav a[data-nav="visitors"]')
    page.wait_for_url("**/visitors")
    page.wait_for_function("document.querySelector('#v-commitment p').textContent.length > 20")
    assert "承诺" in page.locator("[data-testid=commitment]").inner_text()
    _register(page, "visitor", "3-1-103", temp="37.6")  # fever: refused, nothing recorded
    page.wait_for_function("document.querySelector('#v-msg').textContent.includes('体温异常')")
    assert not [r for r in env.gate.store.records() if r.kind == "visitor"]
    page.fill("#v-temp", "36.5")
    page.fill("#v-hours", "2")
    page.click("#v-submit")
    page.locator("[data-testid=visitor-pass]").wait_for(state="visible")
    page.wait_for_function("document.querySelector('#pass-qr').naturalWidth > 0")
    shot(page, f"visitor-pass-{size}", full=True)
    text = page.locator("#pass-qr").get_attribute("data-pass")
    assert text and text.startswith("CP1:")
    [reg] = [r for r in env.gate.store.records() if r.kind == "visitor"]
    assert reg.body["name"] == "王小明" and reg.body["phone_tail"] == "8000"
    assert reg.body["user"] == "zhguard"
    assert reg.body["valid_until"] - reg.body["valid_from"] == 7200
    assert "phone" not in reg.body  # only the last four digits are kept
    assert "13800138000" not in json.dumps(reg.body).replace(" ", "")
    # the resident's screen is open at the gate while the visitor scans the printed pass
    kiosk = page.context.new_page()
    kiosk.goto(env.url + "/kiosk")
    kiosk.locator("body[data-stream=open]").wait_for()
    frame = render_frame(text, seed=3, look=Look(phone=False))
    [ok] = env.gate.process_frame(frame)  # the real pipeline: camera frame -> QR -> verify
    assert ok.decision.allow, ok.decision.reasons
    kiosk.locator("body[data-state=allow]").wait_for(timeout=2000)
    shot(kiosk, f"kiosk-visitor-allow-{size}")
    entries = [r for r in env.gate.store.records() if r.kind == "access"]
    assert entries[-1].body["pass_id"] == reg.body["pass_id"] and entries[-1].body["allow"]
    # two hours and a second later the same pass is refused
    env.gate.clock = FakeClock(start=time.time() + 7201)
    [late] = env.gate.process_frame(frame)
    assert not late.decision.allow and Reason.EXPIRED in late.decision.reasons
    kiosk.locator("body[data-state=deny]").wait_for(timeout=2000)
    assert late.decision.sentence("zh") in kiosk.locator("main").inner_text()
    shot(kiosk, f"kiosk-visitor-expired-{size}")
    # a courier: registered, no pass
    _register(page, "courier", "3-1-103")
    page.wait_for_function("document.querySelector('#v-msg').textContent.includes('快递已登记')")
    assert page.locator("[data-testid=visitor-pass]").is_hidden()
    couriers = [r for r in env.gate.store.records() if r.kind == "visitor"][1:]
    assert [c.body["visit"] for c in couriers] == ["courier"] and "pass_id" not in couriers[0].body
    page.locator("#v-recent li.visit").nth(1).wait_for()
    shot(page, f"visitor-list-{size}")


def test_visitor_registration_refusals_over_http(env: Env) -> None:
    from console_rig import Client

    from edge.console.visitors import COMMITMENT_ID

    c = Client(env.url)
    assert c.login("guard1") == 200
    good = {
        "visit": "visitor", "name": "Li", "phone": "13800138000", "household": "3-1-103",
        "purpose": "visit", "temperature_c": 36.6, "health_colour": "green",
        "accepted": True, "commitment": COMMITMENT_ID, "hours": 3,
    }  # fmt: skip
    cases = [
        ({"accepted": False}, 400, "bad_input"),
        ({"commitment": "c0-old"}, 400, "bad_input"),
        ({"health_colour": "yellow"}, 409, "health_code"),
        ({"household": "9-9-999"}, 404, "no_household"),
        ({"household": "3-2-601"}, 409, "quarantine"),
        ({"hours": 48}, 400, "bad_input"),
        ({"phone": "call me"}, 400, "bad_input"),
        ({"name": "x" * 25}, 400, "bad_input"),
    ]
    for change, status, code in cases:
        got, answer = c.api("POST", "/api/visitors", {**good, **change})
        assert (got, answer.get("error")) == (status, code), change
    assert not [r for r in env.gate.store.records() if r.kind == "visitor"]
    got, answer = c.api("POST", "/api/visitors", good)
    assert got == 200 and answer["pass"]["qr"].startswith("data:image/svg+xml")
    got, listing = c.api("GET", "/api/visitors")
    assert listing["recent"][0]["name"] == "Li" and "phone" not in listing["recent"][0]


def test_colour_change_in_the_lists_warns_every_page(env: Env, vpage: Any) -> None:
    page, size = vpage
    login(page, env, "zhguard")
    page.wait_for_url("**/live")
    page.click('nav a[data-nav="households"]')
    page.locator("body[data-stream=open]").wait_for()
    page.wait_for_function("document.body.dataset.unacked === '0'")
    before = env.gate.lists
    changed = dict(before.households)
    changed["3-1-103"] = Household(colour=ColourClass.RED)  # was green
    old = before.households["3-1-102"]
    changed["3-1-102"] = Household(colour=old.colour, status=HouseholdStatus.SEALED)
    # what the sync layer does when a signed list arrives: swap the gate's snapshot
    update = {"version": before.version + 1, "households": changed}
    env.gate.lists = before.model_copy(update=update)
    # the console compares lists on its 5 s poll: allow a few polls on a loaded machine
    page.locator("[data-testid=alert-badge]").wait_for(state="visible", timeout=15000)
    page.wait_for_function("document.title.startsWith('(2) ')")
    banner = page.locator("[data-testid=attention]").inner_text()
    assert "健康码分色变化" in banner
    # the colour map redraws with the new lists
    page.locator('#hh-grid a.hh.c-red[data-key="3-1-103"]').wait_for(timeout=2000)
    shot(page, f"colour-change-{size}")
    alerts = [r.body for r in env.gate.store.records() if r.kind == "alert"]
    by_household = {a["household"]: a for a in alerts if a["alert"] == "colour_change"}
    assert set(by_household) == {"3-1-103", "3-1-102"}
    assert by_household["3-1-103"]["reason"] == "colour green → red"
    assert {k: by_household["3-1-103"][k] for k in ("source", "colour_from", "colour_to")} == {
        "source": "lists",  # the durable record says where the change was seen, as fields
        "colour_from": "green",
        "colour_to": "red",
    }
    assert "status normal → sealed" in by_household["3-1-102"]["reason"]
    page.click("[data-testid=attention] a.go")
    page.wait_for_url("**/live")
    page.wait_for_function("document.querySelectorAll('#alerts article:not(.acked)').length === 2")
    assert "3-1-103" in page.locator("#alerts").inner_text()


def test_unacknowledged_alert_escalates_by_itself(tmp_path: Path) -> None:
    from console_rig import Client, make_env

    for env in make_env(tmp_path, escalate_after_s=1.0):
        c = Client(env.url)
        assert c.login("guard1") == 200
        assert c.api("GET", "/api/attention")[0] == 200  # the console starts watching
        _alert(env, "slow")
        c.api("GET", "/api/attention")
        assert not [r for r in env.guard_records() if r["action"] == "auto_escalate"]
        time.sleep(1.2)
        status, data = c.api("GET", "/api/attention")
        assert status == 200 and data["alerts"][0]["escalated_by"] == "system"
        c.api("GET", "/api/attention")  # once only
        [auto] = [r for r in env.guard_records() if r["action"] == "auto_escalate"]
        assert auto["alert"] == "slow" and auto["user"] == "system"
        assert auto["seq"] in {r.seq for r in env.gate.store.pending(100)}  # to the platform


@pytest.fixture
def guard_env(tmp_path: Path) -> Iterator[Env]:
    from console_rig import make_env

    # The community's profile lets a guard decide when the thermometer gives no reading
    # (temperature = "guard"); the booth's thermometer misses the forehead (25 °C is no
    # body temperature: no reading). Every other rule is the default.
    for env in make_env(tmp_path):
        env.gate.clock_trust = None  # this container has no NTP: else CLOCK_UNTRUSTED too
        env.gate.rules = Rules(temperature=Mode.GUARD)
        env.gate.thermometer = FakeThermometer([25.0])
        yield env


def test_guard_lets_through_an_overrulable_refusal_and_the_record_names_them(
    guard_env: Env, vpage: Any
) -> None:
    env = guard_env
    page, size = vpage
    login(page, env, "zhguard")
    page.wait_for_url("**/live")
    page.locator("body[data-stream=open]").wait_for()
    refused = env.gate.process_text(_pass(GREEN_HOUSEHOLD))
    assert not refused.decision.allow and refused.record is not None
    assert refused.decision.reasons == (Reason.TEMPERATURE_UNAVAILABLE,)
    assert refused.decision.needs_guard  # the profile's rule, not the console's list
    seq = refused.record.seq
    prompt = page.locator(f'#scans li[data-seq="{seq}"] .decide')
    prompt.wait_for()  # the page default (10 s): a loaded CI box
    shot(page, f"guard-decision-{size}")
    prompt.locator("input").fill("额温枪未测到，改用水银体温计 36.6")
    prompt.locator(".decide-allow").click()
    page.locator(f'#scans li[data-seq="{seq}"] .msg.ok').wait_for()
    [rec] = [r for r in env.guard_records() if r["action"] == "overrule_allow"]
    assert rec["user"] == "zhguard" and rec["role"] == "guard" and rec["access_seq"] == seq
    assert rec["reason"] == "额温枪未测到，改用水银体温计 36.6"
    # the gate decided the real session again as confirmed by a guard
    assert rec["note"] == "TEMPERATURE_UNAVAILABLE GUARD_CONFIRMED"
    doors = [r.body for r in env.gate.store.records() if r.kind == "door"]
    assert any(d["event"] == "granted" and d.get("source") == "console" for d in doors)
    # a second refusal kept as it is: recorded, the door stays shut
    again = env.gate.process_text(_pass(GREEN_HOUSEHOLD))
    assert again.record is not None
    row = page.locator(f'#scans li[data-seq="{again.record.seq}"] .decide')
    row.wait_for()
    grants = len([r for r in env.gate.store.records() if r.kind == "door"])
    row.locator(".decide-deny").click()
    page.locator(f'#scans li[data-seq="{again.record.seq}"] .msg.ok').wait_for()
    assert [r["access_seq"] for r in env.guard_records() if r["action"] == "overrule_deny"] == [
        again.record.seq
    ]
    assert len([r for r in env.gate.store.records() if r.kind == "door"]) == grants


def test_only_refusals_the_profile_lets_a_guard_lift_can_be_decided(env: Env) -> None:
    from console_rig import Client

    c = Client(env.url)
    assert c.login("guard1") == 200
    env.gate.clock_trust = None
    forged = env.gate.process_text("https://shop.example/coupon/42")  # never a guard's call
    assert forged.record is not None
    seq = forged.record.seq
    status, answer = c.api("POST", f"/api/scans/{seq}/decide", {"allow": True, "reason": "x"})
    assert (status, answer["error"]) == (409, "not_overrulable")
    # TEMPERATURE_UNAVAILABLE is in the console's list, but this profile's temperature rule
    # is hard: no guard may lift it, whatever the console's list says
    env.gate.thermometer = FakeThermometer([25.0])
    hard = env.gate.process_text(_pass(GREEN_HOUSEHOLD))
    assert hard.decision.reasons == (Reason.TEMPERATURE_UNAVAILABLE,)
    assert not hard.decision.needs_guard and hard.record is not None
    path = f"/api/scans/{hard.record.seq}/decide"
    status, answer = c.api("POST", path, {"allow": True, "reason": "x"})
    assert (status, answer["error"]) == (409, "not_overrulable")
    status, answer = c.api("POST", "/api/scans/999999/decide", {"allow": True, "reason": "x"})
    assert (status, answer["error"]) == (404, "no_scan")
    assert not [r for r in env.guard_records() if r["action"].startswith("overrule")]
    status, page_html, _ = c.request("GET", "/live")
    assert b'data-overrule="HEALTH_CODE_UNAVAILABLE,' in page_html


def test_console_list_narrows_what_the_profile_allows(tmp_path: Path) -> None:
    from console_rig import Client, make_env

    for env in make_env(tmp_path, overrule_reasons=["HEALTH_CODE_UNAVAILABLE"]):
        env.gate.clock_trust = None
        env.gate.rules = Rules(temperature=Mode.GUARD)
        env.gate.thermometer = FakeThermometer([25.0])
        c = Client(env.url)
        assert c.login("guard1") == 200
        out = env.gate.process_text(_pass(GREEN_HOUSEHOLD))
        assert out.decision.needs_guard and out.record is not None
        status, answer = c.api(
            "POST", f"/api/scans/{out.record.seq}/decide", {"allow": True, "reason": "x"}
        )
        assert (status, answer["error"]) == (409, "not_overrulable")


def test_overrule_needs_a_reason_the_role_and_happens_once(guard_env: Env) -> None:
    from console_rig import Client

    env = guard_env
    guard, admin = Client(env.url), Client(env.url)
    assert guard.login("guard1") == 200 and admin.login("admin1") == 200
    out = env.gate.process_text(_pass(GREEN_HOUSEHOLD))
    assert out.record is not None
    path = f"/api/scans/{out.record.seq}/decide"
    assert guard.api("POST", path, {"allow": True})[1]["error"] == "missing"
    assert guard.api("POST", path, {"allow": "yes", "reason": "r"})[1]["error"] == "bad_input"
    assert guard.api("POST", path, {"allow": True, "reason": "checked"})[0] == 200
    status, answer = admin.api("POST", path, {"allow": False})
    assert (status, answer["error"]) == (409, "already_decided")
    assert "guard1" in answer["message"]


def _visitor_form(client: Any, **extra: Any) -> dict[str, Any]:
    commitment = client.api("GET", "/api/visitors")[1]["commitment"]["id"]
    return {
        "visit": "visitor", "name": "李四", "phone": "13900005678", "household": "3-1-103",
        "purpose": "送药", "temperature_c": 36.5, "health_colour": "green",
        "health_source": "typed", "accepted": True, "commitment": commitment, "hours": 2,
        **extra,
    }  # fmt: skip


def test_visitor_awaiting_household_confirmation_is_refused_until_a_guard_records_it(
    env: Env,
) -> None:
    from console_rig import Client

    env.gate.clock_trust = None
    guard, admin = Client(env.url), Client(env.url)
    assert guard.login("guard1") == 200 and admin.login("admin1") == 200
    status, answer = guard.api(
        "POST", "/api/visitors", _visitor_form(guard, needs_confirmation=True)
    )
    assert status == 200 and answer["record"]["needs_confirmation"] is True
    pass_id, text = answer["pass"]["pass_id"], answer["pass"]["text"]
    [row] = guard.api("GET", "/api/visitors")[1]["recent"]
    assert row["awaiting"] is True and row["confirmed_by"] is None
    # at the gate before the household confirmed: refused, a refusal a guard may lift
    first = env.gate.process_text(text)
    assert not first.decision.allow and first.decision.needs_guard
    assert first.decision.reasons == (Reason.VISITOR_REGISTRATION_REQUIRED,)
    # the household calls back: the guard records it on the visitor's row
    status, done = guard.api("POST", f"/api/visitors/{pass_id}/confirm", {"note": "电话确认"})
    assert status == 200 and done["record"]["action"] == "visitor_confirm"
    assert done["record"]["user"] == "guard1" and done["record"]["pass_id"] == pass_id
    status, again = admin.api("POST", f"/api/visitors/{pass_id}/confirm", {})
    assert (status, again["error"]) == (409, "already_confirmed") and "guard1" in again["message"]
    [row] = guard.api("GET", "/api/visitors")[1]["recent"]
    assert row["awaiting"] is False and row["confirmed_by"] == "guard1"
    env.gate.door.tick()
    second = env.gate.process_text(text)
    assert second.decision.allow, second.decision
    # a pass registered without the step is never held; unknown passes are refused politely
    status, answer = guard.api("POST", "/api/visitors", _visitor_form(guard))
    assert status == 200 and "needs_confirmation" not in answer["record"]
    status, missing = guard.api("POST", f"/api/visitors/{answer['pass']['pass_id']}/confirm", {})
    assert (status, missing["error"]) == (404, "no_visitor")


def test_visitor_holds_survive_a_console_restart(env: Env) -> None:
    from console_rig import Client

    from edge.console.holds import VisitorHolds

    c = Client(env.url)
    assert c.login("guard1") == 200
    _, answer = c.api("POST", "/api/visitors", _visitor_form(c, needs_confirmation=True))
    _, other = c.api("POST", "/api/visitors", _visitor_form(c, needs_confirmation=True))
    c.api("POST", f"/api/visitors/{other['pass']['pass_id']}/confirm", {})
    holds = VisitorHolds.load(env.gate.store, time.time())
    assert holds.held(answer["pass"]["pass_id"])
    assert not holds.held(other["pass"]["pass_id"])


def test_overrule_reasons_must_be_known_codes() -> None:
    from pydantic import ValidationError

    from edge.console.settings import ConsoleSettings

    with pytest.raises(ValidationError, match="unknown reason codes: HEALTH_CODE_UNAVAILBLE"):
        ConsoleSettings(overrule_reasons=["HEALTH_CODE_UNAVAILBLE"])


def test_header_names_the_gate(env: Env) -> None:
    from console_rig import Client

    c = Client(env.url)
    assert c.login("guard1") == 200
    _, html, _ = c.request("GET", "/households")
    gate = env.gate.config.gate
    assert f"{gate.name} · {gate.id}".encode() in html  # "Main gate · demo-gate"


def test_demo_console_health_shows_the_clock(env: Env, tmp_path: Path) -> None:
    from console_rig import Client

    from edge.tools.console_demo import DemoConsole

    demo = DemoConsole(env.gate, env.server.console.settings.model_copy(), tmp_path)
    try:
        c = Client(demo.server.url.rstrip("/"))
        assert c.login("demo-guard", demo.logins["demo-guard"]) == 200
        status, health = c.api("GET", "/api/health")
        assert status == 200 and isinstance(health["values"]["clock_trusted"], bool)
        assert health["values"]["outbox_depth"] is not None
    finally:
        demo.stop()


def test_every_page_fits_a_360px_phone(env: Env, browser: Any) -> None:
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, bypass_csp=True, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        login(page, env, "zhguard")
        page.wait_for_url("**/live")
        env.gate.process_text("https://shop.example/coupon/42")  # a long sentence in the list
        wide = {}
        for name in ("live", "visitors", "history", "cameras", "households", "health"):
            page.goto(f"{env.url}/{name}")
            page.locator("body[data-stream=open]").wait_for()
            page.wait_for_timeout(300)  # the page's first data drawn
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 360:
                wide[name] = width
                shot(page, f"too-wide-{name}-360")
        assert not wide, f"pages wider than the phone: {wide}"
    finally:
        context.close()


def test_household_card_has_status_zone_and_colour_changes(env: Env) -> None:
    from console_rig import Client

    from edge.tools.console_demo import ZONE

    assert env.ctx.save_zone is not None
    env.ctx.save_zone({k: v for k, v in ZONE.items() if k != "source"}, "test")
    c = Client(env.url)
    assert c.login("guard1") == 200
    c.api("GET", "/api/attention")  # the console starts watching the lists
    before = env.gate.lists
    changed = {**before.households, "3-2-601": Household(colour=ColourClass.GREEN)}
    env.gate.lists = before.model_copy(update={"version": 8, "households": changed})
    c.api("GET", "/api/attention")
    status, card = c.api("GET", "/api/households/3-2-601")
    assert status == 200 and card["colour"] == "green" and card["status"] == "normal"
    assert card["zones"] == [{"id": ZONE["id"], "camera": ZONE["camera"]}]
    assert [x["change"] for x in card["changes"]] == [
        "colour red → green, status home_quarantine → normal"
    ]
    assert c.api("GET", "/api/households/9-9-999")[0] == 404


def test_times_are_the_gates_not_the_browsers(tmp_path: Path, browser: Any) -> None:
    """A phone set to New York shows the Shanghai gate's times, and a time typed into the
    history search means the gate's time too (issue 22: dates with times in the gate's zone)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from console_rig import make_env

    gate_zone = ZoneInfo("Asia/Shanghai")
    for env in make_env(tmp_path, timezone="Asia/Shanghai"):
        env.gate.clock_trust = None
        passage = env.gate.process_text(_pass(GREEN_HOUSEHOLD))
        assert passage.record is not None and passage.decision.allow
        context = browser.new_context(
            viewport={"width": 1366, "height": 768},
            timezone_id="America/New_York",  # 13 h behind Shanghai in December
            bypass_csp=True,
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            login(page, env, "guard1")  # English: en-GB dates, dd/mm/yyyy, hh:mm:ss
            page.wait_for_url("**/live")
            assert page.evaluate("new Date().getTimezoneOffset()") == 300  # really New York
            local = datetime.fromtimestamp(passage.record.ts, gate_zone)
            shown = f"{local:%d/%m/%Y}, {local:%H:%M:%S}"
            elsewhere = datetime.fromtimestamp(passage.record.ts, ZoneInfo("America/New_York"))
            item = page.locator(f'#scans li[data-seq="{passage.record.seq}"] .meta')
            item.wait_for()
            assert shown in item.inner_text()
            assert f"{elsewhere:%H:%M:%S}" not in item.inner_text()
            page.goto(env.url + "/history")
            page.locator("body[data-loaded]").wait_for(state="attached")
            assert shown in page.locator("#h-rows").inner_text()
            # "since" one minute after the passage, typed as the gate's wall clock: it is gone
            after = (local + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
            page.fill("#h-since", after)
            page.click("#h-search")
            page.wait_for_function("document.querySelectorAll('#h-rows tr[data-seq]').length === 0")
            before = (local - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
            page.fill("#h-since", before)
            page.click("#h-search")
            page.wait_for_function("document.querySelectorAll('#h-rows tr[data-seq]').length >= 1")
            shot(page, "history-gate-time-zone")
            page.goto(env.url + "/health")
            row = page.locator('tr[data-key="time_zone"]')
            row.wait_for()
            assert "Asia/Shanghai" in row.inner_text()
        finally:
            context.close()


def test_guard_records_the_households_confirmation_of_a_visitor(env: Env, vpage: Any) -> None:
    page, size = vpage
    env.gate.clock_trust = None  # this container has no NTP; the pass check needs a clock
    login(page, env, "zhguard")
    page.wait_for_url("**/live")
    page.goto(env.url + "/visitors")
    page.wait_for_function("document.querySelector('#v-commitment p').textContent.length > 20")
    page.check("#v-needs-confirm")  # the household must say yes first (by phone)
    _register(page, "visitor", "3-1-103")
    page.locator("[data-testid=visitor-pass]").wait_for(state="visible")
    text = page.locator("#pass-qr").get_attribute("data-pass")
    assert text
    row = page.locator("#v-recent li").first
    row.locator(".v-confirm").wait_for()
    assert "等待住户确认" in row.inner_text()
    refused = env.gate.process_text(text)  # at the gate before the household said yes
    assert refused.decision.reasons == (Reason.VISITOR_REGISTRATION_REQUIRED,)
    assert refused.decision.needs_guard
    shot(page, f"visitor-awaiting-{size}", full=True)
    row.locator(".v-confirm").click()
    page.wait_for_function(
        "document.querySelector('#v-recent li .confirm-state').textContent.includes('zhguard')"
    )
    [rec] = [r for r in env.guard_records() if r["action"] == "visitor_confirm"]
    assert rec["user"] == "zhguard" and rec["household"] == "3-1-103"
    shot(page, f"visitor-confirmed-{size}", full=True)
    env.gate.door.tick()
    assert env.gate.process_text(text).decision.allow


def test_health_page_lists_workers_and_components(env: Env, page: Any) -> None:
    from edge.app.console_context import health_provider

    rows = [
        {"name": "store writer", "state": "running", "restarts": 0, "problem": ""},
        {"name": "sync", "state": "degraded", "restarts": 0, "problem": "not connected"},
        {"name": "housekeeping", "state": "backoff", "restarts": 3, "problem": "disk full"},
    ]
    env.ctx.health = health_provider(env.gate, workers=lambda: rows)
    login(page, env, "guard1")
    page.wait_for_url("**/live")
    page.goto(env.url + "/health")
    table = page.locator("[data-testid=workers]")
    table.wait_for()
    assert table.locator("tr[data-worker]").count() == 3
    failing = table.locator('tr[data-worker="housekeeping"]')
    assert "failing, retrying" in failing.inner_text() and "disk full" in failing.inner_text()
    assert "3" in failing.inner_text()
    assert "not connected" in table.locator('tr[data-worker="sync"]').inner_text()
    shot(page, "health-workers")
