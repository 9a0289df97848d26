"""History and search for the booth: passages, refusals, alerts and guard actions from the
gate's own store, filtered by time, household, outcome and reason, paged; CSV for the committee.

The store keeps what retention has not yet removed (days, not years), so a search walks the
records newest first in windows and filters here; it stops after :data:`SCAN_LIMIT` records so
one search can never hold a worker thread for long on a big store.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from edge.core.records import RecordKind
from edge.gate.reasons import Reason
from edge.gate.rules.decision import Decision
from edge.gate.rules.lists import ListsSnapshot
from edge.store.sqlite import Record, Store

PAGE_SIZE = 50
WINDOW = 1000  # records read from the store at a time
SCAN_LIMIT = 100_000  # records looked at per search at most
CSV_LIMIT = 10_000  # rows per export
KINDS = ("access", "alert", "guard", "door")
OUTCOMES = ("allow", "deny")


class QueryError(ValueError):
    """A search the page should not have sent; the message says which field."""


@dataclass(frozen=True)
class Query:
    """A history search. Times are Unix seconds (inclusive); empty fields match everything."""

    since: float | None = None
    until: float | None = None
    household: str = ""
    outcome: str = ""  # allow | deny (passages only)
    reason: str = ""  # a reason code
    kind: str = ""  # access | alert | guard | door
    page: int = 0

    @classmethod
    def parse(cls, query_string: str) -> Query:
        raw = {k: v[0].strip() for k, v in parse_qs(query_string).items() if v}

        def number(key: str) -> float | None:
            if not raw.get(key):
                return None
            try:
                return float(raw[key])
            except ValueError as exc:
                raise QueryError(f"{key} must be Unix seconds") from exc

        outcome, kind, reason = raw.get("outcome", ""), raw.get("kind", ""), raw.get("reason", "")
        if outcome and outcome not in OUTCOMES:
            raise QueryError("outcome must be allow or deny")
        if kind and kind not in KINDS:
            raise QueryError("kind must be one of " + ", ".join(KINDS))
        if reason and reason not in Reason.__members__:
            raise QueryError("unknown reason code")
        household = raw.get("household", "")
        if len(household) > 32:
            raise QueryError("household is too long")
        try:
            page = int(raw.get("page", "0") or 0)
        except ValueError as exc:
            raise QueryError("page must be a number") from exc
        if not 0 <= page <= 10_000:
            raise QueryError("page out of range")
        return cls(number("since"), number("until"), household, outcome, reason, kind, page)


def _sentences(allow: bool, reasons: list[str]) -> tuple[str, str]:
    try:
        decision = Decision(allow=allow, reasons=tuple(Reason(r) for r in reasons))
    except ValueError:  # a reason this version does not know
        return "", ""
    return decision.sentence("zh"), decision.sentence("en")


def row_of(record: Record) -> dict[str, Any] | None:
    """One record as a history row (never health details), or None for kinds not shown."""
    kind = str(record.kind)
    if kind not in KINDS:
        return None
    b = record.body
    row: dict[str, Any] = {
        "seq": record.seq,
        "ts": record.ts,
        "kind": kind,
        "household": b.get("household") or "",
        "reasons": [],
        "outcome": "",
        "sentence_zh": "",
        "sentence_en": "",
        "user": "",
        "detail": "",
    }
    if record.kind is RecordKind.ACCESS or kind == "access":
        reasons = [str(r) for r in b.get("reasons") or []]
        allow = bool(b.get("allow"))
        zh, en = _sentences(allow, reasons)
        row.update(
            outcome="allow" if allow else "deny",
            reasons=reasons,
            sentence_zh=zh,
            sentence_en=en,
            detail=str(b.get("direction") or ""),
        )
    elif kind == "alert":
        row.update(outcome=str(b.get("phase") or ""), detail=str(b.get("alert") or ""))
        row["reasons"] = []
        if b.get("zone"):
            row["detail"] += f" {b['zone']}"
    elif kind == "guard":
        what = b.get("note") or b.get("reason") or b.get("zone") or b.get("alert") or ""
        row.update(outcome=str(b.get("action") or ""), user=str(b.get("user") or ""))
        row["detail"] = str(what)
    else:  # door
        row.update(outcome=str(b.get("event") or ""), detail=str(b.get("source") or ""))
    return row


def _matches(row: dict[str, Any], q: Query) -> bool:
    if q.since is not None and row["ts"] < q.since:
        return False
    if q.until is not None and row["ts"] > q.until:
        return False
    if q.kind and row["kind"] != q.kind:
        return False
    if q.outcome and (row["kind"] != "access" or row["outcome"] != q.outcome):
        return False
    if q.reason and q.reason not in row["reasons"]:
        return False
    return not q.household or q.household.lower() in str(row["household"]).lower()


def _newest_first(store: Store) -> Iterator[Record]:
    hi = store.max_seq()
    looked = 0
    while hi > 0 and looked < SCAN_LIMIT:
        lo = max(0, hi - WINDOW)
        batch = store.records(after_seq=lo, limit=WINDOW)
        for record in reversed(batch):
            if record.seq <= hi:
                yield record
        looked += hi - lo
        hi = lo


def search(store: Store, q: Query, limit: int = PAGE_SIZE) -> dict[str, Any]:
    """One page of matching rows, newest first; ``more`` says whether a next page exists."""
    skip, more = q.page * limit, False
    rows: list[dict[str, Any]] = []
    for record in _newest_first(store):
        if q.since is not None and record.ts < q.since - 86_400:
            break  # seq follows time on one gate, a day's slack for clock steps
        row = row_of(record)
        if row is None or not _matches(row, q):
            continue
        if skip:
            skip -= 1
            continue
        if len(rows) == limit:
            more = True
            break
        rows.append(row)
    return {"rows": rows, "page": q.page, "more": more, "page_size": limit}


CSV_COLUMNS = (
    "time",
    "seq",
    "kind",
    "outcome",
    "household",
    "reasons",
    "sentence_zh",
    "sentence_en",
    "user",
    "detail",
)


def _cell(value: Any) -> str:
    text = str(value)
    # A cell starting with = + - @ would be a formula in a spreadsheet (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(store: Store, q: Query, zone: str | None = None) -> bytes:
    """The matching rows (all pages, at most CSV_LIMIT) as UTF-8 CSV with a BOM, so the
    committee's spreadsheet opens the Chinese text right. Times in the gate's time zone
    (``zone``, an IANA name; None: the host's)."""
    tz = ZoneInfo(zone) if zone else None
    rows = search(store, Query(**{**q.__dict__, "page": 0}), limit=CSV_LIMIT)["rows"]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        when = datetime.fromtimestamp(r["ts"], tz).astimezone(tz).isoformat(timespec="seconds")
        values = {**r, "time": when, "reasons": " ".join(r["reasons"])}
        w.writerow([_cell(values[c]) for c in CSV_COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def household_card(
    store: Store, lists: ListsSnapshot, zones: list[dict[str, Any]], key: str
) -> dict[str, Any] | None:
    """What the colour map's tile leads to besides the history rows: the household's current
    colour and status, the perimeter zones bound to it and its status changes seen by this
    gate (``colour_change`` alerts), newest first. None for a household not in the lists."""
    h = lists.household(key)
    if h is None:
        return None
    changes = []
    for record in _newest_first(store):
        body = record.body
        if (
            record.kind == RecordKind.ALERT
            and body.get("alert") == "colour_change"
            and body.get("household") == key
        ):
            changes.append({"ts": record.ts, "change": body.get("reason", "")})
            if len(changes) >= 20:
                break
    return {
        "key": key,
        "colour": h.colour.value,
        "status": h.status.value,
        "quarantine_until": h.quarantine_until,
        "zones": [
            {"id": z.get("id"), "camera": z.get("camera")}
            for z in zones
            if z.get("household") == key
        ],
        "changes": changes,
    }
