"""train-evaluator: pair sampling, the contrastive loss, a short run, and scoring with its result."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from attnwav2lip.checkpoints import file_provenance
from attnwav2lip.cli import main
from attnwav2lip.train.evaluator import (PairConfig, ScoringClip, SyncPairs, contrastive_loss, multiway_loss,
                                                    offset_distances_of)


def test_contrastive_loss_values() -> None:
    video = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    audio = torch.tensor([[3.0, 4.0], [3.0, 4.0], [30.0, 40.0]])  # distances ~5, ~5, ~50
    label = torch.tensor([1.0, 0.0, 0.0])
    # in sync: d^2 = 25; shifted at d 5 < margin 10: (10 - 5)^2 = 25; shifted beyond the margin: 0
    assert contrastive_loss(video, audio, label, margin=10.0).item() == pytest.approx((25 + 25 + 0) / 3 / 2, rel=1e-4)


def test_pairs_are_in_sync_or_shifted_within_range() -> None:
    n = 40
    frames = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None], (n, 224, 224, 3))
    mfcc = np.tile(np.repeat(np.arange(n + 5, dtype=np.float32), 4), (13, 1))  # column 4v.. holds v
    clip = ScoringClip(frames, mfcc, n - 5)
    config = PairConfig(objective="pairwise", min_shift=3, max_shift=6)
    pairs = SyncPairs([clip], config, seed=0, length=200)
    labels = []
    for i in range(len(pairs)):
        item = pairs[i]
        assert item["video"].shape == (3, 5, 224, 224) and item["mfcc"].shape == (1, 13, 20)
        start, audio = int(item["video"][0, 0, 0, 0]), int(item["mfcc"][0, 0, 0])
        shift = abs(audio - start)
        assert (shift == 0) if item["label"] == 1 else (3 <= shift <= 6)
        labels.append(float(item["label"]))
    assert 0.3 < np.mean(labels) < 0.7
    fresh = SyncPairs([clip], config, seed=0, length=200)
    assert all(torch.equal(pairs[i]["mfcc"], fresh[i]["mfcc"]) for i in range(10))  # a function of (seed, epoch, index)
    pairs.set_epoch(1)
    assert any(not torch.equal(pairs[i]["video"], fresh[i]["video"]) for i in range(10))


def test_multiway_items_hold_every_candidate_offset() -> None:
    n = 20
    frames = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None], (n, 224, 224, 3))
    mfcc = np.tile(np.repeat(np.arange(n + 5, dtype=np.float32), 4), (13, 1)) + 1  # column 4v.. holds v + 1
    pairs = SyncPairs([ScoringClip(frames, mfcc, n - 5)], PairConfig(multiway_shift=3), seed=0, length=50)
    for i in range(len(pairs)):
        item = pairs[i]
        assert item["mfcc"].shape == (7, 1, 13, 20) and int(item["label"]) == 3
        start = int(item["video"][0, 0, 0, 0])
        for k, window in zip(range(start - 3, start + 4), item["mfcc"]):
            expected = k + 1 if 0 <= k < n - 5 else 0  # zeros beyond the clip
            assert float(window[0, 0, 0]) == expected


def test_multiway_loss_prefers_the_nearest_candidate() -> None:
    video = torch.zeros(1, 2)
    audio = torch.tensor([[[5.0, 0.0], [0.1, 0.0], [5.0, 0.0]]])
    distances = offset_distances_of(video, audio)
    near, far = (multiway_loss(distances, torch.tensor([label])).item() for label in (1, 0))
    assert near == pytest.approx(-np.log(np.exp(-0.1) / (np.exp(-0.1) + 2 * np.exp(-5.0))), rel=1e-4)
    assert far > near


@pytest.mark.slow
def test_train_evaluator_run_and_score_with_it(tmp_path, capsys) -> None:
    from attnwav2lip.video import write_video

    corpus = tmp_path / "synthtalk"
    (corpus / "clips").mkdir(parents=True)
    rng = np.random.default_rng(0)
    records = []
    for k in range(3):
        frames = rng.integers(0, 256, (30, 32, 32, 3), dtype=np.uint8)
        audio = (0.2 * rng.standard_normal(30 * 640)).astype(np.float32)
        write_video(corpus / "clips" / f"{k:06d}.mp4", frames, 25, audio_samples=audio, audio_rate=16000)
        rel = f"clips/{k:06d}.mp4"
        records.append({"id": f"{k:06d}", "split": "evaluator", "video": rel, "audio": rel})
    records.append({"id": "train", "split": "train", "video": "missing.mp4", "audio": "missing.mp4"})
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("schedule: {eval_every: 2, checkpoint_every: 2, val_batches: 1, log_every: 1}\n"
                      "pairs: {samples_per_epoch: 8, val_every: 3, crop: frame}\n")  # no rendered boxes here
    run = tmp_path / "run"
    args = ["train-evaluator", "--config", str(recipe), "--data", str(corpus), "--out", str(run), "--max-steps", "2",
            "--batch-size", "4", "--width", "0.0625", "--device", "cpu", "--no-progress"]
    assert main(args) == 0
    validation = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["validation"]
    assert set(validation) == {"loss", "accuracy"}
    weights = run / "checkpoints" / "step_000000002" / "evaluator.safetensors"
    assert weights.is_file() and file_provenance(weights) == "SynthTalk evaluator"
    out = tmp_path / "scores"
    assert main(["evaluate", "videos", str(corpus / "clips"), "--evaluator", str(weights), "--out", str(out)]) == 0
    assert "LSE (SynthTalk evaluator) over 3 videos" in capsys.readouterr().out
