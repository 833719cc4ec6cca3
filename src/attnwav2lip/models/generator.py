"""The Wav2Lip generator with optional residual CBAM attention (AttnWav2Lip).

Layer for layer the original (Wav2Lip's ``models/wav2lip.py``), so original checkpoints load by key; the
attention modules live in their own ModuleLists (``encoder_attention``, ``decoder_attention``)
and add keys without renaming any original one.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, ClassVar

import torch
from torch import nn

from ..errors import ConfigError
from .attention import SpatialAttention, make_attention
from .blocks import ConvBNReLU, ConvTransposeBNReLU, audio_encoder
from .config import GeneratorConfig, scale_channels
from .layout import fold_time, unfold_time

# Encoder blocks 1..5: (output channels, residual layers); each opens with a stride-2 3x3 conv.
_ENCODER = ((32, 2), (64, 3), (128, 2), (256, 2), (512, 1))
# Decoder blocks 1..6: (output channels, stride, padding, output_padding, residual layers).
_DECODER = ((512, 1, 0, 0, 1), (512, 2, 1, 1, 2), (384, 2, 1, 1, 2), (256, 2, 1, 1, 2), (128, 2, 1, 1, 2), (64, 2, 1, 1, 2))


class Generator(nn.Module):
    """Wav2Lip generator, optionally with channel and/or spatial attention after every block.

    Input contract (RGB, float32 in [0, 1]):

    - per frame: ``mels`` (N, 1, 80, 16) and ``faces`` (N, 6, 96, 96), where channels 0-2 are the
      target face with its lower half (rows 48:) zeroed and channels 3-5 the reference face;
      returns (N, 3, 96, 96) in [0, 1], the whole face.
    - windowed (training): ``mels`` (B, T, 1, 80, 16) and ``faces`` (B, 6, T, 96, 96); frames are
      folded time-major into the batch as the original does; returns (B, 3, T, 96, 96).

    ``config.mel_offset`` is carried, not used: see GeneratorConfig.
    """

    kind: ClassVar[str] = "generator"
    config_class: ClassVar[type[GeneratorConfig]] = GeneratorConfig

    def __init__(self, config: GeneratorConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        self.config = dataclasses.replace(config or self.config_class(), **overrides)
        cfg = self.config
        ch = functools.partial(scale_channels, width=cfg.width)
        attention = functools.partial(
            make_attention, cfg.attention, reduction=cfg.reduction, min_hidden=cfg.min_hidden,
            spatial_kernel=cfg.spatial_kernel, spatial_norm=cfg.spatial_norm,
        )

        encoder = [nn.Sequential(ConvBNReLU(6, ch(16), 7, 1, 3))]
        cin = 16
        for cout, residual in _ENCODER:
            encoder.append(nn.Sequential(
                ConvBNReLU(ch(cin), ch(cout), 3, 2, 1),
                *(ConvBNReLU(ch(cout), ch(cout), 3, 1, 1, residual=True) for _ in range(residual)),
            ))
            cin = cout
        encoder.append(nn.Sequential(ConvBNReLU(ch(512), ch(512), 3, 1, 0), ConvBNReLU(ch(512), ch(512), 1, 1, 0)))
        self.face_encoder_blocks = nn.ModuleList(encoder)
        skips = [ch(16), ch(32), ch(64), ch(128), ch(256), ch(512), ch(512)]  # encoder outputs
        self.encoder_attention = nn.ModuleList(attention(c) for c in skips)

        self.audio_encoder = audio_encoder(cfg.width, residual_256=1)

        decoder = [nn.Sequential(ConvBNReLU(ch(512), ch(512), 1, 1, 0))]
        outs = [ch(512)]
        for cout, stride, padding, output_padding, residual in _DECODER:
            cin = outs[-1] + skips[-len(outs)]
            decoder.append(nn.Sequential(
                ConvTransposeBNReLU(cin, ch(cout), 3, stride, padding, output_padding),
                *(ConvBNReLU(ch(cout), ch(cout), 3, 1, 1, residual=True) for _ in range(residual)),
            ))
            outs.append(ch(cout))
        self.face_decoder_blocks = nn.ModuleList(decoder)
        self.decoder_attention = nn.ModuleList(attention(c) for c in outs)

        self.output_block = nn.Sequential(
            ConvBNReLU(outs[-1] + skips[0], ch(32), 3, 1, 1), nn.Conv2d(ch(32), 3, 1, 1, 0), nn.Sigmoid()
        )

    def forward(self, mels: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        windowed = faces.dim() == 5
        batch = faces.size(0)
        if windowed:
            mels, faces = fold_time(mels, 1), fold_time(faces, 2)
        feats = []
        x = faces
        for block, attend in zip(self.face_encoder_blocks, self.encoder_attention):
            x = attend(block(x))
            feats.append(x)
        x = self.encode_audio(mels)
        for block, attend in zip(self.face_decoder_blocks, self.decoder_attention):
            x = torch.cat((attend(block(x)), feats.pop()), dim=1)
        out = self.output_block(x)
        return unfold_time(out, batch) if windowed else out

    def encode_audio(self, mels: torch.Tensor) -> torch.Tensor:
        """The audio embedding, in float32 even under bfloat16 autocast.

        What the generator must learn from the audio is a small change of the mouth on top of a
        face rebuilt from the encoder's skips; with the mel encoder in bfloat16 that change did not
        survive the first 2,000 steps of the CPU recipe, in float32 it did
        (docs/training_synthtalk.md). The encoder is about 2 % of the generator's compute.
        """
        if not torch.is_autocast_enabled(mels.device.type):
            return self.audio_encoder(mels)
        with torch.autocast(mels.device.type, enabled=False):
            return self.audio_encoder(mels.float())

    def spatial_attention_maps(self, mels: torch.Tensor, faces: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run a forward pass and return each block's spatial gate Ms, (N, 1, h, w) in (0, 1).

        Keys are "encoder.0".."encoder.6" and "decoder.0".."decoder.6" (per-frame inputs; windowed
        inputs give maps in the folded, time-major batch order).
        """
        modules = {
            f"{part}.{i}": attend.spatial
            for part, attentions in (("encoder", self.encoder_attention), ("decoder", self.decoder_attention))
            for i, attend in enumerate(attentions)
            if isinstance(getattr(attend, "spatial", None), SpatialAttention)
        }
        if not modules:
            raise ConfigError(f"this generator has no spatial attention (attention={self.config.attention!r})")
        maps: dict[str, torch.Tensor] = {}
        handles = [
            module.register_forward_hook(lambda _m, _i, out, name=name: maps.__setitem__(name, out.detach()))
            for name, module in modules.items()
        ]
        try:
            self(mels, faces)
        finally:
            for handle in handles:
                handle.remove()
        return maps
