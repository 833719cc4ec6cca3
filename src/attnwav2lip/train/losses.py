"""The loss functions of both networks, as the original computes them.

Each runs in float32 with autocast switched off whatever the caller's context:
``binary_cross_entropy`` on probabilities is not autocast-safe, and the logarithms near 0 and 1
need the precision.
"""

from __future__ import annotations

import functools
from typing import Callable

import torch
import torch.nn.functional as F


def _float32(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    @functools.wraps(fn)
    def wrapper(*tensors: torch.Tensor, **kwargs: object) -> torch.Tensor:
        with torch.autocast(tensors[0].device.type, enabled=False):
            return fn(*(t.float() for t in tensors), **kwargs)

    return wrapper


def sync_probability(audio_emb: torch.Tensor, face_emb: torch.Tensor) -> torch.Tensor:
    """(B,) cosine of the two embeddings, read as P(in sync).

    The embeddings are L2-normalised and non-negative (the expert ends in a ReLU), so the cosine
    lies in [0, 1] up to rounding, and rounding does cross 1 (1.0000004 for nearly parallel
    embeddings): the clamp keeps it a probability that BCE accepts.
    """
    return F.cosine_similarity(audio_emb, face_emb).clamp(0.0, 1.0)


@_float32
def cosine_bce(audio_emb: torch.Tensor, face_emb: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """SyncNet_color's loss: BCE(cos(a, v), y), the cosine used directly as P(in sync).

    torch's BCE clamps its logarithms at -100, as in the original.
    """
    return F.binary_cross_entropy(sync_probability(audio_emb, face_emb).unsqueeze(1), label.view(-1, 1))


@_float32
def sync_accuracy(audio_emb: torch.Tensor, face_emb: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Fraction of pairs classified right by thresholding the same probability at 0.5."""
    cos = sync_probability(audio_emb, face_emb)
    return ((cos > 0.5) == (label.view(-1) > 0.5)).float().mean()


@_float32
def l1(generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the full frames (the original's ``nn.L1Loss()``)."""
    return F.l1_loss(generated, target)


@_float32
def adversarial_bce(prob_real: torch.Tensor, *, target_real: bool) -> torch.Tensor:
    """BCE of the discriminator's P(real) against all-ones or all-zeros."""
    target = torch.ones_like(prob_real) if target_real else torch.zeros_like(prob_real)
    return F.binary_cross_entropy(prob_real, target)


def lower_half(frames: torch.Tensor) -> torch.Tensor:
    """The rows the generator rewrites: (..., H, W) -> (..., H - H/2, W)."""
    return frames[..., frames.shape[-2] // 2 :, :]


def lower_half_frames(faces: torch.Tensor) -> torch.Tensor:
    """(B, 3, T, H, W) generated windows -> (B, 3T, H/2, W): the expert's input layout.

    The lower halves of the T frames are stacked frame-major ([f0 R,G,B, f1 R,G,B, ...]), as
    ``torch.cat([g[:, :, i] for i in range(T)], 1)`` of the original's ``get_sync_loss``.
    """
    b, c, t, h, w = faces.shape
    return lower_half(faces).transpose(1, 2).reshape(b, c * t, h - h // 2, w)
