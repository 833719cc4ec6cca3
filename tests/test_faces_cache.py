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
