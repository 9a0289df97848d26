"""Settings of the QR reader (``[scanner]``): engines, time budget and de-duplication."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edge.core.settings import Section

# What ``edge-gate scan`` (and the benchmark's scan row) gives a still photo: its first read is
# always at full resolution (up to 12 MP), this bounds the fallbacks; measured on the
# generated set (docs/benchmarks.md) it keeps the p95 per photo under 150 ms
STILL_BUDGET_MS = 120.0


class ScannerSettings(Section):
    budget_ms: float = Field(
        default=80.0,
        ge=5.0,
        le=2000.0,
        description=(
            "time budget for reading one frame, ms; it bounds the first read too"
            " (a frame too large to read in time is read shrunk)"
        ),
    )
    strategy: Literal["multi", "zxing", "pyzbar"] = Field(
        default="multi",
        description="'multi' (zxing-cpp, then fallbacks and pyzbar), or one engine alone",
    )
    aztec: bool = Field(
        default=True,
        description=(
            "Aztec codes can be present (some EU certificates): read when QR found nothing"
        ),
    )
    max_regions: int = Field(
        default=3, ge=0, le=10, description="candidate regions the fallbacks try per frame, count"
    )
    fallback_duty: float = Field(
        default=0.3,
        ge=0.05,
        le=1.0,
        description=(
            "share of time the fallback reads may use over a few frames, 0..1;"
            " 1 = no limit (still images)"
        ),
    )
    max_megapixels: float = Field(
        default=4.0,
        ge=0.3,
        le=100.0,
        description=(
            "larger images are downscaled for the whole-image fallback reads, megapixels"
            " (the first read is at full resolution when it fits the budget)"
        ),
    )
    repeat_after_s: float = Field(
        default=5.0,
        ge=0.5,
        le=3600.0,
        description="a code held in view is processed again after this long, s",
    )
    gone_after_s: float = Field(
        default=1.5,
        ge=0.1,
        le=60.0,
        description="a code unseen this long has left the view and counts as new, s",
    )
