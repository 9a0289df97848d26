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
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from edge.gate.door.policy import DoorRulesSettings
from edge.gate.rules.profile import Direction, Rules
from edge.vision.settings import DetectorSettings, PerimeterSettings


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GateSettings(Section):
    id: str = Field(
        default="demo-gate",
        pattern=r"^[a-z0-9][a-z0-9-]{0,31}$",
        description="gate id used in records and MQTT topics: lowercase letters, digits, '-'",
    )
    name: str = Field(default="Main gate", max_length=64, description="name shown to guards")
    direction: Direction = Field(
        default=Direction.IN, description="direction of the reader: 'in' or 'out'"
    )
    language: Literal["zh", "en"] = Field(default="zh", description="language of door messages")
    session_window_s: float = Field(
        default=20.0,
        ge=3.0,
        le=120.0,
        description="seconds one person has to show the pass and every health proof",
    )


Pin = int | None
ContactKind = Literal["nc", "no"]


class DoorSettings(Section):
    """The ``[door]`` table: lock, inputs, indicators (BCM pin numbers) and timings (seconds).

    See docs/door.md. Optional devices are off when their pin is not set.
    """

    relay_pin: int = Field(default=17, ge=0, le=27, description="BCM GPIO pin driving the relay")
    active_high: bool = Field(
        default=True, description="true when the relay board energises on a high pin"
    )
    lock_type: Literal["fail_secure", "fail_safe"] = Field(
        default="fail_secure",
        description="'fail_secure' strike (energise to unlock) or 'fail_safe' maglock "
        "(energise to lock)",
    )
    pulse_s: float = Field(
        default=3.0, ge=0.2, le=30.0, description="seconds the lock stays released on an allow"
    )
    max_unlock_s: float = Field(
        default=30.0, ge=1.0, le=600.0, description="longest momentary unlock, seconds"
    )
    held_open_warn_s: float = Field(
        default=15.0, ge=1.0, le=3600.0, description="door open this long: warning, seconds"
    )
    held_open_alarm_s: float = Field(
        default=30.0, ge=1.0, le=7200.0, description="door open this long: alarm, seconds"
    )
    contact_pin: Pin = Field(default=None, ge=0, le=27, description="BCM pin of the door contact")
    contact_kind: ContactKind = Field(
        default="nc", description="'nc': circuit closed while the door is shut; 'no': open"
    )
    exit_pin: Pin = Field(default=None, ge=0, le=27, description="BCM pin of the exit button")
    exit_debounce_s: float = Field(
        default=0.3, ge=0.0, le=5.0, description="exit button presses closer than this are bounce"
    )
    fire_pin: Pin = Field(default=None, ge=0, le=27, description="BCM pin of the fire alarm input")
    fire_contact_kind: ContactKind = Field(
        default="nc", description="'nc': alarm when the circuit opens (a cut wire releases)"
    )
    tamper_pin: Pin = Field(default=None, ge=0, le=27, description="BCM pin of the tamper switch")
    tamper_contact_kind: ContactKind = Field(
        default="nc", description="'nc': tamper when the circuit opens"
    )
    green_led_pin: Pin = Field(default=None, ge=0, le=27, description="BCM pin of the green LED")
    red_led_pin: Pin = Field(default=None, ge=0, le=27, description="BCM pin of the red LED")
    buzzer_pin: Pin = Field(default=None, ge=0, le=27, description="BCM pin of the buzzer")
    indicators_active_high: bool = Field(
        default=True, description="true when LEDs and buzzer are on with a high pin"
    )

    @model_validator(mode="after")
    def _check(self) -> DoorSettings:
        used: dict[int, str] = {}
        for key in PIN_KEYS:
            pin = getattr(self, key)
            if pin is None:
                continue
            if pin in (0, 1):
                raise ValueError(
                    f"door.{key}: GPIO {pin} is reserved for the HAT ID EEPROM (ID_SD/ID_SC) — "
                    "use a pin from 2 to 27"
                )
            if pin in used:
                raise ValueError(
                    f"door.{key}: pin {pin} is already door.{used[pin]} — "
                    "give every device its own pin"
                )
            used[pin] = key
        if self.pulse_s > self.max_unlock_s:
            raise ValueError(
                f"door.pulse_s ({self.pulse_s}) is longer than door.max_unlock_s "
                f"({self.max_unlock_s}) — raise max_unlock_s or shorten pulse_s"
            )
        if self.held_open_alarm_s <= self.held_open_warn_s:
            raise ValueError(
                f"door.held_open_alarm_s ({self.held_open_alarm_s}) must be longer than "
                f"door.held_open_warn_s ({self.held_open_warn_s}) — the warning comes first"
            )
        return self


PIN_KEYS = (
    "relay_pin",
    "contact_pin",
    "exit_pin",
    "fire_pin",
    "tamper_pin",
    "green_led_pin",
    "red_led_pin",
    "buzzer_pin",
)


class CameraSettings(Section):
    source: str = Field(
        default="synthetic",
        min_length=1,
        description=(
            "'synthetic', 'picamera2', a USB index ('0'), a video file, an RTSP URL"
            " or an image folder"
        ),
    )
    width: int = Field(default=1280, ge=160, le=4096, description="frame width, pixels")
    height: int = Field(default=720, ge=120, le=3072, description="frame height, pixels")
    reconnect_min_s: float = Field(
        default=0.5, ge=0.01, le=60.0, description="first wait before reopening a failed camera, s"
    )
    reconnect_max_s: float = Field(
        default=10.0, ge=0.1, le=600.0, description="longest wait between camera reopen tries, s"
    )
    stale_after_s: float = Field(
        default=2.0,
        ge=0.1,
        le=60.0,
        description="a camera whose last frame is older than this is reported unhealthy, s",
    )


class ScannerSettings(Section):
    budget_ms: float = Field(
        default=80.0, ge=5.0, le=2000.0, description="time budget for reading one frame, ms"
    )
    strategy: Literal["multi", "zxing", "pyzbar"] = Field(
        default="multi",
        description="'multi' (zxing-cpp, then fallbacks and pyzbar), or one engine alone",
    )
    aztec: bool = Field(default=True, description="also read Aztec codes (some EU certificates)")
    max_regions: int = Field(
        default=3, ge=0, le=10, description="candidate regions the fallbacks try per frame, count"
    )
    fallback_duty: float = Field(
        default=0.3,
        ge=0.05,
        le=1.0,
        description=(
            "share of time the fallback reads may use over a few frames, 0..1;"
            " 1 = no limit (still images)"
        ),
    )
    max_megapixels: float = Field(
        default=4.0,
        ge=0.3,
        le=100.0,
        description="larger images are downscaled for whole-image reads, megapixels",
    )
    repeat_after_s: float = Field(
        default=5.0,
        ge=0.5,
        le=3600.0,
        description="a code held in view is processed again after this long, s",
    )
    gone_after_s: float = Field(
        default=1.5,
        ge=0.1,
        le=60.0,
        description="a code unseen this long has left the view and counts as new, s",
    )


class StoreSettings(Section):
    path: Path = Field(
        default=Path("var/edge-gate.sqlite3"), description="SQLite database file of the gate"
    )


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


class RetentionSettings(Section):
    """How long acknowledged records and snapshots stay on the gate's disk."""

    keep_days: float = Field(
        default=90.0,
        ge=1.0,
        le=3650.0,
        description="records acknowledged by the central platform are purged after this, days",
    )
    interval_s: float = Field(
        default=3600.0, ge=10.0, le=86400.0, description="how often the retention job runs, s"
    )
    snapshot_dir: Path | None = Field(
        default=None, description="folder of alert snapshot images to keep under the caps below"
    )
    snapshot_max_mb: float = Field(
        default=512.0, ge=1.0, le=1_000_000.0, description="cap on the snapshot folder, MB"
    )
    min_free_mb: float = Field(
        default=256.0,
        ge=0.0,
        le=1_000_000.0,
        description="oldest snapshots are deleted while the disk has less free space, MB",
    )


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
    max_streams: int = Field(
        default=8, ge=1, le=64, description="live pages open at once (one thread each)"
    )
    demo: bool = Field(
        default=True, description="the demo starts a console with throwaway accounts"
    )


class SyncSettings(Section):
    """MQTT sync with the central platform (see docs/sync.md)."""

    enabled: bool = Field(default=False, description="sync records to the central platform")
    host: str = Field(default="127.0.0.1", min_length=1, description="MQTT broker host")
    port: int = Field(default=1883, ge=1, le=65535, description="MQTT broker TCP port")
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
        default=15.0, ge=1.0, le=3600.0, description="resend what central has not acked, s"
    )
    reconnect_min_s: float = Field(default=1.0, ge=0.05, le=60.0, description="back-off start, s")
    reconnect_max_s: float = Field(default=60.0, ge=1.0, le=3600.0, description="back-off cap, s")
    heartbeat_s: float = Field(default=60.0, ge=1.0, le=3600.0, description="heartbeat period, s")
    max_downlink_bytes: int = Field(
        default=1048576, ge=1024, le=16777216, description="larger downlink is refused, bytes"
    )
    snapshot_cap_mb: float = Field(
        default=200.0, ge=1.0, le=1e6, description="unsent snapshot JPEGs kept at most, MB"
    )


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


class ConfigError(ValueError):
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


def load_config(path: Path | None) -> Config:
    """The config in ``path``, or the embedded defaults when ``path`` is None.

    Raises :class:`ConfigError` listing every problem; never returns a partial config.
    """
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc.strerror}) — check the path"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc} — fix the syntax there"]) from None
    return parse_config(data)
