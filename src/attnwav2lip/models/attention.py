"""CBAM attention in AttnWav2Lip's residual form (paper eq. 6-8).

Channel attention says *what* to emphasise, spatial attention *where*. Both gates lie in (0, 1)
and are applied residually, ``F' = F + F * Mc(F)`` then ``F'' = F' + F' * Ms(F')``, so each
module can only scale a feature by a factor in (1, 2): it re-weights the pretrained features
rather than being able to erase them. Fresh gates sit near 0.5, so started from a trained Wav2Lip
each module first multiplies its block's output by about 1.5 (both together by about 2, compounding
from block to block): the network does not compute Wav2Lip at step 0 (docs/models.md).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from .config import ATTENTION_KINDS


class ChannelAttention(nn.Module):
    """Mc(F) = sigmoid(mlp(avgpool(F)) + mlp(maxpool(F))), shape (N, C, 1, 1).

    The shared MLP is a 1x1-conv bottleneck C -> hidden -> C without biases (as timm's CBAM).
    """

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False), nn.ReLU(), nn.Conv2d(hidden, channels, 1, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.mlp(x.mean(dim=(2, 3), keepdim=True))
        peak = self.mlp(x.amax(dim=(2, 3), keepdim=True))
        return torch.sigmoid(avg + peak)


class SpatialAttention(nn.Module):
    """Ms(F) = sigmoid(conv([mean_c(F), max_c(F)])), shape (N, 1, H, W).

    With ``norm`` the conv has no bias and is followed by BatchNorm (CBAM's original layout);
    without it the conv keeps its bias.
    """

    def __init__(self, kernel_size: int = 7, norm: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=not norm)
        self.norm = nn.BatchNorm2d(1) if norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat((x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)), dim=1)
        return torch.sigmoid(self.norm(self.conv(pooled)))


class ResidualCBAM(nn.Module):
    """Channel then spatial attention, each residual; either part may be absent."""

    def __init__(self, channel: ChannelAttention | None, spatial: SpatialAttention | None) -> None:
        super().__init__()
        self.channel = channel
        self.spatial = spatial

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channel is not None:
            x = x + x * self.channel(x)
        if self.spatial is not None:
            x = x + x * self.spatial(x)
        return x


def channel_hidden(channels: int, reduction: int, min_hidden: int) -> int:
    """The channel-attention bottleneck: ``channels // reduction``, floored at ``min_hidden``, at most ``channels``."""
    return min(channels, max(min_hidden, channels // reduction))


def make_attention(kind: str, channels: int, *, reduction: int = 16, min_hidden: int = 8,
                   spatial_kernel: int = 7, spatial_norm: bool = False) -> nn.Module:
    """The attention module for ``kind`` in none|spatial|channel|both ("none" is a parameter-free identity)."""
    if kind not in ATTENTION_KINDS:
        raise ConfigError(f"attention kind must be one of {'|'.join(ATTENTION_KINDS)}, got {kind!r}")
    if kind == "none":
        return nn.Identity()
    channel = ChannelAttention(channels, channel_hidden(channels, reduction, min_hidden)) if kind in ("channel", "both") else None
    spatial = SpatialAttention(spatial_kernel, spatial_norm) if kind in ("spatial", "both") else None
    return ResidualCBAM(channel, spatial)
