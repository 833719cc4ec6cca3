"""The two documentation figures: a contact sheet of identities and a strip of mouth shapes.

`attnwav2lip synth --figures --out docs` writes docs/synthtalk_identities.png and
docs/synthtalk_mouths.png.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..fileio import atomic_path
from ..video import write_png
from ..outputs import make_output_folder
from .identity import sample_identity
from .motion import Motion, sample_motion
from .speech import speak
from .visemes import VISEMES, frame_phonemes, mouth_track

STRIP_TEXT = "Bob wants five cheap moons, oh wow!"


def contact_sheet(n: int = 16, size: int = 256, seed: int = 0) -> np.ndarray:
    """uint8 RGB grid (4 columns) of `n` identities, each in its own random pose and scene, mid-word."""
    from .render import Renderer

    shapes = [VISEMES[s] for s in ("a", "u", "i", "m", "f", "ɔ", "ə", "s")]
    tiles = []
    for k in range(n):
        renderer = Renderer(sample_identity(seed + k), sample_motion(seed + k, 1), size)
        tiles.append(renderer.frame(0, np.asarray(shapes[k % len(shapes)], np.float32)))
    cols = 4
    rows = [np.concatenate(tiles[r * cols:(r + 1) * cols], axis=1) for r in range(n // cols)]
    return np.concatenate(rows, axis=0)


def mouth_strip(text: str = STRIP_TEXT, voice: str = "en-us+m3", fps: float = 25.0, identity_seed: int = 3,
                every: int = 2) -> tuple[list[np.ndarray], list[str], float]:
    """Mouth crops of a frontal face speaking `text`: (crops, phoneme per crop, seconds per crop)."""
    from .render import Renderer, canonical_box

    utt = speak(text, voice, lead_silence=0.1)
    n = int(np.ceil(utt.duration * fps))
    still = Motion(fps, np.tile(np.array([0, 0, 1.1, 0, 0, 0], np.float32), (n, 1)), np.zeros(n, np.float32),
                   np.ones((n, 3), np.float32), noise=0.0)
    renderer = Renderer(sample_identity(identity_seed), still, 256)
    track = mouth_track(utt.phones, fps, n)
    g = renderer.sprite.geom
    x1, y1, x2, y2 = renderer.boxes()[0]
    _, top, _, chin = canonical_box(g)
    mouth_y = y1 + (g.mouth_y - top) / (chin - top) * (y2 - y1)  # frontal pose: linear in the box
    cx, w, h = (x1 + x2) / 2, x2 - x1, y2 - y1
    rows = slice(int(mouth_y - 0.25 * h), int(y2 + 0.1 * h))  # nose tip to below the chin: shows the jaw
    cols = slice(int(cx - 0.4 * w), int(cx + 0.4 * w))
    crops = [renderer.frame(i, track[i])[rows, cols] for i in range(0, n, every)]
    labels = frame_phonemes(utt.phones, fps, n)[::every]
    return crops, labels, every / fps


def write_figures(out: str | os.PathLike[str]) -> list[Path]:
    """Write the contact sheet and the mouth strip as PNG files into `out`; returns their paths."""
    from matplotlib.figure import Figure  # no pyplot: the process's backend and figure registry stay untouched


    folder = make_output_folder(out)
    sheet_path = folder / "synthtalk_identities.png"
    write_png(sheet_path, contact_sheet())
    crops, labels, step = mouth_strip()
    per_row = 12
    rows = int(np.ceil(len(crops) / per_row))
    fig = Figure(figsize=(per_row * 1.1, rows * 1.05))
    axes = fig.subplots(rows, per_row)
    for k, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if k < len(crops):
            ax.imshow(crops[k])
            ax.set_title(f"{k * step:.2f}s {labels[k]}", fontsize=7)
    fig.suptitle(f'"{STRIP_TEXT}" (espeak en-us+m3, every {step * 1000:.0f} ms)', fontsize=9)
    fig.tight_layout()
    strip_path = folder / "synthtalk_mouths.png"
    with atomic_path(strip_path) as tmp:
        fig.savefig(tmp, dpi=110)
    return [sheet_path, strip_path]
