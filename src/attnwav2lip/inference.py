"""``LipSyncer``: the streaming ``sync`` pipeline (a face video or image + speech -> lip-synced mp4).

Read top to bottom, one call does (docs/sync.md has the user-facing rules):

1. audio: samples at 16 kHz -> mel -> the output length (it follows the audio);
2. pass 1: decode the face input downscaled, detect faces (cached), track and smooth -> one box
   per source frame (N x 4, tiny);
3. pass 2: decode again at full size, in batches: crop, generate, blend, encode as it goes.
   Output frame i shows source frame ``schedule[i]`` (forward, then backward when the audio is
   longer: no jump); frames re-shown after the first sweep come from a raw disk cache beside the
   output (never RAM, and never a tmpfs /tmp that would be RAM after all).

Nothing here holds the whole video: memory is one batch of frames plus small per-frame arrays.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import logging
import os
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from . import audio as audio_mod
from .errors import CheckpointError, ConfigError, MediaError, NoFaceError
from .precision import PRECISIONS, PrecisionChoice, autocast, memory_format, probe_forward, resolve_precision
from .video import DEFAULT_CRF, DEFAULT_PRESET, VideoWriter, check_encoder_options, iter_frames, probe, read_image

if TYPE_CHECKING:
    from torch import nn

    from .faces import FaceTrack

log = logging.getLogger(__name__)

LOOPS = ("pingpong", "forward")
REFERENCES = ("frame", "window", "neutral")
BLENDS = ("feather", "none")
ON_MISSING = ("pass", "error")
DEVICES = ("auto", "cpu", "cuda", "mps")
FACE_SIZE = 96
REFERENCE_GAP = 25  # "window" references come from a frame this many source frames away (~1 s)
MAX_FPS = 240.0  # --fps for a still: phones film slow motion at 240; more only multiplies frames
MAX_OUTPUT_PIXELS = 1e12  # frames x width x height of one output: ~5 h of 1080p at 25 fps
SILENCE_FLOOR = -2.0  # normalised mel level of noise at about -60 dBFS: quieter is silence on any track


@dataclass(frozen=True)
class SyncOptions:
    """Everything ``sync`` can be told; CLI flags map one to one (docs/sync.md).

    Boxes, pads and crops use the original's order: (top, bottom, left, right) in pixels of the
    working frame (after ``resize_factor`` and ``rotate``).
    """

    static: bool = False  # use only the first frame of a video
    fps: float = 25.0  # frame rate for a still image
    pads: tuple[int, int, int, int] = (0, 10, 0, 0)
    box: tuple[int, int, int, int] | None = None  # fixed face box: no detection
    crop: tuple[int, int, int, int] = (0, -1, 0, -1)
    rotate: bool = False  # 90 degrees clockwise
    resize_factor: int = 1  # the output is (W // f, H // f), as in the original
    smooth: bool = True  # the original's 5-frame box smoothing
    face_index: int = 0  # which face when several: 0 = largest and longest on screen
    detector: str = "auto"  # auto | mediapipe | haar | s3fd
    detector_weights: str | None = None  # s3fd.pth for --detector s3fd
    detect_max_side: int = 480  # pass 1 decodes frames this size (longer side) for detection
    landmarks: bool = False  # blend mask follows the jaw line (mediapipe mesh), else an ellipse
    detection_cache: bool = True  # reuse pass 1 for the same video and settings
    on_missing_face: str = "pass"  # pass: frames without a face stay unchanged; error: fail
    loop: str = "pingpong"  # how a video shorter than the audio repeats: pingpong | forward
    reference: str = "frame"  # frame | window | neutral (lip leakage control)
    neutral_frame: int | None = None  # source frame for "neutral" (default: the first with a face)
    close_on_silence: bool = False  # silent windows: silence mel + neutral reference
    silence_db: float = 40.0  # a window is silent when it is this many dB below the loud parts
    blend: str = "feather"  # feather | none (the original's rectangle overwrite)
    feather: float = 0.1  # mask blur sigma as a fraction of the box's shorter side
    batch_size: int = 16
    device: str = "auto"  # auto | cpu | cuda | mps
    precision: str = "auto"  # auto | fp32 | bf16 (attnwav2lip.precision); auto on cuda: float16 as before
    preset: str = DEFAULT_PRESET
    crf: int = DEFAULT_CRF
    progress: bool = True

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("loop", self.loop, LOOPS), ("reference", self.reference, REFERENCES),
            ("blend", self.blend, BLENDS), ("on_missing_face", self.on_missing_face, ON_MISSING),
            ("device", self.device, DEVICES), ("precision", self.precision, PRECISIONS),
        ):
            if value not in allowed:
                raise ConfigError(f"{name} must be one of {'|'.join(allowed)}, got {value!r}")
        for name, ok, rule in (
            ("batch_size", self.batch_size >= 1, ">= 1"), ("resize_factor", self.resize_factor >= 1, ">= 1"),
            ("fps", 0 < self.fps <= MAX_FPS, f"> 0 and <= {MAX_FPS:g}"), ("detect_max_side", self.detect_max_side >= 32, ">= 32"),
            ("face_index", self.face_index >= 0, ">= 0"), ("feather", self.feather >= 0, ">= 0"),
            ("silence_db", self.silence_db > 0, "> 0"),
            ("neutral_frame", self.neutral_frame is None or self.neutral_frame >= 0, ">= 0"),
        ):
            if not ok:
                raise ConfigError(f"{name} must be {rule}, got {getattr(self, name)!r}")
        check_encoder_options(self.preset, self.crf)
        for name in ("pads", "crop", "box"):
            value = getattr(self, name)
            if value is not None and len(value) != 4:
                raise ConfigError(f"{name} needs 4 values: top, bottom, left, right")
        if self.box is not None:
            from .checks import check_box_order

            check_box_order(self.box)


@dataclass(frozen=True)
class SyncReport:
    """What a ``sync`` run did, with wall and CPU milliseconds per output frame by stage.

    Stages: decode (both passes), detect, generate (crops, model, references), blend, encode
    (video and audio), and total (wall) / all (CPU) for the whole call.
    """

    output: Path
    frames: int
    fps: float
    source_frames: int
    missing_face_frames: int
    silent_frames: int
    seconds: float
    ms_per_frame: dict[str, float]
    cpu_ms_per_frame: dict[str, float]
    precision: str = "fp32"  # the generator's precision and why it was chosen


def default_generator() -> "nn.Module":
    """The generator used without ``--checkpoint``: the built-in model (``attnwav2lip.builtin``).

    Says in one line what it is, since it was trained on synthetic faces only.
    """
    from .builtin import describe_generator, load_builtin

    generator = load_builtin("generator")
    log.info("no --checkpoint given; using the %s", describe_generator(generator))
    return generator


def pick_device(name: str) -> str:
    """Resolve "auto" to cuda, then mps, then cpu; an unavailable explicit device is a ConfigError."""
    import torch

    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available(),
    }
    if name == "auto":
        return next(d for d in ("cuda", "mps", "cpu") if available[d])
    if not available[name]:
        raise ConfigError(f"device {name!r} is not available on this machine")
    return name


def loop_schedule(num_output: int, num_source: int, loop: str = "pingpong") -> np.ndarray:
    """Source frame index for each output frame: play through, then repeat.

    "pingpong" runs 0..n-1, n-2..1, 0..n-1, ... (no jump); "forward" restarts at 0.
    """
    i = np.arange(num_output)
    if num_source <= 1:
        return np.zeros(num_output, np.int64)
    if loop == "forward":
        return i % num_source
    k = i % (2 * num_source - 2)
    return np.where(k < num_source, k, 2 * num_source - 2 - k)


def silent_windows(mel: np.ndarray, starts: np.ndarray, silence_db: float) -> np.ndarray:
    """(len(starts),) bool: windows whose loudest column is ``silence_db`` below the track's loud parts.

    Loudness of a column is its loudest mel band (normalised: 8 units per 100 dB), so tones and
    broadband speech count alike; "loud" is the 95th percentile over the track. Below
    ``SILENCE_FLOOR`` a window is silent whatever the track: a silent track has no loud parts.
    """
    level = mel.max(axis=0)
    threshold = max(np.percentile(level, 95) - silence_db * 8.0 / 100.0, SILENCE_FLOOR)
    windows = audio_mod.mel_windows_at(level[None, :], starts)[:, 0, :]
    return windows.max(axis=1) < threshold


class _FaceSource:
    """The ``--face`` input as working frames (after resize, rotate, crop), at full or detection size."""

    def __init__(self, path: str | os.PathLike[str], options: SyncOptions) -> None:
        from .faces import FrameTransform

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
        from .faces import FrameTransform

        width, height = self._decode_size
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        top, bottom, left, right = self._after_decode.crop
        crop = tuple(v if v == -1 else round(v * scale) for v in (top, bottom, left, right))
        after = FrameTransform(1, self._after_decode.rotate, crop)  # type: ignore[arg-type]
        for frame in iter_frames(self.path, scale=None if size == self._native else size):
            yield after(frame)

    def _scaled_still(self, scale: float) -> np.ndarray:
        if scale == 1.0:
            return self._still_frame  # type: ignore[return-value]
        import cv2

        size = (max(1, round(self.width * scale)), max(1, round(self.height * scale)))
        return cv2.resize(self._still_frame, size, interpolation=cv2.INTER_AREA)


class _FrameCache:
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


class _Stopwatch:
    """Wall and CPU (all threads of this process) seconds per stage name."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[stage] += time.perf_counter() - wall
            self.cpu[stage] += time.process_time() - cpu

    def timed(self, stage: str, iterator: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """``iterator`` with the time spent producing each item charged to ``stage``."""
        while True:
            with self(stage):
                item = next(iterator, None)
            if item is None:
                return
            yield item

    def per_frame(self, frames: int) -> tuple[dict[str, float], dict[str, float]]:
        """(wall, cpu) milliseconds per output frame by stage."""
        n = max(frames, 1)
        return ({k: 1000.0 * v / n for k, v in self.wall.items()}, {k: 1000.0 * v / n for k, v in self.cpu.items()})


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
        generator: "nn.Module | None" = None,
    ) -> None:
        import torch

        from .models import Generator

        if generator is not None and checkpoint is not None:
            raise ConfigError("give a checkpoint or generator=, not both")
        self.options = options
        self.device = pick_device(options.device)
        source = "generator="  # names what the user passed in the error below
        if generator is None:
            if checkpoint is None:
                generator = default_generator()
            else:
                from .checkpoints import load_model

                generator, source = load_model(checkpoint, kind="generator"), str(checkpoint)
        if not isinstance(generator, Generator):
            raise CheckpointError(f"{source}: expected a torch Generator, got {type(generator).__name__}")
        generator = generator.to(self.device).eval()
        self.half = self.device == "cuda" and options.precision == "auto"  # float16, as before precisions
        self.precision = (PrecisionChoice("fp16", "auto on CUDA") if self.half
                          else resolve_precision(options.precision, self.device, probe=self._probe(generator)))
        self.generator = generator.half() if self.half else memory_format(generator, self.precision)
        log.info("precision: %s", self.precision)
        self.mel_offset = int(generator.config.mel_offset)
        self._torch = torch

    def _probe(self, generator: "nn.Module") -> Callable[[], tuple[float, float]]:
        """The start-up probe ``auto`` runs on CPUs with native bf16: this generator on 4 random crops."""
        import torch

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
        clock = _Stopwatch()
        with clock("total"):
            num_out, fps, track, missing, silent = self._sync(face, audio, out, text, hook, clock)
        wall, cpu = clock.per_frame(num_out)
        return SyncReport(Path(out), num_out, fps, len(track), missing, silent, clock.wall["total"], wall, cpu,
                          str(self.precision))

    def _sync(
        self,
        face: str | os.PathLike[str],
        audio: str | os.PathLike[str] | None,
        out: str | os.PathLike[str],
        text: str | None,
        hook: Callable[[int, np.ndarray, np.ndarray], None] | None,
        clock: _Stopwatch,
    ) -> tuple[int, float, "FaceTrack", int, int]:
        """The body of ``sync``: audio, pass 1, pass 2. Returns what the report needs."""
        from .outputs import VIDEO_CONTAINERS, check_output_file

        opts = self.options
        if (audio is None) == (text is None):
            raise ConfigError("give exactly one of an audio file and a text to speak")
        check_output_file(out, (face, audio), suffixes=VIDEO_CONTAINERS)
        if text is not None:
            from .synth.speech import speak

            wav = speak(text).audio
            mux_audio: str | os.PathLike[str] | np.ndarray = wav
        else:
            wav = audio_mod.load_audio(audio)  # type: ignore[arg-type]  # not None here
            mux_audio = audio  # type: ignore[assignment]
        source = _FaceSource(face, opts)
        mel = audio_mod.melspectrogram(wav)
        num_out = audio_mod.num_output_frames(len(wav), source.fps)
        del wav
        if num_out * source.width * source.height > MAX_OUTPUT_PIXELS:
            raise ConfigError(f"{num_out} frames of {source.width}x{source.height} at {source.fps:g} fps is beyond "
                              f"what one run writes ({MAX_OUTPUT_PIXELS:.0e} pixels); lower --fps, --resize-factor, "
                              "or split the audio")

        with VideoWriter(out, source.fps, (source.width, source.height), audio=mux_audio,
                         audio_rate=audio_mod.SAMPLE_RATE, preset=opts.preset, crf=opts.crf) as writer:
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
        return num_out, float(source.fps), track, missing, silent

    def _track(self, source: _FaceSource, num_out: int, clock: _Stopwatch) -> "FaceTrack":
        """Pass 1: the speaker's box for every source frame that the output uses."""
        from .config import to_dict
        from .checks import check_box_in_frame, check_face_index, check_padded_boxes
        from .faces import (Detections, DetectionCache, DetectorConfig, TrackConfig, VideoDetections, detect_frames,
                            detect_video, track_faces)

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

        def frames() -> Iterator[np.ndarray]:
            return self._progress(clock.timed("decode", itertools.islice(source.frames(scale), limit)), limit, "detect")

        with clock("detect"), detector:
            settings = {"transform": to_dict(source.transform), "scale": scale, "static": source.still, "limit": limit}
            if opts.detection_cache and not source.still:
                found = detect_video(source.path, frames, detector, cache=DetectionCache(), settings=settings)
            else:
                found = detect_frames(frames(), detector)
        for times in (clock.wall, clock.cpu):
            times["detect"] -= times["decode"]  # pass 1 so far: decoding happened inside detection
        scaled = VideoDetections(tuple(d.scaled(1.0 / scale) for d in found.detections), found.cuts, size)
        track = scaled.track(config)
        check_face_index(opts.face_index, track, found.detections, source.path)
        check_padded_boxes(track, opts.pads)
        return track

    def _generate(
        self,
        source: _FaceSource,
        track: "FaceTrack",
        schedule: np.ndarray,
        mel: np.ndarray,
        writer: VideoWriter,
        clock: _Stopwatch,
        hook: Callable[[int, np.ndarray, np.ndarray], None] | None,
    ) -> int:
        """Pass 2: frames in schedule order, generated and blended in batches, encoded as they come."""
        opts = self.options
        starts = audio_mod.mel_window_starts(len(schedule), source.fps, self.mel_offset)
        silent = silent_windows(mel, starts, opts.silence_db) if opts.close_on_silence else np.zeros(len(schedule), bool)
        references = _References(source, track, opts)
        frames = self._progress(clock.timed("decode", self._scheduled_frames(source, schedule, writer.path.parent)),
                              len(schedule), "sync")
        for first in range(0, len(schedule), opts.batch_size):
            index = np.arange(first, min(first + opts.batch_size, len(schedule)))
            batch = [next(frames) for _ in index]
            src = schedule[index]
            outputs = list(batch)
            todo = [k for k in range(len(index)) if track.present[src[k]]]
            if todo:
                boxes = track.boxes[src[todo]]
                with clock("generate"):
                    faces = self._faces([batch[k] for k in todo], boxes, src[todo],
                                        audio_mod.mel_windows_at(mel, starts[index[todo]]), silent[index[todo]],
                                        references)
                with clock("blend"):
                    for j, k in enumerate(todo):
                        outputs[k] = self._paste(batch[k], faces[j], boxes[j], track, int(src[k]))
            with clock("encode"):
                for k, frame in enumerate(outputs):
                    if hook is not None:
                        hook(int(index[k]), batch[k], frame)
                    writer.write(frame)
            references.see(src, batch)
        return int(silent.sum())

    def _faces(self, frames: list[np.ndarray], boxes: np.ndarray, sources: np.ndarray, windows: np.ndarray,
               silent: np.ndarray, references: "_References") -> np.ndarray:
        """Generated 96x96 faces for frames with a face: crops, references, mel windows, model."""
        from .faces import crop_faces

        targets = crop_faces(frames, boxes, FACE_SIZE)  # type: ignore[arg-type]  # any sequence
        refs = np.stack([references.get(int(s), t, bool(q)) for s, t, q in zip(sources, targets, silent)])
        windows[silent] = audio_mod.SILENCE
        return self._run(targets, refs, windows)

    def _run(self, targets: np.ndarray, refs: np.ndarray, mels: np.ndarray) -> np.ndarray:
        """Generator forward on uint8 crops: (N, 96, 96, 3) x 2 and (N, 80, 16) -> (N, 96, 96, 3) uint8."""
        torch = self._torch
        dtype = torch.float16 if self.half else torch.float32
        masked = targets.copy()
        masked[:, FACE_SIZE // 2 :] = 0  # the generator redraws the lower half
        faces = torch.from_numpy(np.concatenate([masked, refs], axis=3)).to(self.device)
        faces = faces.permute(0, 3, 1, 2).to(dtype).div_(255.0)
        mel_t = torch.from_numpy(mels[:, None]).to(self.device, dtype)
        with torch.inference_mode(), autocast(self.device, self.precision):
            out = self.generator(mel_t, faces).float().clamp_(0, 1).mul_(255.0).round_()
            return out.byte().permute(0, 2, 3, 1).cpu().numpy()

    def _paste(self, frame: np.ndarray, face: np.ndarray, box: np.ndarray, track: "FaceTrack", src: int) -> np.ndarray:
        if self.options.blend == "none":
            return _paste_rectangle(frame, face, box)
        from .faces import paste_face

        marks = None if track.landmarks is None else track.landmarks[src]
        return paste_face(frame, face, box, landmarks=marks, feather=self.options.feather)

    def _scheduled_frames(self, source: _FaceSource, schedule: np.ndarray, cache_folder: Path) -> Iterator[np.ndarray]:
        """Working frames in schedule order: one decode sweep, later sweeps from a disk cache."""
        if source.still:
            frame = next(source.frames())
            for _ in schedule:
                yield frame
            return
        looping = len(schedule) > len(np.unique(schedule))
        cache = _FrameCache((source.height, source.width, 3), cache_folder) if looping else None
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

    def _progress(self, iterator: Iterator[np.ndarray], total: int, desc: str) -> Iterator[np.ndarray]:
        if not self.options.progress:
            return iterator
        from tqdm import tqdm

        return iter(tqdm(iterator, total=total, desc=desc, unit="frame", dynamic_ncols=True))


class _References:
    """The generator's identity reference per frame, by ``--reference`` (docs/sync.md).

    "frame": the target crop itself (the original's inference). "window": the crop of a frame
    ``REFERENCE_GAP`` source frames away, as training draws another window; anchors (one crop every
    ``REFERENCE_GAP`` frames) are kept as they stream by, and a short pre-roll supplies those ahead
    of the first second. "neutral" (and silent windows with --close-on-silence): one fixed crop.
    """

    def __init__(self, source: _FaceSource, track: "FaceTrack", options: SyncOptions) -> None:
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

    def _preroll(self, source: _FaceSource, wanted: set[int]) -> dict[int, np.ndarray]:
        """Crops of the ``wanted`` source frames that have a face, decoded from the start."""
        from .faces import crop_face

        crops = {}
        for s, frame in zip(range(min(max(wanted) + 1, len(self.track))), source.frames()):
            if s in wanted and self.track.present[s]:
                crops[s] = crop_face(frame, self.track.boxes[s], FACE_SIZE)
        return crops

    def see(self, sources: np.ndarray, frames: list[np.ndarray]) -> None:
        """Record anchor crops from frames as they stream past."""
        if self.mode != "window":
            return
        from .faces import crop_face

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


def _box_xyxy(box: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
    """(top, bottom, left, right) -> (x1, y1, x2, y2)."""
    top, bottom, left, right = box
    return float(left), float(top), float(right), float(bottom)


def _paste_rectangle(frame: np.ndarray, face: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The original's paste: the resized face overwrites the whole box (``--blend none``)."""
    import cv2

    from .faces.boxes import int_box

    x1, y1, x2, y2 = int_box(box, *frame.shape[:2])
    out = frame.copy()
    out[y1:y2, x1:x2] = cv2.resize(face, (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)
    return out


def options_from(**values: object) -> SyncOptions:
    """SyncOptions from keyword values, ignoring None (CLI flags left at their defaults)."""
    fields = {f.name for f in dataclasses.fields(SyncOptions)}
    return SyncOptions(**{k: v for k, v in values.items() if v is not None and k in fields})  # type: ignore[arg-type]
