"""Health evidence, normalised from every health-credential format into one shape.

HC1 (EU DCC) and SMART Health Cards carry very different payloads; the decision core only ever
sees :class:`HealthEvidence`: what kind of proof, when the sample was taken, the result, the
dose count, the recovery window and the issuing country. Names and birth dates are never copied
into it, so nothing downstream of verification can leak them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from edge.core.isotime import parse_iso8601
from edge.gate.reasons import Reason


class EvidenceKind(StrEnum):
    TEST = "test"
    VACCINATION = "vaccination"
    RECOVERY = "recovery"


class TestType(StrEnum):
    __test__ = False  # not a pytest test class
    NUCLEIC_ACID = "nucleic_acid"  # NAAT / PCR (核酸)
    RAPID_ANTIGEN = "rapid_antigen"
    OTHER = "other"


class TestResult(StrEnum):
    __test__ = False
    NEGATIVE = "negative"
    POSITIVE = "positive"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class HealthEvidence:
    """One normalised health fact. Times are Unix seconds (UTC)."""

    kind: EvidenceKind
    issuer_country: str | None = None
    test_type: TestType | None = None
    sample_time: float | None = None
    result: TestResult | None = None
    dose_number: int | None = None
    total_doses: int | None = None
    vaccination_time: float | None = None
    valid_from: float | None = None  # recovery certificates: validity window
    valid_until: float | None = None

    @property
    def series_complete(self) -> bool:
        """A vaccination whose dose number reached the series total."""
        return (
            self.kind is EvidenceKind.VACCINATION
            and self.dose_number is not None
            and self.total_doses is not None
            and self.dose_number >= self.total_doses > 0
        )

    def test_age_h(self, now: float) -> float | None:
        """Hours from the sample time to ``now``; None when not a test."""
        if self.sample_time is None:
            return None
        return (now - self.sample_time) / 3600.0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value}
        for name in (
            "issuer_country",
            "test_type",
            "sample_time",
            "result",
            "dose_number",
            "total_doses",
            "vaccination_time",
            "valid_from",
            "valid_until",
        ):
            v = getattr(self, name)
            if v is not None:
                out[name] = v.value if isinstance(v, StrEnum) else v
        for name in ("sample_time", "vaccination_time", "valid_from", "valid_until"):
            if name in out:
                out[name + "_iso"] = iso_utc(out[name])
        return out


class HealthCodeStatus(StrEnum):
    """Answer of the online regional health-code (健康码) check."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    EXPIRED = "expired"
    NOT_FOUND = "not_found"
    FAILED = "failed"
    TIMEOUT = "timeout"

    @property
    def offline(self) -> bool:
        """True when the platform could not give an answer (the offline policy applies)."""
        return self in (HealthCodeStatus.FAILED, HealthCodeStatus.TIMEOUT)


@dataclass(frozen=True)
class HealthCredential:
    """A verified (or refused) offline health certificate: HC1 or SHC."""

    format: str
    evidence: tuple[HealthEvidence, ...]
    code_hash: str = ""
    problems: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class HealthCodeCredential:
    """The platform's answer about a regional health code, as checked online."""

    status: HealthCodeStatus
    code_hash: str = ""
    checked_at: float = 0.0  # Unix seconds of the answer (cache hits keep the original)
    cached: bool = False
    problems: tuple[Reason, ...] = ()


def iso_utc(ts: float) -> str:
    """Unix seconds as an ISO 8601 UTC string with a ``Z``."""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_time(value: Any, *, end_of_day: bool = False) -> float | None:
    """A lenient date or date-time (ISO 8601, odd spellings) → Unix seconds; None if unusable.

    A date without time means midnight UTC, or the last second of that day with
    ``end_of_day`` (a recovery certificate is valid *until* its last day, inclusive).
    """
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return dt.timestamp()
    if isinstance(value, date):
        value = value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        # early DCC schemas wrote epoch milliseconds: nothing real is dated after year 5138
        return float(value) / 1000.0 if abs(value) > 1e11 else float(value)
    if not isinstance(value, str) or not 0 < len(value) <= 40:
        return None
    s = value.strip()
    if _DATE_RE.match(s):
        try:
            d = datetime.strptime(s, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            return None
        if end_of_day:
            d += timedelta(days=1, seconds=-1)
        return d.timestamp()
    try:
        return parse_iso8601(s)
    except ValueError:
        return None
