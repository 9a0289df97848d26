"""Fixtures of the console tests: gate + console per test, HTTP client, headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_rig import CHROMIUM, OUTPUT, Client, Env, make_env
from needs import unavailable


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(tmp_path)


@pytest.fixture
def client(env: Env) -> Client:
    return Client(env.url)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        unavailable("Debian chromium is not installed (make test's bootstrap installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # bypass_csp: Playwright evaluates wait_for_function strings with eval, which the
    # console's strict Content-Security-Policy (rightly) forbids to page scripts.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    p = context.new_page()
    p.set_default_timeout(10_000)  # a loaded CI box; the 2 s promises are asserted apart
    yield p
    context.close()
