"""Audio front end: mel against a librosa reference, window timing, loading any format."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from attnwav2lip import audio
from attnwav2lip.errors import MediaError

SR = audio.SAMPLE_RATE


def _reference_mel(wav: np.ndarray) -> np.ndarray:
    """The original front end as it ran with librosa 0.7 (reflect padding), on today's librosa."""
    import librosa
    import scipy.signal

    y = scipy.signal.lfilter([1, -0.97], [1], wav)
    spec = np.abs(librosa.stft(y, n_fft=800, hop_length=200, win_length=800, pad_mode="reflect"))
    basis = librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600)
    db = 20 * np.log10(np.maximum(1e-5, basis @ spec)) - 20
    return np.clip(8 * ((db + 100) / 100) - 4, -4, 4)


def _chirp_noise(seconds: float = 3.0) -> np.ndarray:
    import scipy.signal

    t = np.arange(int(SR * seconds)) / SR
    noise = 0.05 * np.random.default_rng(1).standard_normal(t.size)
    return (0.5 * scipy.signal.chirp(t, 100, seconds, 6000) + noise).astype(np.float32)


@pytest.mark.slow
def test_mel_matches_reference() -> None:
    wav = _chirp_noise()
    mel = audio.melspectrogram(wav)
    assert mel.shape == (80, 1 + wav.size // 200) and mel.dtype == np.float32
    np.testing.assert_allclose(mel, _reference_mel(wav), atol=1e-3)
    assert mel.min() >= -4 and mel.max() <= 4 and mel.max() > 0


def test_mel_timing_follows_the_audio() -> None:
    """A tone switched on at 1.0 s lights up mel column 80 (80 columns per second)."""
    wav = np.zeros(SR * 2, np.float32)
    wav[SR:] = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(SR) / SR)
    energy = audio.melspectrogram(wav).mean(axis=0)
    onset = int(np.argmax(energy > -3.0))
    assert abs(onset - 80) <= 2


def test_mel_silence_nan_and_short_input() -> None:
    assert np.all(audio.melspectrogram(np.zeros(1600, np.float32)) == audio.SILENCE)
    bad = np.full(800, np.nan, np.float32)
    bad[::2] = np.inf
    assert np.isfinite(audio.melspectrogram(bad)).all()
    assert audio.melspectrogram(np.ones(10, np.float32)).shape == (80, 1)
    with pytest.raises(MediaError):
        audio.melspectrogram(np.zeros(0, np.float32))


@pytest.mark.parametrize("fps", [25.0, 30.0, 30000 / 1001])
@pytest.mark.parametrize("offset", [0, -1, 2])
def test_window_starts_exact(fps: float, offset: int) -> None:
    starts = audio.mel_window_starts(500, fps, offset)
    rate = Fraction(fps).limit_denominator(1001)
    expected = [((i + offset) * 80 * rate.denominator) // rate.numerator for i in range(500)]
    assert starts.tolist() == expected


def test_window_starts_25fps_match_original() -> None:
    """The original inference: int(i * 3.2); training uses int(80 * (i - 1) / 25) for i >= 1."""
    assert audio.mel_window_starts(6, 25).tolist() == [0, 3, 6, 9, 12, 16]
    assert audio.mel_window_starts(4, 25, offset=-1).tolist() == [-4, 0, 3, 6]


def test_mel_windows_edges() -> None:
    mel = np.tile(np.arange(40, dtype=np.float32), (80, 1))  # column j holds value j
    windows = audio.mel_windows(mel, num_frames=15, fps=25, offset=-1)
    assert windows.shape == (15, 80, 16)
    assert windows[0, 0, :4].tolist() == [audio.SILENCE] * 4  # before the audio: silence
    assert windows[0, 0, 4:].tolist() == list(range(12))
    assert windows[1, 0].tolist() == list(range(16))
    assert windows[-1, 0].tolist() == list(range(24, 40))  # overrun: the last 16 columns
    tiny = audio.mel_windows(mel[:, :5], num_frames=2, fps=25)
    assert tiny[0, 0].tolist() == list(range(5)) + [audio.SILENCE] * 11


def test_num_output_frames() -> None:
    assert audio.num_output_frames(SR * 2, 25) == 50
    assert audio.num_output_frames(SR * 2 + 1, 25) == 51
    assert audio.num_output_frames(SR, 30000 / 1001) == 30
    assert audio.num_output_frames(0, 25) == 0


def _write_tone(path: Path, codec: str, rate: int, seconds: float = 1.0, freq: float = 440.0, layout: str = "mono") -> None:
    import av

    t = np.arange(int(rate * seconds)) / rate
    tone = (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    channels = 1 if layout == "mono" else 2
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = layout
        fmt = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate, frame_size=stream.codec_context.frame_size or None)
        frame = av.AudioFrame.from_ndarray(np.tile(tone, (channels, 1)), format="fltp", layout=layout)
        frame.sample_rate = rate
        for chunk in resampler.resample(frame) + resampler.resample(None):
            container.mux(stream.encode(chunk))
        container.mux(stream.encode(None))


def _peak_hz(wav: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(wav * np.hanning(wav.size)))
    return float(np.argmax(spectrum) * SR / wav.size)


@pytest.mark.parametrize(
    ("name", "codec", "rate"),
    [("a.wav", "pcm_s16le", 44100), ("a.mp3", "libmp3lame", 44100), ("a.m4a", "aac", 48000),
     ("a.flac", "flac", 22050), ("a.ogg", "libopus", 48000)],
)
def test_load_audio_formats_keep_frequency(tmp_path: Path, name: str, codec: str, rate: int) -> None:
    path = tmp_path / name
    _write_tone(path, codec, rate, layout="stereo" if codec == "aac" else "mono")
    wav = audio.load_audio(path)
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert abs(wav.size - SR) < 0.06 * SR
    assert np.abs(wav).max() <= 1.0
    assert abs(_peak_hz(wav) - 440) < 3


def test_load_audio_of_a_video_track(tmp_path: Path) -> None:
    from attnwav2lip.video import write_video

    t = np.arange(SR) / SR
    tone = (0.3 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    write_video(tmp_path / "v.mp4", [np.zeros((32, 32, 3), np.uint8)] * 25, 25, tone, SR)
    wav = audio.load_audio(tmp_path / "v.mp4")
    assert wav.size == SR  # AAC end padding trimmed to the declared duration
    assert abs(_peak_hz(wav) - 1000) < 3
    lags = range(-4, 5)
    best = max(lags, key=lambda k: float(np.dot(wav[200 + k : -200 + k], tone[200:-200])))
    assert best == 0  # the first sample sits at time 0


def test_load_audio_errors(tmp_path: Path) -> None:
    from attnwav2lip.video import write_video

    with pytest.raises(MediaError, match="not found"):
        audio.load_audio(tmp_path / "missing.wav")
    with pytest.raises(MediaError, match="is a folder"):
        audio.load_audio(tmp_path)
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(MediaError):
        audio.load_audio(corrupt)
    write_video(tmp_path / "silent.mp4", [np.zeros((16, 16, 3), np.uint8)] * 3, 25)
    with pytest.raises(MediaError, match="no audio stream"):
        audio.load_audio(tmp_path / "silent.mp4")
    import wave

    with wave.open(str(tmp_path / "empty.wav"), "wb") as empty:
        empty.setnchannels(1)
        empty.setsampwidth(2)
        empty.setframerate(16000)
    with pytest.raises(MediaError, match="no samples"):
        audio.load_audio(tmp_path / "empty.wav")
