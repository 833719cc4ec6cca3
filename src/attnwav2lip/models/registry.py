"""Kind name -> network class, so checkpoints can rebuild a model from (kind, config)."""

from __future__ import annotations

import types
from typing import Any, Mapping

from torch import nn

from ..config import from_dict
from .discriminator import QualityDiscriminator
from .evaluator import SyncNetEvaluator
from .expert import LipSyncExpert
from .generator import Generator

MODEL_CLASSES: Mapping[str, type[nn.Module]] = types.MappingProxyType({
    cls.kind: cls for cls in (Generator, LipSyncExpert, QualityDiscriminator, SyncNetEvaluator)
})

# What each kind is called in messages.
DESCRIPTIONS: Mapping[str, str] = types.MappingProxyType({
    "generator": "generator",
    "expert": "lip-sync expert",
    "discriminator": "quality discriminator",
    "evaluator": "evaluation SyncNet",
})


def build_model(kind: str, config: Mapping[str, Any] | None = None) -> nn.Module:
    """A freshly initialised network of ``kind`` from a plain config mapping (unknown keys are errors)."""
    cls = MODEL_CLASSES[kind]
    return cls(from_dict(cls.config_class, dict(config or {}), where=f"{kind} config"))
