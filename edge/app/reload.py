"""Config reload on SIGHUP: apply what can change live, keep the rest, never run unconfigured.

The new file is validated completely (config, trust keys, lists) before anything is applied.
Any problem refuses the whole reload and the running config stays in force, so a typo made on
a live gate cannot leave it half-configured.

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
from edge.gate.rules.lists import load_lists
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


def reload_config(path: Path | None, current: Config, gate: Gate) -> ReloadResult:
    """Validate ``path`` fully, then apply it to ``gate``; on any problem keep ``current``."""
    try:
        new = with_credentials(load_config(path))
        trust = load_trust(new)
        lists = None
        if new.lists.path is not None and new.lists.path != current.lists.path:
            lists = load_lists(new.lists.path)
    except ConfigError as exc:
        return _refused(current, exc.problems)
    except ValueError as exc:  # unreadable key or lists file named in an otherwise valid config
        return _refused(current, [str(exc)])
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
    gate.rules = new.rules
    gate.direction = new.gate.direction
    gate.trust = trust
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


__all__ = ["ReloadResult", "reload_config"]
