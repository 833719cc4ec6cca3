"""syncnet_python's SyncNet ``S`` (weights ``syncnet_v2.model``), the network behind LSE-D / LSE-C.

Sequential indices, ReLU and pooling positions included, follow the original so its state_dict
keys (``netcnnaud.*``, ``netfcaud.*``, ``netcnnlip.*``, ``netfclip.*``) load unchanged.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, ClassVar

import torch
from torch import nn

from .config import EvaluatorConfig, scale_channels


def _fc_head(width: int, embedding_dim: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, embedding_dim)
    )


class SyncNetEvaluator(nn.Module):
    """The evaluation SyncNet; unlike the other networks it keeps the original's raw 0-255 scale.

    - ``forward_video(x)``: x (N, 3, 5, 224, 224), RGB, float32 **0-255** (no normalisation), five
      consecutive full-face crops -> (N, embedding_dim) lip embeddings. Only 224x224 reduces to
      1x1 in the last conv.
    - ``forward_audio(mfcc)``: (N, 1, 13, 20), 13 MFCCs x 20 frames at 100 Hz (0.2 s)
      -> (N, embedding_dim) audio embeddings.

    Embeddings are not normalised; LSE-D uses their Euclidean distance.
    """

    kind: ClassVar[str] = "evaluator"
    provenance: str | None = None  # "syncnet_v2", "SynthTalk evaluator": saved in its file, names its scores
    config_class: ClassVar[type[EvaluatorConfig]] = EvaluatorConfig

    def __init__(self, config: EvaluatorConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        self.config = dataclasses.replace(config or self.config_class(), **overrides)
        ch = functools.partial(scale_channels, width=self.config.width)

        self.netcnnaud = nn.Sequential(
            nn.Conv2d(1, ch(64), 3, 1, 1), nn.BatchNorm2d(ch(64)), nn.ReLU(),
            nn.MaxPool2d(1, 1),
            nn.Conv2d(ch(64), ch(192), 3, 1, 1), nn.BatchNorm2d(ch(192)), nn.ReLU(),
            nn.MaxPool2d(3, (1, 2)),
            nn.Conv2d(ch(192), ch(384), 3, 1, 1), nn.BatchNorm2d(ch(384)), nn.ReLU(),
            nn.Conv2d(ch(384), ch(256), 3, 1, 1), nn.BatchNorm2d(ch(256)), nn.ReLU(),
            nn.Conv2d(ch(256), ch(256), 3, 1, 1), nn.BatchNorm2d(ch(256)), nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(ch(256), ch(512), (5, 4), 1, 0), nn.BatchNorm2d(ch(512)), nn.ReLU(),
        )
        self.netfcaud = _fc_head(ch(512), self.config.embedding_dim)
        self.netfclip = _fc_head(ch(512), self.config.embedding_dim)
        self.netcnnlip = nn.Sequential(
            nn.Conv3d(3, ch(96), (5, 7, 7), (1, 2, 2), 0), nn.BatchNorm3d(ch(96)), nn.ReLU(),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2)),
            nn.Conv3d(ch(96), ch(256), (1, 5, 5), (1, 2, 2), (0, 1, 1)), nn.BatchNorm3d(ch(256)), nn.ReLU(),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
            nn.Conv3d(ch(256), ch(256), (1, 3, 3), 1, (0, 1, 1)), nn.BatchNorm3d(ch(256)), nn.ReLU(),
            nn.Conv3d(ch(256), ch(256), (1, 3, 3), 1, (0, 1, 1)), nn.BatchNorm3d(ch(256)), nn.ReLU(),
            nn.Conv3d(ch(256), ch(256), (1, 3, 3), 1, (0, 1, 1)), nn.BatchNorm3d(ch(256)), nn.ReLU(),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2)),
            nn.Conv3d(ch(256), ch(512), (1, 6, 6), 1, 0), nn.BatchNorm3d(ch(512)), nn.ReLU(),
        )

    def forward_video(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 5, 224, 224) RGB 0-255 -> (N, embedding_dim)."""
        return self.netfclip(self.netcnnlip(x).flatten(1))

    def forward_audio(self, mfcc: torch.Tensor) -> torch.Tensor:
        """(N, 1, 13, 20) MFCC -> (N, embedding_dim)."""
        return self.netfcaud(self.netcnnaud(mfcc).flatten(1))
