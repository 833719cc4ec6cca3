"""Window sampling for both networks, on arrays, as the original's ``Dataset.__getitem__`` draws it
(``color_syncnet_train.py``, ``wav2lip_train.py``).

One implementation serves the lip-sync expert and the generator. A sample is a pure function of
(seed, epoch, index): its random generator is seeded from those three numbers, so a resumed run
redraws exactly the samples it would have drawn, in any worker process.

Rules (T = window length, 5; every mel crop is 16 columns, cut from the clip's cached mel):
- a clip is eligible when it has more than 3·T frames (the original's filter);
- a *window* at ``s`` is frames s..s+T-1, all present (detected) and inside the clip;
- expert: anchor ``s`` = a window whose mel crop at frame s is whole; a fair coin picks the
  positive (frames at s, label 1) or the negative (frames at another window start s' != s,
  label 0); the mel stays at s either way;
- generator: target ``s`` = a window whose per-frame mel crops (frame f starts at f + mel_offset,
  -1 in the original training) and whose expert mel crop (at s) are all whole; the reference is a
  window at another start s' != s of the same clip (it may overlap the target), or, with
  ``reference_gap``, a start within a range of distances from s; or, with ``reference:
  rendered``, the target's own frames rendered with another sentence's mouth (SynthTalk stores).
Clips whose windows never satisfy the rules are redrawn, as the original's rejection loop does.
With ``warmup_clips``, early epochs draw from the first eligible clips only, a pool that may
double in stages.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Callable, Literal, Protocol, Sequence

import numpy as np

from ..audio import MEL_WINDOW, mel_window_starts
from ..config import check_choices
from ..errors import ConfigError
from .store import DatasetError

MAX_DRAWS = 100  # clips tried before a draw gives up (only when almost no clip has a valid window)
ReferenceSource = Literal["window", "rendered"]


class ClipData(Protocol):
    """What the sampler needs from an opened clip (``StoredClip``, ``Wav2LipClip``)."""

    fps: float
    mel: np.ndarray  # (80, M) float32
    present: np.ndarray  # (N,) bool: frame i holds a face

    def window(self, start: int, length: int) -> np.ndarray:
        """uint8 (length, S, S, 3) RGB."""
        ...

    def rendered_window(self, start: int, length: int) -> np.ndarray:
        """Like ``window``, with another mouth rendered (or DatasetError where none exists)."""
        ...


class ClipSource(Protocol):
    """A list of clips (``ClipStore``, ``Wav2LipLayout``)."""

    def __len__(self) -> int: ...

    def num_frames(self, index: int) -> int: ...

    def open(self, index: int) -> ClipData: ...


@dataclasses.dataclass(frozen=True)
class WindowConfig:
    """Window geometry. ``mel_offset`` should come from ``GeneratorConfig.mel_offset``.

    ``reference``: "window" draws the generator's reference from the clip's other windows (the
    original); "rendered" uses the target's frames rendered with another sentence's mouth
    (``attnwav2lip synth-references``): the target's pose, a mouth unrelated to its audio.
    ``reference_gap`` (windows only): None draws from any other start of the clip (the
    original); ``(lo, hi)`` only from starts ``lo <= |s' - s| <= hi`` frames from the target's,
    so that the reference's pose is close to the target's while its mouth is another.

    ``warmup_clips`` > 0: the epochs before ``warmup_epochs`` draw only from the first
    ``warmup_clips`` eligible clips (not in the original); with ``warmup_stages`` = S > 1 the pool
    then doubles every ``warmup_epochs`` epochs, S times in all, before the whole split is drawn.
    A generator that sees few faces soon knows them, and what its L1 still misses is the mouth,
    which only the audio predicts; on the whole corpus the faces take all its early steps
    (docs/training_synthtalk.md).
    """

    window: int = 5
    mel_offset: int = -1
    reference: ReferenceSource = "window"
    reference_gap: tuple[int, int] | None = None
    warmup_clips: int = 0
    warmup_epochs: int = 0
    warmup_stages: int = 1

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ConfigError(f"window must be >= 1, got {self.window}")
        check_choices(self)
        if self.reference == "rendered" and self.reference_gap is not None:
            raise ConfigError("reference_gap applies to window references only, not to rendered ones")
        if self.warmup_clips < 0 or self.warmup_epochs < 0 or self.warmup_stages < 1:
            raise ConfigError(f"warmup_clips and warmup_epochs must be >= 0 and warmup_stages >= 1, got "
                             f"{self.warmup_clips}, {self.warmup_epochs}, {self.warmup_stages}")
        if bool(self.warmup_clips) != bool(self.warmup_epochs) or (self.warmup_stages > 1 and not self.warmup_clips):
            raise ConfigError(f"a warm-up needs warmup_clips and warmup_epochs both > 0 (warmup_stages with them), got "
                             f"{self.warmup_clips}, {self.warmup_epochs}, {self.warmup_stages}")
        if self.reference_gap is not None:
            lo, hi = self.reference_gap
            if not 1 <= lo <= hi:
                raise ConfigError(f"reference_gap must be [lo, hi] with 1 <= lo <= hi, got {list(self.reference_gap)}")


@dataclasses.dataclass(frozen=True)
class ExpertDraw:
    """An expert sample as arrays: frames uint8 (T, S, S, 3), mel (80, 16), label 1 (in sync) or 0."""

    frames: np.ndarray
    mel: np.ndarray
    label: int
    clip: int
    start: int
    frames_start: int


@dataclasses.dataclass(frozen=True)
class GeneratorDraw:
    """A generator sample as arrays: target and reference uint8 (T, S, S, 3), mel (80, 16), indiv_mels (T, 80, 16)."""

    target: np.ndarray
    reference: np.ndarray
    mel: np.ndarray
    indiv_mels: np.ndarray
    clip: int
    start: int
    reference_start: int


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of sample ``index`` of ``epoch``: independent of order, worker and process."""
    return np.random.default_rng([seed, epoch, index])


def window_starts(present: np.ndarray, length: int) -> np.ndarray:
    """Starts s with frames s..s+length-1 all present and inside the clip (gaps split windows)."""
    n = len(present) - length + 1
    if n <= 0:
        return np.zeros(0, np.int64)
    run = np.convolve(present.astype(np.int32), np.ones(length, np.int32), mode="valid")
    return np.flatnonzero(run == length).astype(np.int64)


def mel_ok(starts: np.ndarray, mel_len: int) -> np.ndarray:
    """Whether 16-column mel crops at ``starts`` lie wholly inside a mel of ``mel_len`` columns."""
    return (starts >= 0) & (starts + MEL_WINDOW <= mel_len)


def _crops(mel: np.ndarray, starts: np.ndarray) -> np.ndarray:
    idx = starts[:, None] + np.arange(MEL_WINDOW)[None, :]
    return np.ascontiguousarray(mel[:, idx].transpose(1, 0, 2))


class WindowSampler:
    """Draws expert and generator samples from a ``ClipSource``, deterministically per (seed, epoch, index)."""

    def __init__(self, source: ClipSource, config: WindowConfig = WindowConfig(), seed: int = 0) -> None:
        self.source = source
        self.config = config
        self.seed = seed
        self.eligible = np.array(
            [i for i in range(len(source)) if source.num_frames(i) > 3 * config.window], np.int64
        )
        if not len(self.eligible):
            raise DatasetError(f"no clip has more than {3 * config.window} frames (windows of {config.window})")

    def fingerprint(self) -> str:
        """Which clips the draws index into (eligible clip indices and their lengths): a store that
        grew or was rebuilt in another order between a run and its resume changes it."""
        lengths = [self.source.num_frames(int(i)) for i in self.eligible]
        return hashlib.sha1(np.array([self.eligible, lengths], np.int64).tobytes()).hexdigest()[:16]

    def expert(self, epoch: int, index: int) -> ExpertDraw:
        rng = sample_rng(self.seed, epoch, index)
        clip_index, clip, anchors, others = self._draw_clip(rng, self._expert_anchors, epoch)
        start = int(rng.choice(anchors))
        label = int(rng.random() < 0.5)
        frames_start = start if label else _other(rng, others, start)
        mel = _crops(clip.mel, mel_window_starts(1, clip.fps, start))[0]
        return ExpertDraw(clip.window(frames_start, self.config.window), mel, label, clip_index, start, frames_start)

    def generator(self, epoch: int, index: int) -> GeneratorDraw:
        rng = sample_rng(self.seed, epoch, index)
        clip_index, clip, targets, others = self._draw_clip(rng, self._generator_targets, epoch)
        start = int(rng.choice(targets))
        t = self.config.window
        if self.config.reference == "rendered":
            ref, reference = start, clip.rendered_window(start, t)
        else:
            ref = _other(rng, self._references(others, start), start)
            reference = clip.window(ref, t)
        indiv = _crops(clip.mel, mel_window_starts(t, clip.fps, start + self.config.mel_offset))
        mel = _crops(clip.mel, mel_window_starts(1, clip.fps, start))[0]
        return GeneratorDraw(clip.window(start, t), reference, mel, indiv, clip_index, start, ref)

    def _references(self, windows: np.ndarray, target: int) -> np.ndarray:
        """The starts a reference for ``target`` may take (``target`` itself is excluded by the draw)."""
        if self.config.reference_gap is None:
            return windows
        lo, hi = self.config.reference_gap
        gap = np.abs(windows - target)
        return windows[(gap >= lo) & (gap <= hi)]

    def _expert_anchors(self, clip: ClipData, windows: np.ndarray) -> np.ndarray:
        mel_starts = mel_window_starts(len(clip.present), clip.fps)
        return windows[mel_ok(mel_starts[windows], clip.mel.shape[1])]

    def _generator_targets(self, clip: ClipData, windows: np.ndarray) -> np.ndarray:
        t, n, m = self.config.window, len(clip.present), clip.mel.shape[1]
        per_frame = mel_window_starts(n, clip.fps, self.config.mel_offset)
        ok = mel_ok(per_frame[windows], m) & mel_ok(per_frame[windows + t - 1], m)  # starts increase with f
        ok &= mel_ok(mel_window_starts(n, clip.fps)[windows], m)
        if self.config.reference_gap is not None:  # keep targets with a reference in range
            lo, hi = self.config.reference_gap
            after = np.searchsorted(windows, windows + hi, "right") - np.searchsorted(windows, windows + lo)
            before = np.searchsorted(windows, windows - lo, "right") - np.searchsorted(windows, windows - hi)
            ok &= (after + before) > 0
        return windows[ok]

    def clips(self, epoch: int) -> np.ndarray:
        """The eligible clips that ``epoch`` draws from: during the warm-up, the first ``warmup_clips``
        doubled once per completed stage."""
        config = self.config
        if not (config.warmup_clips and config.warmup_epochs):
            return self.eligible
        stage = epoch // config.warmup_epochs
        return self.eligible[: config.warmup_clips << stage] if stage < config.warmup_stages else self.eligible

    def _draw_clip(
        self, rng: np.random.Generator, anchors_of: Callable[[ClipData, np.ndarray], np.ndarray], epoch: int
    ) -> tuple[int, ClipData, np.ndarray, np.ndarray]:
        """A uniformly drawn clip of ``epoch`` with at least one anchor and one other window (redraws otherwise)."""
        pool = self.clips(epoch)
        for _ in range(MAX_DRAWS):
            index = int(rng.choice(pool))
            clip = self.source.open(index)
            windows = window_starts(clip.present, self.config.window)
            anchors = anchors_of(clip, windows)
            if len(anchors) and len(windows) >= 2:
                return index, clip, anchors, windows
        raise DatasetError(f"no valid window found in {MAX_DRAWS} clips: is the audio shorter than the video?")


def _other(rng: np.random.Generator, starts: Sequence[int], avoid: int) -> int:
    """A uniformly drawn start different from ``avoid`` (``starts`` holds at least two values)."""
    starts = np.asarray(starts)
    return int(rng.choice(starts[starts != avoid]))
