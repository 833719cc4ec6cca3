"""`attnwav2lip demo`: every output is written and the scores are the real comparison with the truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from attnwav2lip.cli import main
from attnwav2lip.video import probe


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--no-progress"]) == 0
    return out


def test_demo_writes_every_output(demo_dir: Path) -> None:
    names = {"input.mp4", "driving.wav", "driving.json", "result.mp4", "side_by_side.mp4", "strip.png", "metrics.json"}
    assert names <= {p.name for p in demo_dir.iterdir()}
    result, side, driving = probe(demo_dir / "result.mp4"), probe(demo_dir / "side_by_side.mp4"), probe(demo_dir / "driving.wav")
    assert side.width == 3 * result.width and side.num_frames == result.num_frames
    assert abs(result.duration - driving.duration) <= 1 / result.fps + 1e-3  # output follows the driving audio


def test_demo_scores_compare_with_the_truth(demo_dir: Path) -> None:
    metrics = json.loads((demo_dir / "metrics.json").read_text())
    scores = metrics["lower_face_vs_truth"]
    assert metrics["frames"] == probe(demo_dir / "result.mp4").num_frames
    for name in ("result", "input (do nothing)"):
        assert np.isfinite(scores[name]["psnr"]) and 0 < scores[name]["ssim"] <= 1
    # the do-nothing input differs from the truth only where the driving speech moves the mouth
    assert scores["input (do nothing)"]["psnr"] > 20
