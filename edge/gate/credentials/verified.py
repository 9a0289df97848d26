"""Verified credentials: what a scanned code proved, as plain immutable values.

Verification (signatures, formats, validity windows) happens before the decision core; a
credential carries its own verification problems in ``problems`` so the core can explain them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum

from edge.gate.credentials.evidence import HealthCodeCredential, HealthCredential
from edge.gate.reasons import Reason


class Role(StrEnum):
    """Who a community pass belongs to (landlords register tenants: 以房管人)."""

    RESIDENT = "resident"
    TENANT = "tenant"
    STAFF = "staff"
    VISITOR = "visitor"


def household_key(building: str, unit: str, room: str) -> str:
    """Canonical key of a household, e.g. ``"3-2-501"``."""
    return f"{building}-{unit}-{room}"


def code_hash(text: str) -> str:
    """Short, non-reversible fingerprint of a scanned code (records never hold raw text)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class PassFields:
    """What a community pass says: whose it is, for which household, and when it is valid."""

    pass_id: str
    holder: str
    building: str
    unit: str
    room: str
    role: Role
    valid_from: int  # Unix seconds
    valid_until: int  # Unix seconds


@dataclass(frozen=True)
class PassCredential(PassFields):
    """A community pass (小区出入证) as read and verified at the gate."""

    dynamic: bool = False
    step: int | None = None  # dynamic codes: the 30 s time step the phone signed
    code_hash: str = ""
    problems: tuple[Reason, ...] = ()
    replayed: bool = False  # set by the app after checking the local store of used steps
    registered: bool = False  # a visitor pass signed by the booth's delegated visitor key

    @property
    def household(self) -> str:
        return household_key(self.building, self.unit, self.room)


@dataclass(frozen=True)
class UnreadableCredential:
    """A code that was read but is not a usable credential (wrong format, damaged, forged)."""

    format: str
    code_hash: str
    problems: tuple[Reason, ...] = field(default=(Reason.UNKNOWN_FORMAT,))


Credential = PassCredential | UnreadableCredential | HealthCredential | HealthCodeCredential
