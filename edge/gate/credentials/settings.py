"""Settings of credential checking: trusted keys (``[trust]``), the online regional health-code
check (``[health]``) and how far the wall clock is trusted (``[clock]``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from edge.core.settings import Section


class TrustSettings(Section):
    pass_issuer_keys: list[Path] = Field(
        default_factory=list, description="PEM files of community pass issuer public keys"
    )
    dsc_files: list[Path] = Field(
        default_factory=list,
        description="EU DCC signer certificates: PEM/DER files or JSON trust lists",
    )
    shc_jwks_files: list[Path] = Field(
        default_factory=list, description="SMART Health Card issuer JWKS files (JSON)"
    )
    shc_crl_files: list[Path] = Field(
        default_factory=list, description="SMART Health Card revocation lists (JSON, rid method)"
    )


class HealthOnlineSettings(Section):
    """Online regional health-code (健康码) check; the offline policy is in ``[rules]``."""

    enabled: bool = Field(default=False, description="check health codes with the platform")
    endpoint: str = Field(
        default="",
        max_length=512,
        description="HTTPS URL of the platform's code-check interface (http only on loopback)",
    )
    timeout_s: float = Field(
        default=3.0, ge=1.0, le=30.0, description="deadline for one check, seconds"
    )
    cache_ttl_s: float = Field(
        default=30.0, ge=0.0, le=300.0, description="how long an answer is reused, seconds"
    )
    code_prefixes: list[str] = Field(
        default_factory=list, description="text prefixes that mark a scanned health code"
    )
    token_file: Path | None = Field(
        default=None, description="file holding the platform's bearer token"
    )
    ca_file: Path | None = Field(
        default=None, description="CA bundle for the platform's TLS certificate (PEM)"
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str) -> str:
        from edge.gate.credentials.regional import check_endpoint

        return check_endpoint(v) if v else v


class ClockSettings(Section):
    """How far the wall clock is trusted for validity checks (a Pi has no real-time clock)."""

    check: Literal["ntp", "floor", "off"] = Field(
        default="ntp",
        description="'ntp': NTP-synchronised and not before the floor; 'floor': floor only; "
        "'off': always trusted (bench tests only)",
    )
    floor_file: Path | None = Field(
        default=None, description="file keeping the last trusted time (default: beside the store)"
    )
