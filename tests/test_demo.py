"""`attnwav2lip demo`: every output is written and the scores are the real comparison with the truth."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from attnwav2lip.builtin import ASSETS_ENV, PACKAGE_ASSETS
from attnwav2lip.cli import main
from attnwav2lip.demo import follows_speech_better
from attnwav2lip.video import probe
from builtin_assets import tiny_assets

LSE_NAMES = ("result", "input (do nothing)", "truth")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo on a tiny untrained stand-in for the built-in generator, scored by the shipped
    SynthTalk evaluator (a working judge, so the verdicts mean something): (output folder, what it printed)."""
    out = tmp_path_factory.mktemp("demo")
    assets = tiny_assets(tmp_path_factory.mktemp("assets"))
    shutil.copyfile(PACKAGE_ASSETS / "evaluator.safetensors", assets / "evaluator.safetensors")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(printed):
        env.setenv(ASSETS_ENV, str(assets))
        assert main(["demo", "--out", str(out), "--no-progress"]) == 0
    return out, printed.getvalue()


@pytest.fixture(scope="module")
def demo_dir(demo_run: tuple[Path, str]) -> Path:
    return demo_run[0]


@pytest.mark.slow
def test_demo_writes_every_output(demo_dir: Path) -> None:
    names = {"input.mp4", "driving.wav", "driving.json", "result.mp4", "side_by_side.mp4", "strip.png", "metrics.json"}
    assert names <= {p.name for p in demo_dir.iterdir()}
    result, side, driving = probe(demo_dir / "result.mp4"), probe(demo_dir / "side_by_side.mp4"), probe(demo_dir / "driving.wav")
    assert side.width == 3 * result.width and side.num_frames == result.num_frames
    assert abs(result.duration - driving.duration) <= 1 / result.fps + 1e-3  # output follows the driving audio


@pytest.mark.slow
def test_demo_scores_compare_with_the_truth(demo_dir: Path) -> None:
    metrics = json.loads((demo_dir / "metrics.json").read_text())
    scores = metrics["lower_face_vs_truth"]
    assert metrics["frames"] == probe(demo_dir / "result.mp4").num_frames
    for name in ("result", "input (do nothing)"):
        assert np.isfinite(scores[name]["psnr"]) and 0 < scores[name]["ssim"] <= 1
    # the do-nothing input differs from the truth only where the driving speech moves the mouth
    assert scores["input (do nothing)"]["psnr"] > 20


@pytest.mark.slow
def test_demo_scores_sync_with_the_builtin_evaluator(demo_run: tuple[Path, str]) -> None:
    out, printed = demo_run
    lse = json.loads((out / "metrics.json").read_text())["LSE (SynthTalk evaluator)"]
    assert lse["evaluator"] == "built-in" and set(lse["vs driving audio"]) == set(LSE_NAMES)
    lines = printed.splitlines()
    assert "model: built-in AttnWav2Lip width 0.125 trained on SynthTalk (synthetic faces only; see MODEL_CARD.md)" in lines
    header = next(i for i, line in enumerate(lines) if line.startswith("LSE (SynthTalk evaluator) against the driving audio"))
    rows = {line[:20].strip(): line.split()[-4:] for line in lines[header + 3 : header + 3 + len(LSE_NAMES)]}
    opening_r = json.loads((out / "metrics.json").read_text())["opening_r"]
    for name in LSE_NAMES:
        scores = lse["vs driving audio"][name]
        assert np.isfinite(scores["lse_d"]) and scores["lse_d"] > 0 and scores["lse_c"] >= 0
        assert abs(scores["offset"]) <= 15
        assert rows[name] == [f"{scores['lse_d']:.3f}", f"{scores['lse_c']:.3f}", f"{scores['offset']:.0f}",
                              f"{opening_r[name]:+.2f}"]


@pytest.mark.slow
def test_demo_verdict_says_no_for_an_untrained_generator_and_yes_for_the_truth(demo_run: tuple[Path, str]) -> None:
    out, printed = demo_run
    metrics = json.loads((out / "metrics.json").read_text())
    lse, opening_r = metrics["LSE (SynthTalk evaluator)"]["vs driving audio"], metrics["opening_r"]

    def verdict(row: str) -> bool:
        return follows_speech_better(lse[row]["lse_c"], opening_r[row], lse["input (do nothing)"]["lse_c"],
                                     opening_r["input (do nothing)"])

    assert metrics["follows_speech_better_than_doing_nothing"] is False and not verdict("result")
    assert verdict("truth")
    assert opening_r["truth"] > 0.7  # the measured opening of the rendered truth follows what was rendered
    assert printed.splitlines()[-2].endswith("opening r)? no")


def test_verdict_needs_both_lse_c_and_opening() -> None:
    assert follows_speech_better(1.0, 0.8, 0.7, 0.1)
    assert not follows_speech_better(1.0, 0.05, 0.7, 0.1)  # confident but the mouth does not follow
    assert not follows_speech_better(0.5, 0.8, 0.7, 0.1)   # the opening follows but the evaluator disagrees


def test_strip_is_a_png_written_atomically(tmp_path: Path) -> None:
    import cv2

    from attnwav2lip.demo import _write_strip
    from attnwav2lip.errors import AttnWav2LipError

    rows = tuple(np.full((5, 64, 64, 3), 60 * k, np.uint8) for k in range(3))
    boxes = np.tile(np.array([16, 16, 48, 48]), (5, 1))
    _write_strip(tmp_path / "strip.png", rows, boxes, count=2, tile=32)
    assert [p.name for p in tmp_path.iterdir()] == ["strip.png"]  # no temporary file left beside it
    assert cv2.imread(str(tmp_path / "strip.png")).shape == (3 * 32, 2 * 32, 3)
    with pytest.raises(AttnWav2LipError, match="does not exist"):
        _write_strip(tmp_path / "missing" / "strip.png", rows, boxes, count=2, tile=32)
