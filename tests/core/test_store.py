"""Durability: a decision's record survives the process being killed right after it."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from edge.store.sqlite import MIGRATIONS, Store

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from gpiozero.pins.mock import MockFactory
    from edge.app.gate import build_gate
    from edge.core.clock import FakeClock
    from edge.app.config import Config
    from edge.store.settings import StoreSettings
    from edge.gate.credentials import passes
    from edge.gate.credentials.verified import Role
    from edge.gate.credentials.trust import TrustStore

    key = Ed25519PrivateKey.generate()
    trust = TrustStore()
    trust.add_pass_issuer(key.public_key())
    clock = FakeClock(start=1_780_000_000)
    config = Config(store=StoreSettings(path=sys.argv[1]))
    gate = build_gate(config, clock=clock, pin_factory=MockFactory(), trust=trust)
    body = passes.PassBody("P-9", "h-9", "3", "2", "501", Role.RESIDENT, 0, 2_000_000_000)
    outcome = gate.process_text(passes.issue(body, key))
    print(outcome.record.seq, outcome.record.id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no close, no flush, no atexit
    """
)


def test_record_survives_sigkill_right_after_the_decision(tmp_path: Path) -> None:
    db = tmp_path / "gate.sqlite3"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(db)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    seq, rid = proc.stdout.split()
    con = sqlite3.connect(db)
    row = con.execute("SELECT id, kind, body FROM records WHERE seq=?", (int(seq),)).fetchone()
    assert row is not None and row[0] == rid and row[1] == "access"
    assert '"allow":true' in row[2]
    assert con.execute("SELECT COUNT(*) FROM outbox WHERE seq=?", (int(seq),)).fetchone()[0] == 1


def test_wal_and_full_sync(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store.schema_version == len(MIGRATIONS)
    store.close()


def test_seq_is_monotonic_and_ids_unique_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    seen = []
    for _ in range(3):
        store = Store(path)
        seen += [store.append("access", 1.0, {"n": i}) for i in range(5)]
        store.close()
    assert [r.seq for r in seen] == list(range(1, 16))
    assert len({r.id for r in seen}) == 15
    reopened = Store(path)
    assert [r.body["n"] for r in reopened.records()] == [0, 1, 2, 3, 4] * 3
    assert reopened.integrity_ok()
    reopened.close()


def test_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    try:
        with store.transaction() as db:
            Store.insert_record(db, "access", 1.0, {"x": 1})
            raise RuntimeError("door hardware failed mid-way")
    except RuntimeError:
        pass
    assert store.records() == [] and store.outbox_depth() == 0
    store.close()


def test_used_steps(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    assert not store.step_used("P-1", 7)
    with store.transaction() as db:
        Store.mark_step_used(db, "P-1", 7, 1.0)
        Store.mark_step_used(db, "P-1", 7, 2.0)  # idempotent
    assert store.step_used("P-1", 7) and not store.step_used("P-1", 8)
    store.close()
    reopened = Store(tmp_path / "s.sqlite3")
    assert reopened.step_used("P-1", 7)  # replay protection survives a restart
    reopened.close()
