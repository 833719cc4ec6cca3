"""Small media files the tests write: one 16-bit mono WAV writer for every test module."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    """``samples`` (floats, clipped to [-1, 1]) as a 16-bit mono WAV at ``rate``; returns ``path``."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.round(np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path
