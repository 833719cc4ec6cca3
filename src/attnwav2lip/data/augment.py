"""Optional training augmentation: colour jitter and small shifts, off by default (the original has none).

All windows of one sample get the same parameters, so the target, its ground truth and the
frames of a window stay consistent with each other and across time.
"""

from __future__ import annotations

import dataclasses

import numpy as np

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random changes; ``enabled=False`` (the default) returns inputs untouched."""

    enabled: bool = False
    brightness: float = 0.1  # multiply by a factor in [1 - b, 1 + b]
    contrast: float = 0.1  # scale around the mean grey by [1 - c, 1 + c]
    saturation: float = 0.1  # blend with grey by [1 - s, 1 + s]
    max_shift: int = 3  # translate by up to this many pixels in x and y, edges replicated


def augment(windows: list[np.ndarray], rng: np.random.Generator, config: AugmentConfig) -> list[np.ndarray]:
    """Apply one random jitter and shift to every float32 (T, S, S, 3) window in [0, 1]."""
    if not config.enabled:
        return windows
    b, c, s = (1.0 + rng.uniform(-r, r) for r in (config.brightness, config.contrast, config.saturation))
    dy, dx = (int(v) for v in rng.integers(-config.max_shift, config.max_shift + 1, size=2))
    return [_shift(_jitter(w, b, c, s), dy, dx) for w in windows]


def _jitter(x: np.ndarray, brightness: float, contrast: float, saturation: float) -> np.ndarray:
    x = x * brightness
    mean = (x @ _LUMA).mean(axis=(1, 2))[:, None, None, None]  # per-frame mean grey
    x = mean + contrast * (x - mean)
    grey = (x @ _LUMA)[..., None]
    return np.clip(grey + saturation * (x - grey), 0.0, 1.0).astype(np.float32)


def _shift(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    if dy == 0 and dx == 0:
        return x
    size_y, size_x = x.shape[1:3]
    padded = np.pad(x, ((0, 0), (abs(dy),) * 2, (abs(dx),) * 2, (0, 0)), mode="edge")
    y0, x0 = abs(dy) - dy, abs(dx) - dx
    return np.ascontiguousarray(padded[:, y0 : y0 + size_y, x0 : x0 + size_x])
