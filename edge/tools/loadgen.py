"""Synthetic but realistic gate records, pushed through the real durable outbox.

Access decisions look like the gate's own (outcome, reasons, household, hashed code — never
raw codes), with an occasional person-detection alert, so an integrator's central side sees
the same shapes and rates it will see in production.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from typing import Any

from edge.store.sqlite import Record, Store

PRIORITY_ACCESS = 10  # as in edge.app.gate: access records before bulk records
DENY_REASONS = ("expired", "revoked", "unknown_issuer", "home_quarantine", "bad_signature")


def synthetic(
    rng: random.Random, gate: str, i: int, alert_every: int
) -> tuple[str, dict[str, Any]]:
    """(kind, body) of the ``i``-th synthetic record."""
    if alert_every and i % alert_every == alert_every - 1:
        return "alert", {
            "gate": gate,
            "type": "quarantine_door_person",
            "zone": f"3-2-{rng.randint(101, 1802)}",
            "camera": f"cam-{rng.randint(1, 8)}",
            "score": round(rng.uniform(0.5, 0.99), 3),
        }
    allow = rng.random() < 0.9
    room = f"{rng.randint(1, 18)}{rng.randint(1, 4):02d}"
    pid = f"P-{rng.randint(1000, 99999)}"
    return "access", {
        "gate": gate,
        "direction": rng.choice(("in", "out")),
        "allow": allow,
        "reasons": [] if allow else [rng.choice(DENY_REASONS)],
        "flags": [],
        "format": "pass",
        "code_hash": hashlib.sha256(f"{pid}-{i}".encode()).hexdigest()[:16],
        "relay": "pulse" if allow else "none",
        "pass_id": pid,
        "holder": f"h-{pid}",
        "household": f"{rng.randint(1, 12)}-{rng.randint(1, 4)}-{room}",
        "role": rng.choice(("resident", "resident", "tenant", "staff", "visitor")),
        "dynamic": rng.random() < 0.5,
    }


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
                    kind, body = synthetic(rng, gate, i, alert_every)
                    rec = Store.insert_record(db, kind, time.time(), body, PRIORITY_ACCESS)
                    if on_record:
                        on_record(rec)
        return time.monotonic() - started
    for i in range(n):
        due = started + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        kind, body = synthetic(rng, gate, i, alert_every)
        rec = store.append(kind, time.time(), body, PRIORITY_ACCESS)
        if on_record:
            on_record(rec)
    return time.monotonic() - started
