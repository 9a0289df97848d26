"""Payload models of every MQTT message, version 1; the JSON schemas in ``schemas/`` are
generated from these (``python -m edge.sync.payloads``) and a test keeps them in step.

Uplink messages are plain JSON; downlink messages are :class:`SignedEnvelope` objects whose
``body`` string holds one of the ``*Body`` models below. Times are Unix seconds.

Versioning (docs/sync.md): every message carries ``v``, its major version (the envelope's
``v`` covers its signed body), and may carry ``minor``. Readers accept fields they do not know
and any minor version, and refuse another major version with the reason
``unsupported_version`` (:func:`parse_message`, :func:`check_version`). Unknown fields are kept
(``extra="allow"``), so what central signs is what it was given.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.core.limits import TIME_MAX_S, TIME_MIN_S, VERSION_MAX
from edge.core.records import RecordBody, RecordKind, read_body, record_schemas
from edge.core.records import schema_text as _record_schema_text

SCHEMA_DIR = Path(__file__).parent / "schemas"
RECORD_SCHEMA_DIR = SCHEMA_DIR / "records"  # one schema per record kind (edge.core.records)
MAJOR = 1  # message major version: a reader refuses any other
MINOR = 0  # minor version this code writes; a reader accepts any (additive changes only)


#: A signed body's expiry, Unix seconds: finite and within the range of a real time.
SignedExpiry = Annotated[float, Field(ge=TIME_MIN_S, le=TIME_MAX_S, allow_inf_nan=False)]


class UnsupportedVersion(ValueError):
    """A message of a major version this reader does not know."""

    reason = "unsupported_version"


def check_version(data: object) -> None:
    """Raise :class:`UnsupportedVersion` if ``data`` (a decoded message) declares a major
    version other than :data:`MAJOR`; a missing ``v`` is version 1 (the first gates)."""
    if isinstance(data, Mapping):
        v = data.get("v", 1)
        if isinstance(v, bool) or v != MAJOR:
            raise UnsupportedVersion(f"major version {v!r}; this reader knows {MAJOR}.x")


M = TypeVar("M", bound=BaseModel)


def parse_message(model: type[M], payload: bytes | str) -> M:
    """``payload`` as ``model``. Raises :class:`UnsupportedVersion` for another major version
    (also when the rest does not fit: a new major may change anything), else
    ``ValidationError`` when it does not fit."""
    try:
        msg = model.model_validate_json(payload)
    except ValidationError:
        try:
            data = json.loads(payload)
        except ValueError:
            data = None
        check_version(data)
        raise
    check_version({"v": getattr(msg, "v", 1)})
    return msg


class _Open(BaseModel):
    """Readers accept fields a newer minor version adds, and keep them (``model_extra``)."""

    model_config = ConfigDict(extra="allow", frozen=True)


_VERSION_DOC = f"major version ({MAJOR}); a reader refuses another"
_MINOR_DOC = "minor version (absent: 0); a reader accepts any (additive changes only)"


class RecordItem(BaseModel):
    """One gate record: fixed fields plus the record body's fields (kind-specific: one schema
    per kind in ``schemas/records/``, from :mod:`edge.core.records`). A kind this version does
    not know is still accepted and stored (a newer gate may send one)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    seq: int = Field(ge=1, description="per-gate monotonic sequence number")
    id: str = Field(min_length=1, max_length=64, description="unique id (UUID)")
    kind: str = Field(min_length=1, max_length=32, description="access, alert, gap, snapshot…")
    ts: float = Field(description="when the record was made, Unix seconds")

    @property
    def body(self) -> dict[str, Any]:
        """The body's fields: everything but seq, id, kind and ts."""
        return dict(self.model_extra or {})

    def typed(self) -> RecordBody | None:
        """The body as its kind's model, or None for a kind this version does not know;
        raises ``ValidationError`` when a known field is missing or of the wrong type."""
        try:
            kind = RecordKind(self.kind)
        except ValueError:
            return None
        return read_body(kind, self.body)


class RecordsBatch(_Open):
    """``gate/v1/{gate}/up/records`` and ``…/up/alerts``: a batch of records, QoS 1."""

    v: int = Field(default=MAJOR, description=_VERSION_DOC)
    minor: int | None = Field(default=None, ge=0, description=_MINOR_DOC)
    gate: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    sent_at: float = Field(description="when the batch was published, Unix seconds")
    records: list[RecordItem] = Field(min_length=1)
    epoch: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{32}$",
        description="id of the gate database the seqs belong to (new after a reinstall)",
    )


class Status(_Open):
    """``gate/v1/{gate}/up/status``, retained; the last will says ``offline``."""

    v: int = Field(default=MAJOR, description=_VERSION_DOC)
    minor: int | None = Field(default=None, ge=0, description=_MINOR_DOC)
    gate: str
    state: Literal["online", "offline"]
    ts: float | None = Field(default=None, description="when the state began, Unix seconds")


class Heartbeat(_Open):
    """``gate/v1/{gate}/up/heartbeat`` every 60 s, QoS 0."""

    v: int = Field(default=MAJOR, description=_VERSION_DOC)
    minor: int | None = Field(default=None, ge=0, description=_MINOR_DOC)
    gate: str
    ts: float
    outbox_depth: int = Field(ge=0, description="records not yet acknowledged by central")
    oldest_unacked_age_s: float | None = Field(description="age of the oldest such record, s")
    acked_upto: int = Field(ge=0, description="highest seq central acknowledged")
    list_versions: dict[str, int]
    components: dict[str, str] = Field(
        default_factory=dict, description="camera, detector… status: 'ok' or a short problem"
    )
    counters: dict[str, int] = Field(default_factory=dict, description="sync counters")


class SignedEnvelope(_Open):
    """Every downlink message: ``body`` is JSON text signed with a pinned central key. Its
    ``v``/``minor`` version the body too (the body's fields are read as leniently)."""

    v: int = Field(default=MAJOR, description=_VERSION_DOC)
    minor: int | None = Field(default=None, ge=0, description=_MINOR_DOC)
    alg: Literal["Ed25519"] = "Ed25519"
    kid: str = Field(pattern=r"^[0-9a-f]{16}$", description="key id: SHA-256(raw key)[:8] hex")
    sig: str = Field(description="base64 Ed25519 signature of the UTF-8 bytes of body")
    body: str = Field(description="JSON text of an AckBody, ListBody, CommandBody or ConfigBody")


class _Body(_Open):
    topic: str = Field(description="the topic it was published to: binds the signature")
    ts: float = Field(
        ge=TIME_MIN_S,
        le=TIME_MAX_S,
        allow_inf_nan=False,
        description="when central signed it, Unix seconds",
    )


class AckBody(_Body):
    """``gate/v1/{gate}/down/ack``: central stored every record up to ``upto``."""

    kind: Literal["ack"] = "ack"
    upto: int = Field(ge=0, description="highest contiguous seq stored at central")
    resend: list[tuple[int, int]] = Field(
        default_factory=list, description="inclusive seq ranges central is missing"
    )
    epoch: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{32}$",
        description="the gate database (epoch) this ack is about",
    )


class ListBody(_Body):
    """``…/down/lists/{name}`` (retained): a versioned list, full or delta."""

    kind: Literal["list"] = "list"
    name: Literal["households", "holder_colours", "revocations", "trust", "rules", "zones"]
    version: int = Field(
        ge=1, le=VERSION_MAX, description="monotonic; a version not above the current is stale"
    )
    mode: Literal["full", "delta"]
    base: int | None = Field(
        default=None, ge=0, le=VERSION_MAX, description="delta only: version it applies to"
    )
    data: Any = Field(description="full: the list; delta: {'upsert': …, 'remove': [...]}")
    expires: SignedExpiry | None = Field(
        default=None,
        description="refused after this, Unix seconds (anti-rollback: central re-signs before)",
    )


class CommandBody(_Body):
    """``…/down/commands``: expires within 60 s; the nonce is refused if seen again."""

    kind: Literal["command"] = "command"
    cmd: Literal["open", "arm", "disarm", "resync"]
    args: dict[str, Any] = Field(default_factory=dict, description="open: {'seconds': N}")
    nonce: str = Field(min_length=16, max_length=64)
    expires: float = Field(
        ge=TIME_MIN_S,
        le=TIME_MAX_S,
        allow_inf_nan=False,
        description="refused after this, Unix seconds (≤ ts + 60)",
    )


class ConfigBody(_Body):
    """``…/down/config``: versioned settings handed to the app."""

    kind: Literal["config"] = "config"
    version: int = Field(ge=1, le=VERSION_MAX)
    settings: dict[str, Any]
    expires: SignedExpiry | None = Field(
        default=None,
        description="refused after this, Unix seconds (anti-rollback: central re-signs before)",
    )


SCHEMAS: dict[str, type[BaseModel]] = {
    "records": RecordsBatch,
    "status": Status,
    "heartbeat": Heartbeat,
    "envelope": SignedEnvelope,
    "ack": AckBody,
    "list": ListBody,
    "command": CommandBody,
    "config": ConfigBody,
}


def schema_text(name: str) -> str:
    """The JSON schema of one payload, as shipped in ``schemas/{name}.json``."""
    schema = SCHEMAS[name].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://edge-gate.example/schemas/sync/v1/{name}.json"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def record_schema_texts() -> dict[str, str]:
    """``{file name: text}`` of the record schemas, as shipped in ``schemas/records/``."""
    return {f"{k}.json": _record_schema_text(s) for k, s in record_schemas().items()}


def write_schemas(folder: Path = SCHEMA_DIR) -> list[Path]:
    """Write every payload schema to ``folder`` and every record schema to ``folder/records``;
    a record schema of a kind that no longer exists is removed."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in SCHEMAS:
        path = folder / f"{name}.json"
        path.write_text(schema_text(name), encoding="utf-8")
        paths.append(path)
    records = folder / RECORD_SCHEMA_DIR.name
    records.mkdir(exist_ok=True)
    texts = record_schema_texts()
    for old in records.glob("*.json"):
        if old.name not in texts:
            old.unlink()
    for name, text in texts.items():
        path = records / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":  # pragma: no cover - maintenance entry point (scripts/gen-schemas.py)
    for p in write_schemas(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR):
        print(p)
