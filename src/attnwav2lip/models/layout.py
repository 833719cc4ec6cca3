"""The original's time-major folding of windowed batches into per-frame batches and back.

Wav2Lip folds (B, C, T, H, W) into (T*B, C, H, W) as all B samples of t=0, then all of t=1, ...
Keeping the same order keeps BatchNorm statistics and per-sample losses comparable.
"""

from __future__ import annotations

import torch


def fold_time(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Concatenate the slices of ``x`` along time axis ``dim`` into the batch axis, time-major."""
    return torch.cat(x.unbind(dim), dim=0)


def unfold_time(x: torch.Tensor, batch: int) -> torch.Tensor:
    """Inverse of ``fold_time(…, 2)``: (T*B, C, H, W) -> (B, C, T, H, W)."""
    return torch.stack(torch.split(x, batch, dim=0), dim=2)
