"""Suite-wide fixtures: keep global logging state from leaking between tests.

Several tests run CLI verbs in-process, and a verb may configure logging (root handlers, the
"edge" logger's level) as a real process would; restore both after each test.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    edge = logging.getLogger("edge")
    saved = (list(root.handlers), root.level, list(edge.handlers), edge.level, edge.propagate)
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    edge.handlers[:], edge.level, edge.propagate = saved[2], saved[3], saved[4]


@pytest.fixture(autouse=True)
def _no_installed_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the host's /etc/edge-gate: with $EDGE_GATE_CONFIG empty, a verb run
    without --config (in-process or as a child process) uses the embedded defaults."""
    monkeypatch.setenv("EDGE_GATE_CONFIG", "")
