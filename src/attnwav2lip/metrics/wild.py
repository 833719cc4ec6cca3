"""The in-the-wild protocol: syncnet_python's ``run_pipeline.py`` face crop, then the usual scoring.

Steps (syncnet_python's ``run_pipeline.py``), with what differs from the original:

1. Frames at 25 fps (``scoring.resample_frames``), audio at 16 kHz. The original also re-encodes
   the video (``-qscale:v 2``) and dumps JPEGs before detecting; we detect on decoded frames.
2. Face detection with ``attnwav2lip.faces`` (``--detector``; the original's S3FD with the user's
   ``s3fd.pth``, or mediapipe / Haar whose boxes approximate the face oval, so crops differ).
   Scene cuts come from the faces package's histogram detector, not PySceneDetect.
3. Tracks: the faces tracker with the original's rules (IoU > 0.5, up to 25 missed frames,
   linear interpolation), keeping the speaker's track per scene (the original keeps every face
   track). A track must be longer than ``min_track`` frames (100: clips under 4 s give no score)
   and its mean box side must exceed ``min_face_size`` (100 px).
4. Crop, exactly as ``crop_video``: box half-size s = max(w, h) / 2 and centre (x, y), each
   median-filtered with kernel 13 (``scipy.signal.medfilt``, zero-padded ends, as the original);
   the frame padded with the constant 110; rows y - s .. y + s(1 + 2cs), columns
   x - s(1 + cs) .. x + s(1 + cs), cs = 0.4; resized to 224x224 (cv2, bilinear). The original
   writes crops to an XVID file before scoring; we score them directly (``jpeg_roundtrip`` still
   emulates the scorer's JPEG dump).
5. Each track is scored with the audio of its own span; one result row per track (as Wav2Lip's
   ``all_scores.txt``), named ``<video>#track<k>``. A track the audio does not cover is an error
   row of its own; the video's other tracks keep their scores.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..audio import load_audio
from ..errors import AttnWav2LipError, NoFaceError
from ..faces import TrackConfig, detect_frames
from ..video import iter_frames, probe
from .lse import INPUT_SIZE, SAMPLES_PER_FRAME, SyncEvaluator, lse_scores
from .scoring import Scorer, ScoringOptions, VideoResult, resample_frames

if TYPE_CHECKING:
    from ..faces import Detector, VideoDetections

PAD_VALUE = 110


@dataclass(frozen=True)
class WildConfig:
    """syncnet_python's ``run_pipeline.py`` defaults."""

    min_track: int = 100  # a track must be longer than this many frames
    min_face_size: float = 100.0  # and its mean box side larger than this (pixels)
    num_failed_det: int = 25  # missed detections a track survives
    iou_threshold: float = 0.5
    crop_scale: float = 0.4
    median_kernel: int = 13


@dataclass(frozen=True)
class FaceTrackSpan:
    """Frames ``start .. stop - 1`` of one face track and its box per frame (x1, y1, x2, y2)."""

    start: int
    stop: int
    boxes: np.ndarray


def track_spans(found: "VideoDetections", config: WildConfig = WildConfig()) -> list[FaceTrackSpan]:
    """The face tracks that qualify for scoring: unbroken runs of the speaker's box within a scene."""
    track = found.track(
        TrackConfig(iou_threshold=config.iou_threshold, max_gap=config.num_failed_det, smooth=1, pads=(0, 0, 0, 0))
    )
    scenes = np.cumsum(np.asarray(found.cuts, bool))
    spans, start = [], None
    for f in range(len(track) + 1):
        breaks = f == len(track) or not track.present[f] or (start is not None and scenes[f] != scenes[start])
        if start is not None and breaks:
            boxes = track.boxes[start:f]
            side = max(np.mean(boxes[:, 2] - boxes[:, 0]), np.mean(boxes[:, 3] - boxes[:, 1]))
            if f - start > config.min_track and side > config.min_face_size:
                spans.append(FaceTrackSpan(start, f, boxes))
            start = None
        if f < len(track) and track.present[f] and start is None:
            start = f
    return spans


def crop_parameters(boxes: np.ndarray, kernel: int = 13) -> np.ndarray:
    """(N, 3) half-size s, centre x, centre y per frame, median-filtered as the original does."""
    from scipy import signal

    boxes = np.asarray(boxes, dtype=np.float64)
    s = np.maximum(boxes[:, 3] - boxes[:, 1], boxes[:, 2] - boxes[:, 0]) / 2
    x = (boxes[:, 0] + boxes[:, 2]) / 2
    y = (boxes[:, 1] + boxes[:, 3]) / 2
    return np.stack([signal.medfilt(v, kernel_size=kernel) for v in (s, x, y)], axis=1)


def syncnet_crop(frame: np.ndarray, s: float, x: float, y: float, crop_scale: float = 0.4) -> np.ndarray:
    """The 224x224 crop ``crop_video`` takes around one smoothed box (a 2.8s square, shifted down)."""
    import cv2

    pad = int(s * (1 + 2 * crop_scale))
    padded = np.pad(frame, ((pad, pad), (pad, pad), (0, 0)), "constant", constant_values=PAD_VALUE)
    my, mx = y + pad, x + pad
    face = padded[int(my - s) : int(my + s * (1 + 2 * crop_scale)), int(mx - s * (1 + crop_scale)) : int(mx + s * (1 + crop_scale))]
    return cv2.resize(face, (INPUT_SIZE, INPUT_SIZE))


def syncnet_crops(frames: np.ndarray, boxes: np.ndarray, config: WildConfig = WildConfig()) -> np.ndarray:
    """(N, 224, 224, 3) crops of ``frames`` around their per-frame face ``boxes``, as ``crop_video`` takes them.

    For footage whose faces are known (SynthTalk renders them) without detection or tracking.
    """
    params = crop_parameters(boxes, config.median_kernel)
    return np.stack([syncnet_crop(frame, *p, crop_scale=config.crop_scale) for frame, p in zip(frames, params)])


def score_wild_file(
    video: str | os.PathLike[str],
    evaluator: SyncEvaluator,
    detector: "Detector",
    audio: str | os.PathLike[str] | None = None,
    options: ScoringOptions = ScoringOptions(),
    config: WildConfig = WildConfig(),
) -> list[VideoResult]:
    """A row for every qualifying face track of one video, ``<video>#track<k>`` in time order
    (two decoding passes); a track that cannot be scored is an error row (see ``score_tracks``).

    Raises NoFaceError when no track qualifies (no face, faces too small, or shots too short).
    """
    fps = probe(video).fps
    found = detect_frames(resample_frames(iter_frames(video), fps), detector)
    spans = track_spans(found, config)
    if not spans:
        raise NoFaceError(
            f"{video}: no face track longer than {config.min_track} frames with a mean box side over "
            f"{config.min_face_size:g} px (the in-the-wild protocol needs shots of 4 s or more)"
        )
    crops: list[list[np.ndarray]] = [[] for _ in spans]
    params = [crop_parameters(span.boxes, config.median_kernel) for span in spans]
    for f, frame in enumerate(resample_frames(iter_frames(video), fps)):
        for k, span in enumerate(spans):
            if span.start <= f < span.stop:
                crops[k].append(syncnet_crop(frame, *params[k][f - span.start], crop_scale=config.crop_scale))
    samples = load_audio(audio if audio is not None else video)
    return score_tracks(str(video), spans, [np.stack(frames) for frames in crops], samples, evaluator, options)


def score_tracks(
    video: str,
    spans: Sequence[FaceTrackSpan],
    crops: Sequence[np.ndarray],
    samples: np.ndarray,
    evaluator: SyncEvaluator,
    options: ScoringOptions = ScoringOptions(),
) -> list[VideoResult]:
    """One row per track, scored with the audio of its span.

    Tracks fail one by one (audio shorter than the video leaves the last ones without sound), so
    a failing track becomes its own error row instead of costing the video's other tracks.
    """
    rows = []
    for k, (span, frames) in enumerate(zip(spans, crops)):
        name = f"{video}#track{k}"
        try:
            scores = lse_scores(
                frames,
                samples[span.start * SAMPLES_PER_FRAME : span.stop * SAMPLES_PER_FRAME],
                evaluator,
                options.vshift,
                options.batch_size,
                options.jpeg_roundtrip,
            )
        except AttnWav2LipError as exc:
            rows.append(VideoResult(name, error=str(exc)))
            continue
        rows.append(VideoResult.scored(name, scores))
    return rows


def wild_scorer(
    evaluator: SyncEvaluator, detector: "Detector", options: ScoringOptions = ScoringOptions(), config: WildConfig = WildConfig()
) -> Scorer:
    """The in-the-wild protocol as a ``Scorer``: one row per face track, ``<video>#track<k>``."""
    return lambda video, audio: score_wild_file(video, evaluator, detector, audio, options, config)
