"""Shared helpers for the walking-skeleton tests (imported by name: tests/core is on sys.path)."""

from __future__ import annotations

from edge.gate.credentials import passes
from edge.gate.credentials.verified import Role

NOW = 1_780_000_000.0  # 2026-05-28, a fixed instant for every test
DAY = 86_400


def make_body(
    pass_id: str = "P-1",
    room: str = "501",
    role: Role = Role.RESIDENT,
    valid_from: float = NOW - DAY,
    valid_until: float = NOW + DAY,
    device: bytes | None = None,
) -> passes.PassBody:
    return passes.PassBody(
        pass_id,
        f"holder-{pass_id}",
        "3",
        "2",
        room,
        role,
        int(valid_from),
        int(valid_until),
        device,
    )
