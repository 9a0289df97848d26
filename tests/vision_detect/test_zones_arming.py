"""Zone settings validation, arming by household status, exemption windows, occupancy."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from edge.vision.camera.settings import PerimeterCameraSettings
from edge.vision.geometry import Detection, polygon_problem
from edge.vision.perimeter.settings import ExemptWindow, PerimeterSettings, ZoneSettings
from edge.vision.perimeter.tracker import IouTracker
from edge.vision.perimeter.zones import ZoneOccupancy, exemption, is_armed, passes_box_filters

ZONE = ZoneSettings(household="3-2-501", polygon=[(0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)])


def test_self_intersecting_polygon_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValidationError, match="self-intersecting"):
        ZoneSettings(polygon=[(0.1, 0.1), (0.9, 0.8), (0.9, 0.1), (0.1, 0.9)])


def test_out_of_range_polygon_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"outside the frame.*0\.\.1"):
        ZoneSettings(polygon=[(0.1, 0.1), (1.5, 0.1), (0.5, 0.9)])


@pytest.mark.parametrize(
    ("points", "words"),
    [
        ([(0.1, 0.1), (0.2, 0.2)], "at least 3"),
        ([(0.1, 0.1), (0.2, 0.2), (0.3, 0.3)], "zero area"),
        ([(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9)], None),
    ],
)
def test_polygon_problems(points: list[tuple[float, float]], words: str | None) -> None:
    problem = polygon_problem(points)
    assert (problem is None) if words is None else (words in str(problem))


def test_masks_are_validated_too() -> None:
    with pytest.raises(ValidationError, match="mask 1"):
        PerimeterCameraSettings(masks=[[(0.0, 0.0), (2.0, 0.0), (0.0, 1.0)]])


def test_settings_cross_checks_and_extra_keys() -> None:
    with pytest.raises(ValidationError, match="not among"):
        PerimeterSettings(
            cameras=[PerimeterCameraSettings(id="door")], zones=[ZoneSettings(camera="x")]
        )
    with pytest.raises(ValidationError, match="unique"):
        PerimeterSettings(cameras=[PerimeterCameraSettings(), PerimeterCameraSettings()])
    with pytest.raises(ValidationError, match="building-unit-room"):
        ZoneSettings(household="501")
    with pytest.raises(ValidationError, match="Extra inputs"):
        ZoneSettings.model_validate({"dwel_s": 3})
    with pytest.raises(ValidationError):
        PerimeterCameraSettings(fps=0)


def test_armed_exactly_while_quarantined_or_sealed() -> None:
    for status, armed in [
        ("home_quarantine", True),
        ("sealed", True),
        ("normal", False),
        ("controlled", False),
    ]:
        assert is_armed(ZONE, {"3-2-501": status}) is armed
    assert not is_armed(ZONE, {})  # unknown household
    assert not is_armed(ZONE, {"3-2-502": "sealed"})  # a neighbour's status does not count


def test_armed_by_hand_and_by_config() -> None:
    assert is_armed(ZONE, {}, manual=True)
    assert not is_armed(ZONE, {"3-2-501": "sealed"}, manual=False)
    assert is_armed(ZONE.model_copy(update={"arm": "on"}), {})
    assert not is_armed(ZONE.model_copy(update={"arm": "off"}), {"3-2-501": "sealed"})


def test_exemption_windows_in_local_time() -> None:
    monday = dt.datetime(2026, 1, 5)  # a Monday
    zone = ZONE.model_copy(
        update={
            "exempt": [
                ExemptWindow(days=[0], start=dt.time(9), end=dt.time(9, 30)),
                ExemptWindow(days=[0], start=dt.time(23), end=dt.time(1)),  # over midnight
            ]
        }
    )

    def at(day: dt.datetime, h: int, m: int) -> float:
        return day.replace(hour=h, minute=m).timestamp()

    assert exemption(zone, at(monday, 9, 10)) is not None
    assert exemption(zone, at(monday, 9, 30)) is None  # end is exclusive
    assert exemption(zone, at(monday + dt.timedelta(days=1), 9, 10)) is None  # Tuesday
    assert exemption(zone, at(monday, 23, 30)) is not None
    assert exemption(zone, at(monday + dt.timedelta(days=1), 0, 30)) is not None
    assert exemption(zone, at(monday, 0, 30)) is None  # Sunday night's window: not configured


def test_box_filters() -> None:
    aspect = 4 / 3
    assert passes_box_filters(ZONE, (0.6, 0.3, 0.7, 0.8), 0.9, aspect)
    assert not passes_box_filters(ZONE, (0.6, 0.3, 0.7, 0.8), 0.3, aspect)  # low score
    assert not passes_box_filters(ZONE, (0.6, 0.3, 0.605, 0.31), 0.9, aspect)  # tiny
    assert not passes_box_filters(ZONE, (0.0, 0.0, 1.0, 0.95), 0.9, aspect)  # huge
    assert not passes_box_filters(ZONE, (0.5, 0.5, 0.9, 0.6), 0.9, aspect)  # lying flat


def test_bottom_centre_inside_after_inertia_frames() -> None:
    zone = ZONE.model_copy(update={"inertia": 3})
    occupancy = ZoneOccupancy(zone)
    tracker = IouTracker()
    results = []
    # The box overlaps the zone from the start, but the feet cross the edge at x=0.5 only later.
    for step, x in enumerate([0.35, 0.40, 0.46, 0.47, 0.48, 0.49, 0.50]):
        tracker.update([Detection((x, 0.3, x + 0.1, 0.8), 0.9)], step * 0.2)
        results.append(occupancy.update(tracker.tracks, step * 0.2, 4 / 3))
    assert [len(r) for r in results] == [0, 0, 0, 0, 1, 1, 1]
    assert results[-1][0].since == pytest.approx(0.4)  # first frame inside, not after inertia
