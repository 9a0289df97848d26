"""Downlink handling on the gate: verify, check freshness, apply, record.

Every message must carry a valid signature by a pinned central key and name the topic it came
on. Lists are stored, handed to the running gate and only then acknowledged (the
``lists_applied`` record, in the same transaction); commands must be fresh (expiry at most 60 s
after signing) and carry an unused nonce; config must raise its version. Anything refused —
also a list or config the gate could not apply, or a store that cannot write
(``store_unavailable``) — is recorded as a ``downlink_rejected`` record (synced to central),
rate-limited so a flood of junk cannot fill the disk; the count of unrecorded rejects goes out
with the heartbeat.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from edge.core.ratelog import RepeatFilter
from edge.core.records import (
    CommandRecordBody,
    ConfigAppliedBody,
    DownlinkRejectedBody,
    ListsAppliedBody,
    RecordKind,
)
from edge.gate.credentials.trust import TrustStore
from edge.store.sqlite import Store, is_store_fault
from edge.sync import topics
from edge.sync.lists_apply import GateHooks, push_to_gate, store_list
from edge.sync.payloads import AckBody, CommandBody, ConfigBody, ListBody
from edge.sync.signing import Rejected, Verifier

log = logging.getLogger(__name__)
# a flood of junk must not flood the log: one refusal line a minute, with the count held back
log.addFilter(RepeatFilter(60.0))

COMMAND_MAX_LIFE_S = 60.0  # a command may be valid for at most this long after signing
CLOCK_SKEW_S = 30.0  # tolerated gap between central's clock and ours, s
REJECT_RECORDS_PER_MIN = 30


class _NotApplied(Exception):
    """A gate hook failed while a list was being applied (rolled back, then refused)."""


class DownlinkHandler:
    """Turns verified downlink messages into store changes and gate hooks."""

    def __init__(
        self,
        store: Store,
        verifier: Verifier,
        hooks: GateHooks | None = None,
        base_trust: TrustStore | None = None,
        clock: Callable[[], float] = time.time,
        floors: Mapping[str, int] | None = None,
        max_age_s: float = 0.0,
    ) -> None:
        self.store = store
        # anti-rollback kept outside the store, so a wiped gate still refuses old signed
        # lists: a version floor per list ("config" for config) and a largest signing age
        self.floors = dict(floors or {})
        self.max_age_s = max_age_s
        self.verifier = verifier
        self.hooks = hooks or GateHooks()
        self.base_trust = base_trust
        self.clock = clock
        self.counters: dict[str, int] = {"downlink_ok": 0, "downlink_rejected": 0}
        self._reject_window: list[float] = []

    def handle(self, topic: str, payload: bytes) -> AckBody | None:
        """Process one message; returns the ack body for ``…/down/ack``, else None."""
        now = self.clock()
        try:
            kind, _name = topics.parse_down(topic)
            if kind == "ack" and not topic.startswith("gate/"):
                raise Rejected("bad_topic", "acks are per gate, never fleet-wide")
            if not payload:
                return None  # a retained message being cleared
            body = self.verifier.open(topic, payload)
            try:
                result = self._dispatch(kind, body, now)
            except (sqlite3.DatabaseError, OSError) as exc:
                if not is_store_fault(exc):
                    raise
                # not stored, so not applied: refused with the reason (the refusal record
                # waits in memory with the rest); a retained list comes again on reconnect
                raise Rejected("store_unavailable", str(exc)[:200]) from None
        except Rejected as exc:
            if exc.reason == "duplicate":  # not an attack, just MQTT redelivery: no record
                self.counters["downlink_duplicate"] = self.counters.get("downlink_duplicate", 0) + 1
                return None
            self._reject(topic, exc, len(payload), now)
            return None
        except ValueError as exc:  # unknown topic
            self._reject(topic, Rejected("bad_topic", str(exc)), len(payload), now)
            return None
        self.counters["downlink_ok"] += 1
        return result

    def _dispatch(self, kind: str, body: dict[str, Any], now: float) -> AckBody | None:
        try:
            if kind == "ack":
                return AckBody.model_validate(body)
            if kind == "lists":
                msg = ListBody.model_validate(body)
                if not msg.topic.endswith(f"/lists/{msg.name}"):
                    raise Rejected("wrong_topic", f"list {msg.name} on {msg.topic}")
                self._fresh(msg.name, msg.version, msg.ts, msg.expires, now)
                self._list(msg, now)
            elif kind == "commands":
                self._command(CommandBody.model_validate(body), now)
            elif kind == "config":
                self._config(ConfigBody.model_validate(body), now)
        except ValidationError as exc:
            raise Rejected("malformed", str(exc.errors()[0]["msg"])[:200]) from None
        return None

    def _list(self, msg: ListBody, now: float) -> None:
        """Store the list, hand it to the gate, then acknowledge (``lists_applied`` with the
        version the gate now runs) — all in one transaction. A gate hook that fails, or a
        commit the disk refuses, rolls it all back and the gate gets its previous lists
        again: nothing is acknowledged that the gate does not run."""
        try:
            with self.store.transaction() as db:
                store_list(db, msg, now)  # Rejected: nothing stored, the gate untouched
                try:
                    # same connection: the gate is built from the stored, uncommitted list
                    push_to_gate(self.store, self.hooks, {msg.name}, self.base_trust)
                except Exception as exc:  # a hook of the running gate failed
                    log.exception("list %s v%d not applied", msg.name, msg.version)
                    raise _NotApplied(f"{type(exc).__name__}: {exc}") from exc
                info = ListsAppliedBody(name=msg.name, version=msg.version, mode=msg.mode)
                Store.insert_record(db, RecordKind.LISTS_APPLIED, now, info)
        except (_NotApplied, sqlite3.DatabaseError, OSError) as exc:
            self._restore_gate(msg.name)
            if isinstance(exc, _NotApplied):
                raise Rejected("apply_failed", str(exc)[:200]) from None
            raise
        log.info("applied list %s v%d (%s)", msg.name, msg.version, msg.mode)

    def _restore_gate(self, name: str) -> None:
        """Hand the gate the lists as committed (the failed one rolled back)."""
        try:
            push_to_gate(self.store, self.hooks, {name}, self.base_trust)
        except Exception:  # the gate keeps what it had: logged, never raised into sync
            log.exception("list %s: the gate could not be given its previous version", name)

    def _command(self, cmd: CommandBody, now: float) -> None:
        if cmd.expires - cmd.ts > COMMAND_MAX_LIFE_S + 1e-6:
            raise Rejected("expiry_too_long", f"{cmd.expires - cmd.ts:.0f} s")
        if cmd.ts > now + CLOCK_SKEW_S:
            raise Rejected("from_future", f"signed {cmd.ts - now:.0f} s ahead")
        if now > cmd.expires:
            raise Rejected("expired", f"{now - cmd.expires:.0f} s ago")
        with self.store.transaction() as db:
            if not Store.use_nonce(db, cmd.nonce, cmd.expires + CLOCK_SKEW_S, now):
                raise Rejected("replay", cmd.nonce)
            body = CommandRecordBody(cmd=cmd.cmd, args=cmd.args, nonce=cmd.nonce)
            Store.insert_record(db, RecordKind.COMMAND, now, body)
        # The nonce and the record commit first (a replay stays refused whatever happens
        # next); a handler that then fails is recorded as a refusal with its reason.
        try:
            done = self.hooks.on_command(cmd.cmd, cmd.args) if self.hooks.on_command else False
        except Exception as exc:
            log.exception("command %s failed", cmd.cmd)
            raise Rejected(
                "apply_failed", f"{cmd.cmd}: {type(exc).__name__}: {exc}"[:200]
            ) from None
        log.info("command %s %s: %s", cmd.cmd, cmd.args, "done" if done else "no handler")

    def _fresh(self, name: str, version: int, ts: float, expires: float | None, now: float) -> None:
        """Refuse an old signed list or config replayed to a gate that lost its state."""
        floor = self.floors.get(name, 0)
        if version < floor:
            raise Rejected("below_floor", f"{name} v{version} < floor v{floor}")
        if expires is not None and now > expires:
            raise Rejected("expired", f"{name} v{version} expired {now - expires:.0f} s ago")
        if self.max_age_s > 0 and now - ts > self.max_age_s:
            raise Rejected("too_old", f"{name} v{version} signed {now - ts:.0f} s ago")

    def _config(self, cfg: ConfigBody, now: float) -> None:
        self._fresh("config", cfg.version, cfg.ts, cfg.expires, now)
        with self.store.transaction() as db:
            row = db.execute("SELECT version FROM lists WHERE name='_config'").fetchone()
            held = 0 if row is None else int(row[0])
            if cfg.version == held:
                raise Rejected("duplicate", f"config v{cfg.version} already applied")
            if cfg.version < held:
                raise Rejected("stale", f"config v{cfg.version} < held v{held}")
            Store.put_list(db, "_config", cfg.version, cfg.settings, now)
            if self.hooks.on_config:  # handed over before the acknowledgement is written
                try:
                    self.hooks.on_config(cfg.settings)
                except Exception as exc:
                    log.exception("config v%d not applied", cfg.version)
                    raise Rejected("apply_failed", f"{type(exc).__name__}: {exc}"[:200]) from None
            applied = ConfigAppliedBody(version=cfg.version)
            Store.insert_record(db, RecordKind.CONFIG_APPLIED, now, applied)

    def _reject(self, topic: str, exc: Rejected, size: int, now: float) -> None:
        self.counters["downlink_rejected"] += 1
        log.warning("downlink refused on %s: %s", topic, exc)
        self._reject_window = [t for t in self._reject_window if t > now - 60.0]
        if len(self._reject_window) >= REJECT_RECORDS_PER_MIN:
            self.counters["rejects_unrecorded"] = self.counters.get("rejects_unrecorded", 0) + 1
            return
        self._reject_window.append(now)
        body = DownlinkRejectedBody(
            topic=topic[:200], reason=exc.reason, detail=exc.detail[:200], size=size
        )
        self.store.append(RecordKind.DOWNLINK_REJECTED, now, body)
