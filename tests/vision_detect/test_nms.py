"""Greedy NMS: the same boxes as OpenCV's NMSBoxes, bounded work, edge cases."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.vision.person.nms import greedy_nms


def _random_boxes(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 400, (n, 2))
    wh = rng.uniform(5, 120, (n, 2))
    # Rounded scores give ties, which both implementations must break the same way.
    # (Above 0: NMSBoxes drops scores not above its score threshold, here 0.)
    return np.hstack([xy, xy + wh]), np.round(rng.uniform(0.01, 1, n), 2)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("iou", [0.3, 0.45, 0.6])
def test_same_boxes_as_opencv(seed: int, iou: float) -> None:
    boxes, scores = _random_boxes(seed, 300)
    xywh = np.hstack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])
    theirs = np.asarray(cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), 0.0, iou)).reshape(-1)
    ours = greedy_nms(boxes, scores, iou, max_out=10_000)
    assert sorted(ours) == sorted(theirs.tolist())
    assert [scores[i] for i in ours] == sorted(scores[ours], reverse=True)


def _clustered_boxes(seed: int, clusters: int, per: int) -> tuple[np.ndarray, np.ndarray]:
    """Near-duplicate boxes around a few objects, as SSD anchors are: most get suppressed."""
    rng = np.random.default_rng(seed)
    centres = np.repeat(rng.uniform(0, 400, (clusters, 2)), per, axis=0)
    xy = centres + rng.normal(0, 3, centres.shape)
    wh = np.repeat(rng.uniform(20, 100, (clusters, 2)), per, axis=0) + rng.normal(0, 3, xy.shape)
    return np.hstack([xy, xy + wh]), np.round(rng.uniform(0.01, 1, clusters * per), 3)


@pytest.mark.parametrize("max_out", [1, 7, 30, 100])
def test_windowed_search_keeps_opencvs_best_boxes(max_out: int) -> None:
    """Many candidates, few kept: the search window widens several times, same result."""
    boxes, scores = _clustered_boxes(11, 20, 150)
    xywh = np.hstack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])
    theirs = np.asarray(cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), 0.0, 0.5)).reshape(-1)
    best_first = sorted(theirs.tolist(), key=lambda i: (-scores[i], i))
    assert len(best_first) > max_out or max_out == 100
    assert greedy_nms(boxes, scores, 0.5, max_out) == best_first[:max_out]


def test_stops_at_max_out_with_the_best_boxes_first() -> None:
    boxes, scores = _random_boxes(3, 2000)
    everything = greedy_nms(boxes, scores, 0.6, max_out=10_000)
    assert len(everything) > 100
    assert greedy_nms(boxes, scores, 0.6, max_out=100) == everything[:100]


def test_overlap_exactly_at_the_threshold_is_kept() -> None:
    # Two 10x10 boxes overlapping by 5x10: IoU = 50 / 150 = 1/3.
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10]], dtype=float)
    scores = np.array([0.9, 0.8])
    assert greedy_nms(boxes, scores, 1 / 3, 10) == [0, 1]
    assert greedy_nms(boxes, scores, 0.3, 10) == [0]


def test_empty_and_degenerate_inputs() -> None:
    assert greedy_nms(np.zeros((0, 4)), np.zeros(0), 0.5, 10) == []
    assert greedy_nms(np.ones((3, 4)), np.ones(3), 0.5, 0) == []
    # Zero-area boxes have no overlap with anything: all are kept.
    points = np.array([[1, 1, 1, 1], [1, 1, 1, 1]], dtype=float)
    assert greedy_nms(points, np.array([0.5, 0.4]), 0.5, 10) == [0, 1]
