"""Settings of MQTT sync with the central platform (``[sync]``, see docs/sync.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator

from edge.core.settings import Section


class SyncSettings(Section):
    """MQTT sync with the central platform (see docs/sync.md)."""

    enabled: bool = Field(default=False, description="sync records to the central platform")
    host: str = Field(default="127.0.0.1", min_length=1, description="MQTT broker host")
    port: int = Field(default=1883, ge=1, le=65535, description="MQTT broker TCP port")
    brokers: list[str] = Field(
        default_factory=list,
        description="further nodes of a clustered broker, 'host:port', tried in turn after "
        "host:port when a connection fails or is lost (docs/cluster.md)",
    )
    protocol: Literal["auto", "v5", "v311"] = Field(
        default="auto", description="'auto' = MQTT 5, falling back to 3.1.1 if refused"
    )
    client_id: str | None = Field(default=None, description="MQTT client id (default: gate id)")
    username: str | None = Field(default=None, description="MQTT user name (default: none)")
    password_file: Path | None = Field(
        default=None, description="file holding the MQTT password (kept out of this file)"
    )
    tls: bool = Field(default=False, description="connect with TLS")
    ca_file: Path | None = Field(default=None, description="PEM CA that signed the broker cert")
    cert_file: Path | None = Field(default=None, description="client cert PEM (mutual TLS)")
    key_file: Path | None = Field(default=None, description="client key PEM (mutual TLS)")
    central_keys: list[Path] = Field(
        default_factory=list, description="pinned central Ed25519 public keys (PEM)"
    )
    keepalive_s: int = Field(default=30, ge=5, le=600, description="MQTT keep-alive, s")
    session_expiry_s: int = Field(
        default=604800, ge=0, le=4294967295, description="broker keeps our session this long, s"
    )
    inflight: int = Field(default=64, ge=50, le=100, description="QoS 1 messages awaiting PUBACK")
    batch_max: int = Field(default=200, ge=1, le=1000, description="records per message")
    max_packet_bytes: int = Field(
        default=262144, ge=4096, le=268435455, description="largest message we send, bytes"
    )
    backlog_rate: float = Field(
        default=5000.0, ge=0.0, le=1e6, description="backlog drain limit, records/s (0 = none)"
    )
    ack_timeout_s: float = Field(
        default=15.0,
        ge=1.0,
        le=3600.0,
        description="resend what central has not acked after at most this, s",
    )
    ack_timeout_min_s: float = Field(
        default=1.0,
        ge=0.1,
        le=3600.0,
        description="resend after the measured ack round trip (+4x its spread), at least this, s",
    )
    reconnect_min_s: float = Field(default=1.0, ge=0.05, le=60.0, description="back-off start, s")
    reconnect_max_s: float = Field(default=60.0, ge=1.0, le=3600.0, description="back-off cap, s")
    heartbeat_s: float = Field(default=60.0, ge=1.0, le=3600.0, description="heartbeat period, s")
    list_floor: dict[
        Literal["households", "holder_colours", "revocations", "trust", "rules", "zones", "config"],
        Annotated[int, Field(ge=0, le=2**63 - 1)],
    ] = Field(
        default_factory=dict,
        description="lowest version accepted per downlink list (anti-rollback after a wipe)",
    )
    list_max_age_s: float = Field(
        default=0.0,
        ge=0.0,
        le=1e9,
        description="refuse lists/config signed longer ago than this, s (0 = no limit)",
    )
    max_downlink_bytes: int = Field(
        default=1048576, ge=1024, le=16777216, description="larger downlink is refused, bytes"
    )
    snapshot_cap_mb: float = Field(
        default=200.0, ge=1.0, le=1e6, description="unsent snapshot JPEGs kept at most, MB"
    )

    @field_validator("brokers")
    @classmethod
    def _host_ports(cls, v: list[str]) -> list[str]:
        for item in v:
            host, sep, port = item.rpartition(":")
            if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
                raise ValueError(f"broker {item!r} is not 'host:port' (port 1-65535)")
        return v

    def failover(self) -> tuple[tuple[str, int], ...]:
        """``brokers`` as (host, port) pairs; an IPv6 host may be written in brackets."""
        out = []
        for item in self.brokers:
            host, _, port = item.rpartition(":")
            out.append((host.removeprefix("[").removesuffix("]"), int(port)))
        return tuple(out)
