"""The original Wav2Lip preprocessed layout: read directly (BGR jpgs, gaps) and converted to the clip store."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from attnwav2lip.data.datasets import SamplingConfig, GeneratorDataset
from attnwav2lip.data.sampling import WindowSampler
from attnwav2lip.data.store import ClipStore, read_clip_manifest
from attnwav2lip.data.wav2lip_layout import Wav2LipLayout, convert_wav2lip


def write_layout(root: Path, clips: dict[str, tuple[int, list[int]]], split: str = "train") -> None:
    """Raw crops of varying size, colour RGB = (4*i, 10, 200) written as BGR jpgs; audio.wav at 16 kHz."""
    from attnwav2lip.data.store import write_wav

    rng = np.random.default_rng(0)
    for key, (n, gaps) in clips.items():
        folder = root / key
        folder.mkdir(parents=True)
        for i in range(n):
            if i in gaps:
                continue
            side = 40 + 3 * i  # raw S3FD crops are of any size
            rgb = np.zeros((side, side + 5, 3), np.uint8)
            rgb[:] = (4 * i, 10, 200)
            cv2.imwrite(str(folder / f"{i}.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        write_wav(folder / "audio.wav", 0.1 * rng.standard_normal(n * 640).astype(np.float32), 16000)
    (root / "filelists").mkdir(exist_ok=True)
    (root / "filelists" / f"{split}.txt").write_text("".join(f"{k} extra\n" for k in clips))


def test_read_original_layout(tmp_path: Path) -> None:
    write_layout(tmp_path, {"111/00001": (24, [7]), "222/00002": (10, [])})
    layout = Wav2LipLayout(tmp_path, "train", size=32)
    assert layout.keys == ["111/00001", "222/00002"] and layout.num_frames(0) == 23
    clip = layout.open(0)
    assert clip.present.sum() == 23 and not clip.present[7]
    window = clip.window(2, 3)
    assert window.shape == (3, 32, 32, 3) and window.dtype == np.uint8
    red = window[:, 16, 16].astype(int)
    assert np.all(np.abs(red - [[8, 10, 200], [12, 10, 200], [16, 10, 200]]) <= 3)  # RGB, not BGR
    sampler = WindowSampler(layout)
    assert sampler.eligible.tolist() == [0]  # 10 frames are not more than 3T
    for i in range(40):
        draw = sampler.generator(0, i)
        for s in (draw.start, draw.reference_start):
            assert not (s <= 7 < s + 5)  # windows need consecutive frames


def test_convert_to_store_matches_direct_reading(tmp_path: Path) -> None:
    root, out = tmp_path / "orig", tmp_path / "store"
    write_layout(root, {"111/00001": (24, [7]), "333/00003": (20, [])})
    write_layout(root, {"444/00004": (18, [])}, split="val")
    counts = convert_wav2lip(root, out, progress=False)
    assert counts == {"converted": 3, "skipped": 0, "empty": 0}
    assert {(r.id, r.split) for r in read_clip_manifest(out)} == {("111/00001", "train"), ("333/00003", "train"), ("444/00004", "val")}
    assert convert_wav2lip(root, out, progress=False)["skipped"] == 3  # resumable
    store, layout = ClipStore(out, "train"), Wav2LipLayout(root, "train")
    stored, direct = store.open(0), layout.open(0)
    np.testing.assert_array_equal(stored.present, direct.present)
    np.testing.assert_allclose(stored.mel, direct.mel, atol=1e-3)
    np.testing.assert_array_equal(stored.window(8, 5), direct.window(8, 5))
    a = GeneratorDataset(store, SamplingConfig(), seed=2).sample(0, 3)
    b = GeneratorDataset(layout, SamplingConfig(), seed=2).sample(0, 3)
    assert torch.equal(a["faces"], b["faces"])
    torch.testing.assert_close(a["indiv_mels"], b["indiv_mels"], atol=1e-3, rtol=0)


def test_a_converted_store_keeps_the_originals_length_filter(tmp_path: Path) -> None:
    """The filter counts jpgs: 14 of ids 0..15 are too few for windows of 5, placeholders or not."""
    root, out = tmp_path / "orig", tmp_path / "store"
    write_layout(root, {"111/00001": (16, [3, 9]), "333/00003": (20, [])})
    write_layout(root, {"444/00004": (18, [])}, split="val")
    convert_wav2lip(root, out, progress=False)
    store, layout = ClipStore(out, "train"), Wav2LipLayout(root, "train")
    assert [store.num_frames(i) for i in range(2)] == [layout.num_frames(i) for i in range(2)] == [14, 20]
    np.testing.assert_array_equal(WindowSampler(store).eligible, WindowSampler(layout).eligible)


def test_mel_cache_folder(tmp_path: Path) -> None:
    write_layout(tmp_path / "orig", {"111/00001": (20, [])})
    cache = tmp_path / "mels"
    first = Wav2LipLayout(tmp_path / "orig", "train", mel_cache=cache).open(0).mel
    assert len(list(cache.glob("*.npy"))) == 1
    (tmp_path / "orig" / "111/00001" / "audio.wav").unlink()  # the cache is used, audio not reread
    np.testing.assert_array_equal(Wav2LipLayout(tmp_path / "orig", "train", mel_cache=cache).open(0).mel, first)


def test_a_recipe_sets_the_mel_cache(tmp_path: Path) -> None:
    from attnwav2lip.train import DataConfig as RecipeData
    from attnwav2lip.train.api import build_datasets

    write_layout(tmp_path / "orig", {"111/00001": (20, [])})
    write_layout(tmp_path / "orig", {"222/00001": (20, [])}, split="val")
    data = RecipeData(root=str(tmp_path / "orig"), layout="wav2lip", mel_cache=str(tmp_path / "mels"))
    train, _ = build_datasets(data, "generator", seed=0)
    train[0]
    assert len(list((tmp_path / "mels").glob("*.npy"))) == 1
