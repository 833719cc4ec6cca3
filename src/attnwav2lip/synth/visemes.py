"""Phonemes to mouth shapes: the viseme table and smooth, coarticulated mouth trajectories.

espeak-ng (IPA mode) names a phoneme with one or more symbols plus stress and length marks
("ˈaɪə", "t̪", "ɔːɹ"). `segments` strips the marks and splits the rest, longest match first, into
symbols of `VISEMES`; a symbol missing from the table is an error, never a silent fallback.
A multi-symbol phoneme (a diphthong, "əl") moves through its symbols' shapes in turn.

Trajectories: each segment holds its target over its span; each parameter is smoothed with its
own Gaussian (rounding anticipates most, lip closure least), and then the segments that must be
exact are enforced over their core: p/b/m close and press the lips, f/v tuck the lower lip, and
silence returns the mouth to rest.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ..errors import AttnWav2LipError
from .mouth import LIP_TEETH, MOUTH_PARAMS, OPEN, PRESS, REST
from .speech import SILENCE, Phone

# symbol: (open, width, round, teeth, press, lip_teeth)
VISEMES: dict[str, tuple[float, float, float, float, float, float]] = {
    SILENCE: (0.0, 0.0, 0.0, 0.0, 0.0, 0.0),   # rest: lips closed and relaxed
    # lips pressed together
    "p": (0.0, 0.0, 0.0, 0.0, 1.0, 0.0), "b": (0.0, 0.0, 0.0, 0.0, 1.0, 0.0), "m": (0.0, 0.0, 0.0, 0.0, 1.0, 0.0),
    # lower lip to upper teeth
    "f": (0.06, 0.0, 0.0, 0.7, 0.0, 1.0), "v": (0.06, 0.0, 0.0, 0.7, 0.0, 1.0),
    # tongue tip at the teeth: narrow opening, teeth visible
    "θ": (0.16, 0.1, 0.0, 0.9, 0.0, 0.0), "ð": (0.16, 0.1, 0.0, 0.9, 0.0, 0.0),
    # alveolar
    "t": (0.16, 0.15, 0.0, 0.7, 0.0, 0.0), "d": (0.16, 0.15, 0.0, 0.7, 0.0, 0.0),
    "n": (0.14, 0.1, 0.0, 0.6, 0.0, 0.0), "ɾ": (0.18, 0.1, 0.0, 0.6, 0.0, 0.0),
    "s": (0.08, 0.4, 0.0, 1.0, 0.0, 0.0), "z": (0.08, 0.4, 0.0, 1.0, 0.0, 0.0),
    "l": (0.3, 0.05, 0.0, 0.5, 0.0, 0.0), "ɫ": (0.28, 0.0, 0.1, 0.4, 0.0, 0.0),
    # r-sounds: slightly rounded
    "ɹ": (0.18, -0.25, 0.55, 0.3, 0.0, 0.0), "r": (0.2, -0.2, 0.45, 0.3, 0.0, 0.0),
    # post-alveolar: protruded, teeth close
    "ʃ": (0.14, -0.3, 0.75, 0.9, 0.0, 0.0), "ʒ": (0.14, -0.3, 0.75, 0.9, 0.0, 0.0),
    "tʃ": (0.14, -0.3, 0.75, 0.9, 0.0, 0.0), "dʒ": (0.14, -0.3, 0.75, 0.9, 0.0, 0.0),
    # velar, glottal
    "k": (0.26, 0.05, 0.0, 0.4, 0.0, 0.0), "ɡ": (0.26, 0.05, 0.0, 0.4, 0.0, 0.0), "g": (0.26, 0.05, 0.0, 0.4, 0.0, 0.0),
    "ŋ": (0.22, 0.05, 0.0, 0.4, 0.0, 0.0), "x": (0.28, 0.0, 0.0, 0.4, 0.0, 0.0),
    "h": (0.32, 0.0, 0.0, 0.3, 0.0, 0.0), "ʔ": (0.08, 0.0, 0.0, 0.2, 0.0, 0.0),
    # approximants
    "w": (0.1, -0.7, 1.0, 0.0, 0.0, 0.0), "ʍ": (0.1, -0.7, 1.0, 0.0, 0.0, 0.0),
    "j": (0.16, 0.5, 0.0, 0.6, 0.0, 0.0), "ʲ": (0.16, 0.5, 0.0, 0.6, 0.0, 0.0),  # palatal glide / palatalisation
    # front vowels: spread
    "i": (0.2, 0.9, 0.0, 0.8, 0.0, 0.0), "ɪ": (0.28, 0.6, 0.0, 0.7, 0.0, 0.0),
    "e": (0.36, 0.6, 0.0, 0.7, 0.0, 0.0), "ɛ": (0.45, 0.45, 0.0, 0.6, 0.0, 0.0),
    "æ": (0.6, 0.5, 0.0, 0.6, 0.0, 0.0), "a": (0.7, 0.25, 0.0, 0.5, 0.0, 0.0),
    # central vowels: neutral
    "ə": (0.34, 0.0, 0.0, 0.4, 0.0, 0.0), "ᵻ": (0.26, 0.3, 0.0, 0.6, 0.0, 0.0), "ɐ": (0.46, 0.05, 0.0, 0.4, 0.0, 0.0),
    "ʌ": (0.5, 0.1, 0.0, 0.4, 0.0, 0.0), "ɜ": (0.36, 0.1, 0.15, 0.4, 0.0, 0.0),
    "ɚ": (0.3, -0.15, 0.45, 0.4, 0.0, 0.0), "ʉ": (0.22, -0.4, 0.8, 0.2, 0.0, 0.0),
    # back vowels: open or rounded
    "ɑ": (0.78, 0.0, 0.05, 0.4, 0.0, 0.0), "ɒ": (0.62, -0.2, 0.45, 0.3, 0.0, 0.0),
    "ɔ": (0.5, -0.4, 0.7, 0.3, 0.0, 0.0), "o": (0.38, -0.5, 0.85, 0.2, 0.0, 0.0),
    "ʊ": (0.28, -0.5, 0.75, 0.2, 0.0, 0.0), "u": (0.2, -0.7, 1.0, 0.1, 0.0, 0.0),
}

# marks that change timing or stress but not the mouth shape
_MARKS = set("ˈˌːˑ:'-")
# per-parameter smoothing (seconds, Gaussian sigma): rounding anticipates, closures stay sharp
_SIGMA = np.array([0.025, 0.035, 0.05, 0.025, 0.012, 0.015])
_GRID = 1000.0  # internal sampling rate of trajectories (Hz)
_LONGEST = max(len(k) for k in VISEMES)


class UnknownPhonemeError(AttnWav2LipError):
    """A phoneme contains a symbol the viseme table has no entry for (a gap in the table: a bug).

    An ``AttnWav2LipError``, so the CLI reports it in one line (a ``KeyError`` would print quoted)."""


def segments(phoneme: str) -> list[str]:
    """The table symbols of one espeak phoneme: marks and diacritics dropped, longest match first."""
    if phoneme == SILENCE:
        return [SILENCE]
    base = "".join(ch for ch in unicodedata.normalize("NFD", phoneme)
                   if ch not in _MARKS and not unicodedata.combining(ch))
    out: list[str] = []
    i = 0
    while i < len(base):
        for n in range(min(_LONGEST, len(base) - i), 0, -1):
            if base[i:i + n] in VISEMES:
                out.append(base[i:i + n])
                i += n
                break
        else:
            raise UnknownPhonemeError(f"no viseme for symbol {base[i]!r} in phoneme {phoneme!r}")
    if not out:
        raise UnknownPhonemeError(f"phoneme {phoneme!r} has no symbols")
    return out


@dataclass(frozen=True)
class Segment:
    """One mouth target held over [start, end) seconds."""

    symbol: str
    start: float
    end: float


def split(phones: Iterable[Phone]) -> list[Segment]:
    """Phones as viseme segments; a k-symbol phoneme splits its span evenly between its symbols."""
    out: list[Segment] = []
    for ph in phones:
        syms = segments(ph.phoneme)
        edges = np.linspace(ph.start, ph.end, len(syms) + 1)
        out.extend(Segment(s, float(t0), float(t1)) for s, t0, t1 in zip(syms, edges, edges[1:]))
    return out


def _core(seg: Segment, t: np.ndarray, fraction: float = 0.6, ramp: float = 0.015) -> np.ndarray:
    """Weight 1 over the central `fraction` of the segment, ramping to 0 over `ramp` seconds outside it."""
    mid, half = (seg.start + seg.end) / 2, (seg.end - seg.start) * fraction / 2
    return np.clip(1 - (np.abs(t - mid) - half) / ramp, 0, 1)


def trajectory(phones: Sequence[Phone], times: np.ndarray) -> np.ndarray:
    """Mouth parameters (len(times), 6) at `times` (seconds) for a phoneme timeline."""
    from scipy.ndimage import gaussian_filter1d

    segs = split(phones)
    times = np.asarray(times, dtype=np.float64)
    end = max(segs[-1].end if segs else 0.0, float(times.max(initial=0.0))) + 0.2
    grid = np.arange(0.0, end, 1.0 / _GRID)
    held = np.tile(REST, (len(grid), 1)).astype(np.float64)
    for seg in segs:
        held[(grid >= seg.start) & (grid < seg.end)] = VISEMES[seg.symbol]
    smooth = np.stack([gaussian_filter1d(held[:, k], _SIGMA[k] * _GRID, mode="nearest")
                       for k in range(len(MOUTH_PARAMS))], axis=1)
    for seg in segs:
        target = np.asarray(VISEMES[seg.symbol])
        if target[PRESS] == 1.0 or target[LIP_TEETH] == 1.0:
            w = _core(seg, grid)
        elif seg.symbol == SILENCE and seg.end - seg.start > 0.12:
            w = _core(seg, grid, fraction=max(0.0, 1 - 0.12 / (seg.end - seg.start)))
        else:
            continue
        smooth += w[:, None] * (target - smooth)
    out = np.stack([np.interp(times, grid, smooth[:, k]) for k in range(len(MOUTH_PARAMS))], axis=1)
    out[:, OPEN] = np.clip(out[:, OPEN], 0, 1)
    return out.astype(np.float32)


def mouth_track(phones: Sequence[Phone], fps: float, n_frames: int) -> np.ndarray:
    """(n_frames, 6) mouth parameters, frame i sampled at its presentation time i / fps."""
    return trajectory(phones, np.arange(n_frames) / float(fps))


def frame_phonemes(phones: Sequence[Phone], fps: float, n_frames: int) -> list[str]:
    """The phoneme being spoken at each frame's presentation time (SILENCE past the end)."""
    starts = np.array([p.start for p in phones])
    out = []
    for i in range(n_frames):
        k = int(np.searchsorted(starts, i / fps, side="right")) - 1
        out.append(phones[k].phoneme if 0 <= k and i / fps < phones[k].end else SILENCE)
    return out
