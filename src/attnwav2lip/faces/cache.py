"""Detection cache: a second run on the same video with the same settings skips detection.

Key = SHA-256 of (the video file's content digest, the detector's ``settings()``, the scene-cut
threshold and any caller settings such as frame transforms). The content digest is BLAKE2b over
the file's full bytes, so a renamed or copied file still hits and an edited one never does; it
reads the file once (hundreds of MB/s, small next to detection). Entries are ``<key>.npz`` in
``$ATTNWAV2LIP_CACHE/faces`` or ``~/.cache/attnwav2lip/faces``.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from ..errors import MediaError
from ..fileio import atomic_path
from .detection import Detector
from .scan import VideoDetections, detect_frames
from .scenes import SCENE_THRESHOLD

FORMAT = 1  # bump when the stored layout or the meaning of a setting changes


def default_cache_dir() -> Path:
    """``$ATTNWAV2LIP_CACHE/faces``, else ``~/.cache/attnwav2lip/faces``."""
    root = os.environ.get("ATTNWAV2LIP_CACHE") or Path.home() / ".cache" / "attnwav2lip"
    return Path(root) / "faces"


def content_digest(path: str | os.PathLike[str]) -> str:
    """BLAKE2b-256 of a file's bytes: identifies a video, or detector weights, in cache keys."""
    digest = hashlib.blake2b(digest_size=32)
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
    except OSError as exc:
        raise MediaError(f"cannot read {path}: {exc.strerror or exc}") from None
    return digest.hexdigest()


class DetectionCache:
    """A folder of ``VideoDetections`` stored as .npz, keyed by content and settings."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_cache_dir()

    def key(self, video: str | os.PathLike[str], settings: Mapping[str, Any]) -> str:
        payload = json.dumps({"format": FORMAT, "content": content_digest(video), "settings": settings}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.npz"

    def load(self, key: str) -> VideoDetections | None:
        """The stored entry, or None when absent or unreadable (a damaged entry is a miss)."""
        try:
            with np.load(self.path(key), allow_pickle=False) as data:
                return VideoDetections.from_arrays({name: data[name] for name in data.files})
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            return None

    def save(self, key: str, detections: VideoDetections) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(key)
        with atomic_path(target) as tmp:
            np.savez(tmp, **detections.to_arrays())
        return target


def detect_video(
    video: str | os.PathLike[str],
    frames: Callable[[], Iterable[np.ndarray]],
    detector: Detector,
    *,
    cache: DetectionCache | None = None,
    settings: Mapping[str, Any] | None = None,
    batch_size: int = 16,
    scene_threshold: float | None = SCENE_THRESHOLD,
    every: int = 1,
) -> VideoDetections:
    """Detections for ``video``, from the cache when possible.

    ``frames()`` is called only on a miss and must yield the (already transformed) frames;
    ``settings`` must describe anything that changes those frames (e.g. a FrameTransform).
    Pass ``cache=None`` for the default folder; ``every``: see ``detect_frames``.
    """
    cache = cache if cache is not None else DetectionCache()
    sparse = {"every": every} if every > 1 else {}  # every frame adds nothing: older keys stay valid
    key = cache.key(video, {"detector": detector.settings(), "scene_threshold": scene_threshold, **sparse,
                            **(settings or {})})
    found = cache.load(key)
    if found is None:
        found = detect_frames(frames(), detector, batch_size=batch_size, scene_threshold=scene_threshold, every=every)
        cache.save(key, found)
    return found
