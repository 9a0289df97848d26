"""Helpers of the console tests: a real gate (mock pins) with a console on a free port and
accounts, an HTTP client that speaks the console's login/CSRF protocol, and the browser login.
(Named console_rig, not conftest, so it never clashes with another test folder's helpers.)"""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gpiozero.pins.mock import MockFactory

from edge.app.config import Config
from edge.app.console_context import console_context
from edge.app.gate import Gate, build_gate
from edge.console import ConsoleContext, ConsoleServer
from edge.console.settings import ConsoleSettings
from edge.gate.rules.lists import ColourClass, Household, HouseholdStatus, ListsSnapshot
from edge.store.settings import StoreSettings
from edge.tools.console_demo import CAMERA, corridor, jpeg
from edge.tools.demo import demo_trust

PASSWORDS = {"guard1": "guard-pass-1", "admin1": "admin-pass-1", "zhguard": "zh-guard-pass"}
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "console"
CHROMIUM = Path("/usr/bin/chromium")


def colour_map() -> ListsSnapshot:
    """30 households over two buildings with every colour class and status."""
    colours = list(ColourClass)
    households = {}
    for i in range(30):
        key = f"{3 + i // 15}-{1 + (i // 5) % 3}-{101 + i % 5 + 100 * (i // 10)}"
        status = HouseholdStatus.NORMAL
        if i in (3, 11):
            status = HouseholdStatus.HOME_QUARANTINE
        elif i == 17:
            status = HouseholdStatus.SEALED
        elif i == 22:
            status = HouseholdStatus.CONTROLLED
        households[key] = Household(status=status, colour=colours[i % len(colours)])
    quarantined = Household(status=HouseholdStatus.HOME_QUARANTINE, colour=ColourClass.RED)
    households["3-2-601"] = quarantined
    return ListsSnapshot(version=7, households=households)


@dataclass
class Env:
    gate: Gate
    server: ConsoleServer
    ctx: ConsoleContext
    tmp: Path

    @property
    def url(self) -> str:
        return self.server.url.rstrip("/")

    def guard_records(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.gate.store.records() if r.kind == "guard"]


def make_env(tmp: Path, **settings: Any) -> Iterator[Env]:
    config = Config().model_copy(update={"store": StoreSettings(path=tmp / "gate.sqlite3")})
    gate = build_gate(config, trust=demo_trust(), lists=colour_map(), pin_factory=MockFactory())
    ctx = console_context(
        gate,
        cameras=lambda: [dict(CAMERA)],
        camera_snapshot=lambda cam: jpeg(corridor()) if cam == CAMERA["id"] else None,
    )
    # the booth's delegated visitor key: the console signs with it, the gate trusts it
    ctx.visitor_key = Ed25519PrivateKey.generate()
    gate.trust.add_visitor_issuer(ctx.visitor_key.public_key())
    server = ConsoleServer(ctx, ConsoleSettings(port=0, **settings)).start()
    accounts = server.console.accounts
    accounts.add("guard1", PASSWORDS["guard1"], "guard", "en")
    accounts.add("admin1", PASSWORDS["admin1"], "admin", "en")
    accounts.add("zhguard", PASSWORDS["zhguard"], "guard", "zh")
    try:
        yield Env(gate, server, ctx, tmp)
    finally:
        server.stop()
        gate.close()


class Client:
    """A browser-like HTTP client: cookies, login form token, CSRF header on API calls."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = ""

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes, str]:
        req = urllib.request.Request(self.base + path, body, headers or {}, method=method)
        try:
            with self.opener.open(req, timeout=10) as res:
                return res.status, res.read(), res.url
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.url

    def login(self, name: str, password: str | None = None) -> int:
        _, page, _ = self.request("GET", "/login")
        token = re.search(rb'name="csrf" value="([^"]+)"', page)
        assert token
        form = {"csrf": token.group(1).decode(), "username": name}
        form["password"] = password if password is not None else PASSWORDS[name]
        data = urllib.parse.urlencode(form).encode()
        status, page, _ = self.request("POST", "/login", data)
        found = re.search(rb'name="csrf" content="([^"]+)"', page)
        self.csrf = found.group(1).decode() if found else ""
        return status

    def api(
        self, method: str, path: str, data: Any = None, csrf: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        body = None if data is None else json.dumps(data).encode()
        headers = {"Content-Type": "application/json", "X-CSRF-Token": csrf or self.csrf}
        status, raw, _ = self.request(method, path, body, headers)
        return status, json.loads(raw or b"{}")


def login(page: Any, env: Env, name: str, password: str | None = None) -> None:
    page.goto(env.url + "/login")
    page.fill("#username", name)
    page.fill("#password", password if password is not None else PASSWORDS[name])
    page.click("#login-btn")
