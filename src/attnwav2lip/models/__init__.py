"""The four networks: generator (with attention), lip-sync expert, quality discriminator, evaluation SyncNet."""

from __future__ import annotations

from .config import DiscriminatorConfig, EvaluatorConfig, ExpertConfig, GeneratorConfig
from .discriminator import QualityDiscriminator
from .evaluator import SyncNetEvaluator
from .expert import LipSyncExpert
from .generator import Generator

__all__ = [
    "Generator", "LipSyncExpert", "QualityDiscriminator", "SyncNetEvaluator",
    "GeneratorConfig", "ExpertConfig", "DiscriminatorConfig", "EvaluatorConfig"]
