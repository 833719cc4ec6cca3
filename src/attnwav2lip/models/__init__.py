"""The four networks: generator (with attention), lip-sync expert, quality discriminator, evaluation SyncNet."""

from __future__ import annotations

from .config import DiscriminatorConfig, EvaluatorConfig, ExpertConfig, GeneratorConfig
from .evaluator import SyncNetEvaluator
from .generator import Generator

__all__ = ["Generator", "SyncNetEvaluator", "GeneratorConfig", "ExpertConfig", "DiscriminatorConfig", "EvaluatorConfig"]
