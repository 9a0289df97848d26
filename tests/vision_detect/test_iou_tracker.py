"""The IoU tracker keeps ids across frames and drops people who left."""

from __future__ import annotations

from edge.vision.geometry import Detection
from edge.vision.perimeter.tracker import IouTracker


def person(x: float, y: float = 0.3, score: float = 0.9) -> Detection:
    return Detection((x, y, x + 0.1, y + 0.3), score)


def test_ids_follow_walking_people() -> None:
    tracker = IouTracker()
    first = tracker.update([person(0.1), person(0.6)], now=0.0)
    assert [t.id for t in first] == [1, 2]
    for step in range(1, 10):
        seen = tracker.update([person(0.6 - 0.01 * step), person(0.1 + 0.01 * step)], step / 5)
        assert [t.id for t in seen] == [1, 2]
    assert tracker.tracks[0].box[0] > 0.15  # id 1 moved right


def test_a_missed_frame_keeps_the_id_and_a_long_absence_does_not() -> None:
    tracker = IouTracker(max_misses=2, max_age_s=1.0)
    tracker.update([person(0.2)], 0.0)
    tracker.update([], 0.2)
    assert [t.id for t in tracker.update([person(0.21)], 0.4)] == [1]
    for i in range(3):
        tracker.update([], 0.6 + 0.2 * i)
    assert tracker.tracks == []
    assert [t.id for t in tracker.update([person(0.21)], 2.0)] == [2]


def test_median_score_ignores_one_outlier() -> None:
    tracker = IouTracker()
    for i, score in enumerate([0.8, 0.8, 0.2, 0.8, 0.8]):
        tracker.update([person(0.3, score=score)], i * 0.2)
    (track,) = tracker.tracks
    assert track.median_score == 0.8 and track.hits == 5


def test_distant_boxes_are_new_people() -> None:
    tracker = IouTracker()
    tracker.update([person(0.1)], 0.0)
    seen = tracker.update([person(0.7)], 0.2)
    assert [t.id for t in seen] == [2]
