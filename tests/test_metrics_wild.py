"""The in-the-wild protocol: syncnet_python's crop, track selection, and a real detector end to end."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest
from scipy import signal

from attnwav2lip.faces import Detections, VideoDetections
from attnwav2lip.metrics.wild import (
    FaceTrackSpan,
    WildConfig,
    crop_parameters,
    score_tracks,
    syncnet_crop,
    syncnet_crops,
    track_spans,
)


def reference_crop_video(frames: list[np.ndarray], bboxes: np.ndarray, crop_scale: float = 0.4) -> list[np.ndarray]:
    """syncnet_python's crop_video, transcribed (files and the XVID writer replaced by lists)."""
    dets = {"x": [], "y": [], "s": []}
    for det in bboxes:
        dets["s"].append(max((det[3] - det[1]), (det[2] - det[0])) / 2)
        dets["y"].append((det[1] + det[3]) / 2)
        dets["x"].append((det[0] + det[2]) / 2)
    dets["s"] = signal.medfilt(dets["s"], kernel_size=13)
    dets["x"] = signal.medfilt(dets["x"], kernel_size=13)
    dets["y"] = signal.medfilt(dets["y"], kernel_size=13)
    out = []
    for fidx, image in enumerate(frames):
        cs = crop_scale
        bs = dets["s"][fidx]
        bsi = int(bs * (1 + 2 * cs))
        frame = np.pad(image, ((bsi, bsi), (bsi, bsi), (0, 0)), "constant", constant_values=(110, 110))
        my = dets["y"][fidx] + bsi
        mx = dets["x"][fidx] + bsi
        face = frame[int(my - bs) : int(my + bs * (1 + 2 * cs)), int(mx - bs * (1 + cs)) : int(mx + bs * (1 + cs))]
        out.append(cv2.resize(face, (224, 224)))
    return out


def test_crop_matches_syncnet_python() -> None:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (120, 160, 3), dtype=np.uint8) for _ in range(20)]
    centre = np.array([80.0, 60.0]) + rng.normal(0, 3, (20, 2))
    half = 30 + rng.normal(0, 2, (20, 1))
    boxes = np.concatenate([centre - half, centre + half * np.array([1.0, 1.2])], axis=1)
    boxes[3] = [10, 5, 150, 118]  # an outlier the median filter removes
    params = crop_parameters(boxes)
    ours = [syncnet_crop(frame, *p) for frame, p in zip(frames, params)]
    expected = reference_crop_video(frames, boxes)
    for a, b in zip(ours, expected):
        np.testing.assert_array_equal(a, b)
    near_corner = syncnet_crop(frames[0], 40.0, 10.0, 10.0)  # reaches past the frame: padded with 110
    assert (near_corner[:40, :40] == 110).all() and not (near_corner[-40:, -40:] == 110).all()


def _detections(boxes: list[list[float] | None]) -> tuple[Detections, ...]:
    return tuple(Detections.empty() if b is None else Detections(np.array([b]), np.array([0.99])) for b in boxes)


def test_syncnet_crops_crops_each_frame_around_its_smoothed_box() -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (5, 120, 160, 3), dtype=np.uint8)
    boxes = np.array([[40, 20, 100, 80]] * 5, dtype=np.float64) + np.arange(5)[:, None]
    crops = syncnet_crops(frames, boxes, WildConfig(median_kernel=3))
    params = crop_parameters(boxes, kernel=3)
    assert crops.shape == (5, 224, 224, 3)
    for crop, frame, p in zip(crops, frames, params):
        np.testing.assert_array_equal(crop, syncnet_crop(frame, *p))


def test_track_spans_follow_the_original_rules() -> None:
    face = [40.0, 40.0, 160.0, 170.0]  # 120 x 130 px
    small = [40.0, 40.0, 100.0, 100.0]  # 60 px: below min_face_size
    boxes = [face] * 60 + [None] * 30 + [face] * 110  # a gap longer than 25 frames splits the track
    cuts = np.zeros(len(boxes), bool)
    found = VideoDetections(_detections(boxes), cuts, (240, 320))
    spans = track_spans(found, WildConfig(min_track=50))
    assert [(s.start, s.stop) for s in spans] == [(0, 60), (90, 200)]
    assert [(s.start, s.stop) for s in track_spans(found)] == [(90, 200)]  # > 100 frames only
    np.testing.assert_allclose(spans[0].boxes, np.tile(face, (60, 1)))

    gappy = [face] * 30 + [None] * 10 + [face] * 30  # a short gap is interpolated
    found = VideoDetections(_detections(gappy), np.zeros(70, bool), (240, 320))
    assert [(s.start, s.stop) for s in track_spans(found, WildConfig(min_track=50))] == [(0, 70)]

    cut = np.zeros(70, bool)
    cut[35] = True  # a scene cut ends a track even if the face stays put
    found = VideoDetections(_detections([face] * 70), cut, (240, 320))
    assert [(s.start, s.stop) for s in track_spans(found, WildConfig(min_track=20))] == [(0, 35), (35, 70)]

    found = VideoDetections(_detections([small] * 70), np.zeros(70, bool), (240, 320))
    assert track_spans(found, WildConfig(min_track=20)) == []


@pytest.fixture(scope="module")
def talking_face(tmp_path_factory):
    """A 2 s, 25 fps clip of a real face (scikit-image's astronaut) drifting slowly, with sound."""
    from skimage import data

    from attnwav2lip.video import write_video

    image = cv2.resize(data.astronaut(), (384, 384))
    frames = [np.ascontiguousarray(np.roll(image, k // 5, axis=1)[48:336, 0:288]) for k in range(50)]
    rng = np.random.default_rng(0)
    audio = (0.2 * rng.standard_normal(32000)).astype(np.float32)
    path = tmp_path_factory.mktemp("wild") / "astronaut.mp4"
    write_video(path, frames, 25, audio_samples=audio, audio_rate=16000)
    return path


@pytest.mark.slow
def test_wild_protocol_end_to_end(talking_face, tmp_path, capsys) -> None:
    pytest.importorskip("mediapipe")
    import torch

    from attnwav2lip.checkpoints import save_model
    from attnwav2lip.cli import main
    from attnwav2lip.models import SyncNetEvaluator

    torch.manual_seed(0)
    save_model(SyncNetEvaluator(width=0.0625, embedding_dim=64), tmp_path / "ev.safetensors")
    base = ["evaluate", "videos", str(talking_face.parent), "--evaluator", str(tmp_path / "ev.safetensors")]
    wild = [*base, "--protocol", "wild", "--detector", "mediapipe", "--min-face-size", "50", "--out", str(tmp_path)]
    assert main([*wild, "--min-track", "30"]) == 0
    assert "over 1 face tracks" in capsys.readouterr().out
    with open(tmp_path / "scores.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["video"].endswith("astronaut.mp4#track0") and row["error"] == ""
    assert 30 < int(row["num_windows"]) + 5 <= 50
    assert "in the wild" in (tmp_path / "scores_summary.md").read_text()
    # the default 100-frame minimum leaves a 2 s clip without a score: a clear per-video error
    assert main([*wild, "--name", "strict"]) == 2
    assert "no video could be scored" in capsys.readouterr().err


def test_a_track_the_audio_misses_fails_alone() -> None:
    """Audio shorter than the video: the late track is an error row, the early one keeps its score."""
    import torch

    from attnwav2lip.models import SyncNetEvaluator

    torch.manual_seed(0)
    evaluator = SyncNetEvaluator(width=0.0625, embedding_dim=64)
    spans = [FaceTrackSpan(0, 12, np.zeros((12, 4))), FaceTrackSpan(40, 52, np.zeros((12, 4)))]
    crops = [np.random.default_rng(k).integers(0, 256, (12, 224, 224, 3), dtype=np.uint8) for k in range(2)]
    samples = np.random.default_rng(2).normal(0.0, 0.1, 20 * 640).astype(np.float32)  # 0.8 s: ends before track 1
    first, second = score_tracks("v.mp4", spans, crops, samples, evaluator)
    assert first.video == "v.mp4#track0" and first.ok and first.num_windows == 7
    assert second.video == "v.mp4#track1" and "too short" in second.error
