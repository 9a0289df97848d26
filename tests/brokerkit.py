"""A real mosquitto for a test (``edge.tools.localbroker``): made, started, then stopped by
its pid and its folder removed, whatever the test did."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from needs import unavailable

from edge.tools.localbroker import MOSQUITTO, Broker


@contextmanager
def running_broker(gates: Sequence[str], prefix: str = "edge-mq-") -> Iterator[Broker]:
    """A broker with TLS and per-gate ACLs for ``gates``; skipped (failed in CI) without
    mosquitto installed."""
    if not os.path.exists(MOSQUITTO):
        unavailable("mosquitto is not installed (make bootstrap installs it)")
    # not under pytest's tmp_path: mosquitto must be able to read its files there
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    b = Broker(folder, gates=tuple(gates))
    try:
        b.setup()
        b.start()
        yield b
    finally:
        b.stop()
        shutil.rmtree(folder, ignore_errors=True)
