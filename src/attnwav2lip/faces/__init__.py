"""Faces: detection, tracking, landmarks, crops and blending.

Importing this package loads only numpy; torch, OpenCV and mediapipe load when a backend or a
function needs them.

Typical two-pass use (pass 1 detects, pass 2 crops / generates / pastes)::

    from attnwav2lip.faces import FrameTransform, TrackConfig, create_detector, detect_video
    from attnwav2lip.faces import crop_face, paste_face

    transform = FrameTransform()                      # resize_factor / rotate / crop (§8.1)
    with create_detector("auto", landmarks=True) as detector:
        found = detect_video(path, lambda: map(transform, read_frames(path)), detector,
                             settings={"transform": to_dict(transform)})
    track = found.track(TrackConfig())                # (N, 4) boxes, NaN where no face
    face = crop_face(frame, track.boxes[i])           # (96, 96, 3) uint8, bilinear
    frame = paste_face(frame, generated, track.boxes[i], landmarks=track.landmarks[i])

Box convention (all detectors): float32 x1, y1, x2, y2 in input pixels (half-open extents, may
reach past the frame), approximating the bounding box of mediapipe's face-mesh face oval
(forehead top at mesh point 10, chin at 152, cheek to cheek). MediaPipe and Haar boxes are mapped
onto it by a fixed ``BoxAdjust`` fit on two real photos; S3FD boxes are returned raw (exactly the
original's, which were fit to WIDER FACE's forehead-to-chin boxes; not verified against the oval
here for lack of weights). ``TrackConfig.pads`` (default the original's (0, 10, 0, 0): 10 px of chin)
is applied after tracking, as the original did after detection.

Detectors (``create_detector(name="auto", **options)`` or ``DetectorConfig(...).create()``):
    "mediapipe"  BlazeFace full (default) or short range; wide frames where it finds nothing are
                 searched again in square tiles (``tiles="auto"|"always"|"never"``)
                 (+ ``landmarks=True``: 468-point mesh per face)
    "haar"       OpenCV Haar cascade; "auto" falls back to it, with a warning, without mediapipe
    "s3fd"       the original S3FD, ``weights=`` the user's s3fd.pth
    All take ``max_side`` (default 640): frames are downscaled for detection and boxes mapped back.
    ``detector.detect(frames) -> list[Detections]`` (boxes (K, 4), scores (K,), landmarks (K, P, 2) | None).

Tracking: ``track_faces(detections, (H, W), TrackConfig, cuts) -> FaceTrack`` links detections by
IoU within scenes (``scene_cuts`` / ``SceneCutDetector``), picks the speaker (largest and longest,
or a rank, or a fixed box), interpolates gaps up to ``max_gap`` frames, pads, and smooths with the
original's 5-frame forward window. Cache: ``detect_video`` / ``DetectionCache`` (see ``cache``).
"""

from __future__ import annotations

from .._lazy import lazy_exports
from .boxes import BoxAdjust, clip_boxes, iou_matrix, pad_boxes
from .cache import DetectionCache, content_digest, default_cache_dir, detect_video
from .detection import Detections, Detector
from .factory import DetectorConfig, create_detector
from .geometry import (
    FACE_SIZE,
    crop_face,
    crop_faces,
    lip_polygon,
    lower_face_mask,
    lower_face_polygon,
    match_colour,
    paste_face,
)
from .scan import VideoDetections, detect_frames
from .scenes import SCENE_THRESHOLD, SceneCutDetector, scene_cuts
from .tracking import FaceTrack, TrackConfig, smooth_boxes, track_faces
from .transforms import FrameTransform

_BACKENDS = {
    "MediaPipeDetector": "attnwav2lip.faces.mediapipe_backend",
    "HaarDetector": "attnwav2lip.faces.haar",
    "S3FDDetector": "attnwav2lip.faces.s3fd",
    "S3FDNet": "attnwav2lip.faces.s3fd",
    "load_s3fd": "attnwav2lip.faces.s3fd",
}

__all__ = [
    "FACE_SIZE", "SCENE_THRESHOLD", "BoxAdjust", "DetectionCache", "Detections", "Detector", "DetectorConfig", "FaceTrack",
    "FrameTransform", "SceneCutDetector", "TrackConfig", "VideoDetections", "clip_boxes",
    "content_digest", "create_detector", "crop_face", "crop_faces", "default_cache_dir",
    "detect_frames", "detect_video", "iou_matrix", "lip_polygon", "lower_face_mask", "lower_face_polygon",
    "match_colour", "pad_boxes", "paste_face", "scene_cuts", "smooth_boxes", "track_faces",
    *_BACKENDS,
]  # fmt: skip

__getattr__, __dir__ = lazy_exports(__name__, _BACKENDS, eager=__all__)  # backends import torch / mediapipe
