"""Settings of the guard console (``[console]``, see docs/console.md)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from edge.core.settings import Section
from edge.gate.reasons import Reason


class ConsoleSettings(Section):
    """The guard console: a local web page for the booth (see docs/console.md)."""

    enabled: bool = Field(default=False, description="serve the guard console from the gate")
    bind: str = Field(
        default="127.0.0.1",
        min_length=1,
        max_length=64,
        description="address to listen on; 127.0.0.1 = this machine only, 0.0.0.0 = the LAN",
    )
    port: int = Field(default=8470, ge=0, le=65535, description="TCP port; 0 = any free port")
    bind_retry_s: float = Field(
        default=15.0,
        ge=0.0,
        le=600.0,
        description="keep retrying a port in use (back-off from 0.5 s) this long, seconds",
    )
    session_idle_s: float = Field(
        default=1800.0, ge=60.0, le=86400.0, description="log out after this long idle, seconds"
    )
    session_max_s: float = Field(
        default=43200.0, ge=300.0, le=604800.0, description="longest session, seconds"
    )
    login_max_failures: int = Field(
        default=5, ge=1, le=100, description="wrong passwords allowed per window, count"
    )
    login_window_s: float = Field(
        default=300.0, ge=10.0, le=86400.0, description="window for counting failures, seconds"
    )
    lockout_s: float = Field(
        default=300.0, ge=10.0, le=86400.0, description="login refused this long after, seconds"
    )
    manual_open_roles: list[Literal["guard", "admin"]] = Field(
        default=["admin"], description="account roles allowed to open the door by hand"
    )
    note_max_chars: int = Field(
        default=500, ge=10, le=5000, description="longest acknowledgement note or reason"
    )
    max_streams: int = Field(default=8, ge=1, le=64, description="live pages open at once")
    overrule_reasons: list[str] = Field(
        default=[
            "HEALTH_CODE_UNAVAILABLE",
            "TEMPERATURE_UNAVAILABLE",
            "VISITOR_REGISTRATION_REQUIRED",
            "TEMPERATURE_HIGH",
        ],
        max_length=40,
        description="of the refusals the rules profile lets a guard lift (needs_guard), those "
        "the console offers (every reason of the refusal must be in this list): reason codes; "
        "with the default hard temperature rule TEMPERATURE_HIGH is liftable only for a borderline "
        "reading (profile temperature_borderline_c)",
    )
    overrule_roles: list[Literal["guard", "admin"]] = Field(
        default=["guard", "admin"], description="account roles that may overrule such a refusal"
    )
    overrule_window_s: float = Field(
        default=120.0,
        ge=10.0,
        le=3600.0,
        description="a refusal can be overruled this long after the scan, seconds",
    )
    escalate_after_s: float = Field(
        default=600.0,
        ge=0.0,
        le=86400.0,
        description="an alert nobody acknowledged this long is escalated to the platform "
        "(a guard record auto_escalate); 0 = never, seconds",
    )
    visitor_key_file: Path | None = Field(
        default=None,
        description="the booth's delegated visitor key (PEM Ed25519 private key; it can sign "
        "only visitor passes of bounded validity); empty = visitor.key next to the store, "
        "created 0600 on first start with visitor.pub beside it",
    )
    timezone: str = Field(
        default="",
        max_length=64,
        description="time zone the console shows dates and times in (IANA name, e.g. "
        "Asia/Shanghai), whatever the browser's; empty = the gate's own system time zone",
    )
    demo: bool = Field(
        default=True, description="the demo starts a console with throwaway accounts"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(
                    f"unknown time zone {value!r} (an IANA name, e.g. Asia/Shanghai)"
                ) from exc
        return value

    def zone(self) -> str:
        """The IANA name of the zone the pages show times in (see ``timezone``)."""
        return self.timezone or system_zone()

    @field_validator("overrule_reasons")
    @classmethod
    def _known_reasons(cls, value: list[str]) -> list[str]:
        # A misspelt code would silently never match: refuse it when the config is read.
        unknown = [r for r in value if r not in Reason.__members__]
        if unknown:
            raise ValueError(f"unknown reason codes: {', '.join(unknown)}")
        return value


def system_zone() -> str:
    """The gate host's time zone as an IANA name ($TZ, /etc/timezone, the /etc/localtime
    link), "UTC" when none of them names one."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text("utf-8").strip())
    try:
        target = os.readlink("/etc/localtime")
        candidates.append(target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else "")
    except OSError:
        pass
    for name in candidates:
        if not name:
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return "UTC"
