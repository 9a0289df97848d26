"""Recall and average precision of person detections against ground-truth boxes (issue 20).

The usual PASCAL VOC rule: detections of all images sorted by score; a detection is a true
positive when its IoU with a not yet matched true box of its image is ≥ ``iou_min`` (0.5),
else a false positive. AP is the area under the precision/recall curve with precision made
monotone (all points, as VOC 2010+ and COCO's per-IoU AP).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from edge.vision.geometry import Box, Detection, iou


@dataclass(frozen=True)
class Score:
    """Recall at a score threshold, AP over all scores, counts."""

    recall: float
    ap: float
    persons: int
    found: int  # true positives at the threshold
    false: int  # false positives at the threshold


def evaluate(
    results: Sequence[tuple[Sequence[Detection], Sequence[Box]]],
    threshold: float = 0.5,
    iou_min: float = 0.5,
) -> Score:
    """Score ``(detections, truth)`` pairs, one per image; ``detections`` at any score."""
    scored: list[tuple[float, bool]] = []
    persons = sum(len(truth) for _, truth in results)
    for found, truth in results:
        taken: set[int] = set()
        for det in sorted(found, key=lambda d: -d.score):
            best, best_iou = -1, iou_min
            for j, box in enumerate(truth):
                overlap = iou(det.box, box)
                if j not in taken and overlap >= best_iou:
                    best, best_iou = j, overlap
            if best >= 0:
                taken.add(best)
            scored.append((det.score, best >= 0))
    scored.sort(key=lambda s: -s[0])
    tp = fp = 0
    points: list[tuple[float, float]] = []  # (recall, precision)
    for _score, hit in scored:
        tp, fp = tp + hit, fp + (not hit)
        points.append((tp / persons if persons else 0.0, tp / (tp + fp)))
    ap, best_precision, prev_recall = 0.0, 0.0, 0.0
    # Monotone precision: the best precision at this recall or any higher one.
    envelope: list[tuple[float, float]] = []
    for recall, precision in reversed(points):
        best_precision = max(best_precision, precision)
        envelope.append((recall, best_precision))
    for recall, precision in reversed(envelope):
        ap += (recall - prev_recall) * precision
        prev_recall = recall
    at = [hit for score, hit in scored if score >= threshold]
    found_n = sum(at)
    return Score(
        recall=found_n / persons if persons else 0.0,
        ap=ap,
        persons=persons,
        found=found_n,
        false=len(at) - found_n,
    )
