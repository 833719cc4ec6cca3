"""Attention figure, mouth attention share and the attention-maps command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from attnwav2lip.errors import ConfigError
from attnwav2lip.viz import CROP, HEADER, TILE_SCALE, mouth_attention_share, render_attention_figure


def test_share_of_a_hand_made_map() -> None:
    # 12x12 map: each cell covers 8x8 crop pixels. Weight 3 on the 2x2 cells [6:8, 3:5], 1 elsewhere.
    m = np.ones((1, 12, 12), np.float32)
    m[0, 6:8, 3:5] = 3.0
    box = (24, 48, 40, 64)  # exactly those four cells
    shares = mouth_attention_share({"encoder.3": m, "uniform": np.ones((2, 1, 96, 96))}, box)
    total = 140 * 64 + 4 * 3 * 64
    assert shares["encoder.3"][0] == pytest.approx(4 * 3 * 64 / total)
    assert shares["encoder.3"][1] == pytest.approx(16 * 16 / CROP**2)
    assert shares["uniform"][0] == pytest.approx(shares["uniform"][1])


def test_share_counts_partly_covered_cells_by_area() -> None:
    m = np.zeros((1, 3, 3), np.float32)
    m[0, 0, 0] = 1.0  # all weight in the top-left 32x32 cell
    (share, area), = mouth_attention_share({"coarse": m}, (16, 0, 48, 32)).values()
    assert share == pytest.approx(0.5)  # the box covers half of that cell
    assert area == pytest.approx(32 * 32 / CROP**2)


@pytest.mark.parametrize("box", [(10, 10, 10, 20), (0, 0, 97, 20), (-1, 0, 5, 5)])
def test_bad_mouth_box_is_a_user_error(box: tuple[int, int, int, int]) -> None:
    with pytest.raises(ConfigError):
        mouth_attention_share({"m": np.ones((1, 12, 12))}, box)


def test_render_omits_small_maps() -> None:
    faces = np.zeros((2, CROP, CROP, 3), np.uint8)
    rng = np.random.default_rng(0)
    maps = {f"encoder.{i}": rng.random((2, s, s)).astype(np.float32) for i, s in enumerate((96, 48, 24, 12, 6, 3, 1))}
    sheet = render_attention_figure(faces, maps)
    tile = CROP * TILE_SCALE
    assert sheet.dtype == np.uint8
    assert sheet.shape == (HEADER + 2 * tile, (1 + 4) * tile, 3)
    assert sheet[HEADER:, tile:].std() > 0  # the overlays carry colour
