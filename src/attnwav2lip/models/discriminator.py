"""Wav2Lip's visual quality discriminator Wav2Lip_disc_qual: is this mouth region real?"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, ClassVar

import torch
from torch import nn

from .blocks import NoNormConv
from .config import DiscriminatorConfig, scale_channels
from .layout import fold_time

# Blocks 1..6: (output channels, kernel, first stride, padding, second kernel, second padding).
_BLOCKS = (
    (64, 5, (1, 2), 2, 5, 2),
    (128, 5, 2, 2, 5, 2),
    (256, 5, 2, 2, 5, 2),
    (512, 3, 2, 1, 3, 1),
    (512, 3, 2, 1, 3, 1),
    (512, 3, 1, 0, 1, 0),
)


class QualityDiscriminator(nn.Module):
    """Per-frame probability that a face is real, judged on its lower half only.

    Input contract (RGB, float32 in [0, 1]): full faces (N, 3, 96, 96) or windows
    (B, 3, T, 96, 96); windows are folded time-major into B*T frames as the original's
    ``to_2d`` does. The network itself crops rows H//2: (48..95 of a 96 face, the original's
    ``get_lower_half``), so callers pass whole faces. Returns (N, 1) or (B*T, 1) probabilities.
    """

    kind: ClassVar[str] = "discriminator"
    config_class: ClassVar[type[DiscriminatorConfig]] = DiscriminatorConfig

    def __init__(self, config: DiscriminatorConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        self.config = dataclasses.replace(config or self.config_class(), **overrides)
        ch = functools.partial(scale_channels, width=self.config.width)
        blocks = [nn.Sequential(NoNormConv(3, ch(32), 7, 1, 3))]
        cin = 32
        for cout, kernel, stride, padding, kernel2, padding2 in _BLOCKS:
            blocks.append(nn.Sequential(
                NoNormConv(ch(cin), ch(cout), kernel, stride, padding),
                NoNormConv(ch(cout), ch(cout), kernel2, 1, padding2),
            ))
            cin = cout
        self.face_encoder_blocks = nn.ModuleList(blocks)
        self.binary_pred = nn.Sequential(nn.Conv2d(ch(512), 1, 1, 1, 0), nn.Sigmoid())

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        if faces.dim() == 5:
            faces = fold_time(faces, 2)
        x = faces[:, :, faces.size(2) // 2:]
        for block in self.face_encoder_blocks:
            x = block(x)
        return self.binary_pred(x).view(len(x), -1)
