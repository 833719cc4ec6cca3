"""The ``--face`` input as working frames, and the disk cache that lets a long output loop a source
without holding it in memory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import ConfigError, MediaError
from ..faces import FrameTransform
from ..video import iter_frames, probe, read_image
from .options import SyncOptions


class FaceSource:
    """The ``--face`` input as working frames (after resize, rotate, crop), at full or detection size."""

    def __init__(self, path: str | os.PathLike[str], options: SyncOptions) -> None:
        info = probe(path)
        if not info.has_video:
            raise MediaError(f"{path}: no video stream (expected a video or an image)")
        self.path = Path(path)
        self.still = info.is_image or options.static
        self.fps = options.fps if info.is_image else info.fps
        if not self.fps > 0:
            raise MediaError(f"{path}: unknown frame rate; pass --fps")
        f = options.resize_factor
        self.transform = FrameTransform(f, options.rotate, tuple(options.crop))
        self._native = (info.width, info.height)
        self._decode_size = (max(1, info.width // f), max(1, info.height // f))
        self._after_decode = FrameTransform(1, options.rotate, tuple(options.crop))
        self._threads = options.codec_threads
        first = self._after_decode(read_image(path) if f == 1 else next(iter_frames(path, scale=self._decode_size)))
        if first.size == 0:
            raise ConfigError(f"--crop {options.crop} leaves nothing of {path}")
        self.height, self.width = first.shape[:2]
        self._still_frame = first if self.still else None
        self.num_frames = 1 if self.still else info.num_frames

    def frames(self, scale: float = 1.0) -> Iterator[np.ndarray]:
        """Working frames, or frames ``scale`` times their size (for detection)."""
        if self._still_frame is not None:
            yield self._scaled_still(scale)
            return
        width, height = self._decode_size
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        top, bottom, left, right = self._after_decode.crop
        crop = tuple(v if v == -1 else round(v * scale) for v in (top, bottom, left, right))
        after = FrameTransform(1, self._after_decode.rotate, crop)  # type: ignore[arg-type]
        for frame in iter_frames(self.path, scale=None if size == self._native else size, threads=self._threads):
            yield after(frame)

    def _scaled_still(self, scale: float) -> np.ndarray:
        if scale == 1.0:
            return self._still_frame  # type: ignore[return-value]
        import cv2

        size = (max(1, round(self.width * scale)), max(1, round(self.height * scale)))
        return cv2.resize(self._still_frame, size, interpolation=cv2.INTER_AREA)


class FrameCache:
    """Working frames on disk (raw, one fixed-size record each), read back with pread.

    Page cache is not the process's memory, so looping a long source costs disk, not RAM. The file
    lives in ``folder`` (the output's), where there is room for the output anyway; it is unlinked
    from the start, so nothing is left behind whatever happens.
    """

    def __init__(self, shape: tuple[int, int, int], folder: Path) -> None:
        self.shape = shape
        self._bytes = int(np.prod(shape))
        self._file = tempfile.TemporaryFile(prefix=".attnwav2lip-frames-", dir=folder)
        self._unflushed = False
        self.count = 0

    def append(self, frame: np.ndarray) -> None:
        self._file.write(np.ascontiguousarray(frame).tobytes())
        self._unflushed = True
        self.count += 1

    def read(self, index: int) -> np.ndarray:
        """Frame ``index``, writable like a freshly decoded one (a ``sync`` hook may edit it)."""
        if self._unflushed:
            self._file.flush()
            self._unflushed = False
        data = bytearray(os.pread(self._file.fileno(), self._bytes, index * self._bytes))
        return np.frombuffer(data, np.uint8).reshape(self.shape)

    def close(self) -> None:
        self._file.close()


def scheduled_frames(source: FaceSource, schedule: np.ndarray, cache_folder: Path) -> Iterator[np.ndarray]:
    """Working frames in schedule order: one decode sweep, later sweeps from a disk cache."""
    if source.still:
        frame = next(source.frames())
        for _ in schedule:
            yield frame
        return
    looping = len(schedule) > len(np.unique(schedule))
    cache = FrameCache((source.height, source.width, 3), cache_folder) if looping else None
    decoded = source.frames()
    try:
        last: np.ndarray | None = None
        for s in schedule:
            if cache is not None and s < cache.count:
                yield cache.read(int(s))
                continue
            frame = next(decoded, None)
            last = frame if frame is not None else last  # a stream shorter than its header: hold
            if last is None:
                raise MediaError(f"{source.path}: no frames could be decoded")
            if cache is not None:
                cache.append(last)
            yield last
    finally:
        decoded.close()  # the decoder's file, now rather than whenever the generator is collected
        if cache is not None:
            cache.close()
