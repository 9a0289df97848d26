"""The receiver's bookkeeping: whatever order and duplication records arrive in, ``contig``
is the longest gap-free prefix and the reported gaps are exactly the missing seqs."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.central.db import CentralDB
from edge.sync.payloads import RecordItem


def items(seqs: list[int]) -> list[RecordItem]:
    return [RecordItem(seq=s, id=f"id-{s}", kind="access", ts=1.0, x=s) for s in seqs]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.integers(min_value=1, max_value=60), max_size=20), max_size=8),
)
def test_contig_and_gaps_whatever_the_arrival_order(batches: list[list[int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = CentralDB(str(Path(tmp) / "c.sqlite3"))
        db.ensure_gate("g")
        seen: set[int] = set()
        for batch in batches:
            db.store_records("g", items(batch), 2.0)
            db.commit()
            contig, gaps = db.advance("g")
            db.commit()
            seen |= set(batch)
            expect = 0
            while expect + 1 in seen:
                expect += 1
            assert contig == expect
            missing = [s for s in range(contig + 1, max(seen, default=0)) if s not in seen]
            from_gaps = [s for lo, hi in gaps for s in range(lo, hi + 1)]
            assert from_gaps == missing[: len(from_gaps)] and (
                len(gaps) == 16 or from_gaps == missing
            )
        assert db.seqs("g") == sorted(seen)  # stored once each
        stats = db.stats()
        if seen:
            assert stats[0]["records"] == len(seen) and stats[0]["last_seq"] == max(seen)
        db.close()


def test_epochs_archive_the_old_database_and_ignore_its_late_batches(tmp_path: Path) -> None:
    db = CentralDB(str(tmp_path / "c.sqlite3"))
    db.ensure_gate("g")
    old, new = "a" * 32, "b" * 32
    assert db.check_epoch("g", old)
    db.store_records("g", items([1, 2]), 1.0)
    assert db.check_epoch("g", new)  # reinstalled: seqs restart
    db.store_records("g", items([1]), 1.0)
    assert not db.check_epoch("g", old)  # a late resend from the old disk is ignored
    db.commit()
    assert db.seqs("g") == [1] and db.seqs("g~aaaaaaaa") == [1, 2]
    assert db.advance("g") == (1, []) and db.epoch_of("g") == new
    db.close()


def test_central_runs_as_its_own_console_script(tmp_path: Path) -> None:
    """``edge-gate-central`` is installed beside ``edge-gate`` and answers the same verbs."""
    import json
    import subprocess
    import sys

    script = Path(sys.executable).parent / "edge-gate-central"
    db_path = tmp_path / "central.sqlite3"
    missing = subprocess.run(
        [str(script), "stats", "--db", str(db_path), "--json"], capture_output=True, text=True
    )
    assert missing.returncode == 2 and "no receiver database" in missing.stderr
    db = CentralDB(str(db_path))
    db.ensure_gate("gate-z")
    db.store_records("gate-z", items([1, 2, 3]), 1.0)
    db.advance("gate-z")
    db.commit()
    db.close()
    out = subprocess.run(
        [str(script), "stats", "--db", str(db_path), "--json"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert rows[0]["gate"] == "gate-z" and rows[0]["records"] == 3
