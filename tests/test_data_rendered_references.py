"""Rendered generator references: the store's own frames, rendered again with another sentence's mouth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from attnwav2lip.errors import ConfigError
from attnwav2lip.data import ClipStore
from attnwav2lip.data.sampling import WindowConfig, WindowSampler
from attnwav2lip.data.store import DatasetError, clip_dir, read_clip_manifest


@pytest.fixture(scope="module")
def synth_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from attnwav2lip.data.preprocess import preprocess
    from attnwav2lip.synth.corpus import CorpusConfig, write_corpus

    root = tmp_path_factory.mktemp("synth")
    write_corpus(CorpusConfig(clips=2, min_seconds=1.0, max_seconds=1.5, size=128, split_shares=(0, 1, 0, 0)),
                 root / "corpus", progress=False)
    assert preprocess(root / "corpus", root / "store", progress=False)["ok"] == 2
    return root / "corpus", root / "store"


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b).mean() / 255)


@pytest.mark.slow
def test_own_mouth_reproduces_the_stored_crops(synth_store: tuple[Path, Path]) -> None:
    from attnwav2lip.synth.corpus import read_corpus_manifest as read_corpus
    from attnwav2lip.data.rendered_references import render_references

    corpus, store = synth_store
    clip = read_clip_manifest(store)[0]
    folder = clip_dir(store, clip.id)
    meta = json.loads((folder / "meta.json").read_text())
    source = {r["id"]: r for r in read_corpus(corpus)}[meta["video"]]
    rendered = render_references(folder, meta, corpus, source, source, offset=0.0)
    frames = np.load(folder / "frames.npy")
    assert rendered.shape == frames.shape and rendered.dtype == np.uint8
    assert mean_abs(rendered, frames) < 0.03  # only the video codec between them
    with pytest.raises(DatasetError, match="fps"):  # a store re-timed from the corpus numbers other frames
        render_references(folder, {**meta, "fps": 30.0}, corpus, source, source, offset=0.0)


@pytest.mark.slow
def test_references_keep_the_face_and_change_the_mouth(synth_store: tuple[Path, Path]) -> None:
    from attnwav2lip.data.rendered_references import write_rendered_references

    corpus, store = synth_store
    assert list(write_rendered_references(store, corpus)) == [c.id for c in read_clip_manifest(store)]
    for clip in read_clip_manifest(store):
        frames = np.load(clip_dir(store, clip.id) / "frames.npy")
        references = np.load(clip_dir(store, clip.id) / "references.npy")
        size = frames.shape[1]
        upper, lower = mean_abs(references[:, : size // 2], frames[:, : size // 2]), mean_abs(references[:, size // 2 :], frames[:, size // 2 :])
        assert upper < 0.03 and lower > upper
    assert not list((store / "clips").rglob("*.tmp"))

    sampler = WindowSampler(ClipStore(store), WindowConfig(reference="rendered"), seed=0)
    draw = sampler.generator(0, 3)
    expected = np.load(clip_dir(store, read_clip_manifest(store)[draw.clip].id) / "references.npy")[draw.start : draw.start + 5]
    assert draw.reference_start == draw.start and np.array_equal(draw.reference, expected)


@pytest.mark.slow
def test_missing_references_and_bad_options_are_reported(synth_store: tuple[Path, Path], tmp_path: Path) -> None:
    from attnwav2lip.data.store import write_clip

    write_clip(tmp_path, "a/00", np.zeros((20, 16, 16, 3), np.uint8), np.zeros(20 * 640, np.float32), fps=25.0, source="a.mp4")
    (tmp_path / "manifest.jsonl").write_text(json.dumps({"id": "a/00", "frames": 20, "fps": 25.0, "source": "a.mp4", "split": "train"}) + "\n")
    sampler = WindowSampler(ClipStore(tmp_path), WindowConfig(reference="rendered"), seed=0)
    with pytest.raises(DatasetError, match="synth-references"):
        sampler.generator(0, 0)
    with pytest.raises(ConfigError, match="reference"):
        WindowConfig(reference="other")
    with pytest.raises(ConfigError, match="reference_gap"):
        WindowConfig(reference="rendered", reference_gap=(1, 2))
