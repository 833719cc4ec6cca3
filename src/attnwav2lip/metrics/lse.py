"""LSE-D and LSE-C, computed exactly as syncnet_python's ``SyncNetInstance.evaluate`` does.

One video is scored in five steps (syncnet_python's ``SyncNetInstance.evaluate``):

1. MFCC of the raw int16 samples with ``python_speech_features.mfcc`` defaults (100 per second).
2. ``min_length = min(frames, floor(samples / 640))`` and ``lastframe = min_length - 5``: the
   original's off-by-one (the last usable window is never scored) is kept on purpose.
3. For each window start v in [0, lastframe): frames v..v+4 (raw 0-255, 224x224) and MFCC
   columns [4v, 4v+20) go through the evaluation SyncNet, in batches.
4. Distances from every video window to the audio windows at offsets -vshift..+vshift, with the
   audio sequence zero-padded at both ends (``calc_pdist``), averaged over windows: the curve.
5. LSE-D = the curve's minimum, LSE-C = median(curve) - minimum, offset = vshift - argmin.

The loops of the original are vectorised here; tests compare against a literal transcription.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..errors import MediaError
from ..eval_mode import eval_mode
from .jpeg import jpeg_roundtrip as roundtrip

if TYPE_CHECKING:
    import torch

SAMPLE_RATE = 16000
FPS = 25
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS  # 640: the scorer assumes 25 fps video and 16 kHz audio
MFCC_PER_FRAME = 4  # MFCC frames are 10 ms apart
WINDOW_FRAMES = 5
WINDOW_MFCC = 20
INPUT_SIZE = 224


class SyncEvaluator(Protocol):
    """What the scorer needs from an evaluation SyncNet (``attnwav2lip.models.SyncNetEvaluator``)."""

    def forward_video(self, x: "torch.Tensor") -> "torch.Tensor":
        """(N, 3, 5, 224, 224) raw 0-255 RGB -> (N, D) embeddings."""
        ...

    def forward_audio(self, mfcc: "torch.Tensor") -> "torch.Tensor":
        """(N, 1, 13, 20) MFCC -> (N, D) embeddings."""
        ...


@dataclass(frozen=True)
class SyncScores:
    """One video's scores. ``curve[k]`` is the mean distance at offset ``vshift - k``."""

    lse_d: float
    lse_c: float
    offset: int
    curve: tuple[float, ...]
    num_windows: int


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """Mono audio as the int16 samples the original reads from its s16 WAV.

    Float input in [-1, 1] is converted the way ffmpeg converts float to s16 (x * 32768, rounded
    to nearest, clipped), so a float track gives the same MFCC as the WAV ffmpeg would write.
    """
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise ValueError(f"expected mono audio (samples,), got shape {audio.shape}")
    if audio.dtype == np.int16:
        return audio
    if not np.issubdtype(audio.dtype, np.floating):
        raise ValueError(f"expected int16 or float audio, got {audio.dtype}")
    scaled = np.rint(audio.astype(np.float32) * np.float32(32768.0))
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def mfcc_matrix(pcm: np.ndarray) -> np.ndarray:
    """The original's MFCC matrix, (13, T) float32 at 100 frames per second."""
    import python_speech_features

    return np.ascontiguousarray(python_speech_features.mfcc(pcm, SAMPLE_RATE).T.astype(np.float32))


def count_windows(num_frames: int, num_samples: int) -> int:
    """Number of scored windows, ``min(frames, samples // 640) - 5``; raises if there are none."""
    windows = min(num_frames, num_samples // SAMPLES_PER_FRAME) - WINDOW_FRAMES
    if windows < 1:
        raise MediaError(
            f"too short to score: {num_frames} frames and {num_samples / SAMPLE_RATE:.3f} s of audio; "
            f"LSE needs at least {WINDOW_FRAMES + 1} frames (0.24 s at 25 fps) of both"
        )
    return windows


def offset_distances(video_feat: "torch.Tensor", audio_feat: "torch.Tensor", vshift: int) -> "torch.Tensor":
    """(N, 2*vshift+1) distances from video window i to audio windows i-vshift..i+vshift.

    Audio windows beyond either end are zero vectors, as in the original's ``calc_pdist``.
    """
    import torch.nn.functional as F

    span = 2 * vshift + 1
    padded = F.pad(audio_feat, (0, 0, vshift, vshift))
    candidates = padded.unfold(0, span, 1).transpose(1, 2)  # (N, span, D)
    return F.pairwise_distance(video_feat.unsqueeze(1), candidates)


def scores_from_embeddings(video_feat: "torch.Tensor", audio_feat: "torch.Tensor", vshift: int = 15) -> SyncScores:
    """LSE-D, LSE-C and offset from per-window embeddings (N, D) of both streams."""
    import torch

    if video_feat.shape != audio_feat.shape or video_feat.ndim != 2:
        raise ValueError(f"embedding shapes differ or are not (N, D): {tuple(video_feat.shape)}, {tuple(audio_feat.shape)}")
    curve = offset_distances(video_feat.float(), audio_feat.float(), vshift).mean(0)
    minval, minidx = torch.min(curve, 0)
    conf = torch.median(curve) - minval
    return SyncScores(
        lse_d=float(minval),
        lse_c=float(conf),
        offset=vshift - int(minidx),
        curve=tuple(float(d) for d in curve),
        num_windows=int(video_feat.shape[0]),
    )


def lse_scores(
    frames: np.ndarray,
    audio: np.ndarray,
    evaluator: SyncEvaluator,
    vshift: int = 15,
    batch_size: int = 20,
    jpeg_roundtrip: bool = False,
) -> SyncScores:
    """Score one 25 fps video against its 16 kHz audio with the evaluation SyncNet.

    Args:
        frames: RGB uint8 (N, H, W, 3); frames that are not 224x224 are resized like the
            Wav2Lip scorer does (``cv2.resize``, bilinear), after the optional JPEG round trip.
        audio: 16 kHz mono, int16 or float in [-1, 1].
        evaluator: an object with ``forward_video`` / ``forward_audio`` (RGB input); a torch
            module is put in eval mode, as the original does.
        vshift: offsets searched on each side (15 in every published protocol).
        batch_size: windows per forward pass (does not change the result).
        jpeg_roundtrip: pass frames through ffmpeg's default JPEG first, as the published
            numbers did (see ``attnwav2lip.metrics.jpeg``).
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected RGB uint8 frames (N, H, W, 3), got {frames.dtype} {frames.shape}")
    pcm = to_pcm16(audio)
    num_windows = count_windows(len(frames), len(pcm))
    if jpeg_roundtrip:
        frames = roundtrip(frames)
    video_feat, audio_feat = embed_windows(frames, mfcc_matrix(pcm), evaluator, num_windows, batch_size)
    return scores_from_embeddings(video_feat, audio_feat, vshift)


def embed_windows(
    frames: np.ndarray, mfcc: np.ndarray, evaluator: SyncEvaluator, num_windows: int, batch_size: int
) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Embeddings of the first ``num_windows`` video and audio windows, computed batch by batch.

    Frames are resized and converted per batch so a long video never exists as one float tensor.
    A torch evaluator runs in eval mode and is handed back in the mode it came in.
    """
    import torch

    device = _device_of(evaluator)
    cct = torch.from_numpy(mfcc)
    video_out, audio_out = [], []
    with torch.inference_mode(), eval_mode(evaluator):
        for start in range(0, num_windows, batch_size):
            stop = min(num_windows, start + batch_size)
            clip = torch.from_numpy(_resized(frames[start : stop + WINDOW_FRAMES - 1])).permute(3, 0, 1, 2).float()
            video = torch.stack([clip[:, v : v + WINDOW_FRAMES] for v in range(stop - start)])
            audio = torch.stack(
                [cct[:, MFCC_PER_FRAME * v : MFCC_PER_FRAME * v + WINDOW_MFCC] for v in range(start, stop)]
            ).unsqueeze(1)
            video_out.append(evaluator.forward_video(video.to(device)).float().cpu())
            audio_out.append(evaluator.forward_audio(audio.to(device)).float().cpu())
    return torch.cat(video_out), torch.cat(audio_out)


def resize_frame(frame: np.ndarray) -> np.ndarray:
    """A frame at the evaluator's 224x224, resized as the Wav2Lip scorer does (cv2, bilinear)."""
    if frame.shape[:2] == (INPUT_SIZE, INPUT_SIZE):
        return frame
    import cv2

    return cv2.resize(frame, (INPUT_SIZE, INPUT_SIZE))


def _resized(frames: np.ndarray) -> np.ndarray:
    if frames.shape[1:3] == (INPUT_SIZE, INPUT_SIZE):
        return frames
    return np.stack([resize_frame(frame) for frame in frames])


def _device_of(evaluator: SyncEvaluator) -> "torch.device":
    import torch

    parameters = getattr(evaluator, "parameters", None)
    if parameters is not None:
        for parameter in parameters():
            return parameter.device
    return torch.device("cpu")
