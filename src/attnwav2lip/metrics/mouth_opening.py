"""How open a mouth is, measured from pixels alone, and how well that measure tracks the truth.

SynthTalk knows every rendered mouth's parameters, but a generated video has only pixels; to ask
"does the generated mouth open when the truth opens, and stay shut in silence?" we need one
number per frame read off the frames. The estimator here is deliberately simple:

1. Region: a narrow strip through the middle of the lower face (``opening_strips``), where the lips'
   opening is tallest and the cheeks, nostrils and background stay out.
2. Redness ``(R - G) / (R + 1)``, its median over the strip's columns in each row (stubble and
   camera noise average out). Lips, the dark-red cavity and the tongue are redder than any skin
   tone the renderer draws; redness stays robust across light and dark skin, where plain darkness
   confused dark skin and stubble with the cavity.
3. Skin level: the lowest of the medians of the whole strip, its top quarter and its bottom
   quarter (a wide-open mouth can fill half the strip, a moustache its top). Rows redder than
   skin by ``threshold`` are lip; the value is the rows from the first to the last of them (teeth
   between count), divided by the strip's height.

The value is the outer lip height: both lips' thickness plus the opening. It rises and falls with
the opening within one face (per-clip correlation about 0.9 on SynthTalk, see docs/evaluation.md),
while its level differs between faces (lip thickness), so compare it within one face, or against
the same face's truth frames, never across faces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..synth.corpus import load_truth, read_corpus_manifest
from ..synth.truth import clip_scene, rendered_opening, static_face_boxes
from ..video import iter_frames

#: redness above the region's median that counts as lip, cavity or tongue
THRESHOLD = 0.14
#: the strip of the face box the estimator reads: columns (from, to) and rows (from, to) as fractions
STRIP_COLUMNS = (0.4, 0.6)
STRIP_ROWS = (0.5, 1.0)


def opening_strips(face_boxes: np.ndarray) -> np.ndarray:
    """(N, 4) x1, y1, x2, y2: the strip of each face box (x1, y1, x2, y2) the estimator reads.

    Use face boxes that do not follow the jaw (SynthTalk's pose-only boxes), or the region
    itself would grow with the opening it measures.
    """
    boxes = np.asarray(face_boxes, dtype=np.float64).reshape(-1, 4)
    x1, y1, x2, y2 = boxes.T
    w, h = x2 - x1, y2 - y1
    return np.stack([x1 + STRIP_COLUMNS[0] * w, y1 + STRIP_ROWS[0] * h, x1 + STRIP_COLUMNS[1] * w, y1 + STRIP_ROWS[1] * h], 1)


def mouth_opening(frames: np.ndarray, boxes: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """(N,) float: the lip-coloured vertical extent in each frame's ``boxes`` strip / the strip's height.

    ``frames``: uint8 (N, H, W, 3) RGB; ``boxes``: (N, 4) or (4,) strips from ``opening_strips``.
    A frame whose strip holds no lip-coloured pixel scores 0.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected RGB frames (N, H, W, 3), got {frames.shape}")
    regions = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if len(regions) == 1:
        regions = np.tile(regions, (len(frames), 1))
    if len(regions) != len(frames):
        raise ValueError(f"{len(regions)} boxes for {len(frames)} frames")
    height, width = frames.shape[1:3]
    out = np.zeros(len(frames))
    for i, (frame, (x1, y1, x2, y2)) in enumerate(zip(frames, regions)):
        left, right = int(np.clip(round(x1), 0, width)), int(np.clip(round(x2), 0, width))
        top, bottom = int(np.clip(round(y1), 0, height)), int(np.clip(round(y2), 0, height))
        if right <= left or bottom <= top:
            raise ValueError(f"frame {i}: the mouth box {x1:.0f},{y1:.0f},{x2:.0f},{y2:.0f} is empty inside the frame")
        out[i] = _lip_extent(frame[top:bottom, left:right].astype(np.float32), threshold) / (bottom - top)
    return out


def _lip_extent(region: np.ndarray, threshold: float) -> float:
    """Rows from the first to the last lip-coloured one, on the strip's per-row median redness."""
    redness = np.median((region[..., 0] - region[..., 1]) / (region[..., 0] + 1.0), axis=1)
    band = max(1, len(redness) // 4)
    skin = min(np.median(redness), np.median(redness[:band]), np.median(redness[-band:]))
    lip = np.flatnonzero(redness > skin + threshold)
    return float(lip[-1] - lip[0] + 1) if len(lip) else 0.0


def pearson(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Pearson correlation; NaN when either side is constant (a mouth that never moves)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"need two equally long 1-D sequences, got {x.shape} and {y.shape}")
    x, y = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float(x @ x) * float(y @ y))
    return float(x @ y) / denominator if denominator > 0 else math.nan


@dataclass(frozen=True)
class OpeningCheck:
    """The estimator against the rendered opening of one clip."""

    clip: str
    frames: int
    correlation: float
    estimate: np.ndarray
    truth: np.ndarray


def check_corpus(corpus: str, split: str = "test", limit: int | None = None) -> list[OpeningCheck]:
    """Run the estimator on the encoded videos of a SynthTalk split against their rendered openings."""
    records = [r for r in read_corpus_manifest(corpus) if r["split"] == split][:limit]
    checks = []
    for record in records:
        truth = load_truth(corpus, record)
        identity, motion, size = clip_scene(truth)
        frames = np.stack(list(iter_frames(Path(corpus) / record["video"])))
        estimate = mouth_opening(frames, opening_strips(static_face_boxes(identity, motion, size)))
        opening = rendered_opening(truth["mouth"])
        checks.append(OpeningCheck(record["id"], len(frames), pearson(estimate, opening), estimate, opening))
    return checks


def pooled_correlation(checks: Sequence[OpeningCheck]) -> float:
    """One correlation over the frames of all clips (between-face level differences count against it)."""
    return pearson(np.concatenate([c.estimate for c in checks]), np.concatenate([c.truth for c in checks]))
