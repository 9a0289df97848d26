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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edge.app.config import Config
    from edge.gate.credentials.trust import TrustStore

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


# (section, key) of config fields naming a secret file.
SECRET_FIELDS = (("sync", "password_file"), ("sync", "key_file"), ("health", "token_file"))


def with_credentials(config: Config, env: Mapping[str, str] | None = None) -> Config:
    """``config`` with every secret file path swapped for its systemd credential copy.

    Applied to each loaded config (start and reload alike), so comparing two of them still
    only shows what the technician changed.
    """
    update: dict[str, Any] = {}
    for section, key in SECRET_FIELDS:
        settings = getattr(config, section, None)
        value = getattr(settings, key, None)
        if settings is None or not isinstance(value, Path):
            continue
        resolved = resolve_path(value, env)
        if resolved != value:
            current = update.get(section, settings)
            update[section] = current.model_copy(update={key: resolved})
    return config.model_copy(update=update) if update else config


def load_trust(config: Config) -> TrustStore:
    """Every trust file named in ``[trust]`` (pass issuers, DSCs, JWKS, CRLs), credential
    copies preferred; raises ValueError naming a bad file."""
    from edge.gate.credentials.trust import TrustStore

    t = config.trust
    return TrustStore.from_files(
        resolve_paths(t.pass_issuer_keys),
        resolve_paths(t.dsc_files),
        resolve_paths(t.shc_jwks_files),
        resolve_paths(t.shc_crl_files),
    )


__all__ = ["credentials_dir", "load_trust", "resolve_path", "resolve_paths", "with_credentials"]
