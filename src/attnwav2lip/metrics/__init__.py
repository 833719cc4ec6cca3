"""Evaluation: LSE-D / LSE-C as the field computes them, protocols, ground-truth metrics.

Nothing here imports torch or media libraries at import time; the functions do when called.
"""

from __future__ import annotations

from .jpeg import jpeg_roundtrip
from .lse import SyncEvaluator, SyncScores, scores_from_embeddings, sync_scores

__all__ = ["SyncEvaluator", "SyncScores", "jpeg_roundtrip", "scores_from_embeddings", "sync_scores"]
