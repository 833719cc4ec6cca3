"""Mouth parameters: the six numbers that describe one mouth shape.

Shared by the viseme table (which produces them from phonemes) and the face renderer (which
draws them); kept apart so neither depends on the other.
"""

from __future__ import annotations

import numpy as np

#: column order of a mouth track (T, 6) float32
MOUTH_PARAMS: tuple[str, ...] = ("open", "width", "round", "teeth", "press", "lip_teeth")
OPEN, WIDTH, ROUND, TEETH, PRESS, LIP_TEETH = range(len(MOUTH_PARAMS))
#: value ranges: `width` is -1 (narrow) .. 1 (spread); everything else 0 .. 1
LOW = np.array([0, -1, 0, 0, 0, 0], np.float32)
HIGH = np.ones(len(MOUTH_PARAMS), np.float32)
#: the closed, relaxed mouth of silence
REST = np.zeros(len(MOUTH_PARAMS), np.float32)


def check_track(track: np.ndarray) -> np.ndarray:
    """`track` as float32 (T, 6) clipped to the parameter ranges; raises ValueError on a wrong shape."""
    arr = np.asarray(track, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] != len(MOUTH_PARAMS):
        raise ValueError(f"mouth track must be (T, {len(MOUTH_PARAMS)}), got {arr.shape}")
    return np.clip(arr, LOW, HIGH)
