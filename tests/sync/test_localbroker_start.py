"""The test broker starts even when a port it picked is taken before mosquitto binds it."""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

import pytest
from needs import unavailable

from edge.tools.localbroker import MOSQUITTO, Broker


def test_a_taken_port_gets_fresh_ports_on_first_start_and_a_clear_error_on_restart() -> None:
    if not Path(MOSQUITTO).exists():
        unavailable("mosquitto is not installed (make bootstrap installs it)")
    b = Broker(Path(tempfile.mkdtemp(prefix="edge-mq-port-")), gates=("gate-p",))
    squatter = socket.socket()
    try:
        b.setup()
        taken = b.tls
        squatter.bind(("127.0.0.1", taken))  # someone else got there first
        squatter.listen()
        b.start()  # before: 10 s, then "port … not listening"
        assert b.proc is not None and b.proc.poll() is None
        assert taken not in (b.plain, b.tls, b.mtls)
        with socket.create_connection(("127.0.0.1", b.tls), timeout=2):
            pass
        # A restart keeps its ports (clients know them): a taken one is an error naming why.
        b.kill()
        squatter.close()
        squatter = socket.socket()
        squatter.bind(("127.0.0.1", b.plain))
        squatter.listen()
        with pytest.raises(RuntimeError, match="in use"):
            b.start()
    finally:
        squatter.close()
        b.stop()
        shutil.rmtree(b.folder, ignore_errors=True)
