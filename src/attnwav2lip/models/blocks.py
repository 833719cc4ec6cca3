"""Wav2Lip's three convolution wrappers (its ``models/conv.py``), key-compatible with the original.

Each wrapper keeps its layers in ``conv_block`` so a wrapper at ``<prefix>`` owns the keys
``<prefix>.conv_block.0.*`` (the convolution) and ``<prefix>.conv_block.1.*`` (the BatchNorm),
exactly as in original checkpoints.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from ..errors import ConfigError
from .config import scale_channels


class ConvBNReLU(nn.Module):
    """Conv2d + BatchNorm + ReLU; with ``residual`` the input is added before the ReLU.

    Residual layers must be square (cin == cout, stride 1, same padding), as in the original.
    """

    def __init__(self, cin: int, cout: int, kernel_size: int, stride: int | tuple[int, int] = 1,
                 padding: int = 0, residual: bool = False) -> None:
        super().__init__()
        if residual and cin != cout:
            raise ValueError(f"a residual layer needs cin == cout, got {cin} -> {cout}")
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, kernel_size, stride, padding), nn.BatchNorm2d(cout))
        self.act = nn.ReLU()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_block(x)
        if self.residual:
            out = out + x
        return self.act(out)


class NoNormConv(nn.Module):
    """Conv2d + LeakyReLU(0.01), no BatchNorm: the visual discriminator's only layer type."""

    def __init__(self, cin: int, cout: int, kernel_size: int, stride: int | tuple[int, int] = 1,
                 padding: int = 0) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, kernel_size, stride, padding))
        self.act = nn.LeakyReLU(0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


class ConvTransposeBNReLU(nn.Module):
    """ConvTranspose2d + BatchNorm + ReLU: the decoder's upsampling layer (weight is [cin, cout, k, k])."""

    def __init__(self, cin: int, cout: int, kernel_size: int, stride: int, padding: int,
                 output_padding: int = 0) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ConvTranspose2d(cin, cout, kernel_size, stride, padding, output_padding), nn.BatchNorm2d(cout)
        )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


def audio_encoder(width: float, residual_256: int) -> nn.Sequential:
    """The mel encoder shared by the generator (one 256 residual layer) and the expert (two).

    Maps (N, 1, 80, 16) mel windows to (N, ch(512), 1, 1).
    """
    ch = functools.partial(scale_channels, width=width)
    return nn.Sequential(
        ConvBNReLU(1, ch(32), 3, 1, 1),
        ConvBNReLU(ch(32), ch(32), 3, 1, 1, residual=True),
        ConvBNReLU(ch(32), ch(32), 3, 1, 1, residual=True),
        ConvBNReLU(ch(32), ch(64), 3, (3, 1), 1),
        ConvBNReLU(ch(64), ch(64), 3, 1, 1, residual=True),
        ConvBNReLU(ch(64), ch(64), 3, 1, 1, residual=True),
        ConvBNReLU(ch(64), ch(128), 3, 3, 1),
        ConvBNReLU(ch(128), ch(128), 3, 1, 1, residual=True),
        ConvBNReLU(ch(128), ch(128), 3, 1, 1, residual=True),
        ConvBNReLU(ch(128), ch(256), 3, (3, 2), 1),
        *(ConvBNReLU(ch(256), ch(256), 3, 1, 1, residual=True) for _ in range(residual_256)),
        ConvBNReLU(ch(256), ch(512), 3, 1, 0),
        ConvBNReLU(ch(512), ch(512), 1, 1, 0),
    )


AUDIO_STEM, AUDIO_HEAD = 10, 2  # layers before the 256-channel residuals, and after them


def copy_audio_encoder(source: nn.Sequential, target: nn.Sequential) -> None:
    """Load ``target``'s layers from another ``audio_encoder`` of the same width, layer by layer.

    The two may differ in their number of 256-channel residual layers (the expert has two, the
    generator one): the stem and the head are copied, and the first residuals as far as both
    have them. Used to start a generator's mel encoder from a trained expert's.
    """
    def parts(encoder: nn.Sequential) -> tuple[list[nn.Module], list[nn.Module], list[nn.Module]]:
        layers = list(encoder)
        return layers[:AUDIO_STEM], layers[AUDIO_STEM:-AUDIO_HEAD], layers[-AUDIO_HEAD:]

    (src_stem, src_res, src_head), (dst_stem, dst_res, dst_head) = parts(source), parts(target)
    pairs = [*zip(src_stem, dst_stem), *zip(src_res, dst_res), *zip(src_head, dst_head)]
    for src, dst in pairs:
        for (name, a), (_, b) in zip(src.state_dict().items(), dst.state_dict().items()):
            if a.shape != b.shape:
                raise ConfigError(f"audio encoders differ in width: {name} is {tuple(a.shape)} here, "
                                 f"{tuple(b.shape)} in the target")
        dst.load_state_dict(src.state_dict())
