"""Config reload on SIGHUP: apply what can change live, keep the rest, never run unconfigured.

The new file is validated completely (config, trust keys, lists) before anything is applied.
Any problem refuses the whole reload and the running config stays in force, so a typo made on
a live gate cannot leave it half-configured.

A reload is a merge, in two steps: :func:`prepare_reload` reads every file (in a worker: a
slow disk, or a FIFO named as the lists file, must not hold up the frame loop — and a path
that is not a regular file is refused with the reason), then :func:`apply_reload` applies the
result on the loop without any I/O. What the central platform pushed (pass issuer keys, rules;
they live in the store with their versions) stays in force on top of the file's: a reload
never brings back a key or a rule the file does not know.

What changes live: rules, gate name/direction/language, trust keys, the lists file, cameras,
scanner settings, service timings, retention. What does not: ``[door]`` (the relay is never
touched by a reload, so a resident walking through keeps the door as it was), ``[store]`` and
the long-running parts (metrics, sync, console, perimeter, detector) — those differences are
reported and take effect at the next restart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from edge.app.config import Config, ConfigError, load_config
from edge.app.gate import Gate
from edge.app.secrets import load_trust, with_credentials
from edge.gate.credentials.trust import TrustStore
from edge.gate.rules.lists import ListsSnapshot, load_lists
from edge.gate.rules.profile import Rules
from edge.store.sqlite import Store
from edge.sync.lists_apply import rules_from_store, trust_from_store
from edge.vision.qr.scanner import Scanner

log = logging.getLogger(__name__)

# Sections applied only at start-up: the door is never touched by a reload, and the store,
# metrics endpoint and the long-running components (sync, console, perimeter) keep theirs.
RESTART_ONLY = ("door", "store", "metrics", "sync", "console", "perimeter", "detector")


@dataclass(frozen=True)
class ReloadResult:
    applied: bool
    config: Config  # the config in force after the reload attempt
    problems: list[str] = field(default_factory=list)  # why a reload was refused
    pending_restart: list[str] = field(default_factory=list)  # sections waiting for a restart

    @property
    def summary(self) -> str:
        if not self.applied:
            first = self.problems[0] if self.problems else "unknown problem"
            return f"{len(self.problems)} problem(s), first: {first}"
        if self.pending_restart:
            return "applied; needs a restart for: " + ", ".join(self.pending_restart)
        return "applied"


@dataclass(frozen=True)
class Prepared:
    """Everything a reload needs, read and validated: applying it does no I/O."""

    config: Config
    trust: TrustStore
    lists: ListsSnapshot | None  # None: keep the lists in force
    rules: Rules  # the file's rules, or the central platform's when it pushed some
    pushed: list[str]  # what the central platform pushed and the reload keeps


def prepare_reload(path: Path | None, current: Config, store: Store) -> Prepared | ReloadResult:
    """Read and validate ``path`` and what it names (safe to run off the frame loop); a
    refused :class:`ReloadResult` on any problem."""
    try:
        # every file below is read with read_capped, which refuses a FIFO or device before
        # opening it (a FIFO would block this worker forever)
        new = with_credentials(load_config(path))
        trust = load_trust(new)
        lists = None
        if new.lists.path is not None and new.lists.path != current.lists.path:
            lists = load_lists(new.lists.path)
        pushed_trust = trust_from_store(store)
        pushed_rules = rules_from_store(store)
    except ConfigError as exc:
        return _refused(current, exc.problems)
    except ValueError as exc:  # unreadable key or lists file named in an otherwise valid config
        return _refused(current, [str(exc)])
    pushed: list[str] = []
    for keys in pushed_trust.pass_issuers.values():
        for key in keys:
            trust.add_pass_issuer(key)
    if pushed_trust.pass_issuers:
        pushed.append("trust")
    if pushed_rules is not None:
        pushed.append("rules")
    return Prepared(new, trust, lists, pushed_rules or new.rules, pushed)


def reload_config(path: Path | None, current: Config, gate: Gate) -> ReloadResult:
    """Validate ``path`` fully, then apply it to ``gate``; on any problem keep ``current``."""
    prepared = prepare_reload(path, current, gate.store)
    if isinstance(prepared, ReloadResult):
        return prepared
    return apply_reload(prepared, path, current, gate)


def apply_reload(
    prepared: Prepared, path: Path | None, current: Config, gate: Gate
) -> ReloadResult:
    """Apply a prepared reload to ``gate`` (no I/O: runs on the frame loop)."""
    new, trust, lists = prepared.config, prepared.trust, prepared.lists
    pending = [
        name
        for name in RESTART_ONLY
        if hasattr(new, name) and getattr(new, name) != getattr(current, name)
    ]
    if pending:
        # Keep the running values so ``config`` says what is really in force.
        new = new.model_copy(update={name: getattr(current, name) for name in pending})
        log.warning("reload: changes to [%s] take effect after a restart", "], [".join(pending))
    gate.config = new
    if new.scanner != current.scanner:
        gate.scanner = Scanner(new.scanner)  # the reader's strategy and budget, not the door
    gate.rules = prepared.rules
    gate.direction = new.gate.direction
    gate.trust = trust
    if prepared.pushed:
        log.info("reload: kept what the central platform pushed: %s", ", ".join(prepared.pushed))
    if lists is not None:
        # Only when the file named changed: lists pushed by the central platform since start
        # must not be replaced by an older file on every reload.
        gate.lists = lists
    log.info("reload: new config applied from %s", path)
    return ReloadResult(True, new, pending_restart=pending)


def _refused(current: Config, problems: list[str]) -> ReloadResult:
    for line in problems:
        log.error("reload refused: %s", line)
    log.error("reload refused: %d problem(s); the running config stays in force", len(problems))
    return ReloadResult(False, current, problems)


__all__ = ["Prepared", "ReloadResult", "apply_reload", "prepare_reload", "reload_config"]
