"""Settings of the gate itself: its id, name, reader direction and door language (``[gate]``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edge.core.settings import Section
from edge.gate.rules.profile import Direction


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
