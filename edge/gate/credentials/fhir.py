"""FHIR bundles of SMART Health Cards → :class:`HealthEvidence`.

Only what the rules need is kept: immunizations become one vaccination fact (doses counted,
latest date), lab observations become test facts. Patient names and birth dates are dropped.
"""

from __future__ import annotations

from typing import Any

from edge.gate.credentials.evidence import (
    EvidenceKind,
    HealthEvidence,
    TestResult,
    TestType,
    parse_time,
)

# LOINC codes of SARS-CoV-2 tests (SMART "lab-qualitative-test-covid" value set)
_NAAT = {
    "94306-8", "94307-6", "94308-4", "94309-2", "94500-6", "94502-2", "94531-1", "94533-7",
    "94534-5", "94559-2", "94639-2", "94640-0", "94641-8", "94642-6", "94643-4", "94644-2",
    "94645-9", "94646-7", "94660-8", "94745-7", "94746-5", "94756-4", "94757-2", "94759-8",
    "94760-6", "94845-5", "95406-6", "95409-0", "95423-1", "95425-6", "95608-7", "95609-5",
    "96091-5", "96120-2", "96121-0", "96122-8", "96123-6", "96448-7", "96986-6", "96094-9",
    "96896-7", "96897-5", "96898-3", "96899-1", "96900-7", "96957-7", "96958-5", "97098-8",
}  # fmt: skip
_ANTIGEN = {"94558-4", "95209-3", "96119-4", "97097-0", "94763-0"}
_RESULTS = {
    "260385009": TestResult.NEGATIVE,  # negative
    "260415000": TestResult.NEGATIVE,  # not detected
    "10828004": TestResult.POSITIVE,  # positive
    "260373001": TestResult.POSITIVE,  # detected
}
_SINGLE_DOSE_CVX = {"212"}  # Janssen: one dose completes the series


def _codes(concept: Any) -> list[str]:
    if not isinstance(concept, dict) or not isinstance(concept.get("coding"), list):
        return []
    return [str(c.get("code")) for c in concept["coding"] if isinstance(c, dict)]


class MissingField(ValueError):
    """A required FHIR field is absent (a claims problem, not an unreadable date)."""


def _time(value: Any) -> float:
    if value is None:
        raise MissingField("a required FHIR date is missing")
    t = parse_time(value)
    if t is None:
        raise ValueError(f"unusable FHIR date {value!r}")
    return t


def _resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return []
    out = []
    for e in entries:
        res = e.get("resource") if isinstance(e, dict) else None
        if isinstance(res, dict):
            out.append(res)
    return out


def bundle_evidence(bundle: dict[str, Any], iss: str | None) -> tuple[HealthEvidence, ...]:
    """Evidence in a FHIR bundle; raises ``ValueError`` on an unusable date."""
    del iss  # an issuer URL does not say a country; kept for symmetry with HC1
    doses: list[float] = []
    single = False
    tests: list[HealthEvidence] = []
    for res in _resources(bundle):
        kind = res.get("resourceType")
        if kind == "Immunization" and res.get("status", "completed") == "completed":
            doses.append(_time(res.get("occurrenceDateTime")))
            single = single or bool(_SINGLE_DOSE_CVX & set(_codes(res.get("vaccineCode"))))
        elif kind == "Observation" and res.get("status", "final") in ("final", "amended"):
            loinc = set(_codes(res.get("code")))
            test_type = (
                TestType.NUCLEIC_ACID
                if loinc & _NAAT
                else TestType.RAPID_ANTIGEN
                if loinc & _ANTIGEN
                else TestType.OTHER
            )
            result = next(
                (_RESULTS[c] for c in _codes(res.get("valueCodeableConcept")) if c in _RESULTS),
                TestResult.UNKNOWN,
            )
            tests.append(
                HealthEvidence(
                    EvidenceKind.TEST,
                    test_type=test_type,
                    sample_time=_time(res.get("effectiveDateTime")),
                    result=result,
                )
            )
    out = list(tests)
    if doses:
        out.insert(
            0,
            HealthEvidence(
                EvidenceKind.VACCINATION,
                dose_number=len(doses),
                total_doses=1 if single else 2,
                vaccination_time=max(doses),
            ),
        )
    return tuple(out)
