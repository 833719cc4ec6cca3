"""Who is on screen: the appearance of one synthetic person, sampled from a seed.

Every field is a plain number, string or RGB tuple (floats in [0, 1]) so an identity serialises
to JSON exactly and ground-truth sidecars can record it. Categorical fields are what the detector
audit reports hit rates by.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

RGB = tuple[float, float, float]

FACE_SHAPES = ("oval", "round", "square", "long", "heart")
HAIR_STYLES = ("bald", "buzz", "short", "side", "long", "curly")
FACIAL_HAIR = ("none", "stubble", "moustache", "beard")
GLASSES = ("none", "round", "rect")

# Skin tones from light to dark (linear blend between neighbours), roughly Fitzpatrick I-VI.
_SKIN_RAMP = np.array([
    (0.98, 0.87, 0.78), (0.94, 0.78, 0.66), (0.85, 0.65, 0.50),
    (0.72, 0.52, 0.37), (0.55, 0.37, 0.25), (0.36, 0.24, 0.17),
])
_HAIR_COLOURS = np.array([
    (0.06, 0.05, 0.05), (0.20, 0.13, 0.08), (0.38, 0.24, 0.13), (0.62, 0.45, 0.25),
    (0.85, 0.72, 0.45), (0.55, 0.22, 0.10), (0.60, 0.60, 0.60), (0.88, 0.88, 0.86),
])
_IRIS_COLOURS = np.array([
    (0.25, 0.15, 0.08), (0.40, 0.26, 0.12), (0.25, 0.45, 0.65), (0.30, 0.50, 0.35), (0.45, 0.40, 0.25),
])


@dataclass(frozen=True)
class Identity:
    """Appearance parameters. Geometry is in units of the face half-width unless noted."""

    seed: int
    skin_tone: float          # 0 light .. 1 dark
    skin: RGB
    face_shape: str
    face_width: float         # face half-width as a fraction of the canonical canvas
    aspect: float             # face half-height / half-width
    jaw: float                # chin width relative to the cheeks (0.4 pointed .. 0.95 square)
    eye_spacing: float
    eye_size: float
    eye_height: float         # eye opening (height / width)
    iris: RGB
    brow_thickness: float
    brow_arch: float
    brow_tilt: float
    nose_length: float
    nose_width: float
    mouth_width: float
    lip_thickness: float
    lip_colour: RGB
    hair_style: str
    hair: RGB
    facial_hair: str
    glasses: str
    glasses_colour: RGB
    ear_size: float
    shirt: RGB

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Identity":
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in fields})

    def attributes(self) -> dict[str, str]:
        """Categorical attributes for per-attribute reports."""
        tone = ("light", "medium", "tan", "dark")[min(3, int(self.skin_tone * 4))]
        return {"skin": tone, "face_shape": self.face_shape, "hair": self.hair_style,
                "facial_hair": self.facial_hair, "glasses": self.glasses}


def _pick(rng: np.random.Generator, table: np.ndarray, jitter: float) -> RGB:
    colour = table[rng.integers(len(table))] + rng.normal(0, jitter, 3)
    return tuple(float(c) for c in np.clip(colour, 0, 1))  # type: ignore[return-value]


def sample_identity(seed: int) -> Identity:
    """A random identity; the same seed always gives the same person."""
    rng = np.random.default_rng([seed, 0x1D])
    tone = float(rng.random())
    pos = tone * (len(_SKIN_RAMP) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(_SKIN_RAMP) - 1)
    skin = _SKIN_RAMP[lo] * (1 - (pos - lo)) + _SKIN_RAMP[hi] * (pos - lo)
    skin = np.clip(skin * rng.uniform(0.95, 1.05) + rng.normal(0, 0.015, 3), 0, 1)
    shape = FACE_SHAPES[rng.integers(len(FACE_SHAPES))]
    aspect, jaw = {
        "oval": (1.32, 0.62), "round": (1.15, 0.78), "square": (1.25, 0.9),
        "long": (1.5, 0.62), "heart": (1.3, 0.45),
    }[shape]
    lip = np.clip(skin * np.array([0.85, 0.55, 0.55]) + rng.normal(0, 0.04, 3) + [0.08, 0.0, 0.02], 0, 1)
    hair_style = HAIR_STYLES[rng.integers(len(HAIR_STYLES))]
    hair = _pick(rng, _HAIR_COLOURS, 0.03)
    if tone > 0.6 and rng.random() < 0.7:  # darker skin: mostly dark hair
        hair = _pick(rng, _HAIR_COLOURS[:2], 0.02)
    facial_hair = FACIAL_HAIR[rng.choice(len(FACIAL_HAIR), p=[0.55, 0.15, 0.15, 0.15])]
    glasses = GLASSES[rng.choice(len(GLASSES), p=[0.6, 0.2, 0.2])]
    return Identity(
        seed=seed,
        skin_tone=tone,
        skin=tuple(float(c) for c in skin),  # type: ignore[arg-type]
        face_shape=shape,
        face_width=float(rng.uniform(0.2, 0.235)),
        aspect=float(aspect * rng.uniform(0.95, 1.05)),
        jaw=float(np.clip(jaw + rng.normal(0, 0.05), 0.35, 0.95)),
        eye_spacing=float(rng.uniform(0.38, 0.45)),
        eye_size=float(rng.uniform(0.17, 0.21)),
        eye_height=float(rng.uniform(0.42, 0.55)),
        iris=_pick(rng, _IRIS_COLOURS, 0.03),
        brow_thickness=float(rng.uniform(0.045, 0.085)),
        brow_arch=float(rng.uniform(0.0, 0.08)),
        brow_tilt=float(rng.uniform(-0.04, 0.05)),
        nose_length=float(rng.uniform(0.5, 0.62)),
        nose_width=float(rng.uniform(0.17, 0.25)),
        mouth_width=float(rng.uniform(0.36, 0.44)),
        lip_thickness=float(rng.uniform(0.07, 0.11)),
        lip_colour=tuple(float(c) for c in lip),  # type: ignore[arg-type]
        hair_style=hair_style,
        hair=hair,
        facial_hair=facial_hair,
        glasses=glasses,
        glasses_colour=_pick(rng, np.array([(0.05, 0.05, 0.05), (0.45, 0.25, 0.1), (0.7, 0.7, 0.72)]), 0.02),
        ear_size=float(rng.uniform(0.85, 1.15)),
        shirt=tuple(float(c) for c in rng.uniform(0.05, 0.9, 3)),  # type: ignore[arg-type]
    )
