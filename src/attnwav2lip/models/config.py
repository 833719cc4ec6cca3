"""Frozen configs of the four networks, and the one rule that scales their channel counts.

Each config has a ``width`` multiplier: 1.0 is the original network (so original checkpoints
load by key and shape); narrower widths make CPU training practical.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal, get_args

from ..config import check_choices
from ..errors import ConfigError

AttentionKind = Literal["none", "spatial", "channel", "both"]
ATTENTION_KINDS: tuple[str, ...] = get_args(AttentionKind)


def scale_channels(channels: int, width: float) -> int:
    """``channels * width`` rounded half up, at least 1.

    Rounding each layer's count on its own (never a sum) keeps residual layers square and the
    decoder's concatenations consistent at any width; 0.25 and 0.125 give whole numbers
    everywhere in these networks.
    """
    return max(1, math.floor(channels * width + 0.5))


def _check_width(width: float) -> None:
    if not width > 0:
        raise ConfigError(f"width must be > 0, got {width}")


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """The Wav2Lip generator with optional residual CBAM after every encoder and decoder block.

    ``reduction`` is CBAM's channel ratio; ``min_hidden`` floors the channel-attention
    bottleneck (block 0 has 16 channels, and 16 // 16 = 1 would squeeze every channel through a
    single unit); the hidden width is ``min(channels, max(min_hidden, channels // reduction))``.
    ``mel_offset`` (video frames) is where a frame's 16-step mel window starts relative to the
    frame: the original's inference uses 0, its training -1. The network does not use it; it
    travels with the weights so data and inference code use the offset the weights were trained
    with. ``img_size`` is fixed at 96 by the architecture (the encoder reduces 96 to 1).
    """

    width: float = 1.0
    attention: AttentionKind = "both"  # AttnWav2Lip; "none" is the original Wav2Lip
    reduction: int = 16
    min_hidden: int = 8
    spatial_kernel: int = 7
    spatial_norm: bool = False
    mel_offset: int = 0
    img_size: int = 96

    def __post_init__(self) -> None:
        _check_width(self.width)
        check_choices(self)
        if self.reduction < 1 or self.min_hidden < 1:
            raise ConfigError(f"reduction and min_hidden must be >= 1, got {self.reduction}, {self.min_hidden}")
        if self.spatial_kernel not in (3, 7):
            raise ConfigError(f"spatial_kernel must be 3 or 7, got {self.spatial_kernel}")
        if self.img_size != 96:
            raise ConfigError(f"img_size must be 96 (the generator's encoder reduces 96x96 to 1x1), got {self.img_size}")


@dataclasses.dataclass(frozen=True)
class ExpertConfig:
    """Wav2Lip's SyncNet_color lip-sync expert."""

    width: float = 1.0

    def __post_init__(self) -> None:
        _check_width(self.width)


@dataclasses.dataclass(frozen=True)
class DiscriminatorConfig:
    """Wav2Lip's visual quality discriminator (Wav2Lip_disc_qual)."""

    width: float = 1.0

    def __post_init__(self) -> None:
        _check_width(self.width)


@dataclasses.dataclass(frozen=True)
class EvaluatorConfig:
    """syncnet_python's SyncNet ``S`` used for LSE-D / LSE-C; ``width`` scales all but the embedding."""

    width: float = 1.0
    embedding_dim: int = 1024

    def __post_init__(self) -> None:
        _check_width(self.width)
        if self.embedding_dim < 1:
            raise ConfigError(f"embedding_dim must be >= 1, got {self.embedding_dim}")
