"""Wav2Lip's lip-sync expert SyncNet_color: the frozen judge behind the generator's sync loss."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import ConvBNReLU, audio_encoder
from .config import ExpertConfig, scale_channels


class LipSyncExpert(nn.Module):
    """SyncNet_color (Wav2Lip's ``models/syncnet.py``), key-compatible with ``lipsync_expert.pth``.

    Input contract (RGB, float32 in [0, 1]): ``mels`` (N, 1, 80, 16) and ``faces``
    (N, 15, 48, 96), the lower halves (rows 48:) of five consecutive 96x96 faces stacked
    frame-major: [f0 R,G,B, f1 R,G,B, ...]. Returns ``(audio_emb, face_emb)``, each (N, 512)
    and L2-normalised. The final ReLU is kept, so embeddings are non-negative and their cosine
    lies in [0, 1], which the original's BCE sync loss relies on.
    """

    kind: ClassVar[str] = "expert"
    config_class: ClassVar[type[ExpertConfig]] = ExpertConfig

    def __init__(self, config: ExpertConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        self.config = dataclasses.replace(config or self.config_class(), **overrides)
        ch = functools.partial(scale_channels, width=self.config.width)

        def res(c: int) -> ConvBNReLU:
            return ConvBNReLU(ch(c), ch(c), 3, 1, 1, residual=True)

        self.face_encoder = nn.Sequential(
            ConvBNReLU(15, ch(32), 7, 1, 3),
            ConvBNReLU(ch(32), ch(64), 5, (1, 2), 1), res(64), res(64),
            ConvBNReLU(ch(64), ch(128), 3, 2, 1), res(128), res(128), res(128),
            ConvBNReLU(ch(128), ch(256), 3, 2, 1), res(256), res(256),
            ConvBNReLU(ch(256), ch(512), 3, 2, 1), res(512), res(512),
            ConvBNReLU(ch(512), ch(512), 3, 2, 1),
            ConvBNReLU(ch(512), ch(512), 3, 1, 0),
            ConvBNReLU(ch(512), ch(512), 1, 1, 0),
        )
        self.audio_encoder = audio_encoder(self.config.width, residual_256=2)

    def forward(self, mels: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        face_emb = self.face_encoder(faces).flatten(1)
        audio_emb = self.audio_encoder(mels).flatten(1)
        return F.normalize(audio_emb, p=2, dim=1), F.normalize(face_emb, p=2, dim=1)
