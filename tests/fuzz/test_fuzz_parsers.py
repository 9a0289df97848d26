"""Every parser that takes outside bytes, fuzzed: only the module's typed errors, bounded time,
and for credentials never an *allow* the unmodified input did not have (issue 17)."""

from __future__ import annotations

import contextlib
import json
import time
import tomllib
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fuzzkit import FUZZ
from healthkit import (
    NOW,
    ec_key,
    hc1,
    immunization,
    jwks,
    kid_of,
    lab,
    make_cert,
    pcr,
    shc_jws,
    shc_payload,
    shc_text,
)
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from edge.app.config import ConfigError, parse_config
from edge.core.limits import LimitError, load_json
from edge.gate.credentials import passes
from edge.gate.credentials.dsc import load_dsc_der
from edge.gate.credentials.jwks import load_jwks
from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verified import Role
from edge.gate.credentials.verify import verify_text, verify_texts
from edge.gate.rules.lists import ListsSnapshot
from edge.store.sqlite import Store
from edge.sync import topics
from edge.sync.downlink import DownlinkHandler
from edge.sync.signing import Rejected, Verifier, sign
from edge.vision.camera.imagehead import ImageHeaderError, check_image_header

PER_INPUT_S = 1.0  # every parser answers one input within this (the machine may be shared)

DER = make_cert(ec_key(0))
TRUST = TrustStore()
TRUST.add_dsc(load_dsc_der(DER))
for _k in load_jwks(jwks(ec_key(10))):
    TRUST.add_shc_key(_k)
ISSUER = Ed25519PrivateKey.generate()
TRUST.add_pass_issuer(ISSUER.public_key())
STRANGER = Ed25519PrivateKey.generate()  # signs credentials the gate must never allow

_BODY = dict(
    pass_id="P-1001", holder="h-1", building="3", unit="2", room="501", role=Role.RESIDENT,
    valid_from=int(NOW) - 86400, valid_until=int(NOW) + 86400, device_key=None,
)  # fmt: skip
VALID = [
    passes.issue(passes.PassBody(**_BODY), ISSUER),  # type: ignore[arg-type]
    hc1(pcr(), ec_key(0), kid_of(DER)),
    shc_text(shc_jws(shc_payload(immunization("2025-01-10"), lab("2025-12-31")), ec_key(10))),
]
NOT_ALLOWED = [
    passes.issue(passes.PassBody(**_BODY), STRANGER),  # type: ignore[arg-type]
    hc1(pcr(), ec_key(3), kid_of(DER)),  # signed by the wrong key
    shc_text(shc_jws(shc_payload(immunization("2025-01-10")), ec_key(11))),
]


def _timed(fn: Any, *args: Any) -> Any:
    t0 = time.monotonic()
    out = fn(*args)
    assert time.monotonic() - t0 < PER_INPUT_S, f"{fn.__name__} took too long"
    return out


def _mutate(text: str, data: st.DataObject) -> str:
    chars = list(text)
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["replace", "insert", "delete", "cut"]))
        i = data.draw(st.integers(0, max(len(chars) - 1, 0)))
        if op == "replace" and chars:
            chars[i] = data.draw(st.characters())
        elif op == "insert":
            chars.insert(i, data.draw(st.characters()))
        elif op == "delete" and chars:
            del chars[i]
        elif op == "cut":
            chars = chars[:i]
    return "".join(chars)


@FUZZ
@given(st.data())
def test_credentials_mutated_never_gain_an_allow(data: st.DataObject) -> None:
    original = data.draw(st.sampled_from(NOT_ALLOWED + VALID))
    was_valid = _timed(verify_text, original, TRUST, NOW).valid
    text = _mutate(original, data)
    v = _timed(verify_text, text, TRUST, NOW)
    assert v.reasons or v.valid
    if not was_valid:
        assert not v.valid, text
    json.dumps(v.to_json(), default=str)  # the CLI can always print it


@FUZZ
@given(st.lists(st.text(max_size=300), max_size=4))
def test_any_scanned_text_is_a_verdict(texts: list[str]) -> None:
    for v in _timed(verify_texts, texts, TRUST, NOW):
        assert not v.valid and v.reasons


VERIFIER = Verifier([ISSUER.public_key()], 64 * 1024)


@FUZZ
@given(st.binary(max_size=2048))
def test_unsigned_downlink_bytes_only_rejected(payload: bytes) -> None:
    with contextlib.suppress(Rejected):
        _timed(VERIFIER.open, topics.fleet("lists", "households"), payload)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=20,
)
_KINDS = ["lists", "commands", "config", "ack"]


@FUZZ
@given(data=st.data())
def test_signed_downlink_with_any_body_is_handled(
    data: st.DataObject, tmp_path_factory: Any
) -> None:
    """A *validly signed* message with arbitrary content: refused or applied, never a crash."""
    store = _store(tmp_path_factory)
    handler = DownlinkHandler(store, VERIFIER, clock=lambda: NOW)
    kind = data.draw(st.sampled_from(_KINDS))
    name = data.draw(st.sampled_from(["households", "trust", "rules", "revocations", "x"]))
    topic = topics.down("gate-a", kind, name if kind == "lists" else None)
    body = data.draw(
        st.dictionaries(
            st.sampled_from(
                [
                    "kind",
                    "name",
                    "version",
                    "mode",
                    "base",
                    "data",
                    "ts",
                    "expires",
                    "cmd",
                    "args",
                    "nonce",
                    "settings",
                    "upto",
                    "resend",
                    "epoch",
                ]
            ),
            _json,
            max_size=8,
        )
    )
    body["topic"] = data.draw(st.sampled_from([topic, "gate/v1/gate-b/down/lists/trust"]))
    try:
        payload = sign(ISSUER, body)
    except (TypeError, ValueError):
        return  # not JSON-serialisable by central's own signer: nothing to send
    _timed(handler.handle, topic, payload)


_STORES: dict[str, Store] = {}


def _store(factory: Any) -> Store:
    if "s" not in _STORES:
        _STORES["s"] = Store(factory.mktemp("fuzz") / "gate.sqlite3")
    return _STORES["s"]


@FUZZ
@given(st.binary(max_size=4096) | st.text(max_size=2000).map(str.encode))
def test_outside_json_only_limit_errors(raw: bytes) -> None:
    with contextlib.suppress(LimitError):
        _timed(load_json, raw)


@FUZZ
@given(st.binary(max_size=512))
def test_console_bodies_never_raise(raw: bytes) -> None:
    from edge.console.exchange import Exchange

    ex = Exchange(
        console=None, command="POST", path="/api/x", headers={}, client_address=("", 0), body=raw
    )  # type: ignore[arg-type]
    data = _timed(ex.json_body)
    assert data is None or isinstance(data, dict)
    assert data is not None or (ex.answer is not None and ex.answer.status == 400)
    form = _timed(ex.form_body)
    assert isinstance(form, dict)


@FUZZ
@given(st.text(max_size=600))
def test_config_text_only_config_errors(text: str) -> None:
    with contextlib.suppress(tomllib.TOMLDecodeError, ConfigError):
        parse_config(tomllib.loads(text))


@FUZZ
@given(_json)
def test_lists_json_only_validation_errors(obj: Any) -> None:
    with contextlib.suppress(ValidationError):
        ListsSnapshot.model_validate(obj)


_HEADERS = [
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0\0\0\x01\0\x08\x02\0\0\0",
    b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xff\xc0\0\x11\x08\x01\0\x01\0\x03",
    b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0\0\0\0\0\0\0\x9d\x01\x2a\x10\0\x10\0",
    b"BM\0\0\0\0\0\0\0\0\0\0\0\0\x28\0\0\0\x10\0\0\0\x10\0\0\0",
    b"II*\0\x08\0\0\0\x02\0\0\x01\x03\0\x01\0\0\0\x10\0\0\0\x01\x01\x03\0\x01\0\0\0\x10\0\0\0",
    b"GIF89a\x10\0\x10\0",
    b"P6\n16 16\n255\n",
]


@FUZZ
@given(st.sampled_from(_HEADERS), st.binary(max_size=64), st.integers(0, 40))
def test_image_headers_only_header_errors(head: bytes, junk: bytes, at: int) -> None:
    data = head[:at] + junk + head[at:]
    try:
        _fmt, w, h = _timed(check_image_header, data)
        assert w * h <= 40_000_000
    except ImageHeaderError:
        pass


def test_the_profiles_cover_100000_inputs() -> None:
    from fuzzkit import MAKE_FUZZ_EXAMPLES

    targets = [
        n
        for n in globals()
        if n.startswith("test_") and n != "test_the_profiles_cover_100000_inputs"
    ]
    assert len(targets) * MAKE_FUZZ_EXAMPLES >= 100_000, len(targets)
