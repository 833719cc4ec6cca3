"""The original inference's frame transforms (reference §8.1): resize_factor, rotate, crop.

They change the frames the detector and the generator see (and the output video's size), so the
pipeline applies them to every frame before detection; their settings belong in cache keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError


@dataclass(frozen=True)
class FrameTransform:
    """resize_factor f: (W//f, H//f); rotate: 90° clockwise; crop: (top, bottom, left, right), -1 = full.

    Applied in the original's order: resize, rotate, crop.
    """

    resize_factor: int = 1
    rotate: bool = False
    crop: tuple[int, int, int, int] = (0, -1, 0, -1)

    def __post_init__(self) -> None:
        # YAML and JSON give lists; keep the frozen transform hashable (cache keys, sets).
        object.__setattr__(self, "crop", tuple(self.crop))
        if self.resize_factor < 1:
            raise ConfigError(f"resize_factor must be >= 1, got {self.resize_factor}")
        if len(self.crop) != 4:
            raise ConfigError("crop needs 4 values: top, bottom, left, right")

    @property
    def identity(self) -> bool:
        return self.resize_factor == 1 and not self.rotate and self.crop == (0, -1, 0, -1)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        if self.identity:
            return frame
        if self.resize_factor > 1:
            import cv2

            height, width = frame.shape[:2]
            frame = cv2.resize(frame, (width // self.resize_factor, height // self.resize_factor))
        if self.rotate:
            frame = np.ascontiguousarray(np.rot90(frame, k=-1))
        top, bottom, left, right = self.crop
        bottom = frame.shape[0] if bottom == -1 else bottom
        right = frame.shape[1] if right == -1 else right
        return np.ascontiguousarray(frame[top:bottom, left:right])
