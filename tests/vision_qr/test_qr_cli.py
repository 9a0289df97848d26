"""``edge-gate scan`` and ``edge-gate bench``: output contract and exit status."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.cli import main
from edge.tools.bench_pipeline import bench_pipeline
from edge.tools.hardset import build_set
from edge.tools.render import Look, render_frame


@pytest.fixture(scope="module")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One image of each kind of the hard set, written as X.png + X.txt."""
    folder = tmp_path_factory.mktemp("qrset")
    build_set(folder, per_kind=1)
    return folder


def _lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_scan_json_prints_one_line_per_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "pass.png"
    cv2.imwrite(str(good), render_frame("CP1:CLI-TEST", seed=3, look=Look()))
    black = tmp_path / "black.png"
    cv2.imwrite(str(black), np.zeros((480, 640), np.uint8))
    assert main(["scan", "--json", str(good), str(black)]) == 0
    first, second = _lines(capsys.readouterr().out)
    assert first["path"] == str(good)
    codes = first["codes"]
    assert isinstance(codes, list) and len(codes) == 1
    assert codes[0]["text"] == "CP1:CLI-TEST" and codes[0]["symbology"] == "QRCode"
    assert len(codes[0]["corners"]) == 4 and all(len(p) == 2 for p in codes[0]["corners"])
    assert isinstance(first["ms"], float)
    assert second == {"path": str(black), "codes": [], "ms": second["ms"]}


def test_scan_bad_files_give_error_lines_not_tracebacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    good = tmp_path / "ok.png"
    cv2.imwrite(str(good), np.full((100, 100), 255, np.uint8))
    # some files bad: still success
    assert main(["scan", "--json", str(empty), str(good)]) == 0
    out = _lines(capsys.readouterr().out)
    assert "error" in out[0] and out[0]["codes"] == [] and "error" not in out[1]
    # every file bad: exit 2, one error line each
    missing = tmp_path / "missing.png"
    assert main(["scan", "--json", str(empty), str(text), str(missing), str(tmp_path)]) == 2
    out = _lines(capsys.readouterr().out)
    assert [o["path"] for o in out] == [str(empty), str(text), str(missing), str(tmp_path)]
    assert all(isinstance(o["error"], str) and o["error"] for o in out)


def test_bench_qr_reports_engines_side_by_side(
    small_set: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "qr", str(small_set), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 10
    rows = {r["name"]: r for r in result["results"]}
    assert {"zxing-cpp", "pyzbar", "door@80ms", "scan@120ms"} <= set(rows)
    for r in rows.values():
        assert r["total"] == 10 and r["misreads"] == 0
        assert 0 <= r["read"] <= 10 and r["median_ms"] >= 0 and r["p95_ms"] >= 0
    assert rows["scan@120ms"]["read"] >= rows["zxing-cpp"]["read"]
    for r in rows.values():  # codes counted, and per kind the same figures as the whole set
        assert r["codes_total"] == 10 and r["codes_read"] == sum(
            k["codes_read"] for k in r["by_kind"].values()
        )
        assert all({"misreads", "median_ms", "p95_ms"} <= set(k) for k in r["by_kind"].values())
    frame = result["frame_720p"]  # the readable-frame cost, chain beside zxing-cpp alone
    assert frame["read"] == frame["frames"] and frame["ratio"] > 0
    assert main(["bench", "qr", str(small_set)]) == 0  # the table form
    assert "zxing-cpp" in capsys.readouterr().out


def test_bench_qr_skips_unlabelled_and_refuses_empty_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "qr", str(tmp_path)]) == 2
    assert main(["bench", "qr", str(tmp_path / "nope")]) == 2
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((50, 50), np.uint8))  # no a.txt
    (tmp_path / "b.png").write_bytes(b"junk")
    (tmp_path / "b.txt").write_text("CP1:B")
    assert main(["bench", "qr", str(tmp_path)]) == 2  # nothing usable left
    assert "no labelled images" in capsys.readouterr().err


def test_bench_pipeline_opens_the_door_for_every_frame() -> None:
    """Figures are printed, not judged; what is asserted is that every frame opened the relay.
    One size keeps the test short; the command measures both."""
    result = bench_pipeline(frames=200, sizes=((640, 480),))
    [row] = result["results"]
    assert row["size"] == "640x480"
    assert row["frames"] == 200 and row["opened"] == 200 and row["missed"] == 0
    assert result["peak_rss_mib"] > 0


def test_bench_pipeline_wants_enough_frames_for_a_p95() -> None:
    assert main(["bench", "pipeline", "--frames", "10"]) == 2
