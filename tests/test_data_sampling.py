"""Clip store and window sampling: layouts, masks, window bounds, mel offsets, expert labels, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from attnwav2lip.errors import ConfigError
from attnwav2lip.audio import MEL_WINDOW, melspectrogram
from attnwav2lip.data.datasets import SamplingConfig, ExpertDataset, GeneratorDataset
from attnwav2lip.data.sampling import WindowConfig, WindowSampler, window_starts
from attnwav2lip.data.store import (
    MANIFEST,
    ClipStore,
    DatasetError,
    StoredClip,
    append_jsonl,
    clip_dir,
    read_clip_manifest,
    write_clip,
)

FPS = 25.0
SIZE = 16


def numbered_frames(n: int, size: int = SIZE) -> np.ndarray:
    """Frame i is filled with the value i (top half) and 255 - i (bottom half): windows are readable."""
    frames = np.empty((n, size, size, 3), np.uint8)
    frames[:, : size // 2] = np.arange(n, dtype=np.uint8)[:, None, None, None]
    frames[:, size // 2 :] = (255 - np.arange(n, dtype=np.uint8))[:, None, None, None]
    return frames


def make_store(root: Path, lengths: list[int], missing: dict[int, list[int]] | None = None) -> Path:
    rng = np.random.default_rng(1)
    records = []
    for k, n in enumerate(lengths):
        wav = (0.1 * rng.standard_normal(int(n * 16000 / FPS))).astype(np.float32)
        clip_id = f"spk{k}/00001"
        write_clip(root, clip_id, numbered_frames(n), wav, fps=FPS, source=f"v{k}.mp4", missing=(missing or {}).get(k, []))
        records.append({"id": clip_id, "frames": n, "fps": FPS, "source": f"v{k}.mp4", "split": "train"})
    append_jsonl(root / MANIFEST, records)
    return root


def frame_ids(window: np.ndarray) -> list[int]:
    return [int(v) for v in window[:, 0, 0, 0]]


def test_store_round_trip(tmp_path: Path) -> None:
    make_store(tmp_path, [40, 30])
    store = ClipStore(tmp_path, split="train")
    assert len(store) == 2 and store.num_frames(1) == 30
    clip = store.open(0)
    assert isinstance(clip.frames, np.memmap) and clip.frames.shape == (40, SIZE, SIZE, 3)
    assert frame_ids(clip.window(7, 5)) == [7, 8, 9, 10, 11]
    assert clip.mel.shape == (80, 1 + 40 * 640 // 200)
    meta = json.loads((clip_dir(tmp_path, "spk0/00001") / "meta.json").read_text())
    assert meta["fps"] == FPS and meta["frames"] == 40 and meta["size"] == SIZE
    # the cached mel is the mel of the stored audio
    from attnwav2lip.audio import load_audio

    wav = load_audio(clip_dir(tmp_path, "spk0/00001") / "audio.wav")
    np.testing.assert_allclose(melspectrogram(wav), clip.mel, atol=1e-4)
    with pytest.raises(DatasetError, match="no clips"):
        ClipStore(tmp_path, split="test")


def test_manifest_last_record_wins_and_torn_line_ignored(tmp_path: Path) -> None:
    make_store(tmp_path, [20])
    append_jsonl(tmp_path / MANIFEST, [{"id": "spk0/00001", "frames": 20, "fps": FPS, "source": "v0.mp4", "split": "val"}])
    with open(tmp_path / MANIFEST, "a") as f:
        f.write('{"id": "torn", "fra')
    records = read_clip_manifest(tmp_path)
    assert [(r.id, r.split) for r in records] == [("spk0/00001", "val")]


def test_window_starts_respect_gaps_and_end() -> None:
    present = np.ones(12, bool)
    present[6] = False
    assert window_starts(present, 3).tolist() == [0, 1, 2, 3, 7, 8, 9]
    assert window_starts(np.ones(4, bool), 5).tolist() == []


def test_generator_sample_layout_mask_and_offsets(tmp_path: Path) -> None:
    make_store(tmp_path, [24])
    store = ClipStore(tmp_path)
    data = GeneratorDataset(store, SamplingConfig(size=SIZE), seed=3)
    item = data[0]
    assert item["faces"].shape == (6, 5, SIZE, SIZE) and item["gt"].shape == (3, 5, SIZE, SIZE)
    assert item["indiv_mels"].shape == (5, 1, 80, 16) and item["mel"].shape == (1, 80, 16)
    assert all(v.dtype == torch.float32 for v in item.values())
    draw = data.sampler.generator(0, 0)
    ids = list(range(draw.start, draw.start + 5))
    assert torch.allclose(item["gt"][0, :, 0, 0] * 255, torch.tensor(ids, dtype=torch.float32))
    assert torch.all(item["faces"][:3, :, SIZE // 2 :] == 0)  # lower half masked
    assert torch.equal(item["faces"][:3, :, : SIZE // 2], item["gt"][:, :, : SIZE // 2])
    assert torch.all(item["gt"][:, :, SIZE // 2 :] > 0)
    assert draw.reference_start != draw.start
    assert torch.allclose(item["faces"][3, :, 0, 0] * 255, torch.arange(draw.reference_start, draw.reference_start + 5).float())
    mel = store.open(0).mel
    for k in range(5):  # frame f's mel starts at f - 1 (the original training offset)
        start = int(80 * (draw.start + k - 1) / 25 + 1e-6)
        np.testing.assert_array_equal(item["indiv_mels"][k, 0].numpy(), mel[:, start : start + 16])
    start = int(80 * draw.start / 25 + 1e-6)
    np.testing.assert_array_equal(item["mel"][0].numpy(), mel[:, start : start + 16])


def test_generator_windows_stay_inside_clip_and_mel(tmp_path: Path) -> None:
    make_store(tmp_path, [20], missing={0: [9]})
    store = ClipStore(tmp_path)
    mel_len = store.open(0).mel.shape[1]
    for offset in (-1, 0, 2):
        sampler = WindowSampler(store, WindowConfig(mel_offset=offset), seed=0)
        starts = set()
        for i in range(60):
            draw = sampler.generator(0, i)
            for s in (draw.start, draw.reference_start):
                assert s + 5 <= 20 and not (s <= 9 < s + 5)  # inside the clip, never across the gap
            first = int(80 * (draw.start + offset) / 25 + 1e-6)
            last = int(80 * (draw.start + 4 + offset) / 25 + 1e-6)
            assert first >= 0 and last + MEL_WINDOW <= mel_len
            assert draw.indiv_mels.shape == (5, 80, 16)
            starts.add(draw.start)
        if offset == -1:
            assert 0 not in starts and starts <= {1, 2, 3, 4, 10, 11, 12, 13, 14, 15}
        if offset == 2:  # the last frames' mel would run past the audio's end
            assert max(starts) < 15


def test_reference_gap_bounds_the_reference_distance(tmp_path: Path) -> None:
    make_store(tmp_path, [40])
    sampler = WindowSampler(ClipStore(tmp_path), WindowConfig(reference_gap=(5, 8)), seed=0)
    gaps = {abs(d.reference_start - d.start) for d in (sampler.generator(0, i) for i in range(80))}
    assert gaps <= set(range(5, 9)) and len(gaps) > 1
    with pytest.raises(ConfigError, match="reference_gap"):
        WindowConfig(reference_gap=(3, 2))


def test_warmup_draws_from_the_first_clips_then_from_all(tmp_path: Path) -> None:
    make_store(tmp_path, [30, 26, 28, 27, 29])
    sampler = WindowSampler(ClipStore(tmp_path), WindowConfig(warmup_clips=2, warmup_epochs=2), seed=0)
    for epoch, expected in ((0, {0, 1}), (1, {0, 1}), (2, {0, 1, 2, 3, 4})):
        assert {sampler.generator(epoch, i).clip for i in range(60)} == expected
        assert {sampler.expert(epoch, i).clip for i in range(60)} == expected
    with pytest.raises(ConfigError, match="warmup"):
        WindowConfig(warmup_clips=-1)
    with pytest.raises(ConfigError, match="warmup"):
        WindowConfig(warmup_stages=0)


def test_warmup_stages_double_the_pool(tmp_path: Path) -> None:
    make_store(tmp_path, [30, 26, 28, 27, 29, 31])
    config = WindowConfig(warmup_clips=1, warmup_epochs=2, warmup_stages=3)
    sampler = WindowSampler(ClipStore(tmp_path), config, seed=0)
    for epoch, expected in ((1, {0}), (2, {0, 1}), (5, {0, 1, 2, 3}), (6, set(range(6)))):
        assert {sampler.generator(epoch, i).clip for i in range(80)} == expected


def test_expert_positives_and_negatives(tmp_path: Path) -> None:
    make_store(tmp_path, [30, 26])
    store = ClipStore(tmp_path)
    data = ExpertDataset(store, SamplingConfig(size=SIZE), seed=0)
    labels = []
    for i in range(40):
        item = data[i]
        draw = data.sampler.expert(0, i)
        assert item["faces"].shape == (15, SIZE // 2, SIZE) and item["mel"].shape == (1, 80, 16)
        assert item["label"].shape == (1,) and float(item["label"]) == draw.label
        # lower halves, frame-major: channels 3k..3k+2 hold frame frames_start + k
        bottom = (255 - item["faces"][::3, 0, 0] * 255).round().int().tolist()
        assert bottom == list(range(draw.frames_start, draw.frames_start + 5))
        assert (draw.frames_start == draw.start) == (draw.label == 1)
        mel = store.open(draw.clip).mel
        start = int(80 * draw.start / 25 + 1e-6)  # the mel stays at the anchor for negatives too
        np.testing.assert_array_equal(item["mel"][0].numpy(), mel[:, start : start + 16])
        labels.append(draw.label)
    assert 8 < sum(labels) < 32


def test_samples_are_deterministic_per_seed_epoch_index(tmp_path: Path) -> None:
    make_store(tmp_path, [30, 26, 40])
    store = ClipStore(tmp_path)
    a = GeneratorDataset(store, SamplingConfig(size=SIZE), seed=5)
    b = GeneratorDataset(ClipStore(tmp_path), SamplingConfig(size=SIZE), seed=5)
    b.set_epoch(2)
    assert torch.equal(a.sample(2, 7)["faces"], b[7]["faces"])
    draws = {(a.sampler.generator(e, i).clip, a.sampler.generator(e, i).start) for e in range(3) for i in range(5)}
    assert len(draws) > 5  # different epochs and indices draw different windows
    c = GeneratorDataset(store, SamplingConfig(size=SIZE), seed=6)
    assert any(not torch.equal(a.sample(0, i)["faces"], c.sample(0, i)["faces"]) for i in range(5))


def test_short_clips_are_not_eligible(tmp_path: Path) -> None:
    make_store(tmp_path, [15, 40])
    sampler = WindowSampler(ClipStore(tmp_path))
    assert sampler.eligible.tolist() == [1]
    assert {sampler.expert(0, i).clip for i in range(10)} == {1}
    (tmp_path / "s").mkdir()
    make_store(tmp_path / "s", [12])
    with pytest.raises(DatasetError, match="more than 15 frames"):
        WindowSampler(ClipStore(tmp_path / "s"))


def test_augmentation_off_by_default_and_consistent(tmp_path: Path) -> None:
    from attnwav2lip.data.augment import AugmentConfig

    make_store(tmp_path, [30])
    store = ClipStore(tmp_path)
    plain = GeneratorDataset(store, SamplingConfig(size=SIZE), seed=1).sample(0, 0)
    config = SamplingConfig(size=SIZE, augment=AugmentConfig(enabled=True, max_shift=2))
    aug = GeneratorDataset(store, config, seed=1).sample(0, 0)
    assert torch.equal(plain["indiv_mels"], aug["indiv_mels"])  # the same window is drawn
    assert not torch.equal(plain["gt"], aug["gt"])
    assert torch.equal(aug["faces"][:3, :, : SIZE // 2], aug["gt"][:, :, : SIZE // 2])  # target == gt
    assert float(aug["gt"].min()) >= 0 and float(aug["gt"].max()) <= 1


def test_resize_to_model_size(tmp_path: Path) -> None:
    make_store(tmp_path, [30])
    item = ExpertDataset(ClipStore(tmp_path), SamplingConfig(size=32)).sample(0, 0)
    assert item["faces"].shape == (15, 16, 32)


def test_incomplete_clip_is_reported(tmp_path: Path) -> None:
    make_store(tmp_path, [20])
    (clip_dir(tmp_path, "spk0/00001") / "mel.npy").unlink()
    with pytest.raises(DatasetError, match="mel.npy"):
        StoredClip(clip_dir(tmp_path, "spk0/00001"))


def test_data_package_imports_light() -> None:
    import subprocess
    import sys

    code = ("import sys, attnwav2lip.data, attnwav2lip.data.store, attnwav2lip.data.sampling; "
            "from attnwav2lip.data import WindowConfig; "
            "print(sorted(m for m in ('torch', 'cv2', 'av', 'librosa') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
