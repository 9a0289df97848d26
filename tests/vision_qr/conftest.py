"""Fixtures of the QR reader tests: the generated hard set, rendered once per session."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from edge.tools.hardset import Case, cases, render_case

PER_KIND = 12  # 10 kinds x 12 = 120 images, ~10 s to render


@pytest.fixture(scope="session")
def hard_set() -> list[tuple[Case, np.ndarray]]:
    """Every case of the generated hard set with its BGR frame (in memory, not on disk)."""
    return [(case, render_case(case)) for case in cases(PER_KIND)]


@pytest.fixture
def no_edge_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Keep the expected warnings of bad-input tests out of the output."""
    caplog.set_level("ERROR", logger="edge")
    yield
