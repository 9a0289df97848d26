"""Hostile text and pictures given to ``edge-gate verify`` (issue 17): a reason, no traceback.

Before: lone surrogates or a 0xff byte in ``--text`` ended in a UnicodeEncodeError traceback;
an unreadable picture exited 2 with no JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verify import MAX_TEXT, verify_text, verify_texts
from edge.gate.reasons import Reason

EDGE_GATE = Path(sys.executable).with_name("edge-gate")


@pytest.mark.parametrize("raw", [b"abc\xff", b"\xed\xa0\x80x", b"HC1:\xc3(", b"shc:/\xff"])
def test_undecodable_argv_is_refused_with_a_reason(raw: bytes) -> None:
    out = subprocess.run(
        [os.fsencode(EDGE_GATE), b"verify", b"--json", b"--text", raw],
        capture_output=True,
        timeout=60,
    )
    assert out.returncode == 1, out.stderr
    assert b"Traceback" not in out.stderr
    result = json.loads(out.stdout)
    assert result["decoded"] is False and result["reasons"] == [Reason.INVALID_TEXT.value]


@pytest.mark.parametrize("text", ["\ud800", "CP1:\udcff", "x" * 10 + "\udfff" * 3])
def test_lone_surrogates_in_the_core(text: str) -> None:
    v = verify_text(text, TrustStore(), 1.8e9)
    assert not v.valid and list(v.reasons) == [Reason.INVALID_TEXT]
    (w,) = verify_texts([text], TrustStore(), 1.8e9)
    assert list(w.reasons) == [Reason.INVALID_TEXT]
    json.dumps(v.to_json())  # printable


def test_oversize_text_with_surrogates_is_too_large() -> None:
    v = verify_text("\ud800" * (MAX_TEXT + 1), TrustStore(), 1.8e9)
    assert list(v.reasons) == [Reason.TOO_LARGE]


def test_unreadable_picture_prints_decoded_false(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    out = subprocess.run(
        [str(EDGE_GATE), "verify", "--json", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr
    result = json.loads(out.stdout)
    assert result["decoded"] is False and result["reasons"] == [Reason.UNREADABLE_CODE.value]
    assert "error" in result
    missing = subprocess.run(
        [str(EDGE_GATE), "verify", "--json", str(tmp_path / "none.png")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2  # a file that is not there stays a usage error
