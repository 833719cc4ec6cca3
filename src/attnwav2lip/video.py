"""Video I/O with PyAV in-process: probing, streaming frame readers, stills, an H.264 + AAC writer.

No ffmpeg subprocess and no shell (the original's ``inference.py`` shells out to ffmpeg). Frames cross this boundary as
uint8 (H, W, 3) RGB. Readers stream: nothing here holds a whole video in memory.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Iterable, Iterator

import numpy as np

from .errors import ConfigError, MediaError
from .integrity import FrameTiming, check_frame_count
from .fileio import atomic_path
from .outputs import VIDEO_CONTAINERS

if TYPE_CHECKING:
    from av.video.codeccontext import VideoCodecContext

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".mpg", ".mpeg")  # what folder scans pick up
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                "placebo")  # x264's speed presets, fastest first
DEFAULT_PRESET = "veryfast"  # x264: ~2x faster than "medium" at a few % more bits; quality set by crf
DEFAULT_CRF = 18  # visually near-lossless for 8-bit H.264
MAX_CRF = 51  # x264's crf range is 0..51 for 8-bit video


def check_encoder_options(preset: str, crf: int) -> None:
    """Refuse x264 settings the encoder would only reject when the first frame arrives."""
    if preset not in X264_PRESETS:
        raise ConfigError(f"preset must be one of {'|'.join(X264_PRESETS)}, got {preset!r}")
    if not 0 <= crf <= MAX_CRF:
        raise ConfigError(f"crf must be in 0..{MAX_CRF}, got {crf!r}")


@dataclass(frozen=True)
class MediaInfo:
    """What ``probe`` learns from a file's header (frame count by demuxing when the header lacks it)."""

    width: int
    height: int
    fps: float  # 0.0 for stills and audio-only files
    num_frames: int  # 1 for stills, 0 without video
    duration: float  # seconds (0.0 for stills)
    has_video: bool
    has_audio: bool
    audio_rate: int  # 0 without audio
    is_image: bool


def _open(path: str | os.PathLike[str]):  # -> av.container.InputContainer
    import av

    if Path(path).is_dir():
        raise MediaError(f"{path}: is a folder, not a media file")
    if not Path(path).is_file():
        raise MediaError(f"{path}: file not found")
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaError(f"{path}: not a readable media file ({exc.__class__.__name__})") from None


@contextlib.contextmanager
def open_audio(path: str | os.PathLike[str]) -> Iterator[tuple[object, object]]:
    """The open container and its first audio stream; MediaError when the file has no audio."""
    container = _open(path)
    try:
        if not container.streams.audio:
            raise MediaError(f"{path}: no audio stream (expected a file with sound)")
        yield container, container.streams.audio[0]
    finally:
        container.close()


def resampled_audio(container, stream, path: str | os.PathLike[str], *, rate: int, layout: str,
                    fmt: str) -> Iterator[np.ndarray]:
    """Decode ``stream`` through FFmpeg's resampler, block by block, the resampler's tail included."""
    import av

    resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate)
    try:
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                yield out.to_ndarray()
        for out in resampler.resample(None):
            yield out.to_ndarray()
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path}: corrupt audio ({exc.__class__.__name__})") from None


def _is_image_format(container) -> bool:
    """Stills are recognised by FFmpeg's content probe: its image demuxers are image2 and *_pipe."""
    name = container.format.name
    return name == "image2" or name.endswith("_pipe")


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Describe a media file. Raises MediaError for a missing, unreadable or stream-less file."""
    import av

    with _open(path) as container:
        has_audio = bool(container.streams.audio)
        audio_rate = container.streams.audio[0].rate if has_audio else 0
        if not container.streams.video:
            if not has_audio:
                raise MediaError(f"{path}: no video or audio stream")
            duration = float(container.duration / 1e6) if container.duration else 0.0
            return MediaInfo(0, 0, 0.0, 0, duration, False, True, audio_rate, False)
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if _quarter_turns(_display_rotation(path)) % 2:
            width, height = height, width  # sizes are the displayed picture's, as every reader returns it
        if _is_image_format(container):
            return MediaInfo(width, height, 0.0, 1, 0.0, True, has_audio, audio_rate, True)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        num_frames = stream.frames
        try:
            if num_frames <= 0:
                num_frames = sum(1 for p in container.demux(stream) if p.size)
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path}: corrupt video ({exc.__class__.__name__})") from None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / 1e6
        else:
            duration = num_frames / fps if fps else 0.0
        if width <= 0 or height <= 0:
            raise MediaError(f"{path}: video stream has no frame size")
        return MediaInfo(width, height, fps, num_frames, duration, True, has_audio, audio_rate, False)


def _display_rotation(path: str | os.PathLike[str]) -> float:
    """The display rotation of the first frame, counter-clockwise degrees (phones store portrait
    video as landscape frames and a display matrix that turns them)."""
    import av

    with _open(path) as container:
        try:
            frame = next(container.decode(container.streams.video[0]), None)
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path}: corrupt video ({exc.__class__.__name__})") from None
    return 0.0 if frame is None else float(frame.rotation)


def _quarter_turns(rotation: float) -> int:
    """Counter-clockwise quarter turns (``np.rot90``'s k) that show a frame as its display matrix says."""
    return round(rotation / 90.0) % 4


def scaled_size(width: int, height: int, scale: int | tuple[int, int] | None) -> tuple[int, int]:
    """Output (width, height) for ``iter_frames``' ``scale``: None keeps the size, an int caps the
    longer side (aspect kept, never upscaled), a (width, height) pair is used as given."""
    if scale is None:
        return width, height
    if isinstance(scale, tuple):
        return int(scale[0]), int(scale[1])
    factor = min(1.0, scale / max(width, height))
    return max(1, round(width * factor)), max(1, round(height * factor))


def iter_frames(
    path: str | os.PathLike[str],
    *,
    start: int = 0,
    scale: int | tuple[int, int] | None = None,
    threads: int = 0,
) -> Iterator[np.ndarray]:
    """Stream uint8 RGB frames of the first video stream, from frame index ``start`` on.

    ``scale``: see ``scaled_size``; scaling happens in FFmpeg's swscale (area averaging) as part of
    the RGB conversion, so a downscaled pass costs no more than a full-size one. Frames before ``start`` are
    decoded and dropped (exact, unlike keyframe seeking). ``threads``: the decoder's threads (0: FFmpeg
    picks, about one per core). Frames come upright: a display rotation
    (phone video) is applied, and sizes are those of the displayed picture. Corrupt data raises
    MediaError.
    """
    import av


    container = _open(path)
    try:
        if not container.streams.video:
            raise MediaError(f"{path}: no video stream (expected a video or an image)")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = threads
        timing = FrameTiming(path, stream.average_rate, stream.time_base)
        size: tuple[int, int] | None = None
        decoded = 0
        for index, frame in enumerate(container.decode(stream)):
            decoded = index + 1
            timing.see(index, frame.pts)
            if index < start:
                continue
            turns = _quarter_turns(frame.rotation)
            if size is None:
                shown = (frame.height, frame.width) if turns % 2 else (frame.width, frame.height)
                size = scaled_size(*shown, scale)
                if turns % 2:
                    size = size[::-1]  # swscale works on the stored picture
            if size == (frame.width, frame.height):
                picture = frame.to_ndarray(format="rgb24")
            else:
                picture = frame.to_ndarray(format="rgb24", width=size[0], height=size[1], interpolation="AREA")
            yield np.ascontiguousarray(np.rot90(picture, turns)) if turns else picture
        check_frame_count(path, stream.frames, decoded)
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path}: corrupt video ({exc.__class__.__name__})") from None
    finally:
        container.close()


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """The first frame of an image (or video) as uint8 RGB."""
    for frame in iter_frames(path):
        return frame
    raise MediaError(f"{path}: contains no frame")


def write_png(path: str | os.PathLike[str], image: np.ndarray) -> None:
    """Write a uint8 RGB image as PNG, atomically (the name must end in .png)."""
    import cv2

    if not os.fspath(path).lower().endswith(".png"):
        raise ConfigError(f"{path}: the image is written as PNG; name the output *.png")
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)):
            raise MediaError(f"{path}: could not write a PNG image")


def frame_rate(fps: float | Fraction) -> Fraction:
    """An exact rational rate for ``fps``; NTSC rates like 29.97 become 30000/1001."""
    if isinstance(fps, Fraction):
        return fps
    if fps <= 0 or not math.isfinite(fps):
        raise MediaError(f"invalid frame rate {fps!r} (expected a positive number)")
    ntsc = round(fps * 1.001)
    if abs(fps - ntsc / 1.001) < 1e-3 and abs(fps - round(fps)) > 1e-3:
        return Fraction(ntsc * 1000, 1001)
    return Fraction(fps).limit_denominator(1001)


def _aac_rate(rate: int) -> int:
    """The source rate when AAC supports it, else the next supported rate above it."""
    supported = (7350, 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)
    return rate if rate in supported else next((r for r in supported if r >= rate), 96000)


class _AudioFeed:
    """Planar float audio handed out in order, sample-exact, from a file (streamed) or an array."""

    def __init__(self, source: str | os.PathLike[str] | np.ndarray, rate: int) -> None:
        self._pending: list[np.ndarray] = []  # (channels, n) blocks not yet handed out
        self._pending_len = 0
        if isinstance(source, np.ndarray):
            samples = _finite(np.asarray(source, dtype=np.float32))
            samples = samples.reshape(1, -1) if samples.ndim == 1 else samples.T  # (n, ch) -> (ch, n)
            self.rate, self.channels = _aac_rate(rate), samples.shape[0]
            if self.rate != rate:
                raise MediaError(f"audio rate {rate} Hz is not encodable as AAC; resample it first")
            self._blocks: Iterator[np.ndarray] = iter([np.ascontiguousarray(samples)])
        else:
            self._blocks = self._decode(source)
            first = next(self._blocks, None)
            if first is None:
                raise MediaError(f"{source}: audio stream has no samples")
            self._pending, self._pending_len = [first], first.shape[1]

    def _decode(self, path: str | os.PathLike[str]) -> Iterator[np.ndarray]:
        with open_audio(path) as (container, stream):
            self.channels = 1 if stream.channels == 1 else 2
            self.rate = _aac_rate(stream.rate)
            layout = "mono" if self.channels == 1 else "stereo"
            for block in resampled_audio(container, stream, path, rate=self.rate, layout=layout, fmt="fltp"):
                yield _finite(block)

    def close(self) -> None:
        """Release the source file now (a generator would otherwise hold it until collected)."""
        close = getattr(self._blocks, "close", None)
        if close is not None:
            close()

    def take(self, n: int) -> np.ndarray:
        """Up to ``n`` further samples as (channels, m); fewer only when the source has ended."""
        while self._pending_len < n:
            block = next(self._blocks, None)
            if block is None:
                break
            self._pending.append(block)
            self._pending_len += block.shape[1]
        parts: list[np.ndarray] = []
        got = 0
        while self._pending and got < n:  # slice views: a long array source is never copied whole
            head = self._pending[0]
            part = head[:, : n - got]
            parts.append(part)
            got += part.shape[1]
            if part.shape[1] == head.shape[1]:
                self._pending.pop(0)
            else:
                self._pending[0] = head[:, part.shape[1] :]
        self._pending_len -= got
        if not parts:
            return np.zeros((self.channels, 0), np.float32)
        return np.ascontiguousarray(np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0], dtype=np.float32)


def _finite(samples: np.ndarray) -> np.ndarray:
    """Samples the AAC encoder accepts: NaN as silence, +-inf and overs clipped to full scale."""
    if np.isfinite(samples).all() and np.abs(samples).max(initial=0.0) <= 1.0:
        return samples
    return np.clip(np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)


# FFmpeg's AVColorPrimaries / AVColorTransferCharacteristic / AVColorSpace / AVColorRange codes
# (libavutil/pixfmt.h). PyAV's reformatter.Colorspace enum holds swscale's codes, not these.
_SMPTE170M = 6
_RANGE_LIMITED = 1


def _tag_bt601(codec_context: "VideoCodecContext") -> None:
    """Declare the BT.601 limited-range YUV that ``VideoWriter.write`` produces: players assume
    BT.709 for untagged HD video and would otherwise shift its colours."""
    codec_context.color_primaries = _SMPTE170M
    codec_context.color_trc = _SMPTE170M
    codec_context.colorspace = _SMPTE170M
    codec_context.color_range = _RANGE_LIMITED


class VideoWriter:
    """H.264 (yuv420p, BT.601 limited range, tagged as such) + AAC writer, streamed and atomic.

    The container follows the path's suffix (``outputs.VIDEO_CONTAINERS``: mp4, m4v, mov, mkv);
    any other suffix is refused rather than written as mp4 bytes under a misleading name.
    ``size`` is (width, height) of the frames to be written. yuv420p needs even sizes: an odd side
    is padded by one pixel replicating the last row / column (nothing of the input is cropped).
    ``audio`` is the path of any file with sound (encoded at its own sample rate) or a float32
    array of samples at ``audio_rate`` ((n,) mono or (n, channels)). Audio starts at time 0 (the
    AAC encoder's priming is declared in the mp4 edit list, which decoders honour), is written
    interleaved with the video as frames arrive, and is cut at the video's end.
    ``preset``: x264 speed preset ("veryfast" by default: fast on CPU; compression, not image
    quality, is what slower presets buy at the same crf). ``threads``: the encoder's (0: x264 picks,
    1.5 per core, plus its lookahead). Use as a context manager: the file only
    appears under ``path`` if the block finishes without an exception.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float | Fraction,
        size: tuple[int, int],
        *,
        audio: str | os.PathLike[str] | np.ndarray | None = None,
        audio_rate: int = 16000,
        preset: str = DEFAULT_PRESET,
        crf: int = DEFAULT_CRF,
        threads: int = 0,
    ) -> None:
        check_encoder_options(preset, crf)
        self.path = Path(path)
        self._format = VIDEO_CONTAINERS.get(self.path.suffix.lower())
        if self._format is None:
            raise ConfigError(f"{self.path}: cannot write {self.path.suffix or 'files without a suffix'}; "
                              f"use {', '.join(VIDEO_CONTAINERS)}")
        self.rate = frame_rate(fps)
        self.size = (int(size[0]), int(size[1]))
        self.frames_written = 0
        self._audio_spec = audio
        self._audio_rate = audio_rate
        self._preset, self._crf, self._threads = preset, crf, threads
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> "VideoWriter":
        import av

        width, height = self.size
        if width <= 0 or height <= 0:
            raise MediaError(f"{self.path}: invalid frame size {width}x{height}")
        try:
            self._feed = None if self._audio_spec is None else _AudioFeed(self._audio_spec, self._audio_rate)
            if self._feed is not None:
                self._stack.callback(self._feed.close)
            tmp = self._stack.enter_context(atomic_path(self.path))
            self._container = av.open(str(tmp), mode="w", format=self._format)
            self._stack.callback(self._container.close)
            video = self._container.add_stream("libx264", rate=self.rate)
            video.width, video.height = width + width % 2, height + height % 2
            video.pix_fmt = "yuv420p"
            video.codec_context.time_base = 1 / self.rate
            video.options = {"preset": self._preset, "crf": str(self._crf)}
            video.codec_context.thread_count = self._threads
            _tag_bt601(video.codec_context)
            self._video = video
            self._audio = None
            if self._feed is not None:
                self._audio = self._container.add_stream("aac", rate=self._feed.rate)
                self._audio.layout = "mono" if self._feed.channels == 1 else "stereo"
                self._audio.codec_context.time_base = Fraction(1, self._feed.rate)
                self._audio_samples = 0
        except BaseException:
            self._stack.close()
            raise
        return self

    def write(self, frame: np.ndarray) -> None:
        """Encode one uint8 (H, W, 3) RGB frame of the writer's size."""
        import av
        import cv2

        if frame.shape != (self.size[1], self.size[0], 3) or frame.dtype != np.uint8:
            raise ValueError(f"expected uint8 frame of shape {(self.size[1], self.size[0], 3)}, got {frame.dtype} {frame.shape}")
        pad_h, pad_w = self.size[1] % 2, self.size[0] % 2
        if pad_h or pad_w:
            frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        # OpenCV's BT.601 limited-range I420 conversion equals swscale's to +-1 level at 1/5 the cost.
        yuv = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YUV_I420)
        out = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        out.pts = self.frames_written
        out.time_base = self._video.codec_context.time_base
        self._container.mux(self._video.encode(out))
        self.frames_written += 1
        self._write_audio_until(self.frames_written)

    def write_batch(self, frames: Iterable[np.ndarray]) -> None:
        """Encode several frames (an (N, H, W, 3) array or any iterable of frames)."""
        for frame in frames:
            self.write(frame)

    def _write_audio_until(self, num_frames: int) -> None:
        """Encode audio up to the end time of video frame ``num_frames - 1``."""
        import av

        if self._audio is None:
            return
        target = int(round(num_frames * self._feed.rate / self.rate))
        while self._audio_samples < target:
            block = self._feed.take(min(target - self._audio_samples, 4096))
            if block.shape[1] == 0:
                return
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=self._audio.layout.name)
            frame.sample_rate = self._feed.rate
            frame.pts = self._audio_samples
            frame.time_base = Fraction(1, self._feed.rate)
            self._container.mux(self._audio.encode(frame))
            self._audio_samples += block.shape[1]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            try:
                self._flush()
            except BaseException as error:
                self._stack.__exit__(type(error), error, error.__traceback__)
                raise
        self._stack.__exit__(exc_type, exc, tb)

    def _flush(self) -> None:
        if self.frames_written == 0:
            raise MediaError(f"{self.path}: no frames were written")
        self._container.mux(self._video.encode(None))
        if self._audio is not None:
            self._container.mux(self._audio.encode(None))


def write_video(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    fps: float | Fraction,
    audio_samples: np.ndarray | None = None,
    audio_rate: int = 16000,
    *,
    preset: str = DEFAULT_PRESET,
    crf: int = DEFAULT_CRF,
) -> None:
    """Write uint8 RGB ``frames`` (all one size) as an H.264 mp4, with optional float32 audio."""
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise MediaError(f"{path}: no frames to write")
    size = (first.shape[1], first.shape[0])
    with VideoWriter(path, fps, size, audio=audio_samples, audio_rate=audio_rate, preset=preset, crf=crf) as writer:
        writer.write(first)
        writer.write_batch(iterator)
