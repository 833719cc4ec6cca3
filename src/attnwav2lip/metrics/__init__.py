"""Evaluation: LSE-D / LSE-C as the field computes them, protocols, ground-truth metrics.

- ``lse``: ``lse_scores`` (syncnet_python's per-video scoring) and ``SyncScores``.
- ``jpeg``: the JPEG round trip hidden in published numbers.
- ``scoring`` / ``wild``: video files to scores (LRS protocol; in-the-wild face tracks + crop).
- ``protocols``: Wav2Lip's pair lists and the paper's random pairing.
- ``stats`` / ``results``: aggregation, paired bootstrap comparisons, CSV and markdown tables.
- ``ground_truth``: PSNR / SSIM / L1 in a region where true frames exist (SynthTalk).
- ``evaluate``: the runs behind ``attnwav2lip evaluate``.

Nothing here imports torch or media libraries at import time; the functions do when called.
"""

from __future__ import annotations

from .ground_truth import RegionMetrics, mouth_metrics
from .jpeg import jpeg_roundtrip
from .lse import SyncEvaluator, SyncScores, lse_scores, scores_from_embeddings

sync_scores = lse_scores  # the first release's name, kept for ``from attnwav2lip import sync_scores``

__all__ = [
    "RegionMetrics", "SyncEvaluator", "SyncScores", "jpeg_roundtrip", "mouth_metrics",
    "lse_scores", "scores_from_embeddings", "sync_scores",
]  # fmt: skip
