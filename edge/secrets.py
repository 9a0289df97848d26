"""Secrets handed over by systemd's ``LoadCredential=`` instead of read from /etc directly.

The unit loads the whole folder ``/etc/edge-gate/secrets`` (root-only, mode 0700) with
``LoadCredential=secrets:/etc/edge-gate/secrets``; systemd copies each file ``F`` into the
service's private, read-only ``$CREDENTIALS_DIRECTORY/secrets_F``. The service user therefore
never needs read access to the originals.

The config keeps naming the original paths (``/etc/edge-gate/secrets/mqtt-password``), so the
same file works for ``doctor`` run by root and for the service: :func:`resolve_path` swaps in
the credential copy when one exists.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

CREDENTIAL_PREFIX = "secrets_"  # the ID given in the unit's LoadCredential=secrets:/etc/…


def credentials_dir(env: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if env is None else env
    raw = env.get("CREDENTIALS_DIRECTORY")
    return Path(raw) if raw else None


def resolve_path(path: Path, env: Mapping[str, str] | None = None) -> Path:
    """The credential copy of ``path`` when systemd provided one, else ``path`` itself."""
    folder = credentials_dir(env)
    if folder is None:
        return path
    candidate = folder / f"{CREDENTIAL_PREFIX}{path.name}"
    if candidate.is_file():
        log.debug("using systemd credential %s for %s", candidate.name, path)
        return candidate
    return path


def resolve_paths(paths: Iterable[Path], env: Mapping[str, str] | None = None) -> list[Path]:
    return [resolve_path(p, env) for p in paths]


__all__ = ["credentials_dir", "resolve_path", "resolve_paths"]
