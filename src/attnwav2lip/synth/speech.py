"""Speech with exact phoneme timings: espeak-ng (the espeakng-loader wheel) driven through ctypes.

espeak-ng keeps process-global state (one voice, one callback), so this module owns exactly one
engine per process, created on first use and guarded by a lock; the ctypes callback object is held
by that engine so it is never garbage collected while the library may call it.

espeak's output is not bit-identical between runs, so an `Utterance` is synthesised once and
stored (`save`/`load`); everything downstream reads the stored audio and timeline.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import threading
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DependencyError, MediaError
from ..fileio import atomic_path, write_text_atomic

SAMPLE_RATE = 16_000
ESPEAK_RATE = 22_050
SILENCE = "_"  # timeline symbol for a pause / silence

# English espeak-ng voices (language part) and the voice variants they are combined with.
LANGUAGES: tuple[str, ...] = (
    "en", "en-us", "en-us-nyc", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029",
)
VARIANTS: tuple[str, ...] = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "Andy", "Annie", "Alex", "Denis", "Gene", "Jacky", "Lee", "Michael", "Storm",
)
DEFAULT_VOICE = "en-us+m3"

# espeak-ng API constants (speak_lib.h)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_PHONEME_IPA = 0x0002
_INIT_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_END = 5
_EVENT_PHONEME = 7
_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE = 1, 3, 4


class _Event(ctypes.Structure):
    """espeak_EVENT (40 bytes on x86-64); the `id` union is read as its `char string[8]` member."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Phone:
    """One timeline entry: a phoneme (IPA, stress marks kept as espeak gives them) and its span in seconds."""

    phoneme: str
    start: float
    end: float


@dataclass(frozen=True)
class Utterance:
    """Synthesised speech: 16 kHz float32 mono (exactly representable as int16) and its phoneme timeline.

    The timeline is contiguous from 0 to the end of the audio; pauses are `SILENCE` entries.
    """

    audio: np.ndarray
    phones: tuple[Phone, ...]
    text: str
    voice: str
    rate: int = 175
    pitch: int = 50
    sample_rate: int = SAMPLE_RATE

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate

    def save(self, wav_path: str | Path, timeline_path: str | Path) -> None:
        """Write the audio (16-bit PCM wav) and the text, voice and timeline (JSON), each atomically."""
        pcm = np.round(self.audio * 32768.0).clip(-32768, 32767).astype("<i2")
        with atomic_path(wav_path) as tmp, wave.open(str(tmp), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self.sample_rate)
            out.writeframes(pcm.tobytes())
        meta = {
            "text": self.text, "voice": self.voice, "rate": self.rate, "pitch": self.pitch,
            "sample_rate": self.sample_rate, "samples": len(self.audio),
            "phones": [[p.phoneme, p.start, p.end] for p in self.phones],
        }
        write_text_atomic(timeline_path, json.dumps(meta, ensure_ascii=False, indent=1))

    @classmethod
    def load(cls, wav_path: str | Path, timeline_path: str | Path) -> "Utterance":
        """Read an utterance written by `save`."""
        try:
            meta = json.loads(Path(timeline_path).read_text(encoding="utf-8"))
            with wave.open(str(wav_path), "rb") as src:
                if src.getnchannels() != 1 or src.getsampwidth() != 2:
                    raise MediaError(f"{wav_path}: expected 16-bit mono PCM")
                pcm = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")
                rate = src.getframerate()
        except FileNotFoundError as exc:
            raise MediaError(f"utterance file not found: {exc.filename}") from None
        except (wave.Error, json.JSONDecodeError, EOFError) as exc:
            raise MediaError(f"{wav_path}: unreadable utterance ({exc})") from None
        phones = tuple(Phone(str(p), float(s), float(e)) for p, s, e in meta["phones"])
        return cls(pcm.astype(np.float32) / 32768.0, phones, meta["text"], meta["voice"],
                   int(meta["rate"]), int(meta["pitch"]), rate)


class _Espeak:
    """The one espeak-ng engine of this process (espeak itself is a process-wide singleton)."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError:
            raise DependencyError("speech synthesis needs espeakng-loader: pip install 'attnwav2lip[synth]'") from None
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.restype = ctypes.c_int
        options = _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA | _INIT_DONT_EXIT
        rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), options)
        if rate != ESPEAK_RATE:
            raise DependencyError(f"espeak-ng failed to initialise (returned {rate}, expected {ESPEAK_RATE})")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, str]] = []
        self._callback = _Callback(self._on_audio)  # referenced here so it outlives every call
        self.lib.espeak_SetSynthCallback(self._callback)

    def _on_audio(self, wav: ctypes._Pointer, n: int, events: ctypes._Pointer) -> int:
        if n > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            ev = events[i]
            name = ev.id.decode("utf-8", "replace") if ev.type == _EVENT_PHONEME else ""
            self._events.append((ev.type, ev.sample, ev.text_position, name))
            i += 1
        return 0

    def synthesise(self, text: str, voice: str, rate: int, pitch: int, pitch_range: int
                   ) -> tuple[np.ndarray, list[tuple[int, int, int, str]]]:
        """int16 PCM at 22,050 Hz and the raw events (type, sample, text position, phoneme)."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ConfigError(f"espeak-ng has no voice {voice!r} (expected e.g. {DEFAULT_VOICE!r}: language+variant)")
        for param, value in ((_PARAM_RATE, rate), (_PARAM_PITCH, pitch), (_PARAM_RANGE, pitch_range)):
            self.lib.espeak_SetParameter(param, int(value), 0)
        self._chunks, self._events = [], []
        data = text.encode("utf-8")
        self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return pcm, self._events


_LOCK = threading.Lock()
_ENGINE: list[_Espeak] = []  # at most one: created lazily, see the module docstring


def _synthesise(text: str, voice: str, rate: int, pitch: int, pitch_range: int
                ) -> tuple[np.ndarray, list[tuple[int, int, int, str]]]:
    with _LOCK:
        if not _ENGINE:
            _ENGINE.append(_Espeak())
        return _ENGINE[0].synthesise(text, voice, rate, pitch, pitch_range)


def speak(text: str, voice: str = DEFAULT_VOICE, *, rate: int = 175, pitch: int = 50, pitch_range: int = 50,
          lead_silence: float = 0.0, max_seconds: float | None = None, min_seconds: float = 0.0) -> Utterance:
    """Synthesise `text`; returns 16 kHz audio and its phoneme timeline.

    `lead_silence` seconds of silence are prepended. With `max_seconds`, the speech is cut at the
    last clause end (espeak END event) between `min_seconds` and `max_seconds`, else before the
    last word starting in that range, else at the latest clause end or word start before
    `max_seconds` (shorter than `min_seconds`: callers pad with silence). Only a first word longer
    than `max_seconds` goes over. The text is cut there too, so audio, text and timeline always
    agree.
    """
    if not text.strip():
        raise ConfigError("nothing to speak: the text is empty")
    if not any(ch.isalnum() for ch in text):
        raise ConfigError(f"nothing to speak: the text {text!r} has no words")
    pcm, events = _synthesise(text, voice, rate, pitch, pitch_range)
    scale = SAMPLE_RATE / ESPEAK_RATE
    end_sample, spoken = len(pcm), text
    if max_seconds is not None:
        limit = (max_seconds - lead_silence) * ESPEAK_RATE
        least = (min_seconds - lead_silence) * ESPEAK_RATE
        ends = [(s, pos) for kind, s, pos, _ in events if kind == _EVENT_END and s > 0]
        words = [(s, pos) for kind, s, pos, _ in events if kind == _EVENT_WORD][1:]  # a word's start ends the ones before

        def last(marks: list[tuple[int, int]], low: float) -> list[tuple[int, int]]:
            return [m for m in marks if low <= m[0] <= limit][-1:]

        cuts = last(ends, least) or last(words, least) or last(sorted(ends + words), 0)
        cut = cuts[0] if cuts else None
        if cut is not None and len(pcm) > limit:
            end_sample, position = cut
            spoken = text[: max(position - 1, 0)].strip()  # espeak positions are 1-based characters
    audio = _resample(pcm[:end_sample].astype(np.float32) / 32768.0)
    lead = int(round(lead_silence * SAMPLE_RATE))
    audio = np.concatenate([np.zeros(lead, np.float32), audio])
    # quantise now so that the in-memory utterance equals what `save` stores
    audio = np.round(audio * 32768.0).clip(-32768, 32767).astype(np.float32) / 32768.0
    starts = [(lead + s * scale, name) for kind, s, _, name in events if kind == _EVENT_PHONEME and s < end_sample]
    return Utterance(audio, _timeline(starts, len(audio)), spoken, voice, rate, pitch)


def pad_to(utt: Utterance, n_samples: int) -> Utterance:
    """`utt` with trailing silence up to `n_samples` (the timeline's final silence grows to match)."""
    extra = n_samples - len(utt.audio)
    if extra <= 0:
        return utt
    audio = np.concatenate([utt.audio, np.zeros(extra, np.float32)])
    phones = list(utt.phones)
    end = n_samples / utt.sample_rate
    if phones and phones[-1].phoneme == SILENCE:
        phones[-1] = Phone(SILENCE, phones[-1].start, end)
    else:
        phones.append(Phone(SILENCE, utt.duration, end))
    return dataclasses.replace(utt, audio=audio, phones=tuple(phones))


def _timeline(starts: list[tuple[float, str]], n_samples: int) -> tuple[Phone, ...]:
    """Contiguous phones from phoneme-start events (sample, name); empty names and gaps are silence."""
    marks = [(0.0, SILENCE)] + [(s, name or SILENCE) for s, name in starts] + [(float(n_samples), "")]
    phones: list[Phone] = []
    for (s0, name), (s1, _) in zip(marks, marks[1:]):
        if s1 <= s0:
            continue
        if phones and phones[-1].phoneme == name == SILENCE:
            phones[-1] = Phone(SILENCE, phones[-1].start, s1 / SAMPLE_RATE)
        else:
            phones.append(Phone(name, s0 / SAMPLE_RATE, s1 / SAMPLE_RATE))
    return tuple(phones)


def _resample(x: np.ndarray) -> np.ndarray:
    """22,050 Hz -> 16 kHz (polyphase, 320/441); sample i maps to i * 16000 / 22050."""
    from scipy.signal import resample_poly

    return resample_poly(x, 320, 441).astype(np.float32)
