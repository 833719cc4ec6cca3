"""What ``sync`` can be told (``SyncOptions``; CLI flags map one to one) and what it reports (``SyncReport``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..config import check_choices
from ..devices import check_device_name
from ..errors import ConfigError
from ..faces.factory import DetectorName
from ..looping import Loop
from ..precision import Precision
from ..video import DEFAULT_CRF, DEFAULT_PRESET, check_encoder_options
from .checks import check_box_order

MAX_FPS = 240.0  # --fps for a still: phones film slow motion at 240; more only multiplies frames

Reference = Literal["frame", "window", "neutral"]
Blend = Literal["feather", "none"]
OnMissingFace = Literal["pass", "error"]


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
    detector: DetectorName = "auto"
    detector_weights: str | None = None  # s3fd.pth for --detector s3fd
    detect_max_side: int = 480  # pass 1 decodes frames this size (longer side) for detection
    detect_every: int = 1  # detect every k-th frame, move faces between (faces.detect_frames)
    landmarks: bool = False  # blend mask follows the jaw line (mediapipe mesh), else an ellipse
    detection_cache: bool = True  # reuse pass 1 for the same video and settings
    on_missing_face: OnMissingFace = "pass"  # pass: frames without a face stay unchanged; error: fail
    loop: Loop = "pingpong"  # how a video shorter than the audio repeats
    reference: Reference = "frame"  # lip leakage control
    neutral_frame: int | None = None  # source frame for "neutral" (default: the first with a face)
    close_on_silence: bool = False  # silent windows: silence mel + neutral reference
    silence_db: float = 40.0  # a window is silent when it is this many dB below the loud parts
    blend: Blend = "feather"  # feather | none (the original's rectangle overwrite)
    feather: float = 0.1  # mask blur sigma as a fraction of the box's shorter side
    batch_size: int = 16
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps (attnwav2lip.devices)
    precision: Precision = "auto"  # attnwav2lip.precision; auto on cuda: float16 as before
    preset: str = DEFAULT_PRESET
    crf: int = DEFAULT_CRF
    overlap: bool = True  # decode, crop, blend and encode in threads beside the generator (lipsync.stages)
    progress: bool = True

    def __post_init__(self) -> None:
        check_choices(self)
        check_device_name(self.device)
        for name, ok, rule in (
            ("batch_size", self.batch_size >= 1, ">= 1"), ("resize_factor", self.resize_factor >= 1, ">= 1"),
            ("fps", 0 < self.fps <= MAX_FPS, f"> 0 and <= {MAX_FPS:g}"),
            ("detect_max_side", self.detect_max_side >= 32, ">= 32"),
            ("detect_every", self.detect_every >= 1, ">= 1"),
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
            check_box_order(self.box)

    @property
    def codec_threads(self) -> int:
        """Threads for the video decoder and for the encoder: with ``overlap`` each already runs in its own
        stage thread beside torch's, so one each (more would only compete with torch for the cores);
        without it, 0 (FFmpeg and x264 pick, as before)."""
        return 1 if self.overlap else 0


def options_from(**values: object) -> SyncOptions:
    """SyncOptions from keyword values, ignoring None (CLI flags left at their defaults)."""
    fields = {f.name for f in dataclasses.fields(SyncOptions)}
    return SyncOptions(**{k: v for k, v in values.items() if v is not None and k in fields})  # type: ignore[arg-type]


@dataclass(frozen=True)
class SyncReport:
    """What a ``sync`` run did, with wall and CPU milliseconds per output frame by stage.

    Stages: decode (both passes), detect, crop (crops, references, mel windows), generate (the
    model), blend, encode (video and audio, and the hook), and total (wall) / all (CPU) for the
    whole call. With ``overlap`` the stages run at the same time in several threads: each stage's
    wall time is its own thread's, and stage times add up to more than the total.
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
