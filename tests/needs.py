"""What to do when a test's real component (broker, database, browser, data) is missing."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(what: str) -> NoReturn:
    """Skip on a developer machine that lacks ``what``; fail in CI, where `make test` installs
    it, so a missing install step can never pass as a green run."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} — `make test` should have installed it", pytrace=False)
    pytest.skip(reason=what)
