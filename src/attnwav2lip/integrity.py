"""Does a media file hold what its header promises? Truncation and variable frame rate.

FFmpeg decodes a truncated file without complaint until the data ends, and it times frames by
their timestamps while our readers count them: both would silently give a wrong result (a short
clip, speech drifting off the lips), so the readers ask here.
"""

from __future__ import annotations

import logging
import os
import struct
from fractions import Fraction
from pathlib import Path

from .errors import MediaError

log = logging.getLogger(__name__)

# A header may promise slightly more than decodes (edit lists drop a priming frame, encoders pad):
# missing data counts as truncation beyond this share of the whole, and beyond FRAME_SLACK frames
# or AUDIO_SLACK seconds.
SHORTFALL_SHARE = 0.05
FRAME_SLACK = 2
AUDIO_SLACK = 0.1


def check_frame_count(path: str | os.PathLike[str], declared: int, decoded: int) -> None:
    """MediaError when a video stream ended well before the frame count its header declares."""
    if declared > 0 and declared - decoded > max(FRAME_SLACK, SHORTFALL_SHARE * declared):
        raise MediaError(f"{path}: truncated or corrupt: its header declares {declared} frames, "
                         f"only {decoded} decode")


def check_audio_length(path: str | os.PathLike[str], declared: float | None, decoded: float) -> None:
    """MediaError when an audio stream ended well before the duration its header declares (seconds)."""
    if declared is not None and declared - decoded > max(AUDIO_SLACK, SHORTFALL_SHARE * declared):
        raise MediaError(f"{path}: truncated or corrupt: its header declares {declared:.2f} s of audio, "
                         f"only {decoded:.2f} s decode")


def wav_declared_seconds(path: str | os.PathLike[str]) -> float | None:
    """Seconds the RIFF header's data chunk declares (FFmpeg trusts the file size instead); None
    for anything but a PCM-style WAVE file, or a header that does not say (streamed WAV: 0 or -1)."""
    try:
        with Path(path).open("rb") as file:
            head = file.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            byte_rate = None
            while True:
                chunk = file.read(8)
                if len(chunk) < 8:
                    return None
                name, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if name == b"fmt ":
                    fmt = file.read(size + size % 2)
                    byte_rate = struct.unpack("<I", fmt[8:12])[0] if len(fmt) >= 12 else None
                elif name == b"data":
                    streamed = size in (0, 0xFFFFFFFF)
                    return None if streamed or not byte_rate else size / byte_rate
                else:
                    file.seek(size + size % 2, os.SEEK_CUR)
    except OSError:
        return None


class FrameTiming:
    """Watches a video's timestamps as frames are read by index at the stream's average rate, and
    warns once (with the numbers) when a frame's time drifts more than a frame from its index's
    time: variable-frame-rate video (phones) would otherwise be re-timed without a word."""

    def __init__(self, path: str | os.PathLike[str], average_rate: Fraction | None, time_base: Fraction | None) -> None:
        self.path = path
        self.rate = average_rate
        self.time_base = time_base
        self._origin: int | None = None
        self._warned = False

    def see(self, index: int, pts: int | None) -> None:
        if self._warned or pts is None or not self.rate or not self.time_base:
            return
        if self._origin is None:
            self._origin = pts
        actual = float((pts - self._origin) * self.time_base)
        counted = index / float(self.rate)
        if abs(actual - counted) > 1.0 / float(self.rate):
            self._warned = True
            log.warning("warning: %s has a variable frame rate: frame %d plays at %.3f s, but frames are taken at "
                        "the average %.3f fps, which shows it at %.3f s; the result's timing will differ from the "
                        "source (convert it to a constant frame rate first to avoid this)",
                        self.path, index, actual, float(self.rate), counted)
