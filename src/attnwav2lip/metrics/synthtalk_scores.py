"""Scoring one row of one SynthTalk cross pair against the rendered truth of "A saying B".

Per pair and row (``PairScores``):

- ``lse_d``, ``lse_c``, ``offset``: LSE against the driving audio, on ``synthtalk_crops`` around the
  rendered face boxes (what the SynthTalk evaluator is trained on; label "LSE (SynthTalk evaluator)"
  for a project-trained evaluator);
- ``psnr``, ``ssim``, ``l1``: lower face against the rendered truth (``ground_truth.mouth_metrics``);
  ``mouth_l1``: L1 inside the mouth strip alone (about a fifth of the lower face), which tells a
  wrong or blurred mouth from a blurred chin and cheeks;
- ``opening_corr``: Pearson correlation of the pixel-measured mouth opening
  (``mouth_opening``) with the opening the truth renders (0 for a mouth measured constant);
- lip leakage: ``silent_opening_error``, the mean absolute difference of the measured opening from
  the truth frames' over the driving audio's silent frames (the truth's mouth is shut there; units
  of the mouth strip's height), and ``source_lse_c``, LSE-C against A's *own* audio over the first
  sweep (high: the old mouth shows through).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..audio import load_audio
from ..errors import ConfigError
from ..faces.boxes import lower_face
from ..looping import Loop
from ..synth.truth import corpus_saying
from .ground_truth import mouth_metrics, region_l1
from .lse import SyncEvaluator, SyncScores, resize_frame, lse_scores
from .mouth_opening import mouth_opening, opening_strips, pearson
from .scoring import ScoringOptions, resample_frames
from .synthtalk_report import CrossPair, PairScores
from .wild import syncnet_crops

EVALUATOR_RENDER_SIZE = 256  # the render size whose pixel coordinates the evaluator's crops use


def synthtalk_crops(frames: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """What the shipped SynthTalk evaluator was trained on, and so what every SynthTalk LSE scores.

    Frames are first resized to 224x224 as the LRS protocol reads them; then syncnet's crop is taken
    with the boxes' coordinates in the pixels of a 256-px render (not rescaled to 224). That centres
    the crop 8/7 times further from the top-left corner and makes it 8/7 larger than the box-true
    crop: it is cut lower, on the mouth and chin, which suits a lip-sync judge; a box-true crop
    would need a newly trained evaluator. Boxes of renders of another size are first scaled to
    256-px coordinates, so every render size gets the same crop of the face.
    """
    scale = EVALUATOR_RENDER_SIZE / frames.shape[2]
    return syncnet_crops(np.stack([resize_frame(frame) for frame in frames]), np.asarray(boxes) * scale)


@dataclass(frozen=True)
class PairTruth:
    """One pair's reference: the rendered truth and everything each row is measured against."""

    frames: np.ndarray        # rendered "A saying B", uint8 (N, H, W, 3)
    fps: float
    faces: np.ndarray         # (N, 4) face boxes (head, not jaw): LSE's crops; their lower half: PSNR / SSIM / L1
    strips: np.ndarray        # (N, 4) mouth strips of the opening estimator
    opening: np.ndarray       # (N,) opening the truth renders
    measured: np.ndarray      # (N,) opening measured on the truth frames
    silent: np.ndarray        # (N,) bool: the driving audio is silent
    audio: np.ndarray         # driving audio, 16 kHz
    source_audio: np.ndarray  # A's own audio, 16 kHz
    source_video: Path
    driving_audio: Path


def pair_truth(corpus: Path, records: Mapping[str, Mapping[str, Any]], pair: CrossPair, loop: Loop) -> PairTruth:
    """Everything pair ``pair``'s rows are scored against, ``sync``'s output length long."""
    source, driving = records[pair.source], records[pair.driving]
    audio = load_audio(corpus / driving["audio"])
    truth = corpus_saying(corpus, source, driving, len(audio), loop)
    strips = opening_strips(truth.faces)
    return PairTruth(
        truth.frames, truth.fps, truth.faces, strips, truth.opening, mouth_opening(truth.frames, strips), truth.silent,
        audio, load_audio(corpus / source["audio"]), corpus / source["video"], corpus / driving["audio"],
    )


def score_pair_frames(row: str, pair: CrossPair, frames: np.ndarray, truth: PairTruth, evaluator: "SyncEvaluator",
                  options: ScoringOptions) -> PairScores:
    """Every metric of one row's frames on one pair."""
    if len(frames) != len(truth.frames):
        raise ConfigError(f"{len(frames)} frames where the truth has {len(truth.frames)}")
    region = mouth_metrics(frames, truth.frames, lower_face(truth.faces))

    def at_25(per_frame: np.ndarray) -> np.ndarray:
        return np.stack(list(resample_frames(iter(per_frame), truth.fps)))

    crops = synthtalk_crops(at_25(frames), at_25(truth.faces))

    def lse(audio: np.ndarray) -> SyncScores:
        return lse_scores(crops, audio, evaluator, options.vshift, options.batch_size, options.jpeg_roundtrip)

    driven, own = lse(truth.audio), lse(truth.source_audio)
    measured = mouth_opening(frames, truth.strips)
    silent = np.abs(measured - truth.measured)[truth.silent]
    correlation = pearson(measured, truth.opening)
    if math.isnan(correlation) and np.ptp(truth.opening) > 0:
        correlation = 0.0  # a mouth that never moves while the truth's does follows it not at all
    return PairScores(
        row, pair.index, pair.source, pair.driving, len(frames), driven.lse_d, driven.lse_c, float(driven.offset),
        region.psnr, region.ssim, region.l1, region_l1(frames, truth.frames, truth.strips), correlation,
        float(silent.mean()) if len(silent) else math.nan, own.lse_c,
    )


