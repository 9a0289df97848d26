"""The demo: residents presenting codes to a simulated camera, through the real pipeline.

Everything is made here — an issuer key, passes, a lists snapshot, camera-like frames — and
runs through source → scanner → verify → decide → store → door, with gpiozero's MockFactory
for the relay and a fake clock that steps 10 s between residents (so it needs no waiting).
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import base45
import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.app.config import Config
from edge.app.gate import Gate, Outcome, build_gate
from edge.core.clock import FakeClock
from edge.gate.credentials import passes
from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verified import Role
from edge.gate.rules.lists import Household, HouseholdStatus, ListsSnapshot
from edge.gate.rules.profile import Direction
from edge.store.settings import StoreSettings
from edge.tools.render import Look, render_frame
from edge.vision.camera.sources import SyntheticSource

DAY = 86_400


def _key(label: str) -> Ed25519PrivateKey:
    """Deterministic demo keys, so runs are reproducible (never for real use)."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


@dataclass(frozen=True)
class Scene:
    title: str
    text: str
    direction: Direction
    look: Look
    expect_allow: bool


def _edit_room(text: str, old: str, new: str) -> str:
    """A genuine pass with its room number edited and the issuer's signature kept."""
    parts = cbor2.loads(base45.b45decode(text[len(passes.PREFIX) :]))
    parts = [parts[0], parts[1], parts[2].replace(old.encode(), new.encode()), *parts[3:]]
    return passes.PREFIX + bytes(base45.b45encode(cbor2.dumps(parts))).decode("ascii")


def _scenes(now: float) -> list[Scene]:
    issuer, forger, phone = _key("demo-issuer"), _key("demo-forger"), _key("demo-phone")
    t = int(now)

    def body(
        pid: str, room: str, vf: int = t - 30 * DAY, vu: int = t + 300 * DAY
    ) -> passes.PassBody:
        return passes.PassBody(pid, f"h-{pid}", "3", "2", room, Role.RESIDENT, vf, vu)

    static = passes.issue(body("P-1001", "501"), issuer)
    dyn_base = passes.issue(
        passes.PassBody(
            "P-1002",
            "h-P-1002",
            "3",
            "2",
            "502",
            Role.TENANT,
            t - DAY,
            t + 90 * DAY,
            passes.device_public_bytes(phone),
        ),
        issuer,
    )
    dynamic = passes.dynamic_code(dyn_base, phone, now)
    expired = passes.issue(body("P-1003", "503", t - 400 * DAY, t - DAY), issuer)
    forged = passes.issue(body("P-1004", "504"), forger)  # right format, unknown key
    tampered = _edit_room(static, "501", "999")
    revoked = passes.issue(body("P-1005", "505"), issuer)
    quarantined = passes.issue(body("P-1006", "601"), issuer)
    phone_look = Look()
    card_look = Look(phone=False, glare=0.0, tilt=18.0, rotate=-8.0, blur=1.3)
    return [
        Scene("resident, printed static pass", static, Direction.IN, card_look, True),
        Scene("tenant, dynamic pass on a phone", dynamic, Direction.IN, phone_look, True),
        Scene(
            "screenshot of the dynamic code, shown again",
            dynamic,
            Direction.IN,
            Look(tilt=20.0, noise=9.0),
            False,
        ),
        Scene("resident, expired pass", expired, Direction.IN, Look(glare=0.5), False),
        Scene("stranger, pass signed by an unknown key", forged, Direction.IN, phone_look, False),
        Scene("pass with its room number edited", tampered, Direction.IN, card_look, False),
        Scene("resident, revoked pass", revoked, Direction.IN, Look(blur=1.6), False),
        Scene("home-quarantined resident going out", quarantined, Direction.OUT, phone_look, False),
        Scene(
            "a shop's QR code (not a pass)",
            "https://shop.example/coupon/42",
            Direction.IN,
            phone_look,
            False,
        ),
    ]


def demo_lists() -> ListsSnapshot:
    return ListsSnapshot(
        version=1,
        households={
            "3-2-501": Household(),
            "3-2-502": Household(),
            "3-2-601": Household(status=HouseholdStatus.HOME_QUARANTINE),
        },
        revoked_passes=frozenset({"P-1005"}),
    )


def demo_trust() -> TrustStore:
    trust = TrustStore()
    trust.add_pass_issuer(_key("demo-issuer").public_key())
    return trust


def _perimeter(gate: Gate, config: Config, base: Path, out: TextIO, wall: float) -> int:
    """A person walks up to a home-quarantined household's door, watched by the detector.

    Returns 1 when the expected single alert did not come (0 when the model is missing: the
    gate keeps working without it, and the demo says so).
    """
    from edge.app.wiring import AlertRecorder
    from edge.tools.console_demo import corridor
    from edge.tools.perimeter_demo import run_scene
    from edge.vision.person.detector import Detector

    detector = Detector(config.detector)
    if not detector.status.ok:
        out.write(f"\nperimeter: detector unavailable — {detector.status.message}\n")
        return 0
    # the default strategy (auto) runs the high-view model when it loads, as the gate does
    overhead = Detector(config.detector.overhead()) if config.detector.uses_overhead() else None
    household = "3-2-601"  # under home quarantine in the demo lists: its zone is armed
    alerts = run_scene(
        detector.detect,
        gate.lists.statuses(),
        base / "snapshots",
        start_wall=wall,
        household=household,
        sink=AlertRecorder(gate),
        background=corridor(stamp=False),  # the corridor the console shows, door 601 right
        overhead=overhead.detect if overhead is not None and overhead.status.ok else None,
    )
    # The scene played in simulated time from ``wall``: move the gate's clock past its last
    # frame, so nothing recorded afterwards (an acknowledgement) is dated before the alert.
    latest = max((a.wall for a in alerts), default=wall)
    if isinstance(gate.clock, FakeClock) and gate.clock.time() < latest:
        gate.clock.advance(latest - gate.clock.time() + 1.0)
    new = [a for a in alerts if a.phase.value == "new"]
    out.write(f"\nperimeter camera at {household} (home quarantine), person detector on the CPU:\n")
    for a in new:
        size = a.snapshot.stat().st_size // 1024 if a.snapshot else 0
        out.write(f"   ALERT {a.kind.value}: {a.message_en} / {a.message}\n")
        out.write(f"   snapshot {a.snapshot.name if a.snapshot else '-'} ({size} KB), recorded\n")
    return 0 if len(new) == 1 else 1


def run_demo(
    out: TextIO,
    config: Config | None = None,
    workdir: Path | None = None,
    lang: str = "en",
    after_gate: Callable[[Gate], None] | None = None,
) -> int:
    """Run every scene; returns the number of outcomes that differ from what was expected."""
    config = config or Config()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="edge-gate-demo-") as tmp:
        base = workdir or Path(tmp)
        config = config.model_copy(update={"store": StoreSettings(path=base / "demo.sqlite3")})
        clock = FakeClock(start=time.time())
        gate = build_gate(config, clock=clock, trust=demo_trust(), lists=demo_lists())
        out.write(f"edge-gate demo — gate {config.gate.id}, store {config.store.path}\n")
        out.write(f"relay: gpiozero MockFactory pin {config.door.relay_pin} (no Pi needed)\n")
        console = None
        if config.console.demo:  # the guard console, on 127.0.0.1 with throwaway accounts
            from edge.tools.console_demo import start_demo_console

            console = start_demo_console(gate, out, base)
        out.write("\n")
        scenes = _scenes(clock.time())
        source = SyntheticSource(
            (render_frame(s.text, seed=i, look=s.look) for i, s in enumerate(scenes)), "demo"
        )
        wrong = 0
        for i, scene in enumerate(scenes, 1):
            frame = source.read()
            assert frame is not None
            gate.direction = scene.direction
            outcomes = gate.process_frame(frame)
            pin = gate.door.relay.pin
            if not outcomes:
                out.write(f"{i}. {scene.title}: no code read\n")
                wrong += 1
                continue
            o: Outcome = outcomes[0]
            verdict = "ALLOW" if o.decision.allow else "DENY "
            reasons = ",".join(r.value for r in o.decision.reasons) or "-"
            out.write(
                f"{i}. [{scene.direction.value:>3}] {scene.title}\n"
                f"   {verdict} {reasons:<24} {o.decision.sentence(lang)} / "
                f"{o.decision.sentence('zh')}\n"
                f"   relay: {o.relay} (pin {pin} {'HIGH' if pin.state else 'low'}), "
                f"record seq {o.record.seq}\n"
            )
            if o.decision.allow != scene.expect_allow:
                wrong += 1
                out.write("   !! unexpected outcome\n")
            clock.advance(10.0)
            gate.tick()
        wrong += _perimeter(gate, config, base, out, clock.time())
        allowed = sum(1 for s in scenes if s.expect_allow)
        out.write(
            f"\nsummary: {len(scenes)} residents, {allowed} allowed, {len(scenes) - allowed} "
            f"refused, {gate.store.outbox_depth()} records queued for sync, "
            f"{wrong} unexpected, {time.perf_counter() - started:.1f} s\n"
        )
        from edge.tools.demo_sync import demo_sync  # never fails the demo

        demo_sync(gate, out)
        if console is not None:
            console.finish()
        if after_gate is not None:
            after_gate(gate)
        if console is not None:
            console.stop()
        gate.close()
    return wrong
