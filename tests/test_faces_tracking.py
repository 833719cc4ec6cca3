"""Tracking on made detections: linking, speaker choice, gaps, scene cuts, pads, smoothing."""

from __future__ import annotations

import numpy as np
import pytest

from attnwav2lip.errors import ConfigError
from attnwav2lip.faces import (
    Detections,
    FrameTransform,
    TrackConfig,
    scene_cuts,
    smooth_boxes,
    track_faces,
)

SIZE = (480, 640)
NO_PAD_NO_SMOOTH = TrackConfig(pads=(0, 0, 0, 0), smooth=1)


def _dets(*boxes: list[float], landmarks: bool = False) -> Detections:
    b = np.array(boxes, np.float32).reshape(-1, 4)
    marks = np.repeat(b[:, None, :2], 3, axis=1) if landmarks else None
    return Detections(b, np.full(len(b), 0.9, np.float32), marks)


def _moving(n: int, x0: float = 100.0, step: float = 2.0, size: float = 100.0) -> list[list[float]]:
    return [[x0 + step * i, 100.0, x0 + step * i + size, 100.0 + size] for i in range(n)]


def test_speaker_is_the_largest_consistent_face_and_gaps_are_interpolated():
    speaker, other = _moving(10), _moving(10, x0=400, size=60)
    frames = [_dets(speaker[i], other[i]) for i in range(10)]
    for i in (4, 5, 6):  # speaker missed for 3 frames, the small face is still there
        frames[i] = _dets(other[i])
    track = track_faces(frames, SIZE, NO_PAD_NO_SMOOTH)
    assert track.present.all()
    assert track.detected.tolist() == [True] * 4 + [False] * 3 + [True] * 3
    np.testing.assert_allclose(track.boxes, np.array(speaker, np.float32), atol=1e-4)
    second = track_faces(frames, SIZE, TrackConfig(pads=(0, 0, 0, 0), smooth=1, speaker=1))
    np.testing.assert_allclose(second.boxes, np.array(other, np.float32))


def test_long_gap_stays_missing_but_the_face_is_found_again():
    boxes = _moving(20)
    frames = [_dets(b) if not 5 <= i < 15 else Detections.empty() for i, b in enumerate(boxes)]
    track = track_faces(frames, SIZE, TrackConfig(pads=(0, 0, 0, 0), smooth=1, max_gap=3))
    assert track.present.tolist() == [True] * 5 + [False] * 10 + [True] * 5
    assert track.box(7) is None and np.allclose(track.box(16), boxes[16])
    assert np.isnan(track.boxes[7]).all()


def test_a_slightly_overlapping_neighbour_does_not_continue_a_lost_speaker():
    # the speaker (x1=100) is lost for 15 frames (> max_gap) while a neighbour whose box touches
    # the speaker's (IoU 0.05) is detected; the box must not jump to the neighbour and back
    speaker, neighbour = [100.0, 100.0, 200.0, 200.0], [190.0, 100.0, 290.0, 200.0]
    frames = [_dets(neighbour) if 21 <= i < 36 else _dets(speaker) for i in range(42)]
    track = track_faces(frames, SIZE, NO_PAD_NO_SMOOTH)
    assert track.present.tolist() == [True] * 21 + [False] * 15 + [True] * 6
    np.testing.assert_allclose(track.boxes[track.present], np.array([speaker] * 27, np.float32))


def test_tracks_and_interpolation_stop_at_scene_cuts():
    a, b = _moving(6), _moving(6, x0=300)
    frames = [_dets(a[0]), _dets(a[1]), Detections.empty(), _dets(b[3]), _dets(b[4]), _dets(b[5])]
    cuts = np.array([False, False, False, True, False, False])
    track = track_faces(frames, SIZE, NO_PAD_NO_SMOOTH, cuts)
    # the second shot's face is chosen in its scene; frame 2 (before the cut) is not interpolated
    assert track.present.tolist() == [True, True, False, True, True, True]
    np.testing.assert_allclose(track.boxes[3], b[3])
    without_cut = track_faces(frames, SIZE, NO_PAD_NO_SMOOTH)
    # no cut: the two faces do not overlap, so only the larger-scoring (longer) track is kept
    assert without_cut.present.tolist() == [False, False, False, True, True, True]


def test_pads_are_added_and_clipped_to_the_frame():
    frames = [_dets([10, 400, 110, 470])]
    track = track_faces(frames, SIZE, TrackConfig(smooth=1))  # default pads: 10 px of chin
    assert track.boxes[0].tolist() == [10, 400, 110, 480]
    track = track_faces(frames, SIZE, TrackConfig(smooth=1, pads=(5, 0, 20, 3)))
    assert track.boxes[0].tolist() == [0, 395, 113, 470]


def test_forward_window_smoothing_by_hand():
    boxes = np.zeros((10, 4), np.float32)
    boxes[:, 0] = np.arange(10)
    out = smooth_boxes(boxes, window=5)
    # i <= 5: mean of i..i+4 = i + 2; the last four use the last five rows (mean 7)
    assert out[:, 0].tolist() == [2, 3, 4, 5, 6, 7, 7, 7, 7, 7]
    assert np.array_equal(smooth_boxes(boxes, window=1), boxes)
    # a missing frame splits the run; a 3-box run is averaged as a whole
    boxes[3] = np.nan
    out = smooth_boxes(boxes, window=5)
    assert out[:3, 0].tolist() == [1, 1, 1] and np.isnan(out[3]).all()
    assert out[4:, 0].tolist() == [6, 7, 7, 7, 7, 7]


def test_default_config_smooths_with_five_frames():
    frames = [_dets([100 + 5 * (i % 2), 100, 200 + 5 * (i % 2), 200]) for i in range(10)]
    raw = track_faces(frames, SIZE, TrackConfig(smooth=1))
    smooth = track_faces(frames, SIZE)
    assert np.ptp(raw.boxes[:, 0]) == 5 and np.ptp(smooth.boxes[:, 0]) <= 1


def test_fixed_box_skips_selection():
    track = track_faces([Detections.empty()] * 3, SIZE, TrackConfig(box=(10, 20, 700, 100)))
    assert track.present.all() and not track.detected.any()
    assert track.boxes[2].tolist() == [10, 20, 640, 100]


def test_landmarks_follow_the_chosen_face():
    boxes = _moving(4)
    frames = [_dets(b, landmarks=True) for b in boxes]
    frames[2] = Detections.empty()
    track = track_faces(frames, SIZE, NO_PAD_NO_SMOOTH)
    assert track.landmarks.shape == (4, 3, 2)
    np.testing.assert_allclose(track.landmarks[2, 0], [104.0, 100.0])  # interpolated


def test_no_faces_at_all():
    track = track_faces([Detections.empty()] * 4, SIZE)
    assert not track.present.any() and track.landmarks is None


def test_scene_cut_detector_finds_the_shot_change_only():
    import matplotlib.cbook
    import skimage.data
    from PIL import Image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        grace = np.asarray(Image.open(fh).convert("RGB"))[:512]
    astronaut = skimage.data.astronaut()
    frames = [np.roll(astronaut, 4 * i, axis=1) for i in range(4)] + [np.roll(grace, 4 * i, axis=0) for i in range(4)]
    assert scene_cuts(frames).tolist() == [False] * 4 + [True] + [False] * 3


def test_frame_transform_resize_rotate_crop():
    import cv2

    frame = np.random.default_rng(0).integers(0, 256, (100, 160, 3), dtype=np.uint8)
    assert FrameTransform()(frame) is frame
    half = FrameTransform(resize_factor=2)(frame)
    assert half.shape == (50, 80, 3)
    rotated = FrameTransform(rotate=True)(frame)
    assert np.array_equal(rotated, cv2.rotate(frame, cv2.ROTATE_90_CLOCKWISE))
    cropped = FrameTransform(resize_factor=2, rotate=True, crop=(10, -1, 5, 40))(frame)
    assert np.array_equal(cropped, cv2.rotate(half, cv2.ROTATE_90_CLOCKWISE)[10:, 5:40])
    with pytest.raises(ConfigError):
        FrameTransform(resize_factor=0)


def test_frame_transform_from_a_list_crop_is_hashable():
    from attnwav2lip.config import from_dict

    listed = FrameTransform(crop=[10, -1, 5, 40])  # as json.loads or a YAML recipe gives it
    assert listed.crop == (10, -1, 5, 40) and hash(listed) == hash(FrameTransform(crop=(10, -1, 5, 40)))
    assert {listed, from_dict(FrameTransform, {"crop": [10, -1, 5, 40]})} == {listed}
    assert FrameTransform(crop=[0, -1, 0, -1]).identity


def test_track_config_from_a_recipe_mapping():
    from attnwav2lip.config import from_dict
    from attnwav2lip.errors import ConfigError

    config = from_dict(TrackConfig, {"pads": [0, 5, 0, 0], "box": [1, 2, 3, 4], "smooth": 1})
    assert config.pads == (0, 5, 0, 0) and config.box == (1.0, 2.0, 3.0, 4.0)
    hash(config)
    with pytest.raises(ConfigError):
        from_dict(TrackConfig, {"smooth": -1})
