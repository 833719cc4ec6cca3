"""``create_detector``: one entry point from a name (or a ``DetectorConfig``) to a detector."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal, get_args

from ..errors import ConfigError, DependencyError
from .detection import Detector
from .haar import HaarDetector
from .mediapipe_backend import MediaPipeDetector

log = logging.getLogger(__name__)

DetectorName = Literal["auto", "mediapipe", "haar", "s3fd"]
DETECTORS: tuple[str, ...] = get_args(DetectorName)


@dataclass(frozen=True)
class DetectorConfig:
    """Detector choice and options (YAML-friendly). Options a backend does not use are ignored."""

    name: DetectorName = "auto"
    max_side: int | None = 640
    model: str = "full"  # mediapipe: "full" range (any face size) or "short" (close-ups, faster)
    min_score: float = 0.5  # mediapipe / s3fd confidence threshold
    landmarks: bool = False  # mediapipe: add the 468-point mesh (lip and jaw contours)
    tiles: str = "auto"  # mediapipe: square tiles of wide frames: "auto" (when nothing found), "always", "never"
    weights: str | None = None  # s3fd: path of the original s3fd.pth
    device: str = "cpu"  # s3fd: torch device

    def create(self) -> Detector:
        options: dict[str, Any] = {"max_side": self.max_side}
        if self.name in ("auto", "mediapipe"):
            options |= {"model": self.model, "min_score": self.min_score, "landmarks": self.landmarks, "tiles": self.tiles}
        elif self.name == "s3fd":
            options |= {"weights": self.weights, "device": self.device, "min_score": self.min_score}
        return create_detector(self.name, **options)


def create_detector(name: str = "auto", **options: Any) -> Detector:
    """Build a detector by name: "auto" (mediapipe, else Haar with a warning), "mediapipe", "haar", "s3fd".

    ``options`` go to the backend's constructor (e.g. ``max_side``, ``model``, ``landmarks``,
    ``weights``, ``tiles``). With "auto", a fallback to Haar keeps only ``max_side``.
    """
    if name == "auto":
        try:
            return create_detector("mediapipe", **options)
        except DependencyError as exc:
            log.warning("falling back to OpenCV's Haar face detector (no landmarks): %s", exc)
            return create_detector("haar", **{k: v for k, v in options.items() if k == "max_side"})
    if name == "mediapipe":
        return MediaPipeDetector(**options)
    if name == "haar":
        return HaarDetector(**options)
    if name == "s3fd":
        if options.get("weights") is None:
            raise ConfigError("the s3fd detector needs weights=<path of the original s3fd.pth>")
        from .s3fd import S3FDDetector

        return S3FDDetector(**options)
    raise ConfigError(f"unknown face detector {name!r}; expected one of {', '.join(DETECTORS)}")
