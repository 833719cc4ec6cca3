"""Preprocessing: source videos -> clip store (25 fps face crops, 16 kHz audio, cached mel).

Per video, two streaming passes (no video is ever held in memory):
1. decode, bring to ``fps`` (25) by timestamps, find scene cuts and detect faces;
   ``faces.track_faces`` then picks the speaker's box per frame (links by IoU, never across a
   cut, fills short gaps, pads and smooths as inference does);
2. decode again and crop every frame of each usable segment (a run of frames with a face inside
   one scene, longer than 3·T frames) to ``size`` x ``size``.
Each segment becomes one clip ``<video key>/<segment index, 2 digits>`` with the audio of the
same time span (16 kHz, FFmpeg's resampler).

Frame-rate conversion is timestamp-based, as ffmpeg's ``fps`` filter: source frame i (time
i / source fps, from the header's average rate) lands on output slot round(i · 25 / fps) and each
slot shows the last source frame at or before it (``metrics.scoring.resample_frames``), so a
25 fps video is untouched and audio and frames keep the same timeline.

Crash safety and resumption: clips are written under ``.tmp/<run name>`` and renamed into place;
a video's clip records go to ``manifest.jsonl`` and then its status line to ``videos.jsonl``.
A run skips videos already in ``videos.jsonl`` (retrying those whose last status is "failed")
and first deletes its own leftover temp folder. The first run records its settings in
``preprocess.yaml``; a later run with settings that change the clips is refused, so one store
never mixes clips made differently.
Shards (``shard=(i, n)``) take a stable hash share of the videos and use their own temp folder,
so shards may run at the same time on one output folder.

Optional sync correction (``OffsetCheckConfig.weights``: an evaluation SyncNet, e.g. the original
``syncnet_v2.model``): each segment's offset and confidence are measured as LSE does
(``metrics.lse_scores`` on the crops, offsets within ±``max_offset`` frames); a segment whose
confidence is below ``min_confidence`` is dropped, otherwise it is shifted by the measured offset
(``align``) so the stored frames and audio are in sync.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

from ..audio import SAMPLE_RATE, load_audio
from ..checkpoints import load_model
from ..config import from_dict, load_yaml, recipe_yaml, to_dict
from ..errors import AttnWav2LipError, ConfigError, MediaError
from ..faces.factory import DetectorConfig
from ..faces.geometry import crop_face
from ..faces.scan import detect_frames
from ..faces.scenes import SCENE_THRESHOLD
from ..faces.tracking import TrackConfig
from ..fileio import create_text_atomic
from ..metrics.lse import lse_scores
from ..metrics.scoring import resample_frames
from ..progress import progress_bar
from ..video import iter_frames, probe
from .sources import VideoItem, find_videos, in_shard
from .store import MANIFEST, VIDEOS, DatasetError, append_jsonl, clean_tmp, read_jsonl, write_clip

if TYPE_CHECKING:
    from ..metrics.lse import SyncEvaluator, SyncScores

log = logging.getLogger(__name__)

DETECT_BATCH = 16  # frames per detector call
SETTINGS = "preprocess.yaml"  # the PreprocessConfig a store's clips were made with
UNCOMPARED = frozenset({"detector.device"})  # where the detector runs, not what the clips are


@dataclasses.dataclass(frozen=True)
class OffsetCheckConfig:
    """Audio-video sync check. ``weights`` None = no check (LRS2 and LRS3 ship in sync)."""

    weights: str | None = None
    min_confidence: float = 3.0  # LSE-C below this: speech and lips do not match; drop the clip
    max_offset: int = 15  # frames searched each way (the LSE protocol's vshift)


@dataclasses.dataclass(frozen=True)
class PreprocessConfig:
    """Everything that shapes the stored clips (saved in each clip's meta.json)."""

    fps: float = 25.0
    size: int = 96
    detector: DetectorConfig = DetectorConfig()
    track: TrackConfig = TrackConfig()
    scene_threshold: float = SCENE_THRESHOLD  # HSV-histogram distance that counts as a cut, as at inference
    min_frames: int = 16  # shortest clip kept: more than 3·T frames, the samplers' eligibility rule
    sync: OffsetCheckConfig = OffsetCheckConfig()

    def __post_init__(self) -> None:
        if self.fps <= 0 or self.size < 8 or self.min_frames < 1:
            raise ConfigError(f"preprocess: need fps > 0, size >= 8, min_frames >= 1; got {self.fps}, {self.size}, {self.min_frames}")


@dataclasses.dataclass(frozen=True)
class VideoOutcome:
    """What happened to one video: ``status`` is "ok", "no_face", "unsynced" or "failed" (with ``reason``)."""

    key: str
    status: str
    clips: list[dict]
    reason: str = ""


def preprocess(
    videos: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: PreprocessConfig = PreprocessConfig(),
    *,
    workers: int = 1,
    shard: tuple[int, int] = (0, 1),
    progress: bool = True,
) -> dict[str, int]:
    """Preprocess every video of ``videos`` (folder or list; see ``sources``) into the store ``out``.

    Resumable and crash-safe (module docstring). Bad videos are reported on stderr, recorded as
    "failed" and retried by the next run. Returns counts of videos: ok, no_face, unsynced (every
    segment failed the sync check), failed, skipped (done before), and clips written. Raises
    DatasetError when ``out`` was made with other settings.
    """
    index, count = shard
    if not 0 <= index < count:
        raise ConfigError(f"shard {index}/{count}: expected 0 <= i < n")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    check_settings(out, config)
    run = f"shard-{index}-of-{count}"
    clean_tmp(out, run)
    done = _done(out)
    todo = [v for v in find_videos(videos) if in_shard(v.key, index, count)]
    pending = [item for item in todo if item.key not in done]
    counts = {"ok": 0, "no_face": 0, "unsynced": 0, "failed": 0, "skipped": len(todo) - len(pending), "clips": 0}
    bar = progress_bar(show=progress, total=len(pending), desc=f"preprocess {index}/{count}", unit="video")
    for result in _run_all(pending, out, config, run, workers):
        append_jsonl(out / MANIFEST, result.clips)
        append_jsonl(out / VIDEOS, [{"video": result.key, "status": result.status, "clips": len(result.clips), "reason": result.reason}])
        counts[result.status] += 1
        counts["clips"] += len(result.clips)
        if result.status == "failed":
            log.warning("skipped %s: %s", result.key, result.reason)
        bar.update()
    bar.close()
    return counts


def check_settings(out: Path, config: PreprocessConfig) -> None:
    """Record ``config`` in a new store, or refuse it when the store's clips were made otherwise.

    Resuming with another size, fps, detector... would silently mix differently made clips.
    """
    path = out / SETTINGS
    create_text_atomic(path, recipe_yaml(config))  # no-op when a run (or a shard) already did
    stored = _flat(to_dict(from_dict(PreprocessConfig, load_yaml(path), where=str(path))))
    current = _flat(to_dict(config))
    differ = [f"{k} {stored[k]!r} (store) vs {current[k]!r} (now)"
              for k in current if k not in UNCOMPARED and stored[k] != current[k]]
    if differ:
        raise DatasetError(f"{out} was preprocessed with other settings: {'; '.join(differ)}; "
                           "rerun with the store's settings or use another --out")


def _flat(data: dict, prefix: str = "") -> dict:
    """Nested settings as {"detector.name": ...}, so a difference is named by its full key."""
    out: dict = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def _done(out: Path) -> set[str]:
    """Videos an earlier run finished: the last record of a video counts, and "failed" ones are retried."""
    status = {r.get("video"): r.get("status") for r in read_jsonl(out / VIDEOS)}
    return {video for video, s in status.items() if s != "failed"}


def _run_all(items: list[VideoItem], out: Path, config: PreprocessConfig, run: str, workers: int) -> Iterator[VideoOutcome]:
    if workers <= 1:
        yield from (process_video(item, out, config, run) for item in items)
        return

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(process_video, item, out, config, run) for item in items]
        for future in futures:
            yield future.result()


def process_video(item: VideoItem, out: Path, config: PreprocessConfig, run: str = "default") -> VideoOutcome:
    """Detect, track, cut and store one video; user-caused problems become a "failed" result."""
    try:
        clips, unsynced = _process(item, out, config, run)
    except AttnWav2LipError as exc:
        return VideoOutcome(item.key, "failed", [], str(exc))
    if clips:
        return VideoOutcome(item.key, "ok", clips)
    if unsynced:
        return VideoOutcome(item.key, "unsynced", [], f"{unsynced} segment(s) below the sync confidence threshold")
    return VideoOutcome(item.key, "no_face", [])


def _process(item: VideoItem, out: Path, config: PreprocessConfig, run: str) -> tuple[list[dict], int]:
    """The clip records written for one video, and how many segments the sync check dropped."""
    info = probe(item.path)
    if not info.has_video or info.is_image:
        raise MediaError(f"{item.path}: no video stream")
    if not info.has_audio:
        raise MediaError(f"{item.path}: no audio stream (a training clip needs speech)")
    wav = load_audio(item.path)

    with config.detector.create() as detector:
        settings = detector.settings()
        found = detect_frames(_frames_at(item.path, info.fps, config.fps), detector, batch_size=DETECT_BATCH,
                              scene_threshold=config.scene_threshold)
    track = found.track(config.track)
    segments = _segments(track.present, found.cuts, config.min_frames)
    if not segments:
        return [], 0

    crops: list[list[np.ndarray]] = [[] for _ in segments]
    owner = np.full(len(track), -1)
    for s, (a, b) in enumerate(segments):
        owner[a:b] = s
    for k, frame in enumerate(_frames_at(item.path, info.fps, config.fps)):
        if k < len(owner) and owner[k] >= 0:
            crops[owner[k]].append(crop_face(frame, track.boxes[k], config.size))

    per_frame = SAMPLE_RATE / config.fps
    evaluator = _evaluator(config.sync)
    records, unsynced = [], 0
    for s, ((a, b), faces) in enumerate(zip(segments, crops)):
        clip_id = f"{item.key}/{s:02d}"
        boxes = track.boxes[a:b]
        audio = wav[round(a * per_frame) : round(b * per_frame)]
        frames = np.stack(faces)
        sync = {}
        if evaluator is not None:
            scores = _measure_offset(frames, audio, evaluator, config.sync)
            if scores is None or scores.lse_c < config.sync.min_confidence:
                unsynced += 1
                continue
            frames, audio = align(frames, audio, scores.offset, round(per_frame))
            boxes = boxes[max(scores.offset, 0) :]
            a += max(scores.offset, 0)
            sync = {"sync_offset": scores.offset, "sync_confidence": round(scores.lse_c, 3)}
        if len(frames) < config.min_frames or audio.size == 0:
            continue  # too short once aligned, or frames past the end of the audio
        extra = {
            "video": item.key,
            "start_frame": a,
            "start_time": a / config.fps,  # of frame 0 (its audio starts there too unless sync-shifted)
            "source_fps": info.fps,
            "source_size": [info.width, info.height],
            "detected": float(track.detected[a:b].mean()),
            "box_mean": [round(float(v), 2) for v in boxes.mean(axis=0)],
            "box_side_mean": round(float(np.mean(boxes[:, 2:] - boxes[:, :2])), 2),
            "config": {"detector": settings, "track": dataclasses.asdict(config.track), "scene_threshold": config.scene_threshold},
            **sync,
        }
        write_clip(out, clip_id, frames, audio, fps=config.fps, source=str(item.path), extra=extra,
                   arrays={"boxes": boxes.astype(np.float32)}, tmp_name=run)
        records.append({"id": clip_id, "frames": len(frames), "faces": len(frames),  # a segment's frames all have one
                        "fps": config.fps, "source": str(item.path), "split": item.split})
    return records, unsynced


def align(frames: np.ndarray, audio: np.ndarray, offset: int, samples_per_frame: int) -> tuple[np.ndarray, np.ndarray]:
    """Remove a measured offset (LSE's convention: video window i best matches audio window i - offset).

    offset > 0 (the audio leads): drop the first ``offset`` frames; offset < 0 (the audio lags):
    drop the first ``-offset`` frames' worth of audio. Sample 0 stays the time of frame 0.
    """
    if offset > 0:
        return frames[offset:], audio
    return frames, audio[-offset * samples_per_frame :]


def _evaluator(config: OffsetCheckConfig) -> SyncEvaluator | None:
    if config.weights is None:
        return None

    return load_model(config.weights, kind="evaluator")


def _measure_offset(frames: np.ndarray, audio: np.ndarray, evaluator: SyncEvaluator, config: OffsetCheckConfig) -> SyncScores | None:
    """LSE offset and confidence of one segment; None when it is too short to score."""
    try:
        return lse_scores(frames, audio, evaluator, vshift=config.max_offset)
    except MediaError:
        return None


def _frames_at(path: Path, source_fps: float, fps: float) -> Iterator[np.ndarray]:
    return resample_frames(iter_frames(path), source_fps, fps)


def _segments(present: np.ndarray, cuts: np.ndarray, min_frames: int) -> list[tuple[int, int]]:
    """[start, end) runs of frames with a face, split at scene cuts, at least ``min_frames`` long."""
    runs, start = [], None
    for k in range(len(present) + 1):
        boundary = k == len(present) or not present[k] or (cuts[k] and start is not None)
        if boundary and start is not None:
            if k - start >= min_frames:
                runs.append((start, k))
            start = None
        if k < len(present) and present[k] and start is None:
            start = k
    return runs
