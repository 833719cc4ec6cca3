"""SynthTalk corpus: files decode with the right fps / frames / duration / audio, splits, resume, CLI."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest

pytest.importorskip("espeakng_loader")

from attnwav2lip.synth.corpus import (  # noqa: E402
    SPLITS, CorpusConfig, _first_clause, frames_for_samples, load_truth, plan, read_corpus_manifest, samples_for_frames,
    write_corpus,
)
from attnwav2lip.errors import ConfigError  # noqa: E402
from attnwav2lip.synth.identity import Identity, sample_identity  # noqa: E402

CONFIG = CorpusConfig(clips=3, seed=7, size=64, fps=20.0, min_seconds=1.0, max_seconds=1.6, clips_per_identity=1,
                      split_shares=(1, 0, 0, 1))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthtalk")
    records = write_corpus(CONFIG, out, workers=1, progress=False)
    return out, records


def test_videos_decode_with_the_right_fps_frames_duration_and_audio(corpus) -> None:
    from attnwav2lip.audio import load_audio
    from attnwav2lip.synth.speech import Utterance
    from attnwav2lip.video import iter_frames, probe

    out, records = corpus
    assert [r["id"] for r in records] == ["000000", "000001", "000002"]
    for r in records:
        info = probe(out / r["video"])
        assert info.fps == pytest.approx(CONFIG.fps) and (info.width, info.height) == (64, 64)
        assert info.num_frames == r["frames"] and info.has_audio
        assert r["frames"] == pytest.approx(r["duration"] * CONFIG.fps, abs=1e-6)  # audio padded to whole frames
        assert info.duration == pytest.approx(r["duration"], abs=0.06)
        utt = Utterance.load(out / r["audio"], out / r["timeline"])
        assert utt.text == r["text"] and utt.phones[-1].end == pytest.approx(r["duration"])
        track_audio = load_audio(out / r["video"])
        assert abs(len(track_audio) - len(utt.audio)) <= 0.05 * 16000
        assert np.abs(track_audio).max() > 0.01
        frames = list(iter_frames(out / r["video"]))
        truth = load_truth(out, r)
        assert len(frames) == len(truth["mouth"]) == len(truth["boxes"]) == len(truth["phoneme"]) == r["frames"]
        assert truth["pose"].shape == (r["frames"], 6) and truth["meta"]["clip"]["id"] == r["id"]
        identity = Identity.from_dict(truth["meta"]["identity"])
        assert identity == sample_identity(r["identity"]) and identity.attributes() == r["attributes"]


def test_manifest_splits_are_disjoint_by_identity_and_evaluator_sentence(corpus) -> None:
    out, records = corpus
    lines = (out / "manifest.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == records == read_corpus_manifest(out)
    assert {r["split"] for r in records} <= set(SPLITS)
    big = plan(CorpusConfig(clips=120, seed=3))
    by_split = {s: [c for c in big if c.split == s] for s in SPLITS}
    assert all(by_split[s] for s in SPLITS)
    for s in SPLITS:
        for t in SPLITS:
            if s < t:
                assert not {c.identity_seed for c in by_split[s]} & {c.identity_seed for c in by_split[t]}
    evaluator = {_first_clause(c.text) for c in by_split["evaluator"]}
    assert not evaluator & {_first_clause(c.text) for c in big if c.split != "evaluator"}
    assert all(len(clause.split()) > 2 for clause in evaluator)  # a content clause, never an opener
    assert _first_clause("Oh, the cat sees the dog. Well, the dog runs.") == "the cat sees the dog"
    assert plan(CorpusConfig(clips=120, seed=3)) == big  # deterministic


def test_rerun_skips_complete_clips_and_redoes_a_missing_file(corpus) -> None:
    out, records = corpus
    clips = out / "clips"
    stamps = {p.name: p.stat().st_mtime_ns for p in clips.iterdir()}
    before = load_truth(out, records[1])
    (clips / "000001.npz").unlink()  # an interrupted clip: its speech is kept and reused
    again = write_corpus(CONFIG, out, workers=1, progress=False)
    assert again == records
    after = load_truth(out, records[1])  # deterministic given the stored speech (the H.264 encode is not bit-exact)
    assert all(np.array_equal(before[k], after[k]) for k in before if k != "meta") and before["meta"] == after["meta"]
    for p in clips.iterdir():
        if p.name != "000001.npz" and not p.name.startswith("000001.mp4"):
            assert p.stat().st_mtime_ns == stamps[p.name], p.name
    assert not [p for p in clips.iterdir() if ".tmp" in p.name]
    with pytest.raises(ConfigError, match="other settings"):
        write_corpus(dataclasses.replace(CONFIG, seed=8), out, progress=False)


@pytest.mark.slow
def test_cli_runs_in_parallel(tmp_path) -> None:
    from attnwav2lip.cli import main

    out = tmp_path / "cli"
    code = main(["synth", "--out", str(out), "--clips", "2", "--seed", "1", "--size", "48", "--min-seconds", "1",
                 "--max-seconds", "1.2", "--workers", "2"])
    assert code == 0
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 2
    assert sorted(os.listdir(out / "clips"))[:4] == ["000000.mp4", "000000.npz", "000000.speech.json", "000000.wav"]


@pytest.mark.parametrize("fps", [20.0, 24.0, 25.0, 30.0, 30000 / 1001])
def test_padded_speech_gives_back_its_frame_count_at_any_fps(fps: float) -> None:
    """Video and audio end together: padding to n frames' samples never yields n + 1 frames."""
    for n in range(1, 400):
        samples = samples_for_frames(n, fps)
        assert frames_for_samples(samples, fps) == n
        assert abs(samples - n * 16000 / fps) < 1
