"""Settings of the local store (``[store]``) and of what is kept on disk (``[retention]``)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field

from edge.core.settings import Section


class WhenNotDurable(StrEnum):
    """Which doors may open while records cannot be made durable (disk full, read-only…)."""

    OPEN = "open"  # the gate decides as usual; records wait in memory (the default)
    EXIT_ONLY = "exit_only"  # only exits open: nobody is let in unrecorded
    LOCKED = "locked"  # no pass opens the door (the exit button and fire input still do)


class StoreSettings(Section):
    path: Path = Field(
        default=Path("var/edge-gate.sqlite3"), description="SQLite database file of the gate"
    )
    pending_max: int = Field(
        default=10_000,
        ge=10,
        le=1_000_000,
        description="records kept in memory while the disk refuses writes; beyond this the "
        "oldest are dropped and counted in a gap record",
    )
    when_not_durable: WhenNotDurable = Field(
        default=WhenNotDurable.OPEN,
        description="which doors passes may open while records are not durable: open, "
        "exit_only or locked",
    )


class RetentionSettings(Section):
    """How long acknowledged records and snapshots stay on the gate's disk."""

    keep_days: float = Field(
        default=90.0,
        ge=1.0,
        le=3650.0,
        description="records acknowledged by the central platform are purged after this, days",
    )
    interval_s: float = Field(
        default=3600.0, ge=10.0, le=86400.0, description="how often the retention job runs, s"
    )
    snapshot_dir: Path | None = Field(
        default=None, description="folder of alert snapshot images to keep under the caps below"
    )
    snapshot_max_mb: float = Field(
        default=512.0, ge=1.0, le=1_000_000.0, description="cap on the snapshot folder, MB"
    )
    min_free_mb: float = Field(
        default=256.0,
        ge=0.0,
        le=1_000_000.0,
        description="oldest snapshots are deleted while the disk has less free space, MB",
    )
    max_db_mb: float = Field(
        default=0.0,
        ge=0.0,
        le=1_000_000.0,
        description="cap on the records kept in the database, MB (0 = no cap): beyond it the "
        "oldest records go first, unsynced ones last, counted in a gap record with an alert",
    )
