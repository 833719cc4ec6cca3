"""Audio front end: load and resample any audio, the original mel spectrogram, per-frame mel windows.

The mel reproduces Wav2Lip's ``audio.py`` exactly as it ran at training time (librosa 0.7: STFT
padded by *reflection*), with numpy only, so no librosa version can change the features
(Wav2Lip's ``audio.py`` and ``hparams.py``). Windows for video frames work at any fps, with an explicit frame offset
because the original trains with -1 (``crop_audio_window`` in ``wav2lip_train.py``) and infers with
0 (``inference.py``).
"""

from __future__ import annotations

import math
import os
from functools import lru_cache

import numpy as np

from .errors import MediaError
from .integrity import check_audio_length, wav_declared_seconds
from .video import open_audio, resampled_audio

SAMPLE_RATE = 16000
N_MELS = 80
N_FFT = 800
HOP = 200
MEL_FPS = SAMPLE_RATE // HOP  # 80 mel frames per second
MEL_WINDOW = 16  # mel frames per video frame window (0.2 s)
FMIN, FMAX = 55.0, 7600.0
PREEMPHASIS = 0.97
MIN_LEVEL_DB, REF_LEVEL_DB, MAX_ABS = -100.0, 20.0, 4.0
SILENCE = -MAX_ABS  # the normalised mel value of digital silence (the clip floor)

SILENCE_FLOOR = -2.0  # normalised mel level of noise at about -60 dBFS: quieter is silence on any track
_MAX_PADDING = 2048  # samples (at 16 kHz) of codec end padding that load_audio trims
_STFT_CHUNK = 4096  # STFT frames per FFT call: bounds memory on long audio


def load_audio(path: str | os.PathLike[str], sr: int = SAMPLE_RATE) -> np.ndarray:
    """Decode the first audio stream of any file PyAV reads into float32 mono in [-1, 1] at ``sr``.

    Works on wav, mp3, m4a, flac, ogg and on a video's audio track. Raises MediaError for a missing
    file, a file without audio, corrupt data, a track with no samples, or one that ends well before
    its header says (truncated).
    """
    with open_audio(path) as (container, stream):
        declared = _declared_samples(stream, sr)
        chunks = [block.reshape(-1) for block in resampled_audio(container, stream, path, rate=sr, layout="mono", fmt="flt")]
    wav = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    del chunks  # long tracks: never more than two copies of the samples alive
    if declared is not None and 0 < wav.size - declared <= _MAX_PADDING * sr // SAMPLE_RATE:
        wav = wav[:declared]  # drop the encoder's end padding (AAC pads its last frame)
    if wav.size == 0:
        raise MediaError(f"{path}: audio stream has no samples")
    promised = wav_declared_seconds(path)
    if promised is None and declared is not None:
        promised = declared / sr
    check_audio_length(path, promised, wav.size / sr)
    wav = np.nan_to_num(wav.astype(np.float32, copy=False), copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(wav, -1.0, 1.0, out=wav)


def _declared_samples(stream, sr: int) -> int | None:
    """Samples at ``sr`` that the container says the track holds (None when it does not say)."""
    if stream.duration is None or stream.time_base is None:
        return None
    return int(round(float(stream.duration * stream.time_base) * sr))


def melspectrogram(wav: np.ndarray) -> np.ndarray:
    """The original normalised log-mel spectrogram, shape (80, 1 + len(wav) // 200), float32.

    Pre-emphasis 0.97, centred STFT (n_fft 800, hop 200, Hann, reflect padding), magnitude, Slaney
    mel 80 x 55-7600 Hz, 20*log10(max(1e-5, x)) - 20, symmetric normalisation clipped to [-4, 4].
    NaN / inf samples count as silence, so the output is always finite.
    """
    x = np.asarray(wav, dtype=np.float32).reshape(-1)
    if x.size == 0:
        raise MediaError("cannot compute a mel spectrogram of empty audio")
    # float32 throughout keeps a 10-minute track's working set near two copies of the samples
    padded = np.nan_to_num(np.pad(x, N_FFT // 2, mode="reflect"), copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    body = padded[N_FFT // 2 : N_FFT // 2 + x.size]
    for end in range(x.size, 1, -_STFT_CHUNK * HOP):  # == scipy.signal.lfilter([1, -0.97], [1], x), in place
        start = max(end - _STFT_CHUNK * HOP, 1)
        body[start:end] -= PREEMPHASIS * body[start - 1 : end - 1]
    _reflect_edges(padded, N_FFT // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    window = _hann(N_FFT)
    basis = _mel_basis()
    mel = np.empty((N_MELS, frames.shape[0]), np.float32)
    for start in range(0, frames.shape[0], _STFT_CHUNK):
        spectrum = np.abs(np.fft.rfft(frames[start : start + _STFT_CHUNK] * window, axis=1))
        mel[:, start : start + _STFT_CHUNK] = basis @ spectrum.T
    db = 20.0 * np.log10(np.maximum(1e-5, mel)) - REF_LEVEL_DB
    normalised = 2 * MAX_ABS * (db - MIN_LEVEL_DB) / -MIN_LEVEL_DB - MAX_ABS
    return np.clip(normalised, -MAX_ABS, MAX_ABS).astype(np.float32)


def _reflect_edges(padded: np.ndarray, pad: int) -> None:
    """Redo ``np.pad(..., mode="reflect")``'s edges in place after the body changed."""
    n = padded.size - 2 * pad
    if n > pad:
        padded[:pad] = padded[2 * pad : pad : -1]
        padded[pad + n :] = padded[pad + n - 2 : n - 2 : -1]
    else:  # shorter than the padding: numpy reflects repeatedly; redo it from the body
        padded[:] = np.pad(padded[pad : pad + n].copy(), pad, mode="reflect")


@lru_cache(maxsize=1)
def _hann(n: int) -> np.ndarray:
    """Periodic Hann window, as librosa's ``get_window('hann', n, fftbins=True)``."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's auditory-toolbox mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    logstep = math.log(6.4) / 27.0
    linear = hz / f_sp
    log = min_log_hz / f_sp + np.log(np.maximum(hz, min_log_hz) / min_log_hz) / logstep
    return np.where(hz >= min_log_hz, log, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    linear = f_sp * mel
    log = min_log_hz * np.exp(logstep * (np.maximum(mel, min_log_mel) - min_log_mel))
    return np.where(mel >= min_log_mel, log, linear)


@lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    """(80, 401) Slaney-normalised triangular filters, as ``librosa.filters.mel`` (fmin 55, fmax 7600)."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    mel_pts = np.linspace(_hz_to_mel(np.array(FMIN)), _hz_to_mel(np.array(FMAX)), N_MELS + 2)
    mel_f = _mel_to_hz(mel_pts)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return weights.astype(np.float32)


def num_output_frames(num_samples: int, fps: float, sr: int = SAMPLE_RATE) -> int:
    """Video frames needed to cover ``num_samples`` of audio at ``fps``: ceil(duration * fps).

    The output video is therefore never shorter than the audio, and longer by less than a frame.
    """
    if num_samples <= 0:
        return 0
    return max(1, math.ceil(num_samples * fps / sr - 1e-6))


def mel_window_starts(num_frames: int, fps: float, offset: int = 0) -> np.ndarray:
    """First mel column of each video frame's window: floor(80 * (i + offset) / fps), as int64.

    ``offset`` is in video frames: -1 reproduces training (the window for frame f starts at f - 1),
    0 reproduces the original inference. A tiny epsilon keeps float rounding (e.g. 5 * 3.2 =
    15.999...) from moving a window one column early. Starts may be negative or past the end of
    the mel; ``mel_windows`` defines what those windows contain.
    """
    frames = np.arange(num_frames, dtype=np.float64) + offset
    return np.floor(frames * (MEL_FPS / float(fps)) + 1e-6).astype(np.int64)


def mel_windows(mel: np.ndarray, num_frames: int, fps: float, offset: int = 0) -> np.ndarray:
    """(num_frames, 80, 16) float32 mel windows, one per video frame.

    Edge rules: columns before the start of the audio read as silence (-4, the value digital
    silence has), so a negative start is padded on the left; a window that would run past the end
    is moved back to the last 16 columns, as the original inference does. Audio shorter than 16
    columns is padded with silence on the right first.
    """
    return mel_windows_at(mel, mel_window_starts(num_frames, fps, offset))


def mel_windows_at(mel: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Windows at explicit ``starts`` with the edge rules of ``mel_windows`` (for streaming chunks)."""
    if mel.shape[1] < MEL_WINDOW:
        mel = np.pad(mel, ((0, 0), (0, MEL_WINDOW - mel.shape[1])), constant_values=SILENCE)
    lead = int(max(0, -starts.min(initial=0)))
    padded = np.pad(mel, ((0, 0), (lead, 0)), constant_values=SILENCE) if lead else mel
    last = padded.shape[1] - MEL_WINDOW
    idx = np.minimum(starts + lead, last)[:, None] + np.arange(MEL_WINDOW)[None, :]
    return np.ascontiguousarray(padded[:, idx].transpose(1, 0, 2), dtype=np.float32)


def silent_windows(mel: np.ndarray, starts: np.ndarray, silence_db: float) -> np.ndarray:
    """(len(starts),) bool: windows whose loudest column is ``silence_db`` below the track's loud parts.

    Loudness of a column is its loudest mel band (normalised: 8 units per 100 dB), so tones and
    broadband speech count alike; "loud" is the 95th percentile over the track. Below
    ``SILENCE_FLOOR`` a window is silent whatever the track: a silent track has no loud parts.
    """
    level = mel.max(axis=0)
    threshold = max(np.percentile(level, 95) - silence_db * 8.0 / 100.0, SILENCE_FLOOR)
    windows = mel_windows_at(level[None, :], starts)[:, 0, :]
    return windows.max(axis=1) < threshold
