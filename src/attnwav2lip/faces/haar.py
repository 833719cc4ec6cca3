"""OpenCV's frontal-face Haar cascade: the fallback when mediapipe is missing (no landmarks).

The cascade file ships in opencv-python-headless 4.x (``cv2.data.haarcascades``); OpenCV 5 drops it.
Haar gives no calibrated confidence, so every box scores 1.0 and boxes are ordered largest first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DependencyError
from .boxes import BoxAdjust
from .detection import Detections, Detector

_CASCADE = "haarcascade_frontalface_default.xml"


class HaarDetector(Detector):
    """Viola-Jones frontal faces; coarse boxes, mapped to the face-oval convention."""

    name = "haar"
    # Fit on skimage's astronaut and matplotlib's grace_hopper, like mediapipe's.
    box_adjust = BoxAdjust(dx=0.0, dy=0.09, sw=0.9, sh=1.0)

    def __init__(
        self,
        *,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: int = 24,
        max_side: int | None = 640,
    ) -> None:
        super().__init__(max_side=max_side)
        import cv2

        data = getattr(cv2, "data", None)
        path = f"{data.haarcascades}{_CASCADE}" if data is not None else _CASCADE
        self._cascade = cv2.CascadeClassifier(path) if hasattr(cv2, "CascadeClassifier") else None
        if self._cascade is None or self._cascade.empty():
            raise DependencyError(f"OpenCV's Haar cascade {_CASCADE} is unavailable; install opencv-python-headless<5")
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = min_size

    def _detect(self, frames: list[np.ndarray]) -> list[Detections]:
        import cv2

        out = []
        for frame in frames:
            gray = cv2.equalizeHist(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
            found = self._cascade.detectMultiScale(
                gray, self.scale_factor, self.min_neighbors, minSize=(self.min_size, self.min_size)
            )
            boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in found], np.float32).reshape(-1, 4)
            boxes = boxes[np.argsort(-(boxes[:, 2] - boxes[:, 0]), kind="stable")]
            out.append(Detections(boxes, np.ones(len(boxes), np.float32)))
        return out

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            "scale_factor": self.scale_factor,
            "min_neighbors": self.min_neighbors,
            "min_size": self.min_size,
        }
