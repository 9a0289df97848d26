"""Frame-to-relay latency of the whole gate, on one pinned CPU core.

For each frame size a fresh gate is built the way the app builds it (``edge.app.gate.build_gate``)
with a gpiozero ``MockFactory`` and a fake clock, trusting a throw-away issuer key. Each
rendered frame shows a valid community pass (a different one per frame, so nothing is a
replay). The clock starts when the frame is handed to ``Gate.process_frame`` and stops when
the relay's mock pin changes to its active level (scan, verify, decide, durable SQLite
record, door). Between frames the fake clock runs past the unlock pulse so the relay drops
again. Frames are rendered before timing. Peak RSS is the whole process's, in MiB, including
the 20 pre-rendered frames (~55 MiB at 1280×720).
"""

from __future__ import annotations

import hashlib
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

SIZES = ((1280, 720), (640, 480))
DISTINCT = 20  # distinct rendered frames, cycled: 200 frames of 720p would be 550 MB


def _pin_to_one_core() -> tuple[set[int] | None, int | None]:
    """Pin this process to its last allowed core; returns the old set and the core."""
    if not hasattr(os, "sched_setaffinity"):
        return None, None
    old = os.sched_getaffinity(0)
    core = max(old)
    os.sched_setaffinity(0, {core})
    return old, core


def _frames(texts: list[str], width: int, height: int) -> list[np.ndarray]:
    from edge.tools.render import Look, render_frame

    # code size scales with the frame, as a resident at the same distance appears
    look = Look(code_px=int(300 * height / 720))
    return [
        render_frame(t, seed=i, look=look, width=width, height=height) for i, t in enumerate(texts)
    ]


def measure_frames(
    width: int,
    height: int,
    texts: list[str],
    count: int,
    trust: Any,
    workdir: Path,
    keep: bool = False,
) -> dict[str, Any]:
    """Frame → relay figures of a fresh gate over ``count`` frames of ``width`` × ``height``,
    cycling over one rendered frame per text. ``keep`` adds every latency (``latencies_ms``),
    for pooling several runs."""
    from edge.app.config import Config
    from edge.app.gate import build_gate
    from edge.core.clock import FakeClock
    from edge.gate.door.pins import make_pin_factory
    from edge.store.settings import StoreSettings

    distinct = _frames(texts, width, height)
    frames = [distinct[i % len(distinct)] for i in range(count)]
    clock = FakeClock(time.time())
    # A fresh store per run: earlier runs' records of the same passes must not be replays.
    db = Path(tempfile.mkdtemp(dir=workdir, prefix=f"bench-{width}x{height}-")) / "gate.db"
    config = Config().model_copy(update={"store": StoreSettings(path=db)})
    gate = build_gate(config, clock=clock, pin_factory=make_pin_factory("mock"), trust=trust)
    relay = gate.door.relay
    active_at: list[float] = []
    pin = relay.pin
    original = pin._change_state

    def spy(value: Any) -> Any:  # note the moment the relay pin goes to its active level
        result = original(value)
        if relay.is_active and not active_at:
            active_at.append(time.perf_counter())
        return result

    pin._change_state = spy
    latencies, missed = [], 0
    try:
        for frame in frames:
            active_at.clear()
            t0 = time.perf_counter()
            gate.process_frame(frame)
            if active_at:
                latencies.append((active_at[0] - t0) * 1000.0)
            else:
                missed += 1
            clock.advance(config.door.pulse_s + 1.0)  # past the pulse: the relay drops
            gate.tick()
    finally:
        gate.close()
    ms = latencies or [float("nan")]
    extra = {"latencies_ms": latencies} if keep else {}
    return extra | {
        "size": f"{width}x{height}",
        "frames": len(frames),
        "opened": len(latencies),
        "missed": missed,
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "max_ms": round(max(ms), 2),
    }


def bench_passes(count: int) -> tuple[list[str], Any]:
    """``count`` valid community passes (a throw-away issuer) and a trust store for them."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from edge.gate.credentials import passes
    from edge.gate.credentials.trust import TrustStore
    from edge.gate.credentials.verified import Role

    issuer = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"bench-issuer").digest())
    trust = TrustStore()
    trust.add_pass_issuer(issuer.public_key())
    now = int(time.time())
    texts = [
        passes.issue(
            passes.PassBody(
                f"B-{i:04d}",
                f"h-{i}",
                "1",
                "1",
                str(100 + i),
                Role.RESIDENT,
                now - 86_400,
                now + 86_400 * 30,
            ),
            issuer,
        )
        for i in range(count)
    ]
    return texts, trust


def bench_pipeline(frames: int = 200, sizes: tuple[tuple[int, int], ...] = SIZES) -> dict[str, Any]:
    """Frame → relay latency per (width, height) in ``sizes`` over ``frames`` frames each."""
    from edge.tools.bench_qr import machine

    old, core = _pin_to_one_core()
    cv2.setNumThreads(1)
    try:
        texts, trust = bench_passes(min(frames, DISTINCT))
        with tempfile.TemporaryDirectory(prefix="edge-bench-") as tmp:
            rows = [measure_frames(w, h, texts, frames, trust, Path(tmp)) for w, h in sizes]
    finally:
        if old is not None:
            os.sched_setaffinity(0, old)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "pinned_core": core,
        "machine": machine(),
        "results": rows,
        "peak_rss_mib": round(peak_kib / 1024, 1),
    }


def format_pipeline(result: dict[str, Any]) -> str:
    """The result as a plain-text table."""
    lines = [
        f"frame → relay active on one core (core {result['pinned_core']}),"
        f" {result['machine']['cpu']}",
        f"{'size':10} {'frames':>6} {'opened':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}",
    ]
    for r in result["results"]:
        lines.append(
            f"{r['size']:10} {r['frames']:>6} {r['opened']:>6} {r['p50_ms']:>7.1f}"
            f" {r['p95_ms']:>7.1f} {r['max_ms']:>7.1f}"
        )
    lines.append(f"peak RSS {result['peak_rss_mib']} MiB")
    return "\n".join(lines)
