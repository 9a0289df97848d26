"""Versioned downlink lists applied atomically to the gate's store, then handed to the gate.

A list arrives whole (``full``) or as a ``delta`` on the version the gate holds. It is
validated before anything is written; the new version, the list body and a ``lists_applied``
record (the acknowledgement central receives through the outbox) commit in one transaction.
A version not above the current one is stale and refused.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, TypeAdapter, ValidationError

from edge.core.records import ListsAppliedBody, RecordKind
from edge.gate.credentials.trust import TrustStore
from edge.gate.rules.lists import ColourClass, Household, ListsSnapshot
from edge.gate.rules.profile import Rules
from edge.store.sqlite import Record, Store
from edge.sync.payloads import ListBody
from edge.sync.signing import Rejected

DICT_LISTS = {"households", "holder_colours", "rules", "zones"}  # delta: upsert / remove keys
SET_LISTS = {"revocations", "trust"}  # delta: add / remove items
_households = TypeAdapter(dict[str, Household])
_colours = TypeAdapter(dict[str, ColourClass])
_strings = TypeAdapter(list[str])
_any_dict = TypeAdapter(dict[str, Any])


@dataclass
class GateHooks:
    """How applied downlink reaches the running gate (all optional, called on the sync thread).

    ``on_lists`` gets a new :class:`ListsSnapshot` (assign it to ``Gate.lists``), ``on_trust``
    a new :class:`TrustStore`, ``on_rules`` new :class:`Rules`, ``on_command(cmd, args)``
    returns True if done, ``on_config(settings)`` gets a validated settings dict.
    """

    on_lists: Callable[[ListsSnapshot], None] | None = None
    on_trust: Callable[[TrustStore], None] | None = None
    on_rules: Callable[[Rules], None] | None = None
    on_command: Callable[[str, dict[str, Any]], bool] | None = None
    on_config: Callable[[dict[str, Any]], None] | None = None


def _trust_key(text: str) -> Ed25519PublicKey:
    raw = base64.b64decode(text, validate=True)
    return Ed25519PublicKey.from_public_bytes(raw)


def readable(annotation: Any, value: Any) -> Any:
    """``value`` without what a reader of ``annotation`` does not know, at every level: the
    fields a model does not have, and the keys of a dict keyed by an enum (``colour_in``'s
    colour classes) that the enum does not have. A newer central may add either (docs/sync.md,
    versioning); the gate's own models refuse unknown fields (``extra="forbid"``: the config
    file's typos), so what central pushes is pruned to what this gate reads. Values are not
    touched: a known field with a value of the wrong type is still refused."""
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if not isinstance(value, dict):
            return value
        fields = annotation.model_fields
        by_alias = {f.alias: name for name, f in fields.items() if f.alias}
        out = {}
        for key, item in value.items():
            name = key if key in fields else by_alias.get(key)
            if name is not None:
                out[key] = readable(fields[name].annotation, item)
        return out
    if origin is Annotated:
        return readable(get_args(annotation)[0], value)
    if origin in (Union, UnionType):
        choices = [a for a in get_args(annotation) if a is not type(None)]
        return readable(choices[0], value) if len(choices) == 1 and value is not None else value
    if origin in (dict, Mapping) and isinstance(value, dict):
        key_type, item_type = get_args(annotation) or (Any, Any)
        if isinstance(key_type, type) and issubclass(key_type, Enum):
            known = {m.value for m in list(key_type)}
            value = {k: v for k, v in value.items() if k in known}
        return {k: readable(item_type, v) for k, v in value.items()}
    if origin in (list, set, frozenset) and isinstance(value, list):
        (item_type,) = get_args(annotation) or (Any,)
        return [readable(item_type, v) for v in value]
    return value


def _validate(name: str, body: Any) -> Any:
    """The list body checked for its kind, fields this version does not know dropped (the
    stored list is what this gate can read back); raises ValueError/ValidationError."""
    if name == "households":
        body = readable(dict[str, Household], body)
        _households.validate_python(body)
    elif name == "holder_colours":
        _colours.validate_python(body)
    elif name == "revocations":
        _strings.validate_python(body)
    elif name == "trust":
        for k in _strings.validate_python(body):
            _trust_key(k)
    elif name == "rules":
        body = readable(Rules, body)
        Rules.model_validate(body)
    else:
        _any_dict.validate_python(body)
    return body


def _merge(name: str, current: Any, delta: Any) -> Any:
    if not isinstance(delta, dict):
        raise ValueError("a delta is an object")
    if name in DICT_LISTS:
        out = dict(current or {})
        out.update(_any_dict.validate_python(delta.get("upsert", {})))
        for key in _strings.validate_python(delta.get("remove", [])):
            out.pop(key, None)
        return out
    items = set(current or [])
    items |= set(_strings.validate_python(delta.get("add", [])))
    items -= set(_strings.validate_python(delta.get("remove", [])))
    return sorted(items)


def apply_list(store: Store, msg: ListBody, now: float | None = None) -> Record:
    """Apply one verified list message atomically; raises :class:`Rejected` if refused."""
    now = time.time() if now is None else now
    with store.transaction() as db:
        store_list(db, msg, now)
        info = ListsAppliedBody(name=msg.name, version=msg.version, mode=msg.mode)
        return Store.insert_record(db, RecordKind.LISTS_APPLIED, now, info)


def store_list(db: sqlite3.Connection, msg: ListBody, now: float) -> None:
    """Check and store one verified list inside the caller's transaction (no record: the
    caller acknowledges once the gate runs it); raises :class:`Rejected` if refused."""
    row = db.execute("SELECT version, body FROM lists WHERE name=?", (msg.name,)).fetchone()
    cur_version, cur_body = (0, None) if row is None else (int(row[0]), json.loads(row[1]))
    if msg.version == cur_version:  # a retained list delivered again on reconnect
        raise Rejected("duplicate", f"{msg.name} v{msg.version} already applied")
    if msg.version < cur_version:
        raise Rejected("stale", f"{msg.name} v{msg.version} < held v{cur_version}")
    if msg.mode == "delta" and msg.base != cur_version:
        raise Rejected("base_mismatch", f"{msg.name} delta on v{msg.base}, held v{cur_version}")
    try:
        body = msg.data if msg.mode == "full" else _merge(msg.name, cur_body, msg.data)
        if msg.name == "rules":
            body = {**body, "version": msg.version}
        body = _validate(msg.name, body)
    except (ValueError, ValidationError) as exc:
        raise Rejected("invalid", f"{msg.name}: {str(exc)[:200]}") from None
    Store.put_list(db, msg.name, msg.version, body, now)


def snapshot_from_store(store: Store) -> ListsSnapshot:
    """The decision core's view of the stored lists (version = highest of its parts)."""
    parts = {n: store.get_list(n) for n in ("households", "holder_colours", "revocations")}
    version = max((p[0] for p in parts.values() if p), default=0)
    return ListsSnapshot(
        version=version,
        households=parts["households"][1] if parts["households"] else {},
        holder_colours=parts["holder_colours"][1] if parts["holder_colours"] else {},
        revoked_passes=frozenset(parts["revocations"][1] if parts["revocations"] else ()),
    )


def trust_from_store(store: Store, base: TrustStore | None = None) -> TrustStore:
    """Everything the config trusts plus the pass issuer keys pushed in the ``trust`` list.

    Built on a copy of the base, so the health-code signers, CRLs and the booth's visitor key
    survive every push and a push never leaks into the base."""
    out = base.copy() if base else TrustStore()
    held = store.get_list("trust")
    for text in held[1] if held else []:
        out.add_pass_issuer(_trust_key(text))
    return out


def rules_from_store(store: Store) -> Rules | None:
    held = store.get_list("rules")
    return None if held is None else Rules.model_validate(held[1])


def push_to_gate(
    store: Store, hooks: GateHooks, names: set[str], base_trust: TrustStore | None
) -> None:
    """Hand the freshly stored lists named in ``names`` to the gate."""
    if hooks.on_lists and names & {"households", "holder_colours", "revocations"}:
        hooks.on_lists(snapshot_from_store(store))
    if hooks.on_trust and "trust" in names:
        hooks.on_trust(trust_from_store(store, base_trust))
    if hooks.on_rules and "rules" in names:
        rules = rules_from_store(store)
        if rules is not None:
            hooks.on_rules(rules)
