"""Sample grids: what the generator makes of validation windows, as a PNG.

One row per frame: reference | masked input | generated | ground truth (the original's
collage order), the frames of up to ``max_windows`` windows one after another.
"""

from __future__ import annotations

import numpy as np
import torch


def sample_grid(faces: torch.Tensor, generated: torch.Tensor, gt: torch.Tensor, max_windows: int = 4) -> np.ndarray:
    """uint8 (rows*S, 4*S, 3) RGB grid from (B, 6, T, S, S) inputs, (B, 3, T, S, S) output and truth."""
    n = min(max_windows, len(faces))
    columns = [faces[:n, 3:6], faces[:n, :3], generated[:n], gt[:n]]  # each (n, 3, T, S, S)
    tiles = torch.cat([c.float() for c in columns], dim=4)  # (n, 3, T, S, 4S): side by side
    rows = tiles.permute(0, 2, 3, 4, 1).reshape(-1, tiles.shape[-1], 3)  # frames stacked vertically
    return (rows.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
