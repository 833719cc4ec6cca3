"""The detection cache: a second run on the same video does not run the detector."""

from __future__ import annotations

import numpy as np

from attnwav2lip.faces import DetectionCache, Detections, Detector, default_cache_dir, detect_frames, detect_video


class CountingDetector(Detector):
    """One fixed face per frame with made landmarks; counts the frames it sees."""

    name = "counting"

    def __init__(self) -> None:
        super().__init__(max_side=None)
        self.frames_seen = 0

    def _detect(self, frames: list[np.ndarray]) -> list[Detections]:
        self.frames_seen += len(frames)
        return [Detections([[10, 10, 50, 60]], [0.9], np.full((1, 5, 2), i, np.float32)) for i in range(len(frames))]


def _frames(n: int = 5) -> list[np.ndarray]:
    return [np.full((64, 96, 3), 40 * i, np.uint8) for i in range(n)]


def test_second_run_hits_the_cache(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"fake video bytes")
    cache = DetectionCache(tmp_path / "cache")
    detector = CountingDetector()
    calls = []

    def frames():
        calls.append(1)
        return iter(_frames())

    first = detect_video(video, frames, detector, cache=cache, batch_size=2)
    second = detect_video(video, frames, detector, cache=cache, batch_size=2)
    assert detector.frames_seen == 5 and len(calls) == 1
    assert len(second) == 5 and second.frame_size == (64, 96)
    for a, b in zip(first.detections, second.detections):
        assert np.array_equal(a.boxes, b.boxes) and np.array_equal(a.landmarks, b.landmarks)
    assert np.array_equal(first.cuts, second.cuts)
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1


def test_content_and_settings_are_part_of_the_key(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"one")
    cache = DetectionCache(tmp_path)
    detector = CountingDetector()
    detect_video(video, lambda: iter(_frames()), detector, cache=cache)
    detect_video(video, lambda: iter(_frames()), detector, cache=cache, settings={"transform": [2, False]})
    video.write_bytes(b"two")
    detect_video(video, lambda: iter(_frames()), detector, cache=cache)
    assert detector.frames_seen == 15
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(b"two")  # same bytes under another name: a hit
    detect_video(copy, lambda: iter(_frames()), detector, cache=cache)
    assert detector.frames_seen == 15


def test_damaged_entry_is_a_miss_and_is_rewritten(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"bytes")
    cache = DetectionCache(tmp_path / "c")
    detector = CountingDetector()
    detect_video(video, lambda: iter(_frames()), detector, cache=cache)
    (entry,) = (tmp_path / "c").glob("*.npz")
    entry.write_bytes(b"garbage")
    found = detect_video(video, lambda: iter(_frames()), detector, cache=cache)
    assert detector.frames_seen == 10 and len(found) == 5


def test_default_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ATTNWAV2LIP_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path / "faces"
    monkeypatch.delenv("ATTNWAV2LIP_CACHE")
    assert default_cache_dir().parts[-2:] == ("attnwav2lip", "faces")


def test_detect_frames_streams_in_batches_and_marks_cuts():
    detector = CountingDetector()
    noise = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    frames = [np.full((64, 96, 3), 128, np.uint8)] * 3 + [noise] * 2  # a cut: flat grey to noise
    done = []
    found = detect_frames(iter(frames), detector, batch_size=2, progress=done.append)
    assert done == [2, 4, 5] and len(found) == 5
    assert found.cuts.tolist() == [False, False, False, True, False]
    assert found.track().present.all()


class ScriptedDetector(Detector):
    """One face per frame at the box ``script[i]``, ``i`` read from the frame's first pixel; records what it saw."""

    name = "scripted"

    def __init__(self, script: np.ndarray) -> None:
        super().__init__(max_side=None)
        self.script = script
        self.seen: list[int] = []

    def _detect(self, frames: list[np.ndarray]) -> list[Detections]:
        indices = [int(f[0, 0, 0]) for f in frames]
        self.seen += indices
        return [Detections(self.script[i : i + 1], [0.9]) for i in indices]


def _indexed(n: int, cut_at: int | None = None) -> list[np.ndarray]:
    """Frames that carry their index in one pixel; a scene cut (grey to noise) at ``cut_at``."""
    grey = np.full((64, 96, 3), 128, np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    frames = [(noise if cut_at is not None and i >= cut_at else grey).copy() for i in range(n)]
    for i, frame in enumerate(frames):
        frame[0, 0] = i
    return frames


def test_keyframes_only_where_faces_move_smoothly():
    script = np.array([[10 + i, 10, 40 + i, 50] for i in range(21)], np.float32)
    detector = ScriptedDetector(script)
    found = detect_frames(iter(_indexed(21)), detector, every=4)
    assert detector.seen == [0, 4, 8, 12, 16, 20]
    np.testing.assert_allclose(np.concatenate([d.boxes for d in found.detections]), script, atol=1e-4)


def test_fast_motion_and_scene_cuts_fall_back_to_every_frame():
    script = np.array([[10 + i + 40 * (i >= 10), 10, 40 + i + 40 * (i >= 10), 50] for i in range(21)], np.float32)
    detector = ScriptedDetector(script)
    found = detect_frames(iter(_indexed(21)), detector, every=4)  # a jump between frames 9 and 10
    assert detector.seen == [0, 4, 8, 12, 9, 10, 11, 16, 20]
    np.testing.assert_allclose(np.concatenate([d.boxes for d in found.detections]), script, atol=1e-4)
    still = np.tile(np.array([[10, 10, 40, 50]], np.float32), (21, 1))
    detector = ScriptedDetector(still)
    found = detect_frames(iter(_indexed(21, cut_at=14)), detector, every=4)
    assert detector.seen == [0, 4, 8, 12, 16, 13, 14, 15, 20] and found.cuts.tolist().index(True) == 14


def test_keyframe_detection_is_cached_apart_from_every_frame_detection(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"fake video bytes")
    cache = DetectionCache(tmp_path / "cache")
    detector = CountingDetector()
    for every in (1, 4, 4):
        found = detect_video(video, lambda: iter(_frames()), detector, cache=cache, scene_threshold=None, every=every)
        assert len(found) == 5
    assert detector.frames_seen == 5 + 2  # every frame, then keyframes 0 and 4; the third run is a hit
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2
