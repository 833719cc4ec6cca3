"""The generator's identity reference for each frame, by ``--reference`` (docs/sync.md)."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..faces import FACE_SIZE, FaceTrack, crop_face
from .options import SyncOptions
from .sources import FaceSource

REFERENCE_GAP = 25  # "window" references come from a frame this many source frames away (~1 s)


class ReferenceCrops:
    """The generator's identity reference per frame, by ``--reference`` (docs/sync.md).

    "frame": the target crop itself (the original's inference). "window": the crop of a frame
    ``REFERENCE_GAP`` source frames away, as training draws another window; anchors (one crop every
    ``REFERENCE_GAP`` frames) are kept as they stream by, and a short pre-roll supplies those ahead
    of the first second. "neutral" (and silent windows with --close-on-silence): one fixed crop.
    """

    def __init__(self, source: FaceSource, track: FaceTrack, options: SyncOptions) -> None:
        self.mode = options.reference
        self.track = track
        self.anchors: dict[int, np.ndarray] = {}
        self.neutral: np.ndarray | None = None
        present = np.flatnonzero(track.present)
        if (self.mode == "neutral" or options.close_on_silence) and len(present):
            wanted = options.neutral_frame if options.neutral_frame is not None else int(present[0])
            if not 0 <= wanted < len(track):  # the track covers the source frames this output can reach
                raise ConfigError(f"--neutral-frame {wanted} is out of range for {source.path}: "
                                  f"valid frames are 0..{len(track) - 1}")
            if not track.present[wanted]:
                raise ConfigError(f"--neutral-frame {wanted}: no face in that frame of {source.path}")
            self.neutral = self._preroll(source, {wanted})[wanted]
        if self.mode == "window":
            self.anchors = self._preroll(source, set(range(0, 3 * REFERENCE_GAP, REFERENCE_GAP)))

    def _preroll(self, source: FaceSource, wanted: set[int]) -> dict[int, np.ndarray]:
        """Crops of the ``wanted`` source frames that have a face, decoded from the start."""
        crops = {}
        for s, frame in zip(range(min(max(wanted) + 1, len(self.track))), source.frames()):
            if s in wanted and self.track.present[s]:
                crops[s] = crop_face(frame, self.track.boxes[s], FACE_SIZE)
        return crops

    def see(self, sources: np.ndarray, frames: list[np.ndarray]) -> None:
        """Record anchor crops from frames as they stream past."""
        if self.mode != "window":
            return
        for s, frame in zip(sources, frames):
            s = int(s)
            if s % REFERENCE_GAP == 0 and s not in self.anchors and self.track.present[s]:
                self.anchors[s] = crop_face(frame, self.track.boxes[s], FACE_SIZE)

    def get(self, s: int, target: np.ndarray, silent: bool) -> np.ndarray:
        if (silent or self.mode == "neutral") and self.neutral is not None:
            return self.neutral
        if self.mode == "window" and self.anchors:
            keys = np.fromiter(self.anchors, np.int64)
            before = keys[keys <= s - REFERENCE_GAP]
            after = keys[keys >= s + REFERENCE_GAP]
            if len(before):
                return self.anchors[int(before.max())]
            if len(after):
                return self.anchors[int(after.min())]
            return self.anchors[int(keys[np.argmax(np.abs(keys - s))])]
        return target
