"""The demo scene (embedded walker, real detector) alerts only for an isolated household."""

from __future__ import annotations

from pathlib import Path

from edge.tools.perimeter_demo import run_scene
from edge.vision.perimeter.alerts import AlertKind, AlertPhase
from edge.vision.person.detector import Detector


def test_demo_scene_alerts_once_for_a_quarantined_household(
    detector: Detector, tmp_path: Path
) -> None:
    alerts = run_scene(detector.detect, {"3-2-501": "home_quarantine"}, tmp_path)
    new = [a for a in alerts if a.kind is AlertKind.PERSON_IN_ZONE and a.phase is AlertPhase.NEW]
    assert len(new) == 1
    assert new[0].household == "3-2-501" and new[0].snapshot is not None
    assert new[0].snapshot.stat().st_size <= 120_000
    assert not [a for a in alerts if a.kind is not AlertKind.PERSON_IN_ZONE]  # camera healthy


def test_demo_scene_is_quiet_for_a_normal_household(detector: Detector, tmp_path: Path) -> None:
    assert run_scene(detector.detect, {"3-2-501": "normal"}, tmp_path) == []
