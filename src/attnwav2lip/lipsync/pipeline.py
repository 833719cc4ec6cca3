"""``LipSyncer``: the streaming ``sync`` pipeline (a face video or image + speech -> lip-synced mp4).

Read top to bottom, one call does (docs/sync.md has the user-facing rules):

1. audio: samples at 16 kHz -> mel -> the output length (it follows the audio);
2. pass 1: decode the face input downscaled, detect faces (cached), track and smooth -> one box
   per source frame (N x 4, tiny);
3. pass 2: decode again at full size, in batches: crop, generate, blend, encode as it goes.
   With ``SyncOptions.overlap`` (the default) decoding and cropping run in a thread ahead of the
   generator, blending and encoding in a thread behind it (``stages.Stages``); pass 1 decodes in a
   thread ahead of the detector. Output frame i shows source frame ``schedule[i]`` (forward, then backward when the audio is
   longer: no jump); frames re-shown after the first sweep come from a raw disk cache beside the
   output (``sources.FrameCache``: never RAM, and never a tmpfs /tmp that would be RAM after all).

Nothing here holds the whole video: memory is a few batches of frames (those queued between the
stages) plus small per-frame arrays.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import nn

from .. import audio as audio_mod
from ..builtin import describe_generator, load_builtin
from ..checkpoints import load_model
from ..config import to_dict
from ..devices import pick_device
from ..errors import CheckpointError, ConfigError, NoFaceError
from ..faces import (FACE_SIZE, DetectionCache, Detections, DetectorConfig, FaceTrack, TrackConfig, VideoDetections,
                     crop_faces, detect_frames, detect_video, paste_face, track_faces)
from ..faces.boxes import int_box
from ..looping import loop_schedule
from ..models import Generator
from ..outputs import VIDEO_CONTAINERS, check_output_file
from ..precision import PrecisionChoice, autocast, memory_format, probe_forward, resolve_precision
from ..progress import progress_bar, progress_of
from ..synth.speech import speak
from ..video import VideoWriter
from .checks import check_box_in_frame, check_face_index, check_padded_boxes
from .options import SyncOptions, SyncReport
from .references import ReferenceCrops
from .sources import FaceSource, scheduled_frames
from .stages import Stages
from .stopwatch import Stopwatch

log = logging.getLogger(__name__)

MAX_OUTPUT_PIXELS = 1e12  # frames x width x height of one output: ~5 h of 1080p at 25 fps
DETECT_DEPTH = 32  # pass 1: frames (detection size, ~0.4 MB at 480 px) decoded ahead of the detector
BATCH_DEPTH = 2  # pass 2: batches queued before and after the generator (a 720p batch of 16: 44 MB)


@dataclass(frozen=True, eq=False)  # holds arrays
class _Batch:
    """One batch of pass 2 between its stages: its frames and, for those with a face, the generator's inputs."""

    index: np.ndarray  # output frame numbers
    sources: np.ndarray  # the source frame each shows
    frames: list[np.ndarray]
    todo: list[int]  # positions in the batch of the frames with a face
    boxes: np.ndarray  # (len(todo), 4)
    inputs: np.ndarray | None  # (len(todo), 96, 96, 6) uint8: masked target, reference; None without faces
    windows: np.ndarray | None  # (len(todo), 80, 16) mel windows


@dataclass(frozen=True)
class _Written:
    """What one ``sync`` wrote, for its report."""

    frames: int
    fps: float
    source_frames: int
    missing_face_frames: int
    silent_frames: int


def default_generator() -> nn.Module:
    """The generator used without ``--checkpoint``: the built-in model (``attnwav2lip.builtin``).

    Says in one line what it is, since it was trained on synthetic faces only.
    """
    generator = load_builtin("generator")
    log.info("no --checkpoint given; using the %s", describe_generator(generator))
    return generator


class LipSyncer:
    """Lip-sync a face video or image to speech with a generator checkpoint.

    >>> LipSyncer("generator.safetensors").sync("face.mp4", "speech.wav", "out.mp4")

    Without a checkpoint, ``default_generator()`` is used. ``options`` apply to every ``sync``.
    """

    def __init__(
        self,
        checkpoint: str | os.PathLike[str] | None = None,
        options: SyncOptions = SyncOptions(),
        *,
        generator: nn.Module | None = None,
    ) -> None:
        if generator is not None and checkpoint is not None:
            raise ConfigError("give a checkpoint or generator=, not both")
        self.options = options
        self.device = pick_device(options.device)
        source = "generator="  # names what the user passed in the error below
        if generator is None:
            if checkpoint is None:
                generator = default_generator()
            else:
                generator, source = load_model(checkpoint, kind="generator"), str(checkpoint)
        if not isinstance(generator, Generator):
            raise CheckpointError(f"{source}: expected a torch Generator, got {type(generator).__name__}")
        generator = generator.to(self.device).eval()
        self.half = self.device.type == "cuda" and options.precision == "auto"  # float16, as before precisions
        self.precision = (PrecisionChoice("fp16", "auto on CUDA") if self.half
                          else resolve_precision(options.precision, self.device, probe=self._probe(generator)))
        self.generator = generator.half() if self.half else memory_format(generator, self.precision)
        log.info("precision: %s", self.precision)
        log.debug("generator on %s: %s", self.device, generator.config)
        self.mel_offset = int(generator.config.mel_offset)

    def _probe(self, generator: nn.Module) -> Callable[[], tuple[float, float]]:
        """The start-up probe ``auto`` runs on CPUs with native bf16: this generator on 4 random crops."""

        def probe() -> tuple[float, float]:
            faces = torch.rand(4, 6, FACE_SIZE, FACE_SIZE, device=self.device)
            mels = torch.randn(4, 1, 80, 16, device=self.device)
            return probe_forward(generator, (mels, faces))()

        return probe

    def sync(
        self,
        face: str | os.PathLike[str],
        audio: str | os.PathLike[str] | None,
        out: str | os.PathLike[str],
        *,
        text: str | None = None,
        hook: Callable[[int, np.ndarray, np.ndarray], None] | None = None,
    ) -> SyncReport:
        """Write ``out`` (H.264 + AAC mp4): ``face`` speaking ``audio`` (any audio or video file) or ``text``.

        ``hook(i, input_frame, output_frame)`` sees every output frame before it is encoded.
        """
        clock = Stopwatch()
        with clock("total"):
            written = self._sync(face, audio, out, text, hook, clock)
        wall, cpu = clock.per_frame(written.frames)
        return SyncReport(Path(out), written.frames, written.fps, written.source_frames, written.missing_face_frames,
                          written.silent_frames, clock.wall["total"], wall, cpu, str(self.precision))

    def _sync(
        self,
        face: str | os.PathLike[str],
        audio: str | os.PathLike[str] | None,
        out: str | os.PathLike[str],
        text: str | None,
        hook: Callable[[int, np.ndarray, np.ndarray], None] | None,
        clock: Stopwatch,
    ) -> _Written:
        """The body of ``sync``: audio, pass 1, pass 2."""
        opts = self.options
        if (audio is None) == (text is None):
            raise ConfigError("give exactly one of an audio file and a text to speak")
        check_output_file(out, (face, audio), suffixes=VIDEO_CONTAINERS)
        if text is not None:
            wav = speak(text).audio
            mux_audio: str | os.PathLike[str] | np.ndarray = wav
        else:
            wav = audio_mod.load_audio(audio)  # type: ignore[arg-type]  # not None here
            mux_audio = audio  # type: ignore[assignment]
        source = FaceSource(face, opts)
        mel = audio_mod.melspectrogram(wav)
        num_out = audio_mod.num_output_frames(len(wav), source.fps)
        del wav
        if num_out * source.width * source.height > MAX_OUTPUT_PIXELS:
            raise ConfigError(f"{num_out} frames of {source.width}x{source.height} at {source.fps:g} fps is beyond "
                              f"what one run writes ({MAX_OUTPUT_PIXELS:.0e} pixels); lower --fps, --resize-factor, "
                              "or split the audio")

        with VideoWriter(out, source.fps, (source.width, source.height), audio=mux_audio,
                         audio_rate=audio_mod.SAMPLE_RATE, preset=opts.preset, crf=opts.crf,
                         threads=opts.codec_threads) as writer:
            track = self._track(source, num_out, clock)
            schedule = loop_schedule(num_out, len(track), opts.loop)
            used = np.unique(schedule)
            missing = int((~track.present[schedule]).sum())
            if opts.on_missing_face == "error" and missing:
                first = int(used[~track.present[used]][0])
                raise NoFaceError(f"{face}: no face found in frame {first} ({missing} output frames without a face)")
            if not track.present[used].any():
                log.warning("warning: no face found in %s; its frames pass through unchanged", face)
            silent = self._generate(source, track, schedule, mel, writer, clock, hook)
        return _Written(num_out, float(source.fps), len(track), missing, silent)

    def _track(self, source: FaceSource, num_out: int, clock: Stopwatch) -> FaceTrack:
        """Pass 1: the speaker's box for every source frame that the output uses."""
        opts = self.options
        box = None if opts.box is None else _box_xyxy(check_box_in_frame(opts.box, source.width, source.height))
        config = TrackConfig(speaker=opts.face_index, smooth=5 if opts.smooth else 1, pads=tuple(opts.pads), box=box)
        size = (source.height, source.width)
        if opts.box is not None:
            return track_faces([Detections.empty()] * source.num_frames, size, config)
        scale = min(1.0, opts.detect_max_side / max(source.width, source.height))
        detector = DetectorConfig(name=opts.detector, max_side=None, landmarks=opts.landmarks,
                                  weights=opts.detector_weights).create()
        limit = min(num_out, source.num_frames)  # source frames the output can reach

        with clock("detect"), detector, Stages(opts.overlap) as stages:

            def frames() -> Iterator[np.ndarray]:
                decoded = clock.timed("decode", itertools.islice(source.frames(scale), limit))
                return progress_of(clock.timed("frames in", stages.ahead(decoded, DETECT_DEPTH, "decode")),
                                   show=opts.progress, total=limit, desc="detect", unit="frame")

            settings = {"transform": to_dict(source.transform), "scale": scale, "static": source.still, "limit": limit}
            if opts.detection_cache and not source.still:
                found = detect_video(source.path, frames, detector, cache=DetectionCache(), settings=settings,
                                     every=opts.detect_every)
            else:
                found = detect_frames(frames(), detector, every=opts.detect_every)
        for times in (clock.wall, clock.cpu):
            times["detect"] -= times.pop("frames in", 0.0)  # waiting for frames (without overlap: decoding them)
        scaled = VideoDetections(tuple(d.scaled(1.0 / scale) for d in found.detections), found.cuts, size)
        track = scaled.track(config)
        check_face_index(opts.face_index, track, found.detections, source.path)
        check_padded_boxes(track, opts.pads)
        return track

    def _generate(
        self,
        source: FaceSource,
        track: FaceTrack,
        schedule: np.ndarray,
        mel: np.ndarray,
        writer: VideoWriter,
        clock: Stopwatch,
        hook: Callable[[int, np.ndarray, np.ndarray], None] | None,
    ) -> int:
        """Pass 2: batches decoded and cropped ahead of the generator, blended and encoded behind it."""
        opts = self.options
        starts = audio_mod.mel_window_starts(len(schedule), source.fps, self.mel_offset)
        silent = audio_mod.silent_windows(mel, starts, opts.silence_db) if opts.close_on_silence else np.zeros(len(schedule), bool)
        references = ReferenceCrops(source, track, opts)
        batches = self._batches(source, track, schedule, mel, starts, silent, references, writer.path.parent, clock)
        with progress_bar(show=opts.progress, total=len(schedule), desc="sync", unit="frame") as bar, \
                Stages(opts.overlap) as stages:
            finish = stages.behind(functools.partial(self._finish, track=track, writer=writer, clock=clock, hook=hook,
                                                     bar=bar), BATCH_DEPTH, "encode")
            for batch in stages.ahead(batches, BATCH_DEPTH, "decode"):
                faces = None
                if batch.inputs is not None:
                    with clock("generate"):
                        faces = self._run(batch.inputs, batch.windows)
                finish((batch, faces))
        return int(silent.sum())

    def _batches(self, source: FaceSource, track: FaceTrack, schedule: np.ndarray, mel: np.ndarray,
                 starts: np.ndarray, silent: np.ndarray, references: ReferenceCrops, folder: Path,
                 clock: Stopwatch) -> Iterator[_Batch]:
        """Pass 2's input side: frames in schedule order, a batch at a time, with the generator's inputs.

        Reference anchors are recorded after each batch's references are chosen, as they stream by.
        """
        frames = clock.timed("decode", scheduled_frames(source, schedule, folder))
        for first in range(0, len(schedule), self.options.batch_size):
            index = np.arange(first, min(first + self.options.batch_size, len(schedule)))
            batch = [next(frames) for _ in index]
            src = schedule[index]
            todo = [k for k in range(len(index)) if track.present[src[k]]]
            boxes = track.boxes[src[todo]]
            inputs = windows = None
            with clock("crop"):
                if todo:
                    targets = crop_faces([batch[k] for k in todo], boxes, FACE_SIZE)  # type: ignore[arg-type]
                    quiet = silent[index[todo]]
                    refs = np.stack([references.get(int(s), t, bool(q)) for s, t, q in zip(src[todo], targets, quiet)])
                    targets[:, FACE_SIZE // 2 :] = 0  # the generator redraws the lower half
                    inputs = np.concatenate([targets, refs], axis=3)
                    windows = audio_mod.mel_windows_at(mel, starts[index[todo]])
                    windows[quiet] = audio_mod.SILENCE
                references.see(src, batch)
            yield _Batch(index, src, batch, todo, boxes, inputs, windows)

    def _finish(self, item: tuple[_Batch, np.ndarray | None], *, track: FaceTrack, writer: VideoWriter,
                clock: Stopwatch, hook: Callable[[int, np.ndarray, np.ndarray], None] | None, bar: Any) -> None:
        """Pass 2's output side: generated faces pasted into their frames, the hook, the encoder."""
        batch, faces = item
        outputs = list(batch.frames)
        with clock("blend"):
            for j, k in enumerate(batch.todo):
                outputs[k] = self._paste(batch.frames[k], faces[j], batch.boxes[j], track, int(batch.sources[k]))  # type: ignore[index]
        with clock("encode"):
            for k, frame in enumerate(outputs):
                if hook is not None:
                    hook(int(batch.index[k]), batch.frames[k], frame)
                writer.write(frame)
        bar.update(len(outputs))

    def _run(self, inputs: np.ndarray, mels: np.ndarray) -> np.ndarray:
        """Generator forward on uint8 inputs: (N, 96, 96, 6) masked target + reference and (N, 80, 16) mels
        -> (N, 96, 96, 3) uint8 faces."""
        dtype = torch.float16 if self.half else torch.float32
        faces = torch.from_numpy(inputs).to(self.device)
        faces = faces.permute(0, 3, 1, 2).to(dtype).div_(255.0)
        mel_t = torch.from_numpy(mels[:, None]).to(self.device, dtype)
        with torch.inference_mode(), autocast(self.device, self.precision):
            out = self.generator(mel_t, faces).float().clamp_(0, 1).mul_(255.0).round_()
            return out.byte().permute(0, 2, 3, 1).cpu().numpy()

    def _paste(self, frame: np.ndarray, face: np.ndarray, box: np.ndarray, track: FaceTrack, src: int) -> np.ndarray:
        if self.options.blend == "none":
            return _paste_rectangle(frame, face, box)
        marks = None if track.landmarks is None else track.landmarks[src]
        return paste_face(frame, face, box, landmarks=marks, feather=self.options.feather)


def _box_xyxy(box: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
    """(top, bottom, left, right) -> (x1, y1, x2, y2)."""
    top, bottom, left, right = box
    return float(left), float(top), float(right), float(bottom)


def _paste_rectangle(frame: np.ndarray, face: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The original's paste: the resized face overwrites the whole box (``--blend none``)."""
    import cv2

    x1, y1, x2, y2 = int_box(box, *frame.shape[:2])
    out = frame.copy()
    out[y1:y2, x1:x2] = cv2.resize(face, (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)
    return out


