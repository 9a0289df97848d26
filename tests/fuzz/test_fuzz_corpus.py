"""Hand-picked hostile inputs (``corpus/*/``), replayed on every run: each gets its typed
refusal, within a second (issue 17). Add a file when an attack or a fuzz run finds one."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

import pytest
from healthkit import NOW

from edge.console.exchange import Exchange
from edge.core.limits import LimitError, load_json
from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verify import verify_text
from edge.sync import topics
from edge.sync.signing import Rejected, Verifier
from edge.vision.camera.imagehead import ImageHeaderError, check_image_header
from edge.vision.camera.sources import SourceError, read_image

CORPUS = Path(__file__).parent / "corpus"


def _files(kind: str) -> list[Path]:
    return sorted((CORPUS / kind).iterdir())


def _quick(t0: float) -> None:
    assert time.monotonic() - t0 < 1.0


@pytest.mark.parametrize("path", _files("text"), ids=lambda p: p.name)
def test_text_corpus(path: Path) -> None:
    text = os.fsdecode(path.read_bytes())  # as argv would carry it (surrogateescape)
    t0 = time.monotonic()
    v = verify_text(text, TrustStore(), NOW)
    _quick(t0)
    assert not v.valid and v.reasons
    json.dumps(v.to_json(), default=str)


@pytest.mark.parametrize("path", _files("json"), ids=lambda p: p.name)
def test_json_corpus(path: Path) -> None:
    raw = path.read_bytes()
    t0 = time.monotonic()
    with contextlib.suppress(LimitError):
        load_json(raw)
    ex = Exchange(
        console=None,
        command="POST",
        path="/api/zones",
        headers={},
        client_address=("", 0),
        body=raw,
    )  # type: ignore[arg-type]
    body = ex.json_body()
    _quick(t0)
    assert body is not None or (ex.answer is not None and ex.answer.status == 400)


@pytest.mark.parametrize("path", _files("images"), ids=lambda p: p.name)
def test_image_corpus(path: Path) -> None:
    t0 = time.monotonic()
    with pytest.raises(ImageHeaderError):
        check_image_header(path.read_bytes())
    with pytest.raises(SourceError):
        read_image(path)
    _quick(t0)


@pytest.mark.parametrize("path", _files("downlink"), ids=lambda p: p.name)
def test_downlink_corpus(path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    verifier = Verifier([Ed25519PrivateKey.generate().public_key()])
    t0 = time.monotonic()
    with pytest.raises(Rejected):
        verifier.open(topics.fleet("lists", "trust"), path.read_bytes())
    _quick(t0)
