"""Preprocessing real (tiny) videos: layouts, fps conversion, scene cuts, boxes vs ground truth, crashes, shards."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from attnwav2lip.data.preprocess import PreprocessConfig, preprocess, process_video
from attnwav2lip.data.sources import VideoItem, find_videos, in_shard
from attnwav2lip.data.store import MANIFEST, TMP, VIDEOS, ClipStore, append_jsonl, clip_dir, read_jsonl, read_clip_manifest

SHIFT = 2  # the face moves left by this many pixels per source frame


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    from skimage.data import astronaut

    return astronaut()


def face_frames(portrait: np.ndarray, n: int, first: int = 0) -> list[np.ndarray]:
    """A 256x256 view sliding right over the portrait: the face moves left SHIFT px per frame."""
    return [np.ascontiguousarray(portrait[0:256, 100 + SHIFT * k : 356 + SHIFT * k]) for k in range(first, first + n)]


def blank_frames(n: int) -> list[np.ndarray]:
    return [np.full((256, 256, 3), (40, 160, 60), np.uint8) for _ in range(n)]


def write(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    from attnwav2lip.video import write_video

    path.parent.mkdir(parents=True, exist_ok=True)
    wav = 0.1 * np.random.default_rng(0).standard_normal(round(len(frames) / fps * 16000)).astype(np.float32)
    write_video(path, frames, fps, wav)
    return path


def reference_box(portrait: np.ndarray) -> np.ndarray:
    """Ground truth: the detector's box on the unshifted view, as the tracker pads it (+10 px chin)."""
    from attnwav2lip.faces.factory import DetectorConfig

    with DetectorConfig().create() as detector:
        box = detector.detect([face_frames(portrait, 1)[0]])[0].boxes[0].copy()
    box[3] += 10
    return box


@pytest.fixture(scope="module")
def lrs2(tmp_path_factory: pytest.TempPathFactory, portrait: np.ndarray) -> Path:
    """LRS2 layout: main/<spk>/<clip>.mp4 and filelists; one video has a scene cut through a faceless shot."""
    root = tmp_path_factory.mktemp("lrs2")
    write(root / "main/111/00001.mp4", face_frames(portrait, 24) + blank_frames(8) + face_frames(portrait, 20, 10))
    write(root / "main/222/00002.mp4", blank_frames(20))  # no face
    (root / "main/333").mkdir(parents=True)
    (root / "main/333/00003.mp4").write_bytes(b"not a video")
    write(root / "main/444/00004.mp4", face_frames(portrait, 18))
    (root / "train.txt").write_text("111/00001\n222/00002\n333/00003\n")
    (root / "test.txt").write_text("444/00004 NF\n")
    return root


def test_find_videos_layouts(tmp_path: Path) -> None:
    for name in ("main/1/a.mp4", "main/1/b.mp4", "pretrain/1/c.mp4"):
        (tmp_path / "lrs2" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "lrs2" / name).touch()
    (tmp_path / "lrs2/train.txt").write_text("1/a\n")
    (tmp_path / "lrs2/val.txt").write_text("1/b\n")
    (tmp_path / "lrs2/pretrain.txt").write_text("1/c\n")
    items = find_videos(tmp_path / "lrs2")
    assert [(v.key, v.split, v.path.relative_to(tmp_path / "lrs2").as_posix()) for v in items] == [
        ("1/a", "train", "main/1/a.mp4"), ("1/b", "val", "main/1/b.mp4"), ("1/c", "pretrain", "pretrain/1/c.mp4")]
    for name in ("trainval/s1/00001.mp4", "test/s2/00002.mp4"):
        (tmp_path / "lrs3" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "lrs3" / name).touch()
    assert [(v.key, v.split) for v in find_videos(tmp_path / "lrs3")] == [("test/s2/00002", "test"), ("trainval/s1/00001", "trainval")]
    (tmp_path / "synth").mkdir()
    (tmp_path / "synth/corpus.yaml").write_text("clips: 1\n")
    (tmp_path / "synth/manifest.jsonl").write_text(json.dumps({"id": "s/0", "video": "v/0.mp4", "split": "val", "x": 1}) + "\n")
    assert [(v.key, v.split, v.path) for v in find_videos(tmp_path / "synth")] == [("s/0", "val", tmp_path / "synth/v/0.mp4")]
    (tmp_path / "list.txt").write_text("lrs3/test/s2/00002.mp4\n# comment\n")
    assert [(v.key, v.path) for v in find_videos(tmp_path / "list.txt")] == [("lrs3/test/s2/00002", tmp_path / "lrs3/test/s2/00002.mp4")]


def test_shards_are_disjoint_and_complete() -> None:
    keys = [f"{s}/{c:05d}" for s in range(20) for c in range(10)]
    owners = [[k for k in keys if in_shard(k, i, 3)] for i in range(3)]
    assert sorted(sum(owners, [])) == sorted(keys)
    assert all(len(o) > 40 for o in owners)


@pytest.mark.slow
def test_preprocess_lrs2_layout(tmp_path: Path, lrs2: Path, portrait: np.ndarray,
                                caplog: pytest.LogCaptureFixture) -> None:
    root, out = lrs2, tmp_path / "store"
    with caplog.at_level("WARNING", logger="attnwav2lip"):
        counts = preprocess(root, out, progress=False)
    assert counts == {"ok": 2, "no_face": 1, "unsynced": 0, "failed": 1, "skipped": 0, "clips": 3}
    assert "failed 333/00003: " in caplog.text and "skipped" not in caplog.text  # as the counts say
    assert not (out / TMP).exists()  # no empty temp folders are left behind
    records = {r.id: r for r in read_clip_manifest(out)}
    assert {k: (r.frames, r.split) for k, r in records.items()} == {
        "111/00001/00": (24, "train"), "111/00001/01": (20, "train"), "444/00004/00": (18, "test")}
    status = {r["video"]: r["status"] for r in read_jsonl(out / VIDEOS)}
    assert status == {"111/00001": "ok", "222/00002": "no_face", "333/00003": "failed", "444/00004": "ok"}
    clip = ClipStore(out, "train").open(1)
    assert clip.frames.shape == (20, 96, 96, 3) and clip.mel.shape[1] >= 20 * 3.2
    meta = json.loads((clip_dir(out, "111/00001/01") / "meta.json").read_text())
    assert meta["start_frame"] == 32 and meta["video"] == "111/00001"
    # boxes against ground truth: the face moved SHIFT px left per frame from the reference view
    truth = reference_box(portrait)
    for clip_id, first in (("111/00001/00", 0), ("111/00001/01", 10)):
        boxes = np.load(clip_dir(out, clip_id) / "boxes.npy")
        expected = truth - SHIFT * (first + np.arange(len(boxes)))[:, None] * np.array([1, 0, 1, 0])
        assert np.abs(boxes - expected).max() < 7  # detector jitter, H.264, smoothing lag at run ends (box ~105 px)
        assert abs(np.diff(boxes[:-4, 0]).mean() + SHIFT) < 0.5  # the smoothing window flattens the last 4
    again = preprocess(root, out, progress=False)  # resumable: only the failed video is retried
    assert (again["skipped"], again["failed"], again["clips"]) == (3, 1, 0)


def test_a_missing_source_creates_nothing(tmp_path: Path) -> None:
    from attnwav2lip.data.store import DatasetError

    with pytest.raises(DatasetError, match="not found"):
        preprocess(tmp_path / "no-such-videos", tmp_path / "store", progress=False)
    assert not (tmp_path / "store").exists()


def test_fps_conversion_by_timestamps(tmp_path: Path, portrait: np.ndarray) -> None:
    video = write(tmp_path / "v50.mp4", face_frames(portrait, 34), fps=50)
    result = process_video(VideoItem("v50", video, "train"), tmp_path / "store", PreprocessConfig())
    assert result.status == "ok" and [r["frames"] for r in result.clips] == [17]
    boxes = np.load(clip_dir(tmp_path / "store", "v50/00") / "boxes.npy")
    step = np.diff(boxes[:-4, 0]).mean()  # output frame k shows source frame 2k: twice the shift
    assert abs(step + 2 * SHIFT) < 0.5


@pytest.mark.slow
def test_resume_after_crash_mid_clip(tmp_path: Path, lrs2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import attnwav2lip.data.preprocess as pre
    from attnwav2lip.data import store

    root, out = lrs2, tmp_path / "store"
    real = store.write_clip

    def crash_in_second_clip(root_, clip_id, *args, **kwargs):
        if clip_id == "111/00001/01":
            partial = Path(root_) / TMP / kwargs["tmp_name"] / clip_id
            partial.mkdir(parents=True)
            (partial / "frames.npy").write_bytes(b"partial")
            raise KeyboardInterrupt  # killed mid-clip
        return real(root_, clip_id, *args, **kwargs)

    monkeypatch.setattr(pre, "write_clip", crash_in_second_clip)
    with pytest.raises(KeyboardInterrupt):
        preprocess(root, out, progress=False)
    assert clip_dir(out, "111/00001/00").is_dir()  # renamed into place, but never listed
    assert not (out / MANIFEST).exists() or "111/00001" not in (out / MANIFEST).read_text()
    monkeypatch.setattr(pre, "write_clip", real)
    counts = preprocess(root, out, progress=False)
    assert counts["ok"] == 2 and counts["clips"] == 3
    assert not any((out / TMP).rglob("frames.npy"))  # the leftover temp clip was cleaned
    ids = [json.loads(line)["id"] for line in (out / MANIFEST).read_text().splitlines()]
    assert sorted(ids) == ["111/00001/00", "111/00001/01", "444/00004/00"]  # each listed once
    assert np.load(clip_dir(out, "111/00001/01") / "frames.npy", mmap_mode="r").shape == (20, 96, 96, 3)


@pytest.mark.slow
def test_shards_share_one_store(tmp_path: Path, lrs2: Path) -> None:
    root, out = lrs2, tmp_path / "store"
    first = preprocess(root, out, shard=(0, 2), workers=2, progress=False)
    second = preprocess(root, out, shard=(1, 2), progress=False)
    assert first["skipped"] == second["skipped"] == 0
    assert sum(c[k] for c in (first, second) for k in ("ok", "no_face", "failed")) == 4
    assert len(read_clip_manifest(out)) == 3


def test_scene_threshold_is_the_one_inference_uses() -> None:
    import inspect

    from attnwav2lip.faces import SCENE_THRESHOLD, SceneCutDetector, detect_frames, detect_video

    assert PreprocessConfig().scene_threshold == SCENE_THRESHOLD == SceneCutDetector().threshold
    for detect in (detect_frames, detect_video):
        assert inspect.signature(detect).parameters["scene_threshold"].default == SCENE_THRESHOLD


def test_rerun_with_other_settings_is_refused(tmp_path: Path) -> None:
    from attnwav2lip.data.store import DatasetError
    from attnwav2lip.faces.factory import DetectorConfig

    (tmp_path / "videos").mkdir()
    (tmp_path / "videos/bad.mp4").write_bytes(b"not a video")  # fails fast: no detection needed
    out = tmp_path / "store"
    preprocess(tmp_path / "videos", out, PreprocessConfig(size=64), progress=False)
    assert "size: 64" in (out / "preprocess.yaml").read_text()
    with pytest.raises(DatasetError, match=r"size 64 \(store\) vs 96 \(now\)"):
        preprocess(tmp_path / "videos", out, progress=False)
    # where the detector runs and how many workers do not change the clips
    preprocess(tmp_path / "videos", out, PreprocessConfig(size=64, detector=DetectorConfig(device="cuda")),
               workers=2, progress=False)


def test_failed_videos_are_retried_and_the_last_record_wins(tmp_path: Path) -> None:
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos/bad.mp4").write_bytes(b"not a video")
    out = tmp_path / "store"
    for _ in range(2):
        assert preprocess(tmp_path / "videos", out, progress=False)["failed"] == 1
    assert [r["status"] for r in read_jsonl(out / VIDEOS)] == ["failed", "failed"]
    append_jsonl(out / VIDEOS, [{"video": "bad", "status": "no_face", "clips": 0, "reason": ""}])
    assert preprocess(tmp_path / "videos", out, progress=False)["skipped"] == 1


def test_cli_from_wav2lip_and_bad_shard(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from attnwav2lip import cli

    assert cli.main(["preprocess", "--videos", str(tmp_path), "--out", str(tmp_path / "o"), "--shard", "2/2"]) == 2
    assert "shard" in capsys.readouterr().err
    (tmp_path / "orig/filelists").mkdir(parents=True)
    (tmp_path / "orig/filelists/train.txt").write_text("")
    assert cli.main(["preprocess", "--from-wav2lip", str(tmp_path / "orig"), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert "converted=0" in capsys.readouterr().out


def test_cli_from_wav2lip_refuses_what_it_would_ignore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from attnwav2lip import cli

    convert = ["preprocess", "--from-wav2lip", str(tmp_path / "orig"), "--out", str(tmp_path / "o"), "--quiet"]
    assert cli.main([*convert, "--workers", "4", "--detector", "s3fd"]) == 2
    assert "--workers, --detector apply to --videos only" in capsys.readouterr().err
    assert cli.main(["preprocess", "--videos", str(tmp_path), "--out", str(tmp_path / "o"), "--filelists", "f"]) == 2
    assert "--filelists applies to --from-wav2lip only" in capsys.readouterr().err
    assert cli.main(convert) == 2  # no such root
    assert "not a folder" in capsys.readouterr().err
    (tmp_path / "orig").mkdir()
    assert cli.main(convert) == 2  # a root without filelists
    assert "no filelist to convert" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing created on the way


@pytest.mark.slow
def test_synthtalk_boxes_against_ground_truth(tmp_path: Path) -> None:
    from attnwav2lip.faces.boxes import iou_matrix
    from attnwav2lip.synth.corpus import CorpusConfig, load_truth, read_corpus_manifest as read_corpus, write_corpus

    corpus = tmp_path / "synth"
    write_corpus(CorpusConfig(clips=1, min_seconds=1.0, max_seconds=1.5, size=128, split_shares=(0, 1, 0, 0)),
                 corpus, progress=False)
    counts = preprocess(corpus, tmp_path / "store", progress=False)
    assert counts["ok"] == 1
    (record,) = read_corpus(corpus)
    (clip,) = read_clip_manifest(tmp_path / "store")
    assert clip.split == "val" and clip.id == f"{record['id']}/00"
    meta = json.loads((clip_dir(tmp_path / "store", clip.id) / "meta.json").read_text())
    boxes = np.load(clip_dir(tmp_path / "store", clip.id) / "boxes.npy")
    truth = load_truth(corpus, record)["boxes"][meta["start_frame"] : meta["start_frame"] + len(boxes)].copy()
    truth[:, 3] += 10  # the tracker's chin padding, as inference
    ious = np.array([iou_matrix(a, b)[0, 0] for a, b in zip(boxes, truth)])
    assert ious.mean() > 0.8 and ious.min() > 0.65


def test_align_follows_the_lse_offset_convention() -> None:
    import torch

    from attnwav2lip.data.preprocess import align
    from attnwav2lip.metrics.lse import scores_from_embeddings

    n, codes = 40, torch.nn.functional.normalize(torch.randn(80, 32), dim=1)
    for lag in (-3, 0, 4):  # frame i shows the lips of time i - lag; audio window j is time j
        video_time, audio_time = np.arange(n) - lag, np.arange(n)
        scores = scores_from_embeddings(codes[video_time + 20], codes[audio_time + 20], vshift=6)
        frames, audio = align(video_time, audio_time, scores.offset, 1)
        m = min(len(frames), len(audio))
        assert m >= n - 4 and np.array_equal(frames[:m], audio[:m])  # in sync after alignment


@pytest.mark.slow
def test_sync_check_shifts_or_drops(tmp_path: Path, lrs2: Path) -> None:
    from attnwav2lip.checkpoints import save_model
    from attnwav2lip.data.preprocess import OffsetCheckConfig
    from attnwav2lip.models import SyncNetEvaluator

    save_model(SyncNetEvaluator(), tmp_path / "evaluator.safetensors")  # random weights: any offset, any confidence
    item = VideoItem("444/00004", lrs2 / "main/444/00004.mp4", "test")
    keep = PreprocessConfig(sync=OffsetCheckConfig(weights=str(tmp_path / "evaluator.safetensors"), min_confidence=-1.0, max_offset=1))
    result = process_video(item, tmp_path / "store", keep)
    meta = json.loads((clip_dir(tmp_path / "store", "444/00004/00") / "meta.json").read_text())
    assert result.status == "ok" and abs(meta["sync_offset"]) <= 1 and "sync_confidence" in meta
    assert result.clips[0]["frames"] == 18 - max(meta["sync_offset"], 0) == meta["frames"]
    drop = PreprocessConfig(sync=dataclasses.replace(keep.sync, min_confidence=1e9))
    assert process_video(item, tmp_path / "store2", drop).status == "unsynced"
