"""`attnwav2lip evaluate` end to end on tiny videos with a random-init evaluation SyncNet."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from attnwav2lip.checkpoints import load_model, save_model
from attnwav2lip.cli import main
from attnwav2lip.cli.evaluate import upgrade_legacy_argv
from attnwav2lip.metrics.evaluate import evaluator_label
from attnwav2lip.metrics.protocols import read_pair_list
from attnwav2lip.metrics.results import read_results_csv, write_summary
from attnwav2lip.metrics.scoring import VideoResult, read_scoring_frames, score_file
from attnwav2lip.models import SyncNetEvaluator
from attnwav2lip.video import write_video


def _write_clip(path, seconds: float, fps: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(round(seconds * fps))
    t = np.arange(n)[:, None, None, None]
    base = rng.integers(0, 256, (1, 48, 48, 3))
    frames = ((base + 9 * t) % 256).astype(np.uint8)
    audio = (0.3 * np.sin(2 * np.pi * 220 * np.arange(int(seconds * 16000)) / 16000)).astype(np.float32)
    audio += rng.normal(0, 0.05, audio.shape).astype(np.float32)
    write_video(path, frames, fps, audio_samples=audio, audio_rate=16000)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    _write_clip(folder / "a.mp4", 1.0, 25, 0)
    _write_clip(folder / "b.mp4", 1.4, 30, 1)  # re-timed to 25 fps before scoring
    _write_clip(folder / "short.mp4", 0.16, 25, 2)  # 4 frames: too short to score
    return folder


@pytest.fixture(scope="module")
def evaluator_file(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "evaluator.safetensors"
    save_model(SyncNetEvaluator(width=0.0625, embedding_dim=64), path)
    return path


def test_scores_a_folder(clips, evaluator_file, tmp_path, capsys) -> None:
    assert main(["evaluate", "videos", str(clips), "--evaluator", str(evaluator_file), "--out", str(tmp_path)]) == 0
    assert "LSE (SynthTalk evaluator) over 2 videos" in capsys.readouterr().out
    with open(tmp_path / "scores.csv", newline="") as handle:
        rows = {r["video"].rsplit("/", 1)[-1]: r for r in csv.DictReader(handle)}
    assert set(rows) == {"a.mp4", "b.mp4", "short.mp4"}
    assert "too short" in rows["short.mp4"]["error"]
    assert int(rows["a.mp4"]["num_windows"]) == 20  # 25 frames, 1 s of audio: min(25, 25) - 5
    assert int(rows["b.mp4"]["num_windows"]) == 30  # 42 frames at 30 fps -> 35 at 25 fps
    evaluator = load_model(evaluator_file)
    direct = score_file(clips / "a.mp4", evaluator)
    assert float(rows["a.mp4"]["lse_d"]) == pytest.approx(direct.lse_d)
    assert float(rows["a.mp4"]["lse_c"]) == pytest.approx(direct.lse_c)
    assert int(rows["a.mp4"]["offset"]) == direct.offset
    assert read_scoring_frames(clips / "b.mp4").shape == (35, 224, 224, 3)
    summary = (tmp_path / "scores_summary.md").read_text()
    assert summary.startswith("# LSE (SynthTalk evaluator)") and "| 2 | 1 |" in summary


@pytest.mark.slow
def test_list_with_audio_override_and_jpeg(clips, evaluator_file, tmp_path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text(f"{clips / 'b.mp4'} {clips / 'a.mp4'}\n")
    args = ["evaluate", "videos", str(listing), "--evaluator", str(evaluator_file), "--out", str(tmp_path)]
    assert main([*args, "--label", "syncnet_v2", "--jpeg-roundtrip", "--name", "jpeg"]) == 0
    with open(tmp_path / "jpeg.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["error"] == "" and int(row["num_windows"]) == 20  # a.mp4's 1 s of audio limits the length
    assert "JPEG round trip" in (tmp_path / "jpeg_summary.csv").read_text()


@pytest.mark.slow
def test_compare_and_refuse_mixed_evaluators(clips, evaluator_file, tmp_path, capsys) -> None:
    base = ["evaluate", "videos", str(clips), "--evaluator", str(evaluator_file), "--out", str(tmp_path)]
    assert main([*base, "--name", "first"]) == 0
    first = read_results_csv(tmp_path / "first.csv")
    with open(tmp_path / "first_summary.csv", newline="") as handle:
        (protocol,) = [row["protocol"] for row in csv.DictReader(handle)]
    better = [dataclasses.replace(r, lse_d=r.lse_d - 0.5, lse_c=r.lse_c + 0.25) for r in first]
    write_summary(tmp_path, better, "SynthTalk evaluator", protocol, name="second")
    write_summary(tmp_path, better, "syncnet_v2", protocol, name="third")
    write_summary(tmp_path, better, "SynthTalk evaluator", protocol + ", JPEG round trip", name="fourth")
    capsys.readouterr()
    compare = ["evaluate", "compare", str(tmp_path / "first.csv"), str(tmp_path / "second.csv")]
    assert main([*compare, "--out", str(tmp_path / "cmp"), "--resamples", "100"]) == 0
    assert "LSE (SynthTalk evaluator) lse_d: -0.500 [-0.500, -0.500] (95%) over 2 videos" in capsys.readouterr().out
    assert "| LSE-C | 2 | +0.250 |" in (tmp_path / "cmp" / "comparison.md").read_text()
    mixed = ["evaluate", "compare", str(tmp_path / "first.csv"), str(tmp_path / "third.csv"), "--out", str(tmp_path)]
    assert main(mixed) == 2
    assert "different evaluators" in capsys.readouterr().err
    rescored = ["evaluate", "compare", str(tmp_path / "first.csv"), str(tmp_path / "fourth.csv"), "--out", str(tmp_path)]
    assert main(rescored) == 2
    err = capsys.readouterr().err
    assert "scored differently" in err and "JPEG round trip" in err and protocol in err
    assert main([*compare, "--out", str(tmp_path), "--resamples", "0"]) == 2
    assert "at least 1 resample" in capsys.readouterr().err


def test_compare_ignores_how_videos_were_generated_and_names_runs_by_folder(tmp_path) -> None:
    from attnwav2lip.metrics.evaluate import LRS_PROTOCOL, compare_result_files

    results = [VideoResult("0.mp4", 7.0, 6.0, 0, 20), VideoResult("1.mp4", 8.0, 5.0, 0, 20)]
    for run, generator in (("base", "a.safetensors"), ("attention", "b.safetensors")):
        (tmp_path / run).mkdir()
        write_summary(tmp_path / run, results, "syncnet_v2", f"{LRS_PROTOCOL}, generated from lrs2.txt with {generator}, vshift 15")
    label, _ = compare_result_files(tmp_path / "base" / "scores.csv", tmp_path / "attention" / "scores.csv", tmp_path, num_resamples=10)
    assert label == "syncnet_v2"
    assert "attention minus base" in (tmp_path / "comparison.md").read_text()


def test_random_pairs_and_user_errors(clips, tmp_path, capsys) -> None:
    out = tmp_path / "pairs.txt"
    assert main(["evaluate", "pairs", str(clips), "--out", str(out), "--seed", "3"]) == 0
    pairs = read_pair_list(out)
    assert {p.video for p in pairs} == {"a.mp4", "b.mp4"}  # the shortest clip gets no audio
    assert all(p.audio != p.video for p in pairs)
    resynced = tmp_path / "random_pairs.txt"  # a ReSyncED name is written video first and reads back the same
    assert main(["evaluate", "pairs", str(clips), "--out", str(resynced), "--seed", "3"]) == 0
    assert "(video audio)" in capsys.readouterr().out
    assert read_pair_list(resynced) == pairs
    with pytest.raises(SystemExit):  # a usage error
        main(["evaluate", "videos", str(clips), "--out", str(tmp_path)])
    assert "--evaluator" in capsys.readouterr().err
    assert main(["evaluate", "videos", str(tmp_path / "nope"), "--evaluator", "x.model", "--out", str(tmp_path)]) == 2


def test_the_flags_before_subcommands_still_work_with_one_notice(clips, evaluator_file, tmp_path, capsys) -> None:
    out = tmp_path / "pairs.txt"
    assert main(["evaluate", "--random-pairs", str(clips), "--out", str(out), "--seed", "3"]) == 0
    notice, = capsys.readouterr().err.splitlines()
    assert notice == f"attnwav2lip evaluate: --random-pairs is deprecated; use `attnwav2lip evaluate pairs {clips} ...`"
    args = ["evaluate", "--evaluator", str(evaluator_file), "--videos", str(clips), "--out", str(tmp_path)]
    assert main(args) == 0
    assert "LSE (SynthTalk evaluator) over 2 videos" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # --checkpoint never applied to scoring existing videos
        main([*args, "--checkpoint", "g"])
    assert upgrade_legacy_argv(["-q", "evaluate", "--compare", "a", "b", "--out", "o"]) == [
        "-q", "evaluate", "compare", "a", "b", "--out", "o"]
    for unchanged in (["evaluate", "videos", "d"], ["sync", "--face", "evaluate", "--videos", "x"]):
        assert upgrade_legacy_argv(unchanged) == unchanged


def test_anchor_script_and_original_format_label(clips, tmp_path, capsys) -> None:
    """The demo-anchor script runs end to end on a syncnet_v2-format file (random weights here)."""
    import runpy

    import torch

    torch.manual_seed(0)
    weights = tmp_path / "syncnet_v2.model"
    torch.save(SyncNetEvaluator(width=0.0625, embedding_dim=64).state_dict(), weights)  # the original's layout
    script = runpy.run_path(str(Path(__file__).parents[1] / "experiments" / "syncnet_anchor.py"))
    assert script["main"](["--weights", str(weights), "--video", str(clips / "a.mp4")]) == 1  # random weights
    out = capsys.readouterr().out
    assert "AV offset:" in out and "JPEG round trip: True" in out and "anchor NOT reproduced" in out
    args = ["evaluate", "videos", str(clips), "--evaluator", str(weights), "--out", str(tmp_path), "--vshift", "3"]
    assert main(args) == 0
    assert "LSE (syncnet_v2) over 2 videos" in capsys.readouterr().out
    converted = tmp_path / "syncnet_v2.safetensors"  # its provenance travels with it, whatever the suffix says
    save_model(load_model(weights), converted)
    assert evaluator_label(converted) == "syncnet_v2" and evaluator_label(weights) == "syncnet_v2"


@pytest.mark.slow
def test_generate_and_score_a_test_list(evaluator_file, tmp_path, capsys) -> None:
    """--test-list: LipSyncer generates each pair (audio first), the results are scored against the audio."""
    pytest.importorskip("mediapipe")
    import cv2
    import torch
    from skimage import data

    from attnwav2lip.models import Generator, GeneratorConfig

    root = tmp_path / "lrs2" / "spk"
    root.mkdir(parents=True)
    face = cv2.resize(data.astronaut()[20:300, 100:380], (160, 160))
    rng = np.random.default_rng(0)
    for name, seconds in (("00001", 1.2), ("00002", 0.8)):
        frames = [np.ascontiguousarray(np.roll(face, k // 4, axis=1)) for k in range(int(seconds * 25))]
        audio = (0.2 * rng.standard_normal(int(seconds * 16000))).astype(np.float32)
        write_video(root / f"{name}.mp4", frames, 25, audio_samples=audio, audio_rate=16000)
    listing = tmp_path / "lrs2.txt"
    listing.write_text("spk/00002 spk/00001\nspk/00001 spk/missing\n")
    torch.manual_seed(0)
    generator = tmp_path / "g.safetensors"
    save_model(Generator(GeneratorConfig(width=0.0625)), generator)
    args = ["evaluate", "list", str(listing), "--data-root", str(tmp_path / "lrs2"), "--checkpoint",
            str(generator), "--evaluator", str(evaluator_file), "--out", str(tmp_path / "out"), "--vshift", "3"]
    assert main(args) == 0
    assert "over 1 generated videos" in capsys.readouterr().out
    with open(tmp_path / "out" / "scores.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [Path(r["video"]).name for r in rows] == ["0.mp4", "1.mp4"]
    assert rows[0]["error"] == "" and int(rows[0]["num_windows"]) == 15  # the 0.8 s audio drives the length
    assert "not found" in rows[1]["error"]
    assert (tmp_path / "out" / "videos" / "0.mp4").is_file()


def test_test_list_generates_on_the_evaluator_device(tmp_path, monkeypatch) -> None:
    """--device cpu must reach the generator too: SyncOptions' own default ("auto") takes a GPU."""
    from attnwav2lip.errors import MediaError
    from attnwav2lip.evaluation import lrs_generation
    from attnwav2lip.evaluation.lrs_generation import evaluate_generator

    seen = []
    monkeypatch.setattr(lrs_generation, "LipSyncer", lambda checkpoint, options: seen.append(options))
    monkeypatch.setattr(lrs_generation, "load_model", lambda *args, **kwargs: None)
    listing = tmp_path / "lrs2.txt"
    listing.write_text("missing/a missing/b\n")
    with pytest.raises(MediaError, match="no video could be scored"):
        evaluate_generator(None, listing, "x.model", tmp_path / "out", device="cpu", progress=False)
    assert [options.device for options in seen] == ["cpu"]
