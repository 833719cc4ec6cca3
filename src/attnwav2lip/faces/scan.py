"""Pass 1 of a video: detect faces and scene cuts over a frame stream, holding one batch at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from ..errors import ConfigError
from .boxes import iou_matrix
from .detection import Detections, Detector
from .scenes import SCENE_THRESHOLD, SceneCutDetector
from .tracking import FaceTrack, TrackConfig, track_faces

# detect_frames(every=k): faces at two keyframes k frames apart that overlap less than this moved
# too fast (or are not the same faces) to be interpolated; the frames between are then detected
KEYFRAME_IOU = 0.6


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields explicitly
class VideoDetections:
    """Per-frame detections of a whole video, scene cuts and the frame size (height, width)."""

    detections: tuple[Detections, ...]
    cuts: np.ndarray
    frame_size: tuple[int, int]

    def __len__(self) -> int:
        return len(self.detections)

    def track(self, config: TrackConfig = TrackConfig()) -> FaceTrack:
        """The speaker's box per frame (see ``track_faces``)."""
        return track_faces(self.detections, self.frame_size, config, self.cuts)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat arrays for an .npz file (ragged detections as counts + concatenation)."""
        arrays = {
            "counts": np.array([len(d) for d in self.detections], np.int32),
            "boxes": np.concatenate([d.boxes for d in self.detections] or [np.zeros((0, 4), np.float32)]),
            "scores": np.concatenate([d.scores for d in self.detections] or [np.zeros(0, np.float32)]),
            "cuts": np.asarray(self.cuts, bool),
            "frame_size": np.array(self.frame_size, np.int64),
        }
        marks = [d.landmarks for d in self.detections if len(d)]
        if marks and all(m is not None for m in marks):
            arrays["landmarks"] = np.concatenate(marks)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> VideoDetections:
        ends = np.cumsum(arrays["counts"])
        starts = ends - arrays["counts"]
        marks = arrays.get("landmarks")
        detections = tuple(
            Detections(arrays["boxes"][a:b], arrays["scores"][a:b], None if marks is None else marks[a:b])
            for a, b in zip(starts, ends)
        )
        height, width = (int(v) for v in arrays["frame_size"])
        return cls(detections, np.asarray(arrays["cuts"], bool), (height, width))


def detect_frames(
    frames: Iterable[np.ndarray],
    detector: Detector,
    *,
    batch_size: int = 16,
    scene_threshold: float | None = SCENE_THRESHOLD,
    progress: Callable[[int], None] | None = None,
    every: int = 1,
) -> VideoDetections:
    """Run ``detector`` over a stream of uint8 RGB frames of one size, ``batch_size`` at a time.

    ``scene_threshold`` None disables scene-cut detection; ``progress(n)`` is called with the
    number of frames done after each batch. ``every`` k > 1 detects only every k-th frame (the
    keyframes) and moves the faces linearly between two keyframes, unless a scene cut lies between
    them, the number of faces changes, or a face moved so fast that its two boxes overlap less than
    ``KEYFRAME_IOU``: then every frame between them is detected.
    """
    if every < 1:
        raise ConfigError(f"every must be >= 1, got {every}")
    cutter = SceneCutDetector(scene_threshold) if scene_threshold is not None else None
    detections: list[Detections] = []
    cuts: list[bool] = []
    batch: list[np.ndarray] = []  # every=1: frames not yet detected; else the frames up to the next keyframe
    size: tuple[int, int] = (0, 0)

    def flush() -> None:
        if every == 1:
            found = detector.detect(batch)
        else:
            key = detector.detect(batch[-1:])
            moved = None if not detections or any(cuts[-len(batch):]) else _between(detections[-1], key[0], len(batch))
            found = (detector.detect(batch[:-1]) if moved is None else moved) + key
        detections.extend(found)
        batch.clear()
        if progress is not None:
            progress(len(detections))

    for frame in frames:
        size = (int(frame.shape[0]), int(frame.shape[1]))
        cuts.append(cutter.update(frame) if cutter is not None else False)
        batch.append(frame)
        if len(batch) == (batch_size if every == 1 else every if detections else 1):
            flush()
    if batch:
        flush()
    return VideoDetections(tuple(detections), np.array(cuts, bool), size)


def _between(first: Detections, last: Detections, steps: int) -> list[Detections] | None:
    """The faces of the ``steps - 1`` frames between two keyframes, moved linearly from ``first`` to
    ``last``; None where they cannot be (another number of faces, or a face that moved too far)."""
    if len(first) != len(last):
        return None
    if not len(first):
        return [Detections.empty() for _ in range(steps - 1)]
    overlap = iou_matrix(first.boxes, last.boxes)
    match = overlap.argmax(axis=1)
    if len(set(match.tolist())) < len(first) or overlap[np.arange(len(first)), match].min() < KEYFRAME_IOU:
        return None
    marks = first.landmarks is not None and last.landmarks is not None
    scores = np.minimum(first.scores, last.scores[match])
    moved = []
    for step in range(1, steps):
        t = step / steps
        landmarks = (1 - t) * first.landmarks + t * last.landmarks[match] if marks else None  # type: ignore[index, operator]
        moved.append(Detections((1 - t) * first.boxes + t * last.boxes[match], scores, landmarks))
    return moved
