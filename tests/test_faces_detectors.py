"""Detectors on the real photos that ship in packages, the factory and the downscale mapping."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from attnwav2lip.errors import ConfigError, DependencyError
from attnwav2lip.faces import Detections, create_detector, iou_matrix, lip_polygon, lower_face_polygon
from attnwav2lip.faces.detection import downscale

# Face-oval boxes (the package's box convention) measured with mediapipe's face mesh.
ASTRONAUT_FACE = [179.0, 72.0, 272.0, 175.5]
GRACE_FACE = [171.0, 131.0, 356.0, 333.0]


@pytest.fixture(scope="module")
def photos() -> dict[str, tuple[np.ndarray, list[float]]]:
    import matplotlib.cbook
    import skimage.data
    from PIL import Image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        grace = np.asarray(Image.open(fh).convert("RGB"))
    return {"astronaut": (skimage.data.astronaut(), ASTRONAUT_FACE), "grace": (grace, GRACE_FACE)}


@pytest.fixture(scope="module")
def mediapipe_detector():
    with create_detector("mediapipe", landmarks=True) as detector:
        yield detector


@pytest.mark.parametrize("name", ["astronaut", "grace"])
def test_mediapipe_box_lands_on_the_face(photos, mediapipe_detector, name):
    image, face = photos[name]
    (found,) = mediapipe_detector.detect(image)
    assert len(found) == 1 and found.scores[0] > 0.8
    assert iou_matrix(found.boxes, face)[0, 0] > 0.85
    marks = found.landmarks[0]
    assert marks.shape == (468, 2) and np.isfinite(marks).all()
    polygon = lower_face_polygon(marks)
    # the jaw polygon lies in the lower part of the face box
    assert polygon is not None and polygon[:, 1].min() > (face[1] + face[3]) / 2 - 5
    assert polygon[:, 1].max() < face[3] + 8
    lips = lip_polygon(marks)
    # the mouth: centred horizontally in the face, in its lower third, well inside the jaw polygon
    width, height = face[2] - face[0], face[3] - face[1]
    assert abs(lips[:, 0].mean() - (face[0] + face[2]) / 2) < 0.1 * width
    assert face[1] + 0.6 * height < lips[:, 1].mean() < face[3] - 0.1 * height


@pytest.mark.parametrize("name", ["astronaut", "grace"])
def test_haar_box_lands_on_the_face(photos, name):
    image, face = photos[name]
    with create_detector("haar") as detector:
        (found,) = detector.detect(image)
    assert len(found) >= 1 and found.landmarks is None
    assert iou_matrix(found.boxes[:1], face)[0, 0] > 0.7


def test_downscaled_detection_maps_boxes_back_to_full_resolution(photos, mediapipe_detector):
    import cv2

    image, face = photos["astronaut"]
    canvas = np.full((1080, 1920, 3), 90, np.uint8)
    canvas[40:1064, 700:1724] = cv2.resize(image, (1024, 1024), interpolation=cv2.INTER_LINEAR)
    expected = np.array(face) * 2 + [700, 40, 700, 40]
    (found,) = mediapipe_detector.detect(canvas[None])  # max_side 640: detected at 640x360
    assert iou_matrix(found.boxes[:1], expected)[0, 0] > 0.8
    assert np.all(found.landmarks[0][:, 0] > 700)


def test_tiles_find_small_faces_in_wide_frames(photos):
    import cv2

    image, face = photos["astronaut"]
    frame = np.full((720, 1280, 3), 90, np.uint8)
    frame[100:356, 900:1156] = cv2.resize(image, (256, 256), interpolation=cv2.INTER_AREA)  # a 46 px face
    expected = np.array(face) / 2 + [900, 100, 900, 100]
    found = {}
    for tiles in ("never", "auto"):
        with create_detector("mediapipe", tiles=tiles, max_side=None) as detector:
            found[tiles] = detector.detect(frame)[0]
    assert len(found["never"]) == 0
    assert len(found["auto"]) == 1 and iou_matrix(found["auto"].boxes, expected)[0, 0] > 0.7
    with pytest.raises(ConfigError, match="tiles"):
        create_detector("mediapipe", tiles="sometimes")


def test_downscale_keeps_small_frames_and_reports_scale():
    frame = np.zeros((100, 200, 3), np.uint8)
    same, scale = downscale(frame, 640)
    assert same is frame and scale == 1.0
    small, scale = downscale(np.zeros((720, 1280, 3), np.uint8), 640)
    assert small.shape == (360, 640, 3) and scale == pytest.approx(0.5)


def test_faceless_frame_gives_empty_detections(mediapipe_detector):
    found = mediapipe_detector.detect(np.zeros((2, 64, 64, 3), np.uint8))
    assert [len(d) for d in found] == [0, 0]
    assert found[0].boxes.shape == (0, 4) and found[0].scores.dtype == np.float32


def test_frames_must_be_uint8_rgb(mediapipe_detector):
    with pytest.raises(ValueError, match="uint8"):
        mediapipe_detector.detect(np.zeros((64, 64, 3), np.float32))


def test_auto_falls_back_to_haar_with_a_warning(monkeypatch, caplog):
    from attnwav2lip.faces import mediapipe_backend

    def missing():
        raise DependencyError("mediapipe 0.10.14 is not importable")

    monkeypatch.setattr(mediapipe_backend, "import_solutions", missing)
    with caplog.at_level("WARNING", logger="attnwav2lip"):
        detector = create_detector("auto", landmarks=True, max_side=320)
    assert "Haar" in caplog.text
    assert detector.name == "haar" and detector.max_side == 320


def test_auto_prefers_mediapipe():
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.filterwarnings("ignore", message=".*GetPrototype.*")
        with create_detector() as detector:
            assert detector.name == "mediapipe"


def test_factory_rejects_unknown_names_and_s3fd_without_weights():
    with pytest.raises(ConfigError, match="unknown face detector"):
        create_detector("dlib")
    with pytest.raises(ConfigError, match="s3fd.pth"):
        create_detector("s3fd")


def test_detections_validate_lengths():
    with pytest.raises(ValueError):
        Detections(np.zeros((2, 4)), np.zeros(1))
    assert len(Detections.empty()) == 0


def test_detector_config_loads_from_a_recipe_mapping(tmp_path):
    from attnwav2lip.config import from_dict
    from attnwav2lip.faces import DetectorConfig

    config = from_dict(DetectorConfig, {"name": "haar", "max_side": 320})
    with config.create() as detector:
        assert detector.name == "haar" and detector.max_side == 320
        assert detector.settings()["max_side"] == 320
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(DetectorConfig, {"detector": "haar"})


def test_real_detections_tracked_through_a_gap(photos, mediapipe_detector):
    from attnwav2lip.faces import TrackConfig, detect_frames

    image, face = photos["astronaut"]
    frames = [np.roll(image, 3 * i, axis=1) for i in range(10)]
    for i in (4, 5, 6):  # the face disappears for three frames (a hand, a cutaway of the same shot)
        frames[i] = frames[i].copy()
        frames[i][60:200, 150:320] = 128
    found = detect_frames(iter(frames), mediapipe_detector, batch_size=4)
    assert [len(d) for d in found.detections] == [1, 1, 1, 1, 0, 0, 0, 1, 1, 1]
    track = found.track(TrackConfig(smooth=1, pads=(0, 0, 0, 0)))
    assert track.present.all() and track.detected.tolist() == [True] * 4 + [False] * 3 + [True] * 3
    for i in range(10):
        expected = np.array(face) + [3 * i, 0, 3 * i, 0]
        assert iou_matrix(track.boxes[i], expected)[0, 0] > 0.8


@pytest.mark.parametrize("motion", ["drift", "sway"])
def test_keyframe_detection_follows_every_frame_detection(photos, mediapipe_detector, motion):
    """detect_frames(every=4) on a moving face with a scene cut: boxes close to detecting every frame."""
    from attnwav2lip.faces import detect_frames

    def shot(name: str, n: int) -> list[np.ndarray]:
        image = photos[name][0][:448, :448]
        if motion == "drift":
            return [np.roll(image, (2 * i, 3 * i), axis=(0, 1)) for i in range(n)]
        return [np.roll(image, (round(12 * np.sin(i / 3)), round(30 * np.sin(i / 4))), axis=(0, 1)) for i in range(n)]

    frames = shot("astronaut", 26) + shot("grace", 22)  # a cut at frame 26, between two keyframes
    every = detect_frames(iter(frames), mediapipe_detector)
    sparse = detect_frames(iter(frames), mediapipe_detector, every=4)
    assert sparse.cuts.tolist() == every.cuts.tolist() and every.cuts[26]
    assert [len(d) for d in every.detections] == [len(d) for d in sparse.detections] == [1] * 48
    overlap = np.array([iou_matrix(a.boxes, b.boxes)[0, 0] for a, b in zip(every.detections, sparse.detections)])
    assert overlap.mean() >= 0.9 and overlap.min() >= 0.7, (overlap.mean(), overlap.min())
