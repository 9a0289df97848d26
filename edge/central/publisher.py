"""Signed downlink from central: lists from a folder of JSON files, commands, acks.

A list file is ``{"name": "households", "version": 3, "mode": "full", "data": {...}}`` with an
optional ``"gate": "gate-a"`` (default: the whole fleet), for deltas ``"base"``, and
``"expires_in_s"`` (gates refuse the signed list after that: publish it again before). Lists
are published retained, so a gate that connects later still gets the current version.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.sync import topics
from edge.sync.payloads import ConfigBody, ListBody
from edge.sync.signing import sign

log = logging.getLogger(__name__)


def list_message(key: Ed25519PrivateKey, spec: dict[str, Any]) -> tuple[str, bytes]:
    """(topic, signed payload) of one list described like a list file."""
    spec = dict(spec)
    gate = spec.pop("gate", None)
    life_s = spec.pop("expires_in_s", None)  # anti-rollback: re-sign before it runs out
    name = str(spec["name"])
    topic = topics.down(gate, "lists", name) if gate else topics.fleet("lists", name)
    now = time.time()
    if life_s is not None:
        spec["expires"] = now + float(life_s)
    body = ListBody.model_validate({**spec, "topic": topic, "ts": now})
    return topic, sign(key, body.model_dump(mode="json"))


def config_message(key: Ed25519PrivateKey, spec: dict[str, Any]) -> tuple[str, bytes]:
    """(topic, signed payload) of a config message: ``{"version": N, "settings": {...}}``
    with an optional ``gate`` and ``expires_in_s``; fields the model does not know are kept."""
    spec = {k: v for k, v in spec.items() if k != "kind"}
    gate = spec.pop("gate", None)
    life_s = spec.pop("expires_in_s", None)
    topic = topics.down(gate, "config") if gate else topics.fleet("config")
    now = time.time()
    if life_s is not None:
        spec["expires"] = now + float(life_s)
    body = ConfigBody.model_validate({**spec, "topic": topic, "ts": now})
    return topic, sign(key, body.model_dump(mode="json", exclude_none=True))


def publish_message(key: Ed25519PrivateKey, spec: dict[str, Any]) -> tuple[str, bytes, bool]:
    """(topic, signed payload, retained) of any downlink message described in a file.

    ``kind`` says what: ``list`` (a list file; the default when ``name`` is given),
    ``config``, ``command`` (``cmd``, ``args``, ``gate``, ``life_s``). A spec that names its
    ``topic`` is signed exactly as given (with ``ts`` added if absent), checked only for a
    downlink topic: that is how a newer message — a field or a kind this central's models do
    not know — reaches the gates. Raises ValueError (or KeyError) on a bad spec.
    """
    spec = dict(spec)
    if "topic" in spec:
        down, _name = topics.parse_down(str(spec["topic"]))
        return str(spec["topic"]), sign(key, spec), down in ("lists", "config")
    kind = spec.get("kind", "list" if "name" in spec else None)
    if kind == "list":
        topic, payload = list_message(key, {k: v for k, v in spec.items() if k != "kind"})
        return topic, payload, True
    if kind == "config":
        return (*config_message(key, spec), True)
    if kind == "command":
        topic, payload = command_message(
            key, spec.get("gate"), str(spec["cmd"]), spec.get("args"), float(spec.get("life_s", 60))
        )
        return topic, payload, False
    raise ValueError(f"unknown message kind {kind!r}: list, config, command, or give a topic")


def command_message(
    key: Ed25519PrivateKey,
    gate: str | None,
    cmd: str,
    args: dict[str, Any] | None = None,
    life_s: float = 60.0,
    now: float | None = None,
) -> tuple[str, bytes]:
    """(topic, signed payload) of a command that expires ``life_s`` seconds after ``now``."""
    now = time.time() if now is None else now
    topic = topics.down(gate, "commands") if gate else topics.fleet("commands")
    body = {
        "kind": "command",
        "topic": topic,
        "ts": now,
        "cmd": cmd,
        "args": args or {},
        "nonce": secrets.token_hex(16),
        "expires": now + life_s,
    }
    return topic, sign(key, body)


def ack_message(
    key: Ed25519PrivateKey,
    gate: str,
    upto: int,
    resend: list[tuple[int, int]],
    epoch: str | None = None,
) -> tuple[str, bytes]:
    topic = topics.down(gate, "ack")
    body: dict[str, Any] = {"kind": "ack", "topic": topic, "upto": upto}
    body["resend"] = [list(r) for r in resend]
    if epoch is not None:
        body["epoch"] = epoch
    return topic, sign(key, body)


class ListFolder:
    """Watches a folder of list files; :meth:`changed` returns the messages to (re)publish."""

    def __init__(self, folder: Path, key: Ed25519PrivateKey) -> None:
        self.folder = folder
        self.key = key
        self._seen: dict[Path, float] = {}

    def reset(self) -> None:
        """Publish every file again at the next :meth:`changed`."""
        self._seen.clear()

    def changed(self) -> list[tuple[str, bytes]]:
        out = []
        for path in sorted(self.folder.glob("*.json")):
            mtime = path.stat().st_mtime
            if self._seen.get(path) == mtime:
                continue
            self._seen[path] = mtime
            try:
                out.append(list_message(self.key, json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, KeyError) as exc:
                log.error("list file %s refused: %s", path, exc)
        return out
