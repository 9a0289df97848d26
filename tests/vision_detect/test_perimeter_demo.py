"""The demo scene (embedded walker, real detectors) alerts only for an isolated household."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.tools.console_demo import corridor
from edge.tools.perimeter_demo import run_scene
from edge.vision.perimeter.alerts import AlertKind, AlertPhase
from edge.vision.person.detector import Detector


@pytest.mark.parametrize("path", ["auto with the overhead model", "street model regions"])
def test_demo_scene_alerts_once_for_a_quarantined_household(
    detector: Detector, overhead_detector: Detector, tmp_path: Path, path: str
) -> None:
    """`make demo` plays this with the overhead model (the gate's default path); without it,
    auto's fallback must see the walker too."""
    overhead = overhead_detector.detect if path.startswith("auto") else None
    alerts = run_scene(
        detector.detect,
        {"3-2-501": "home_quarantine"},
        tmp_path,
        background=corridor(stamp=False),
        overhead=overhead,
    )
    new = [a for a in alerts if a.kind is AlertKind.PERSON_IN_ZONE and a.phase is AlertPhase.NEW]
    assert len(new) == 1
    assert new[0].household == "3-2-501" and new[0].snapshot is not None
    assert new[0].snapshot.stat().st_size <= 120_000
    assert not [a for a in alerts if a.kind is not AlertKind.PERSON_IN_ZONE]  # camera healthy


def test_demo_scene_is_quiet_for_a_normal_household(
    detector: Detector, overhead_detector: Detector, tmp_path: Path
) -> None:
    quiet = {"3-2-501": "normal"}
    assert run_scene(detector.detect, quiet, tmp_path) == []
    assert run_scene(detector.detect, quiet, tmp_path, overhead=overhead_detector.detect) == []
