"""Key, trust and lists files that are not what they claim (issue 17): a config error (78).

Before: ``/dev/zero`` as a key file was read without bound (MemoryError traceback, exit 1), and
a private key given as an issuer key was accepted silently.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from svckit import GateProcess, NotifyListener

from edge.app.service import EXIT_CONFIG


def test_dev_zero_as_issuer_key_is_a_config_error(
    make_config: Callable[..., Path],
    gate_process: Callable[..., GateProcess],
    notify: NotifyListener,
) -> None:
    config = make_config(trust={"pass_issuer_keys": ["/dev/zero"]})
    gate = gate_process(config)
    status, err = gate.wait()
    assert status == EXIT_CONFIG, err
    assert "/dev/zero is not a regular file" in err
    assert "MemoryError" not in err and "Traceback" not in err


def test_dev_zero_as_lists_file_is_a_config_error(
    make_config: Callable[..., Path],
    gate_process: Callable[..., GateProcess],
    notify: NotifyListener,
) -> None:
    gate = gate_process(make_config(lists={"path": "/dev/zero"}))
    status, err = gate.wait()
    assert status == EXIT_CONFIG, err
    assert "lists file /dev/zero is not a regular file" in err
