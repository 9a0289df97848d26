"""Write docs/asyncapi.yaml, the MQTT contract, from the code that speaks it.

Run from the repository root after changing a topic (edge/sync/topics.py), a payload model
(edge/sync/payloads.py) or a record body (edge/core/records.py):

    .venv/bin/python scripts/gen-asyncapi.py [FILE]      (default: docs/asyncapi.yaml)

Every schema in the document is generated from the pydantic models (inlined: the AsyncAPI
parser resolves ``$ref`` against the document, not against each schema), every message has an
example built from the same models (downlink examples are really signed, with the example key
below, so a reader can check its verifier against them), and every channel and operation
carries its MQTT bindings. tests/sync/test_asyncapi.py fails while the committed file differs
from what this writes, and validates the document with the AsyncAPI project's own parser.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel

from edge.core.records import (
    AccessBody,
    AlertBody,
    CredentialSummary,
    DoorBody,
    RecordKind,
    ScanBody,
    record_schemas,
)
from edge.gate.credentials.trust import ed25519_kid
from edge.sync import topics
from edge.sync.payloads import (
    MAJOR,
    MINOR,
    SCHEMAS,
    AckBody,
    CommandBody,
    ConfigBody,
    Heartbeat,
    ListBody,
    RecordsBatch,
    SignedEnvelope,
    Status,
)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "asyncapi.yaml"
GATE = "gate-a"
TS = 1_764_900_000.0  # a fixed time: the document must not change from one run to the next
# The example key: public, deterministic, trusted by nobody. It only makes the examples real.
EXAMPLE_KEY = Ed25519PrivateKey.from_private_bytes(
    hashlib.sha256(b"edge-gate asyncapi example key, never trusted").digest()
)
MQTT = "0.2.0"  # MQTT bindings version


# -- schemas ------------------------------------------------------------------------------------


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with its local ``#/$defs/…`` references replaced by their targets."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                target = walk(copy.deepcopy(defs[ref.removeprefix("#/$defs/")]))
                return {**target, **{k: walk(v) for k, v in node.items() if k != "$ref"}}
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    out: dict[str, Any] = walk(schema)
    out.pop("$schema", None)
    out.pop("$id", None)
    return out


def _model(model: type[BaseModel]) -> dict[str, Any]:
    return _inline(model.model_json_schema())


def _records_schema(schemas: dict[str, Any]) -> dict[str, Any]:
    """The batch schema whose records must each match their kind's schema (an unknown kind —
    from a newer gate — is accepted with the common fields only)."""
    batch = _model(RecordsBatch)
    batch["properties"]["records"]["items"] = {
        "type": "object",
        "required": ["seq", "id", "kind", "ts"],
        "properties": {
            "seq": {"type": "integer", "minimum": 1},
            "id": {"type": "string", "minLength": 1, "maxLength": 64},
            "kind": {"type": "string", "minLength": 1, "maxLength": 32},
            "ts": {"type": "number"},
        },
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": k}}, "required": ["kind"]},
                "then": {"$ref": f"#/components/schemas/record_{k}"},
            }
            for k in sorted(r.value for r in RecordKind)
        ],
    }
    return batch


def _envelope(body: str) -> dict[str, Any]:
    """The envelope schema whose ``body`` text holds a ``body`` schema (JSON Schema 2019+
    ``contentSchema``: a checker decodes the text and validates it)."""
    env = _model(SignedEnvelope)
    env["properties"]["body"] = {
        **env["properties"]["body"],
        "contentMediaType": "application/json",
        "contentSchema": {"$ref": f"#/components/schemas/{body}"},
    }
    return env


def schemas() -> dict[str, Any]:
    """Every schema of the document, by component name."""
    out: dict[str, Any] = {}
    for kind, schema in sorted(record_schemas().items()):
        out[f"record_{kind}"] = _inline(dict(schema))
    out["recordsBatch"] = _records_schema(out)
    out["status"] = _model(Status)
    out["heartbeat"] = _model(Heartbeat)
    for name, model in (
        ("ackBody", AckBody),
        ("listBody", ListBody),
        ("commandBody", CommandBody),
        ("configBody", ConfigBody),
    ):
        out[name] = _model(model)
        out[f"{name.removesuffix('Body')}Envelope"] = _envelope(name)
    out["signedEnvelope"] = _model(SignedEnvelope)
    return out


# -- examples -----------------------------------------------------------------------------------


def _record(seq: int, body: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "id": f"0b6f1c2e-6a53-4e0c-9d1e-{seq:012d}",
        "kind": body.kind.value,
        "ts": TS + seq,
        **body.to_json(),
    }


def _signed(body: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return {
        "v": MAJOR,
        "alg": "Ed25519",
        "kid": ed25519_kid(EXAMPLE_KEY.public_key()).hex(),
        "sig": base64.b64encode(EXAMPLE_KEY.sign(text.encode())).decode(),
        "body": text,
    }


def examples() -> dict[str, dict[str, Any]]:
    """One example payload per message, built from the models (so it validates)."""
    access = AccessBody(
        gate=GATE,
        direction="in",
        allow=True,
        reasons=[],
        flags=[],
        relay="pulse",
        credentials=[
            CredentialSummary(kind="pass", format="PASS", outcome="valid", reasons=[]),
            CredentialSummary(
                kind="health_code", format="HEALTH_CODE", outcome="green", reasons=[]
            ),
        ],
        code_hashes=["9f2c41d07a1e", "51b0e3aa2c77"],
        format="PASS",
        code_hash="9f2c41d07a1e",
        pass_id="P-1042",
        household="3-2-501",
        role="resident",
    )
    scan = ScanBody(gate=GATE, direction="in", missing=["health_code"], format="PASS")
    door = DoorBody(gate=GATE, event="held_open_alarm", state="held_open", open_s=62.0)
    alert = AlertBody(
        alert="person_in_zone",
        reason="",
        gate=GATE,
        alert_id="a7",
        phase="new",
        camera="north",
        zone="fence-n",
        score=0.81,
        started=TS,
    )
    epoch = "5d41402abc4b2a76b9719d911017c592"
    ack_topic = topics.down(GATE, "ack")
    list_topic = topics.fleet("lists", "revocations")
    cmd_topic = topics.down(GATE, "commands")
    cfg_topic = topics.down(GATE, "config")
    return {
        "recordsBatch": RecordsBatch(
            gate=GATE,
            sent_at=TS + 3,
            epoch=epoch,
            records=[_record(1, scan), _record(2, access)],  # type: ignore[list-item]
        ).model_dump(mode="json", exclude_none=True),
        "alertsBatch": RecordsBatch(
            gate=GATE,
            sent_at=TS + 5,
            epoch=epoch,
            records=[_record(3, door), _record(4, alert)],  # type: ignore[list-item]
        ).model_dump(mode="json", exclude_none=True),
        "status": Status(gate=GATE, state="online", ts=TS).model_dump(mode="json"),
        "heartbeat": Heartbeat(
            gate=GATE,
            ts=TS + 60,
            outbox_depth=0,
            oldest_unacked_age_s=None,
            acked_upto=4,
            list_versions={"households": 12, "revocations": 3},
            components={"camera:north": "ok", "detector": "ok"},
            counters={"published": 4, "acked": 4},
        ).model_dump(mode="json"),
        "ack": _signed(
            AckBody(topic=ack_topic, ts=TS + 6, upto=4, epoch=epoch).model_dump(mode="json")
        ),
        "list": _signed(
            ListBody(
                topic=list_topic,
                ts=TS,
                name="revocations",
                version=3,
                mode="delta",
                base=2,
                data={"add": ["P-77"], "remove": []},
                expires=TS + 7 * 86400,
            ).model_dump(mode="json", exclude_none=True)
        ),
        "command": _signed(
            CommandBody(
                topic=cmd_topic,
                ts=TS,
                cmd="open",
                args={"seconds": 5},
                nonce="3f1d0c9a8b7e6d5c4b3a29181716a5b4",
                expires=TS + 30,
            ).model_dump(mode="json")
        ),
        "config": _signed(
            ConfigBody(
                topic=cfg_topic, ts=TS, version=7, settings={"door": {"pulse_s": 3.0}}
            ).model_dump(mode="json", exclude_none=True)
        ),
    }


# -- the document -------------------------------------------------------------------------------


def _op_binding(qos: int, retain: bool) -> dict[str, Any]:
    return {"mqtt": {"qos": qos, "retain": retain, "bindingVersion": MQTT}}


def _message(
    name: str, title: str, summary: str, payload: str, example: dict[str, Any], text: str
) -> dict[str, Any]:
    return {
        "name": name,
        "title": title,
        "summary": summary,
        "description": text,
        "contentType": "application/json",
        "payload": {"$ref": f"#/components/schemas/{payload}"},
        "bindings": {"mqtt": {"payloadFormatIndicator": 1, "bindingVersion": MQTT}},
        "examples": [{"name": f"{name}Example", "summary": summary, "payload": example}],
    }


def document() -> dict[str, Any]:
    ex = examples()
    gate_param = {"$ref": "#/components/parameters/gate"}
    up = f"gate/{topics.VERSION}/{{gate}}/up"
    down = f"gate/{topics.VERSION}/{{gate}}/down"
    fleet = f"fleet/{topics.VERSION}/down"
    signed_text = (
        "Signed envelope (Ed25519 over the UTF-8 bytes of `body`, central keys pinned in the "
        "gate's config); `body` is JSON text whose schema is `{body}` and which names the "
        "topic it was published on. The example is signed by a public example key."
    )
    messages = {
        "recordsBatch": _message(
            "recordsBatch",
            "Records",
            "A batch of gate records, each valid against its kind's schema.",
            "recordsBatch",
            ex["recordsBatch"],
            "`seq` per gate database, monotonic, never reused; `epoch` names that database. "
            "Records stay on the gate until central's signed ack covers them.",
        ),
        "alertsBatch": _message(
            "alertsBatch",
            "Alerts",
            "The same batch format (same seq space) for alerts and door alarms.",
            "recordsBatch",
            ex["alertsBatch"],
            "Records of kind `alert`, and `door` records whose event is a door alarm "
            "(`held_open_alarm`, `forced_open`, `tamper`) or its `alarm_cleared`.",
        ),
        "jpeg": {
            "name": "jpeg",
            "title": "Snapshot JPEG",
            "summary": "Raw JPEG bytes of a kept snapshot.",
            "contentType": "image/jpeg",
            "payload": {"type": "string", "format": "binary"},
            "bindings": {"mqtt": {"payloadFormatIndicator": 0, "bindingVersion": MQTT}},
            "examples": [
                {
                    "name": "jpegExample",
                    "summary": "JPEG magic bytes (truncated)",
                    "payload": "/9j/4AAQSkZJRgABAQ",
                }
            ],
        },
        "status": _message(
            "status",
            "Status",
            "online on connect, offline on clean stop and as the last will (retained).",
            "status",
            ex["status"],
            "Retained, so a receiver that starts later sees every gate's state.",
        ),
        "heartbeat": _message(
            "heartbeat",
            "Heartbeat",
            "Outbox depth, oldest unacked age, list versions, components, every 60 s.",
            "heartbeat",
            ex["heartbeat"],
            "QoS 0: a lost heartbeat is replaced by the next one.",
        ),
    }
    for kind, title, summary in (
        ("ack", "Ack", "Highest contiguous seq central stored, and ranges to resend."),
        ("list", "List", "A versioned list, full or delta (retained)."),
        ("command", "Command", "open, arm, disarm, resync: expires ≤ 60 s after signing."),
        ("config", "Config", "Versioned settings handed to the gate's app."),
    ):
        messages[kind] = _message(
            kind,
            title,
            summary,
            f"{kind}Envelope",
            ex[kind],
            signed_text.format(body=f"#/components/schemas/{kind}Body"),
        )

    def ref(kind: str) -> dict[str, str]:
        return {"$ref": f"#/components/messages/{kind}"}

    def chan(address: str, text: str, msgs: list[str], **params: Any) -> dict[str, Any]:
        return {
            "address": address,
            "description": text,
            "parameters": {"gate": gate_param, **params} if "{gate}" in address else params,
            "messages": {m: ref(m) for m in msgs},
            "bindings": {"mqtt": {}},  # MQTT channel bindings have no fields (bindings 0.2.0)
        }

    list_names = sorted(ListBody.model_fields["name"].annotation.__args__)  # type: ignore[union-attr]
    name_param = {"enum": list_names, "description": "list name"}
    channels = {
        "records": chan(f"{up}/records", "Uplink records (QoS 1).", ["recordsBatch"]),
        "alerts": chan(f"{up}/alerts", "Uplink alerts and door alarms (QoS 1).", ["alertsBatch"]),
        "snapshots": chan(
            f"{up}/snapshots/{{id}}",
            "Raw JPEG bytes (never base64 in records), published just before the `snapshot` "
            "record with the same `snapshot_id`. Central stores the record only once it holds "
            "the JPEG; a JPEG the gate dropped is announced by `blob_dropped` and a `gap` "
            "record. Topic in short: up/snapshots/{id}.",
            ["jpeg"],
            id={"description": "snapshot id: 32 lowercase hex digits"},
        ),
        "status": chan(f"{up}/status", "Retained gate state; also the last will.", ["status"]),
        "heartbeat": chan(f"{up}/heartbeat", "Gate health every 60 s (QoS 0).", ["heartbeat"]),
        "ack": chan(f"{down}/ack", "Central's signed acknowledgement (QoS 1).", ["ack"]),
        "lists": chan(
            f"{down}/lists/{{name}}",
            "Retained signed list for one gate; stale versions refused; applied atomically "
            "and acknowledged by a `lists_applied` record. Topic in short: down/lists/{name}.",
            ["list"],
            name=name_param,
        ),
        "config": chan(f"{down}/config", "Signed versioned settings (retained).", ["config"]),
        "commands": chan(
            f"{down}/commands", "Signed command; the nonce is refused if seen again.", ["command"]
        ),
        "fleetLists": chan(
            f"{fleet}/lists/{{name}}",
            "The same lists for every gate (fleet/v1/down/lists/{name}).",
            ["list"],
            name=name_param,
        ),
        "fleetConfig": chan(f"{fleet}/config", "Settings for every gate.", ["config"]),
        "fleetCommands": chan(f"{fleet}/commands", "A command to every gate.", ["command"]),
    }
    # (channel, gate's action, QoS, retained) — what the gate and central actually do
    ops = (
        ("records", "send", 1, False),
        ("alerts", "send", 1, False),
        ("snapshots", "send", 1, False),
        ("status", "send", 1, True),
        ("heartbeat", "send", 0, False),
        ("ack", "receive", 1, False),
        ("lists", "receive", 1, True),
        ("config", "receive", 1, True),
        ("commands", "receive", 1, False),
        ("fleetLists", "receive", 1, True),
        ("fleetConfig", "receive", 1, True),
        ("fleetCommands", "receive", 1, False),
    )
    operations = {
        f"{action}{ch[0].upper()}{ch[1:]}": {
            "action": action,
            "channel": {"$ref": f"#/channels/{ch}"},
            "summary": f"The gate {'publishes' if action == 'send' else 'subscribes to'} {ch}.",
            "messages": [
                {"$ref": f"#/channels/{ch}/messages/{m}"} for m in channels[ch]["messages"]
            ],
            "bindings": _op_binding(qos, retain),
        }
        for ch, action, qos, retain in ops
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "edge-gate sync",
            "version": f"{MAJOR}.{MINOR}.0",
            "description": (
                "MQTT contract between community entrance gates and the central platform, "
                f"topic version {topics.VERSION}, message version {MAJOR}.{MINOR}. "
                "GENERATED by scripts/gen-asyncapi.py from edge/sync/topics.py, "
                "edge/sync/payloads.py and edge/core/records.py: do not edit by hand.\n\n"
                "Versioning (docs/sync.md): every message carries `v`, its major version, and "
                "may carry `minor`. Readers accept unknown fields and unknown minor versions, "
                "and refuse an unknown major version with the reason `unsupported_version`.\n\n"
                "Uplink records leave the gate only when central's signed `down/ack` covers "
                "them (end-to-end acknowledgement; a broker PUBACK is not delivery). No MQTT "
                "message expiry is set: commands, lists and config carry their own signed "
                "`expires`. Receivers share the uplink through "
                f"`{topics.central_subscription()}`.\n\n"
                "The same schemas ship as JSON Schema files in the package, edge/sync/schemas/: "
                + ", ".join(f"{n}.json" for n in SCHEMAS)
                + ", and records/{kind}.json for each record kind."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "broker": {
                "host": "broker.example:8883",
                "protocol": "secure-mqtt",
                "protocolVersion": "5",
                "description": "TLS; password or client certificate (CN = gate id); ACL per "
                "gate: a gate writes only its own up/ and reads its own down/ and fleet/.",
                "bindings": {
                    "mqtt": {
                        "cleanSession": False,
                        "keepAlive": 60,
                        "sessionExpiryInterval": 604800,
                        "lastWill": {
                            "topic": f"{up}/status",
                            "qos": 1,
                            "retain": True,
                            "message": '{"v":1,"gate":"{gate}","state":"offline"}',
                        },
                        "bindingVersion": MQTT,
                    }
                },
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "parameters": {
                "gate": {"description": "gate id, ^[a-z0-9][a-z0-9-]{0,31}$ (MQTT user, cert CN)"}
            },
            "schemas": schemas(),
            "messages": messages,
        },
    }


# -- YAML ---------------------------------------------------------------------------------------


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    return json.dumps(str(v), ensure_ascii=False)  # a JSON string is a YAML double-quoted one


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k)


def to_yaml(node: Any, indent: int = 0) -> str:
    """Block-style YAML of JSON-like data (every string quoted: nothing is read as a number,
    a boolean or a comment)."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{_key(k)}:\n{to_yaml(v, indent + 1)}")
            else:
                lines.append(f"{pad}{_key(k)}: {_empty(v)}")
    else:
        for v in node:
            if isinstance(v, (dict, list)) and v:
                inner = to_yaml(v, indent + 1)
                lines.append(f"{pad}- {inner.lstrip()}")
            else:
                lines.append(f"{pad}- {_empty(v)}")
    return "\n".join(lines)


def _empty(v: Any) -> str:
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return _scalar(v)


def text() -> str:
    head = "# GENERATED by scripts/gen-asyncapi.py from the code: do not edit by hand.\n"
    return head + to_yaml(document()) + "\n"


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else OUT
    out.write_text(text(), encoding="utf-8")
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
