"""Detector plugins: one per model family, found from the model's own signature."""

from __future__ import annotations

import pytest

from edge.vision.person.detector import Detector
from edge.vision.person.plugins import PLUGINS, plugin_for
from edge.vision.person.settings import (
    DEFAULT_MODEL,
    DEFAULT_MODEL_SHA256,
    FP32_MODEL,
    FP32_MODEL_SHA256,
    NMS_MODEL,
    NMS_MODEL_SHA256,
    OVERHEAD_MODEL,
    OVERHEAD_MODEL_SHA256,
    DetectorSettings,
)


def test_each_family_has_one_plugin() -> None:
    keys = [p.type_key for p in PLUGINS]
    assert sorted(keys) == ["nanodet", "ssd", "ssd_core", "yolo"]
    assert all(plugin_for(k).type_key == k for k in keys)


@pytest.mark.parametrize(
    ("model", "sha", "family"),
    [
        (DEFAULT_MODEL, DEFAULT_MODEL_SHA256, "ssd_core"),
        (FP32_MODEL, FP32_MODEL_SHA256, "ssd_core"),
        (NMS_MODEL, NMS_MODEL_SHA256, "ssd"),
        (OVERHEAD_MODEL, OVERHEAD_MODEL_SHA256, "nanodet"),
    ],
)
def test_shipped_models_are_matched_by_their_plugin(model: object, sha: str, family: str) -> None:
    det = Detector(DetectorSettings(model=model, sha256=sha, warmup_runs=1))
    assert det.status.ok, det.status.message
    assert det.status.family == family
    assert det.status.message.startswith(f"{family} model ")


def test_which_strategies_need_the_overhead_model() -> None:
    auto, named, street = (DetectorSettings(strategy=s) for s in ("auto", "overhead", "single"))
    # auto uses it when it loads; only a camera running `overhead` by name has no fallback
    assert auto.uses_overhead() and not auto.names_overhead()
    assert named.uses_overhead() and named.names_overhead() and named.names_overhead(None)
    assert not named.names_overhead("auto")  # the one camera overrides the section
    assert not street.uses_overhead() and not street.uses_overhead("single", "tiles")
    assert street.uses_overhead("single", "auto") and street.names_overhead(None, "overhead")
    assert not DetectorSettings(enabled=False).uses_overhead()
    swapped = auto.overhead()
    assert swapped.model == auto.overhead_model and swapped.sha256 == auto.overhead_sha256
    assert swapped.strategy == "single" and swapped.person_class is None
