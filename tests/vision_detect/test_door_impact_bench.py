"""``bench pipeline --perimeter-cameras``: the door timed alone and beside detecting cameras."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.cli import main as cli_main
from edge.tools.bench_impact import bench_door_impact, format_impact


def test_door_is_timed_alone_and_while_cameras_detect(testdata: Path) -> None:
    result = bench_door_impact(
        cameras=2, frames=12, blocks=1, size=(640, 480), video=testdata / "vtest.avi"
    )
    assert result["opened"] == 24 and result["missed"] == 0  # every pass opened the door
    assert result["alone"]["frames"] == result["with_cameras"]["frames"] == 12
    assert result["detector_inferences"] > 0  # the cameras really ran the detector
    assert result["model"].endswith("ssdlite_person_300_core_int8.onnx")
    change = 100 * (result["with_cameras"]["p50_ms"] / result["alone"]["p50_ms"] - 1)
    assert result["p50_change_pct"] == pytest.approx(change, abs=0.05)
    assert result["model_runs"] >= result["detector_inferences"]  # a frame is ≥ 1 model run
    assert result["strategy"] == "auto"  # the cameras' default path, not the old single run
    assert len(result["block_p95_ms"]["alone"]) == len(result["block_p95_ms"]["with_cameras"]) == 1
    w, a = result["block_p95_ms"]["with_cameras"][0], result["block_p95_ms"]["alone"][0]
    assert result["paired_p95_change_pct"] == pytest.approx(100 * (w / a - 1), abs=0.1)
    assert len(result["load_avg"]["before"]) == 3
    text = format_impact(result)
    assert "2 perimeter cameras" in text and "load average" in text


def test_missing_footage_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "pipeline", "--perimeter-cameras", "2", "--video", str(tmp_path / "x.avi")]
    assert cli_main(argv) == 2
    assert "fetch-test-data" in capsys.readouterr().err
