"""One validated configuration for the whole gate, read from a TOML file.

Every field has a default, a unit in its description and bounds, so the demo runs with no file
at all and a bad file is refused with a message that names the key and the fix. Models use
``extra="forbid"``: a misspelt key is an error, never silently ignored.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    ValidationError,
)

from edge.console.settings import ConsoleSettings
from edge.core.errors import ConfigurationError
from edge.core.settings import Section
from edge.gate.credentials.settings import ClockSettings, HealthOnlineSettings, TrustSettings
from edge.gate.credentials.trust import read_capped
from edge.gate.door.policy import DoorRulesSettings
from edge.gate.door.settings import DoorSettings
from edge.gate.rules.profile import Rules
from edge.gate.settings import GateSettings
from edge.store.settings import RetentionSettings, StoreSettings
from edge.sync.settings import SyncSettings
from edge.vision.camera.settings import CameraSettings
from edge.vision.perimeter.settings import PerimeterSettings
from edge.vision.person.settings import DetectorSettings
from edge.vision.qr.settings import ScannerSettings


class ListsSettings(Section):
    path: Path | None = Field(
        default=None, description="JSON lists snapshot to start from (households, revocations)"
    )


class ServiceSettings(Section):
    """The long-running service (``edge-gate run``): start-up, status, pins. Camera liveness
    and reconnects are the ``[camera]`` keys ``stale_after_s`` and ``reconnect_*``."""

    pin_factory: Literal["auto", "mock", "lgpio"] = Field(
        default="auto",
        description="gpiozero pin factory: 'auto' (real GPIO on a Pi, mock elsewhere), "
        "'mock' or 'lgpio'",
    )
    startup_timeout_s: float = Field(
        default=60.0,
        ge=1.0,
        le=600.0,
        description="time for every camera to deliver its first frame before start fails, s",
    )
    status_interval_s: float = Field(
        default=10.0, ge=1.0, le=600.0, description="how often STATUS= is refreshed, s"
    )


class MetricsSettings(Section):
    """The Prometheus metrics endpoint."""

    enabled: bool = Field(default=False, description="serve Prometheus metrics over HTTP")
    host: str = Field(
        default="127.0.0.1", min_length=1, description="address to listen on (127.0.0.1 = local)"
    )
    port: int = Field(default=9108, ge=1024, le=65535, description="TCP port of the endpoint")


class Config(Section):
    """The root of the TOML file: one table per section."""

    gate: GateSettings = GateSettings()
    door: DoorSettings = DoorSettings()
    camera: CameraSettings = CameraSettings()
    scanner: ScannerSettings = ScannerSettings()
    store: StoreSettings = StoreSettings()
    trust: TrustSettings = TrustSettings()
    health: HealthOnlineSettings = HealthOnlineSettings()
    lists: ListsSettings = ListsSettings()
    detector: DetectorSettings = DetectorSettings()
    perimeter: PerimeterSettings = PerimeterSettings()
    clock: ClockSettings = ClockSettings()
    console: ConsoleSettings = ConsoleSettings()
    rules: Rules = Rules()
    door_rules: DoorRulesSettings = DoorRulesSettings()
    service: ServiceSettings = ServiceSettings()
    metrics: MetricsSettings = MetricsSettings()
    retention: RetentionSettings = RetentionSettings()
    sync: SyncSettings = SyncSettings()


class ConfigError(ConfigurationError, ValueError):
    """A config file that cannot be used. ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _field_info(loc: tuple[int | str, ...]) -> Any:
    """The pydantic FieldInfo at ``loc`` in :class:`Config`, when it can be found."""
    model: Any = Config
    info = None
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if not isinstance(part, str) or fields is None or part not in fields:
            return info
        info = fields[part]
        model = info.annotation
    return info


def _fix(err: Any, info: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "remove it or check its spelling"
    if kind == "value_error":
        return "correct the value as the message says"
    if kind in ("missing", "model_type", "dict_type"):
        return "write it as a TOML table of keys (see docs/config.md)"
    hint = []
    if info is not None:
        bounds = {type(m).__name__: m for m in getattr(info, "metadata", [])}
        lo = next(
            (getattr(m, a) for m in bounds.values() for a in ("ge", "gt") if hasattr(m, a)), None
        )
        hi = next(
            (getattr(m, a) for m in bounds.values() for a in ("le", "lt") if hasattr(m, a)), None
        )
        if lo is not None and hi is not None:
            hint.append(f"use a value from {lo} to {hi}")
        elif lo is not None:
            hint.append(f"use a value of at least {lo}")
        elif hi is not None:
            hint.append(f"use a value of at most {hi}")
        if info.description:
            hint.append(f"({info.description})" if hint else f"expected: {info.description}")
    if not hint:
        hint.append("see docs/config.md")
    return " ".join(hint)


def format_errors(exc: ValidationError) -> list[str]:
    """Turn pydantic errors into ``section.key: what is wrong (got X) — how to fix`` lines."""
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        got = err.get("input")
        got_s = repr(got) if not isinstance(got, dict) else "a table"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].lower()
        lines.append(f"{key}: {msg} (got {got_s}) — {_fix(err, _field_info(loc))}")
    return lines


def parse_config(data: dict[str, Any]) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc)) from None


CONFIG_MAX_BYTES = 1024 * 1024  # bytes; a gate's config is a few KB


def load_config(path: Path | None) -> Config:
    """The config in ``path``, or the embedded defaults when ``path`` is None.

    Raises :class:`ConfigError` listing every problem; never returns a partial config.
    """
    if path is None:
        return Config()
    try:
        text = read_capped(path, CONFIG_MAX_BYTES, "config file").decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text — save it as UTF-8"]) from None
    except ValueError as exc:
        raise ConfigError([f"{exc} — check the path"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc} — fix the syntax there"]) from None
    return parse_config(data)
