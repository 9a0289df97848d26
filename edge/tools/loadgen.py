"""Synthetic but realistic gate records, pushed through the real durable outbox.

Access decisions are built with the gate's own body models (outcome, reasons, household, hashed
code — never raw codes), with an occasional person-in-zone alert, so an integrator's central
side sees the same shapes, priorities and rates it will see in production.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable

from edge.core.records import AccessBody, AlertBody, CredentialSummary, RecordBody
from edge.store.sqlite import Record, Store

DENY_REASONS = ("expired", "revoked", "unknown_issuer", "home_quarantine", "bad_signature")


def synthetic(rng: random.Random, gate: str, i: int, alert_every: int) -> RecordBody:
    """The body of the ``i``-th synthetic record (its kind is ``body.kind``)."""
    if alert_every and i % alert_every == alert_every - 1:
        household = f"3-2-{rng.randint(101, 1802)}"
        now = time.time()
        return AlertBody(
            gate=gate,
            alert_id=f"{rng.getrandbits(128):032x}",
            alert="person_in_zone",
            phase="new",
            camera=f"cam-{rng.randint(1, 8)}",
            zone=f"door-{household}",
            household=household,
            score=round(rng.uniform(0.5, 0.99), 3),
            started=now,
            reason="",
            snapshot=None,
        )
    allow = rng.random() < 0.9
    room = f"{rng.randint(1, 18)}{rng.randint(1, 4):02d}"
    pid = f"P-{rng.randint(1000, 99999)}"
    reasons = [] if allow else [rng.choice(DENY_REASONS)]
    code_hash = hashlib.sha256(f"{pid}-{i}".encode()).hexdigest()[:16]
    proof = CredentialSummary(
        kind="pass", format="PASS", outcome="valid" if allow else "invalid", reasons=reasons
    )
    return AccessBody(
        gate=gate,
        direction=rng.choice(("in", "out")),
        allow=allow,
        reasons=reasons,
        flags=[],
        relay="pulse" if allow else "none",
        credentials=[proof],
        code_hashes=[code_hash],
        format="PASS",
        code_hash=code_hash,
        pass_id=pid,
        holder=f"h-{pid}",
        household=f"{rng.randint(1, 12)}-{rng.randint(1, 4)}-{room}",
        role=rng.choice(("resident", "resident", "tenant", "staff", "visitor")),
        dynamic=rng.random() < 0.5,
    )


def generate(
    store: Store,
    gate: str,
    n: int,
    rate: float = 0.0,
    alert_every: int = 100,
    seed: int = 1,
    on_record: Callable[[Record], None] | None = None,
) -> float:
    """Append ``n`` records at ``rate`` records/s (0 = as fast as the disk allows, committed
    500 per transaction); returns the seconds it took. Each commit is durable (FULL)."""
    rng = random.Random(seed)
    started = time.monotonic()
    if rate <= 0:
        for lo in range(0, n, 500):
            with store.transaction() as db:
                for i in range(lo, min(n, lo + 500)):
                    body = synthetic(rng, gate, i, alert_every)
                    rec = Store.insert_record(db, body.kind, time.time(), body)
                    if on_record:
                        on_record(rec)
        return time.monotonic() - started
    for i in range(n):
        due = started + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        body = synthetic(rng, gate, i, alert_every)
        rec = store.append(body.kind, time.time(), body)
        if on_record:
            on_record(rec)
    return time.monotonic() - started
