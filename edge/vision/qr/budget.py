"""Time accounting of the scanner: what each rung is expected to cost, and how much of the
wall time the fallback rungs may take on a live camera.

The scanner starts a rung only when its expected cost fits in the frame's budget
(``[scanner] budget_ms``). Expected costs start from :data:`SEED_COST_MS_PER_MP` and are then
learnt per scanner from what each rung really took, so a slower machine (a Raspberry Pi) soon
budgets with its own figures.
"""

from __future__ import annotations

import threading

# Starting estimates of each rung's cost, ms per megapixel of its input, measured on a 2-core
# Xeon (2026-11-22; the QR-only first read and the exposure rungs 2026-12-06, shared machine)
# on frames without a readable code (the slow case); the scanner then learns the real
# figures of its machine as it runs. On the door path the first read also sizes itself with
# its figure: a 12-MP frame is read at full resolution only when that fits the budget.
SEED_COST_MS_PER_MP = {
    "zxing": 4.0,  # the first read, on a 1-MP frame; it sizes itself by a steeper curve
    "shrink": 1.0,  # the door path's shrinking of a frame too large to read within budget
    "aztec/zxing": 14.0,
    "gamma-dark/zxing": 25.0,
    "gamma-bright/zxing": 25.0,
    "clahe/zxing": 30.0,
    "half-blur/zxing": 25.0,
    "crop/zxing": 15.0,
    "crop-sharpen/zxing": 20.0,
    "crop-clahe/zxing": 20.0,
    "crop-threshold/pyzbar": 40.0,
    "upscale/zxing": 15.0,
    "unbend/zxing": 15.0,
    "sharpen/zxing": 25.0,
    "threshold/pyzbar": 40.0,
    "pyzbar": 40.0,
}


class DutyCycle:
    """A token bucket limiting the share of wall time the fallback rungs may use.

    Most frames at a gate show no code at all, and on those the fallbacks always run to the
    end of the budget; on a live camera that would keep a core busy on empty scenes. Credit
    accrues at ``duty`` ms per ms of wall time up to ``burst_ms``; fallbacks run while credit
    is positive and spend it. A code held up for a second still gets several full ladders.
    ``duty`` ≥ 1 disables the limit (still images, benchmarks).
    """

    def __init__(self, duty: float, burst_ms: float) -> None:
        self.duty = duty
        self.burst_ms = burst_ms
        self._credit = burst_ms
        self._t: float | None = None
        self._lock = threading.Lock()

    def allow(self, now: float) -> bool:
        """Whether fallbacks may run at ``now`` (seconds)."""
        if self.duty >= 1.0:
            return True
        with self._lock:
            if self._t is not None:
                gained = max(0.0, now - self._t) * 1000.0 * self.duty
                self._credit = min(self.burst_ms, self._credit + gained)
            self._t = now
            return self._credit > 0

    def spend(self, ms: float) -> None:
        """Charge ``ms`` milliseconds of fallback work."""
        if self.duty < 1.0:
            with self._lock:
                self._credit -= ms
