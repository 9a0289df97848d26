"""Process-level helpers shared by every long-running command (gate, sync, central)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable


def wait_for_signal(alive: Callable[[], bool] | None = None) -> bool:
    """Block until SIGTERM or SIGINT (Ctrl-C): True. With ``alive``, also return (False) as
    soon as it answers False — the worker the process exists for has died."""
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    while not done.wait(0.5):
        if alive is not None and not alive():
            return False
    return True
