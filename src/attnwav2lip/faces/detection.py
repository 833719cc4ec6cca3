"""The detector interface: batched uint8 RGB frames in, per-frame ``Detections`` out.

Subclasses only implement ``_detect`` on frames already downscaled to ``max_side``; this base
class does the downscaling, maps boxes back to input pixels and applies the detector's
``BoxAdjust`` so that every backend returns boxes in the same convention.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..errors import ConfigError
from .boxes import BoxAdjust, as_boxes


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields explicitly
class Detections:
    """The faces found in one frame, most confident first.

    boxes: (K, 4) float32 x1, y1, x2, y2 in input pixels; scores: (K,) float32;
    landmarks: (K, P, 2) float32 x, y in input pixels, or None when the backend gives none.
    """

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "boxes", as_boxes(self.boxes))
        object.__setattr__(self, "scores", np.asarray(self.scores, dtype=np.float32).reshape(-1))
        if self.landmarks is not None:
            object.__setattr__(self, "landmarks", np.asarray(self.landmarks, dtype=np.float32))
        if len(self.scores) != len(self.boxes):
            raise ValueError(f"{len(self.boxes)} boxes but {len(self.scores)} scores")

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32))

    def __len__(self) -> int:
        return len(self.boxes)

    def scaled(self, factor: float) -> Detections:
        """Coordinates multiplied by ``factor`` (scores unchanged)."""
        f = np.float32(factor)
        marks = None if self.landmarks is None else self.landmarks * f
        return Detections(self.boxes * f, self.scores, marks)

    def adjusted(self, adjust: BoxAdjust) -> Detections:
        return Detections(adjust.apply(self.boxes), self.scores, self.landmarks)


def check_frames(frames: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    """Validate a batch of uint8 (H, W, 3) RGB frames and return it as a list."""
    batch = list(frames) if not isinstance(frames, np.ndarray) or frames.ndim == 4 else [frames]
    for frame in batch:
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            got = getattr(frame, "dtype", type(frame).__name__), getattr(frame, "shape", None)
            raise ValueError(f"expected uint8 (H, W, 3) RGB frames, got {got}")
    return batch


def downscale(frame: np.ndarray, max_side: int | None) -> tuple[np.ndarray, float]:
    """Shrink ``frame`` so its longer side is at most ``max_side``; return it and the scale used."""
    height, width = frame.shape[:2]
    if max_side is None or max(height, width) <= max_side:
        return frame, 1.0
    import cv2

    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    # Map back with the exact per-axis ratio actually applied (rounding), averaged.
    return small, (size[0] / width + size[1] / height) / 2


class Detector(abc.ABC):
    """A face detector. Call ``detect(frames)``; use as a context manager to free native resources."""

    #: registry name, used in cache keys and messages
    name: str = ""
    #: maps this backend's native box onto the package convention
    box_adjust: BoxAdjust = BoxAdjust()

    def __init__(self, *, max_side: int | None = 640) -> None:
        if max_side is not None and max_side < 32:
            raise ConfigError(f"max_side must be >= 32 or None, got {max_side}")
        self.max_side = max_side

    def detect(self, frames: np.ndarray | Sequence[np.ndarray]) -> list[Detections]:
        """Detect faces in each frame (uint8 RGB, (N, H, W, 3) or a list of (H, W, 3))."""
        batch = check_frames(frames)
        if not batch:
            return []
        scaled = [downscale(f, self.max_side) for f in batch]
        found = self._detect([small for small, _ in scaled])
        return [d.scaled(1.0 / scale).adjusted(self.box_adjust) for d, (_, scale) in zip(found, scaled)]

    @abc.abstractmethod
    def _detect(self, frames: list[np.ndarray]) -> list[Detections]:
        """Native detections (boxes in the given frames' pixels, before ``box_adjust``)."""

    def settings(self) -> dict[str, Any]:
        """Everything that changes the output; part of the detection cache key."""
        adj = self.box_adjust
        return {"detector": self.name, "max_side": self.max_side, "box_adjust": [adj.dx, adj.dy, adj.sw, adj.sh]}

    def close(self) -> None:
        """Release native resources (no-op unless a backend holds some)."""

    def __enter__(self) -> Detector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
