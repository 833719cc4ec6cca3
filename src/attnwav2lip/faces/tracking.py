"""From per-frame detections to one speaker box per frame: link, select, fill, pad, smooth.

Runs on the (small) list of per-frame ``Detections`` after a detection pass, so a pipeline can
detect in pass 1 and generate in pass 2 without holding frames. Tracks never cross a scene cut.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..errors import ConfigError
from .boxes import areas, clip_boxes, iou_matrix, pad_boxes
from .detection import Detections


@dataclass(frozen=True)
class TrackConfig:
    """How the speaker's box is chosen and shaped. Boxes are x1, y1, x2, y2 in frame pixels."""

    iou_threshold: float = 0.3  # a detection continues a track when IoU with its last box exceeds this
    max_gap: int = 12  # frames a track may miss and still be linked; such gaps are interpolated
    speaker: int = 0  # rank per scene of the chosen track (0 = largest and longest)
    box: tuple[float, float, float, float] | None = None  # fixed box: no detection-based choice, no pads
    smooth: int = 5  # forward window of the original's smoothing; 1 (or 0) turns it off
    pads: tuple[int, int, int, int] = (0, 10, 0, 0)  # top, bottom, left, right, as the original --pads

    def __post_init__(self) -> None:
        # YAML gives lists; keep the frozen config hashable.
        object.__setattr__(self, "pads", tuple(self.pads))
        if self.box is not None:
            object.__setattr__(self, "box", tuple(float(v) for v in self.box))
        if self.max_gap < 0 or self.speaker < 0 or self.smooth < 0:
            raise ConfigError("max_gap, speaker and smooth must be >= 0")
        if len(self.pads) != 4 or (self.box is not None and len(self.box) != 4):
            raise ConfigError("pads and box need 4 values")


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields explicitly
class FaceTrack:
    """The speaker's box per frame. ``boxes`` (N, 4) float32 is NaN where ``present`` is False.

    ``detected`` marks frames whose box came from a detection (the rest were interpolated);
    ``landmarks`` (N, P, 2) follow the same rule when the detector gave landmarks.
    """

    boxes: np.ndarray
    present: np.ndarray
    detected: np.ndarray
    landmarks: np.ndarray | None = field(default=None)

    def __len__(self) -> int:
        return len(self.boxes)

    def box(self, index: int) -> np.ndarray | None:
        """Frame ``index``'s box, or None where no face is known."""
        return self.boxes[index] if self.present[index] else None


@dataclass
class _Track:
    scene: int
    frames: list[int]
    indices: list[int]
    last_box: np.ndarray

    def score(self, detections: Sequence[Detections]) -> float:
        return float(sum(areas(detections[f].boxes[i : i + 1])[0] for f, i in zip(self.frames, self.indices)))


def track_faces(
    detections: Sequence[Detections],
    frame_size: tuple[int, int],
    config: TrackConfig = TrackConfig(),
    cuts: np.ndarray | None = None,
) -> FaceTrack:
    """Choose the speaker's box in every frame.

    ``frame_size`` is (height, width); ``cuts[i]`` True means a scene starts at frame i.
    """
    n = len(detections)
    height, width = frame_size
    if config.box is not None:
        fixed = np.tile(clip_boxes(np.asarray(config.box, np.float32), height, width), (n, 1))
        return FaceTrack(fixed, np.ones(n, bool), np.zeros(n, bool))
    scenes = np.cumsum(np.zeros(n, bool) if cuts is None else np.asarray(cuts, bool)[:n])
    tracks = _link(detections, scenes, config)
    boxes = np.full((n, 4), np.nan, np.float32)
    marks = _landmark_array(detections)
    for track in _select(tracks, detections, config):
        for f, i in zip(track.frames, track.indices):
            boxes[f] = detections[f].boxes[i]
            if marks is not None and detections[f].landmarks is not None:
                marks[f] = detections[f].landmarks[i]
    detected = ~np.isnan(boxes[:, 0])
    boxes = _interpolate(boxes, scenes, config.max_gap)
    present = ~np.isnan(boxes[:, 0])
    if marks is not None:
        marks = _interpolate(marks.reshape(n, -1), scenes, config.max_gap).reshape(marks.shape)
    boxes[present] = pad_boxes(boxes[present], config.pads, height, width)
    boxes = smooth_boxes(boxes, scenes, config.smooth)
    return FaceTrack(boxes, present, detected, marks)


def _landmark_array(detections: Sequence[Detections]) -> np.ndarray | None:
    shape = next((d.landmarks.shape[1:] for d in detections if d.landmarks is not None and len(d)), None)
    return None if shape is None else np.full((len(detections), *shape), np.nan, np.float32)


def _link(detections: Sequence[Detections], scenes: np.ndarray, config: TrackConfig) -> list[_Track]:
    """Greedy IoU linking, frame by frame; a track survives up to ``max_gap`` missed frames."""
    tracks: list[_Track] = []
    active: list[_Track] = []
    for f, dets in enumerate(detections):
        active = [t for t in active if t.scene == scenes[f] and f - t.frames[-1] <= config.max_gap + 1]
        unmatched = set(range(len(dets)))
        if active and len(dets):
            iou = iou_matrix(np.stack([t.last_box for t in active]), dets.boxes)
            taken: set[int] = set()
            for flat in np.argsort(-iou, axis=None, kind="stable"):
                t, d = divmod(int(flat), iou.shape[1])
                if iou[t, d] <= config.iou_threshold:
                    break
                if t in taken or d not in unmatched:
                    continue
                taken.add(t)
                unmatched.discard(d)
                active[t].frames.append(f)
                active[t].indices.append(d)
                active[t].last_box = dets.boxes[d]
        born = [_Track(int(scenes[f]), [f], [d], dets.boxes[d]) for d in sorted(unmatched)]
        tracks += born
        active += born
    return tracks


def _select(tracks: list[_Track], detections: Sequence[Detections], config: TrackConfig) -> list[_Track]:
    """Per scene: the track of rank ``speaker`` by total box area, then the tracks that continue it.

    A continuation does not overlap the chosen frames in time and its nearest box matches the
    chosen box at the nearest chosen frame with IoU above ``iou_threshold`` (the face was lost
    longer than ``max_gap`` and found again in the same place; a neighbour that merely touches
    the speaker's box is not the speaker).
    """
    chosen: list[_Track] = []
    by_scene: dict[int, list[_Track]] = {}
    for track in tracks:
        by_scene.setdefault(track.scene, []).append(track)
    for scene_tracks in by_scene.values():
        ranked = sorted(scene_tracks, key=lambda t: -t.score(detections))
        if config.speaker >= len(ranked):
            continue
        first = ranked[config.speaker]
        chosen.append(first)
        taken = dict(zip(first.frames, _track_boxes(first, detections)))
        order = sorted(taken)  # chosen frames, for nearest-frame lookups
        for track in ranked[config.speaker + 1 :]:
            if _continues(track, taken, order, detections, config.iou_threshold):
                chosen.append(track)
                taken.update(zip(track.frames, _track_boxes(track, detections)))
                order = sorted(taken)
    return chosen


def _track_boxes(track: _Track, detections: Sequence[Detections]) -> list[np.ndarray]:
    return [detections[f].boxes[i] for f, i in zip(track.frames, track.indices)]


def _continues(
    track: _Track,
    taken: dict[int, np.ndarray],
    order: list[int],
    detections: Sequence[Detections],
    iou_threshold: float,
) -> bool:
    """Whether ``track`` is the chosen face found again: same place, by the linking threshold."""
    if any(f in taken for f in track.frames):
        return False
    for f, i in ((track.frames[0], track.indices[0]), (track.frames[-1], track.indices[-1])):
        k = bisect.bisect_left(order, f)
        near = min(order[max(k - 1, 0) : k + 1], key=lambda g: abs(g - f))
        if iou_matrix(detections[f].boxes[i], taken[near])[0, 0] > iou_threshold:
            return True
    return False


def _interpolate(values: np.ndarray, scenes: np.ndarray, max_gap: int) -> np.ndarray:
    """Linearly fill NaN rows between two known rows of the same scene when at most ``max_gap`` long."""
    out = values.copy()
    known = np.flatnonzero(~np.isnan(values).any(axis=1))
    for a, b in zip(known[:-1], known[1:]):
        if 1 < b - a <= max_gap + 1 and scenes[a] == scenes[b]:
            t = (np.arange(a + 1, b) - a)[:, None] / (b - a)
            out[a + 1 : b] = values[a] * (1 - t) + values[b] * t
    return out


def smooth_boxes(boxes: np.ndarray, scenes: np.ndarray | None = None, window: int = 5) -> np.ndarray:
    """The original's forward mean: box i becomes the mean of boxes i..i+window-1.

    Near the end of a run of present frames (a run stops at a missing frame or a scene cut) the
    window is the run's last ``window`` boxes. Unlike the original, means are float (not
    truncated to int) and taken over unsmoothed boxes only.
    """
    out = boxes.copy()
    if window <= 1:
        return out
    present = ~np.isnan(boxes[:, 0])
    scenes = np.zeros(len(boxes), int) if scenes is None else np.asarray(scenes)
    start = 0
    for end in range(1, len(boxes) + 1):
        if end == len(boxes) or not present[end] or not present[end - 1] or scenes[end] != scenes[end - 1]:
            if present[start]:
                run = boxes[start:end].astype(np.float64)
                sums = np.concatenate([np.zeros((1, 4)), np.cumsum(run, axis=0)])
                for i in range(len(run)):
                    lo = min(i, max(len(run) - window, 0))
                    hi = min(lo + window, len(run))
                    out[start + i] = (sums[hi] - sums[lo]) / (hi - lo)
            start = end
    return out
