"""Score video files: bring them to the scorer's 25 fps / 16 kHz, then run ``lse_scores``.

The original re-encodes with ffmpeg (``-r 25``, ``-ar 16000``) through a shell; here everything is
in-process (PyAV):

* **Frames at 25 fps by timestamps**, as ffmpeg's ``-r 25`` (fps filter, ``round=near``) does:
  source frame i (time i/fps, from the header's constant average rate) goes to output slot
  ``round(i * 25 / fps)`` and each slot shows the last frame at or before it. A 25 fps file is
  untouched.
* **Audio at 16 kHz mono** through ``attnwav2lip.audio.load_audio`` (FFmpeg's resampler), then
  converted to int16 as ffmpeg's ``pcm_s16le`` would.
* **LRS protocol**: whole frames resized to 224x224 (no face detection), optionally after the
  JPEG round trip of the published numbers.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from ..audio import load_audio
from ..errors import AttnWav2LipError, MediaError
from ..video import VIDEO_SUFFIXES, iter_frames, probe
from .jpeg import iter_jpeg_roundtrip
from .lse import FPS, SyncEvaluator, SyncScores, resize_frame, lse_scores


@dataclass(frozen=True)
class ScoringOptions:
    """How videos are scored.

    ``vshift`` and ``batch_size`` are every published protocol's. ``jpeg_roundtrip`` is off: the
    published numbers include the original's JPEG dump, so turn it on to compare with them; off,
    the decoded frames are scored as they are (docs/evaluation.md).
    """

    vshift: int = 15
    batch_size: int = 20
    jpeg_roundtrip: bool = False


@dataclass(frozen=True)
class VideoResult:
    """One row of a per-video results table; a video that could not be scored keeps its error."""

    video: str
    lse_d: float = math.nan
    lse_c: float = math.nan
    offset: int = 0
    num_windows: int = 0
    error: str = ""

    @classmethod
    def scored(cls, name: str, scores: SyncScores) -> "VideoResult":
        """The row of a unit (a video or a face track) that was scored."""
        return cls(name, scores.lse_d, scores.lse_c, scores.offset, scores.num_windows)

    @property
    def ok(self) -> bool:
        return not self.error


def resample_frames(frames: Iterable[np.ndarray], fps: float, target_fps: int = FPS) -> Iterator[np.ndarray]:
    """Re-time a constant-rate frame stream to ``target_fps`` as ffmpeg's fps filter does.

    Source frame i lands on output slot ``floor(i * target_fps / fps + 0.5)``; each output slot
    shows the last source frame at or before it (frames are repeated or dropped), and the output
    lasts as long as the input.
    """
    if fps <= 0 or not math.isfinite(fps):
        raise MediaError(f"unknown frame rate {fps!r}: cannot bring the video to {target_fps} fps")
    if abs(fps - target_fps) < 1e-3:
        yield from frames
        return

    def slot(index: int) -> int:
        return math.floor(index * target_fps / fps + 0.5)

    current, emitted, count = None, 0, 0
    for index, frame in enumerate(frames):
        if current is not None:
            while emitted < slot(index):
                yield current
                emitted += 1
        current, count = frame, index + 1
    if current is not None:
        while emitted < max(slot(count), 1):
            yield current
            emitted += 1


def read_scoring_frames(path: str | os.PathLike[str], jpeg_roundtrip: bool = False) -> np.ndarray:
    """The frames the LRS protocol scores: 25 fps, whole frames, 224x224 RGB uint8 (N, 224, 224, 3)."""
    frames: Iterable[np.ndarray] = resample_frames(iter_frames(path), probe(path).fps)
    if jpeg_roundtrip:
        frames = iter_jpeg_roundtrip(frames, FPS)
    stacked = [resize_frame(frame) for frame in frames]
    if not stacked:
        raise MediaError(f"{path}: contains no frames")
    return np.stack(stacked)


def score_file(
    video: str | os.PathLike[str],
    evaluator: SyncEvaluator,
    audio: str | os.PathLike[str] | None = None,
    options: ScoringOptions = ScoringOptions(),
) -> SyncScores:
    """Score one video file against its own audio track, or against ``audio`` (any file with sound).

    Scoring a generated video against the original WAV avoids the offset an AAC re-encode can add.
    """
    frames = read_scoring_frames(video, options.jpeg_roundtrip)
    samples = load_audio(audio if audio is not None else video)
    return lse_scores(frames, samples, evaluator, options.vshift, options.batch_size)


Scorer = Callable[[Path, "Path | None"], list[VideoResult]]
"""Scores one (video, audio-or-None) item: a row per scored unit (the video, or each face track);
a unit that fails on its own may be an error row, a failure of the whole item raises."""


def lrs_scorer(evaluator: SyncEvaluator, options: ScoringOptions = ScoringOptions()) -> Scorer:
    """The LRS protocol as a ``Scorer``: one result per video, named by its path."""
    return lambda video, audio: [VideoResult.scored(str(video), score_file(video, evaluator, audio, options))]


def score_files(
    items: Sequence[tuple[Path, Path | None]],
    scorer: Scorer,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> list[VideoResult]:
    """Score (video, audio-or-None) items; a video that cannot be scored becomes an error row."""
    results = []
    for video, audio in progress(items) if progress else items:
        try:
            results += scorer(video, audio)
        except AttnWav2LipError as exc:
            results.append(VideoResult(str(video), error=str(exc)))
    return results


def collect_videos(source: str | os.PathLike[str]) -> list[tuple[Path, Path | None]]:
    """Videos to score from a folder (every video file in it, sorted) or a list file.

    A list file holds one video per line, optionally followed by the file whose audio to score
    against; relative paths are relative to the list's folder.
    """
    source = Path(source)
    if source.is_dir():
        videos = sorted(p for p in source.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
        if not videos:
            raise MediaError(f"{source}: no video files ({', '.join(VIDEO_SUFFIXES)}) in the folder")
        return [(v, None) for v in videos]
    if not source.is_file():
        raise MediaError(f"{source}: no such folder or list file")
    items: list[tuple[Path, Path | None]] = []
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) > 2:
            raise MediaError(f"{source}:{number}: expected 'video [audio]', got {len(fields)} fields")
        paths = [p if p.is_absolute() else source.parent / p for p in map(Path, fields)]
        items.append((paths[0], paths[1] if len(paths) == 2 else None))
    if not items:
        raise MediaError(f"{source}: the list names no videos")
    return items
