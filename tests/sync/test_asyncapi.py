"""The published contract: docs/asyncapi.yaml is what scripts/gen-asyncapi.py generates from
the code, the AsyncAPI project's own parser accepts it, every channel and operation carries MQTT
bindings, and every example validates against its schema (downlink examples: really signed)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
from needs import unavailable

from edge.sync import topics
from edge.sync.signing import Verifier

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools" / "asyncapi"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_asyncapi", ROOT / "scripts/gen-asyncapi.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GEN = _generator()
DOC: dict[str, Any] = GEN.document()


def _validator(component: str) -> jsonschema.protocols.Validator:
    """A validator of ``#/components/schemas/{component}`` that resolves the document's refs."""
    root = {**DOC, "$ref": f"#/components/schemas/{component}"}
    return jsonschema.Draft202012Validator(root)


def _payload_component(message: dict[str, Any]) -> str:
    return str(message["payload"]["$ref"]).rsplit("/", 1)[1]


def _node_parser() -> list[str]:
    node = shutil.which("node")
    if node is None or not (TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir():
        unavailable("node and tools/asyncapi/node_modules (scripts/bootstrap.sh test: npm ci)")
    return [node, str(TOOLS / "validate.mjs")]


def test_committed_document_is_the_generated_one() -> None:
    committed = (ROOT / "docs" / "asyncapi.yaml").read_text(encoding="utf-8")
    assert committed == GEN.text(), "run: .venv/bin/python scripts/gen-asyncapi.py"


def test_the_asyncapi_parser_accepts_the_document() -> None:
    out = subprocess.run(
        [*_node_parser(), str(ROOT / "docs" / "asyncapi.yaml")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "valid AsyncAPI 3.0.0 (0 warnings)" in out.stdout


def test_the_parser_refuses_a_broken_binding(tmp_path: Path) -> None:
    """The check can fail: a QoS of 7 is not MQTT."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(GEN.text().replace("qos: 1", "qos: 7", 1), encoding="utf-8")
    out = subprocess.run([*_node_parser(), str(bad)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "qos" in out.stdout


def test_every_topic_of_the_code_is_a_channel() -> None:
    addresses = {c["address"] for c in DOC["channels"].values()}
    for kind in topics.UP_KINDS:
        assert any(a.startswith(f"gate/v1/{{gate}}/up/{kind}") for a in addresses), kind
    for kind in topics.DOWN_KINDS:
        assert any(a.startswith(f"gate/v1/{{gate}}/down/{kind}") for a in addresses), kind
    assert {a for a in addresses if a.startswith("fleet/")} == {
        "fleet/v1/down/lists/{name}",
        "fleet/v1/down/config",
        "fleet/v1/down/commands",
    }


def test_every_channel_and_operation_has_mqtt_bindings() -> None:
    for name, channel in DOC["channels"].items():
        assert "mqtt" in channel["bindings"], name
    retained = {"status", "lists", "config", "fleetLists", "fleetConfig"}
    for name, op in DOC["operations"].items():
        mqtt = op["bindings"]["mqtt"]
        channel = op["channel"]["$ref"].rsplit("/", 1)[1]
        assert mqtt["qos"] == (0 if channel == "heartbeat" else 1), name
        assert mqtt["retain"] == (channel in retained), name
    assert len(DOC["operations"]) == len(DOC["channels"])


def test_every_message_has_an_example_that_validates() -> None:
    messages = DOC["components"]["messages"]
    for name, message in messages.items():
        assert message["examples"], name
        if message["contentType"] != "application/json":
            continue
        for example in message["examples"]:
            _validator(_payload_component(message)).validate(example["payload"])


@pytest.mark.parametrize("kind", ["ack", "list", "command", "config"])
def test_signed_examples_verify_and_their_bodies_validate(kind: str) -> None:
    payload = DOC["components"]["messages"][kind]["examples"][0]["payload"]
    body = json.loads(payload["body"])
    verifier = Verifier([GEN.EXAMPLE_KEY.public_key()])
    assert verifier.open(body["topic"], json.dumps(payload).encode()) == body
    _validator(f"{kind}Body").validate(body)
    assert topics.parse_down(body["topic"])[0] == {"list": "lists", "command": "commands"}.get(
        kind, kind
    )


def test_a_record_must_match_its_kinds_schema() -> None:
    """The batch schema checks each record against its kind (if/then), lets unknown kinds
    and unknown fields through (a newer gate), and refuses a known kind missing a field."""
    batch = json.loads(json.dumps(DOC["components"]["messages"]["recordsBatch"]["examples"][0]))
    good = batch["payload"]
    check = _validator("recordsBatch")
    newer = {**good, "minor": 4, "shard": 3}
    newer["records"] = [*good["records"], {"seq": 9, "id": "x", "kind": "parcel", "ts": 1.0}]
    newer["records"][0] = {**newer["records"][0], "added_later": True}
    check.validate(newer)
    broken = {**good, "records": [dict(good["records"][1])]}
    del broken["records"][0]["allow"]
    assert broken["records"][0]["kind"] == "access"
    with pytest.raises(jsonschema.ValidationError, match="allow"):
        check.validate(broken)


def test_every_record_kind_has_a_schema_component() -> None:
    from edge.core.records import RecordKind

    schemas = DOC["components"]["schemas"]
    for kind in RecordKind:
        assert f"record_{kind.value}" in schemas, kind
        assert "$defs" not in json.dumps(schemas[f"record_{kind.value}"]), kind
