"""Which config file a command uses: one rule for every verb.

``--config FILE``, else ``$EDGE_GATE_CONFIG``, else ``/etc/edge-gate/edge-gate.toml`` when it
exists, else the embedded defaults. An installer runs ``edge-gate user add`` or ``doctor`` by hand
with no flags; before this rule each verb had its own default, so an account could land in a
database under the current directory that the running gate never reads. The state (the SQLite
store and what sits beside it) is whatever the chosen config says, so it follows the config.

``EDGE_GATE_CONFIG`` set to the empty string means "the embedded defaults, do not look in /etc":
how tests and demos on a machine with an installed gate stay away from the gate's own files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ENV_VAR = "EDGE_GATE_CONFIG"
INSTALLED_CONFIG = Path("/etc/edge-gate/edge-gate.toml")

Origin = Literal["--config", "$EDGE_GATE_CONFIG", "installed", "embedded"]

# Not under the "edge" logger: verbs quieten "edge" (demo, doctor), and this line must still show.
log = logging.getLogger("edge-gate.config")


@dataclass(frozen=True)
class ConfigChoice:
    """The config file a command uses (None: the embedded defaults) and why."""

    path: Path | None
    origin: Origin

    def describe(self) -> str:
        if self.path is None:
            return "config: embedded defaults"
        why = {"--config": "--config", "$EDGE_GATE_CONFIG": f"${ENV_VAR}", "installed": "installed"}
        return f"config {self.path} ({why[self.origin]})"


def find_config(
    explicit: Path | None,
    environ: Mapping[str, str] | None = None,
    installed: Path | None = None,
) -> ConfigChoice:
    """The config to use; never reads the file (a missing ``--config`` is the loader's error)."""
    env = os.environ if environ is None else environ
    if explicit is not None:
        return ConfigChoice(explicit, "--config")
    value = env.get(ENV_VAR)
    if value is not None:
        return (
            ConfigChoice(Path(value), "$EDGE_GATE_CONFIG")
            if value
            else ConfigChoice(None, "embedded")
        )
    # Looked up at call time so tests can point it at a temporary folder.
    default = INSTALLED_CONFIG if installed is None else installed
    if default.is_file():
        return ConfigChoice(default, "installed")
    return ConfigChoice(None, "embedded")


def announce(verb: str, choice: ConfigChoice) -> str:
    """Log (and return) a command's first line: the config it uses and where its state lives."""
    from edge.app.config import ConfigError, load_config

    line = f"edge-gate {verb}: {choice.describe()}"
    try:
        store = load_config(choice.path).store.path
    except ConfigError:
        pass  # the verb itself reports the problems, with their fixes
    else:
        line += f"; state {store.absolute().parent}"
    log.info("%s", line)
    return line


__all__ = ["ENV_VAR", "INSTALLED_CONFIG", "ConfigChoice", "announce", "find_config"]
