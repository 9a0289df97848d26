"""Downlink handling on the gate: verify, check freshness, apply, record.

Every message must carry a valid signature by a pinned central key and name the topic it came
on. Lists go through :func:`apply_list`; commands must be fresh (expiry at most 60 s after
signing) and carry an unused nonce; config must raise its version. Anything refused is
recorded as a ``downlink_rejected`` record (synced to central), rate-limited so a flood of junk
cannot fill the disk; the count of unrecorded rejects goes out with the heartbeat.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from edge.core.ratelog import RepeatFilter
from edge.core.records import (
    CommandRecordBody,
    ConfigAppliedBody,
    DownlinkRejectedBody,
    RecordKind,
)
from edge.gate.credentials.trust import TrustStore
from edge.store.sqlite import Store
from edge.sync import topics
from edge.sync.lists_apply import GateHooks, apply_list, push_to_gate
from edge.sync.payloads import AckBody, CommandBody, ConfigBody, ListBody
from edge.sync.signing import Rejected, Verifier

log = logging.getLogger(__name__)
# a flood of junk must not flood the log: one refusal line a minute, with the count held back
log.addFilter(RepeatFilter(60.0))

COMMAND_MAX_LIFE_S = 60.0  # a command may be valid for at most this long after signing
CLOCK_SKEW_S = 30.0  # tolerated gap between central's clock and ours, s
REJECT_RECORDS_PER_MIN = 30


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
            result = self._dispatch(kind, body, now)
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
                apply_list(self.store, msg, now)
                log.info("applied list %s v%d (%s)", msg.name, msg.version, msg.mode)
                push_to_gate(self.store, self.hooks, {msg.name}, self.base_trust)
            elif kind == "commands":
                self._command(CommandBody.model_validate(body), now)
            elif kind == "config":
                self._config(ConfigBody.model_validate(body), now)
        except ValidationError as exc:
            raise Rejected("malformed", str(exc.errors()[0]["msg"])[:200]) from None
        return None

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
        done = self.hooks.on_command(cmd.cmd, cmd.args) if self.hooks.on_command else False
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
            applied = ConfigAppliedBody(version=cfg.version)
            Store.insert_record(db, RecordKind.CONFIG_APPLIED, now, applied)
        if self.hooks.on_config:
            self.hooks.on_config(cfg.settings)

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
