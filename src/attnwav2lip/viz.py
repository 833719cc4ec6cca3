"""Spatial attention maps over face crops (the paper's Fig. 3) and how much of them fall on the mouth.

The paper claims spatial attention learns to weight the lip region most. ``attention_figure``
draws every block's map over the crops so anyone can look; ``mouth_attention_share`` puts a
number on it: the share of a map's total weight inside a mouth box, against the box's share of
the crop's area (equal shares mean the map ignores the mouth; a uniform map gives exactly that).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import numpy as np

from .errors import ConfigError

if TYPE_CHECKING:
    import torch

CROP = 96
MIN_MAP_SIZE = 12  # coarser maps (6x6, 3x3, 1x1) say nothing about where the mouth is
OVERLAY_ALPHA = 0.5  # weight of the colour-mapped attention over the face
TILE_SCALE = 2  # tiles are drawn at 192 px so the labels stay readable
HEADER = 34  # px above the first row for the column labels
SPATIAL_KINDS = ("spatial", "both")

Box = tuple[int, int, int, int]


def generator_inputs(faces_rgb96: np.ndarray, mels: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The generator's (mels, faces) for still crops, as float32 arrays.

    Each face is its own reference and its own masked target (lower half zeroed), as at
    inference. Without ``mels`` every row hears silence: a window of the mel front end's floor
    value, which is what digital silence maps to.
    """
    from .audio import MEL_WINDOW, N_MELS, SILENCE

    faces = _check_faces(faces_rgb96)
    reference = faces.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
    masked = reference.copy()
    masked[:, :, CROP // 2 :] = 0.0
    if mels is None:
        mels = np.full((len(faces), 1, N_MELS, MEL_WINDOW), SILENCE, np.float32)
    mels = np.asarray(mels, dtype=np.float32)
    if mels.shape != (len(faces), 1, N_MELS, MEL_WINDOW):
        raise ValueError(f"expected mels of shape ({len(faces)}, 1, {N_MELS}, {MEL_WINDOW}), got {mels.shape}")
    return mels, np.concatenate([masked, reference], axis=1)


def spatial_maps(
    generator: torch.nn.Module, faces_rgb96: np.ndarray, mels: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Every block's spatial attention map for these crops, as float32 (N, h, w) arrays.

    Raises ConfigError if the generator has no spatial attention (attention "none" or "channel").
    """
    import torch

    kind = generator.config.attention
    if kind not in SPATIAL_KINDS:
        raise ConfigError(
            f"this generator has attention {kind!r}; attention maps need spatial attention "
            f"({' or '.join(repr(k) for k in SPATIAL_KINDS)})"
        )
    mel_array, face_array = generator_inputs(faces_rgb96, mels)
    param = next(generator.parameters())
    was_training = generator.training
    generator.eval()
    try:
        with torch.no_grad():
            maps = generator.spatial_attention_maps(
                torch.from_numpy(mel_array).to(param.device, param.dtype),
                torch.from_numpy(face_array).to(param.device, param.dtype),
            )
    finally:
        generator.train(was_training)
    return {name: m[:, 0].float().cpu().numpy() for name, m in maps.items()}


def large_maps(maps: Mapping[str, np.ndarray], min_size: int = MIN_MAP_SIZE) -> dict[str, np.ndarray]:
    """The maps at least ``min_size`` on both sides, in their original order."""
    return {name: m for name, m in maps.items() if min(m.shape[-2:]) >= min_size}


def attention_figure(
    generator: torch.nn.Module,
    faces_rgb96: np.ndarray,
    mels: np.ndarray | None = None,
    min_size: int = MIN_MAP_SIZE,
) -> np.ndarray:
    """Spatial attention of every block with maps >= ``min_size`` over the crops, as one RGB image.

    One row per face, one column for the crop and one per block. See ``render_attention_figure``.
    """
    return render_attention_figure(faces_rgb96, spatial_maps(generator, faces_rgb96, mels), min_size)


def render_attention_figure(
    faces_rgb96: np.ndarray, maps: Mapping[str, np.ndarray], min_size: int = MIN_MAP_SIZE
) -> np.ndarray:
    """Draw ``maps`` (name -> (N, h, w)) over the crops: uint8 (H, W, 3) RGB.

    Each map is upsampled to the crop, stretched to its own min..max (the sigmoid outputs of an
    untrained network barely vary, so a fixed 0..1 scale would show flat colour), coloured with
    OpenCV's fixed TURBO colormap (blue low, red high) and blended over the face. The raw min and
    max are printed on each tile, so a flat map is still recognisable as flat.
    """
    import cv2

    faces = _check_faces(faces_rgb96)
    shown = large_maps(maps, min_size)
    if not shown:
        raise ValueError(f"no attention map is at least {min_size}x{min_size}")
    tile = CROP * TILE_SCALE
    columns = ["face", *shown]
    sheet = np.full((HEADER + tile * len(faces), tile * len(columns), 3), 255, np.uint8)
    for col, name in enumerate(columns):
        size = "" if name == "face" else "{}x{}".format(*shown[name].shape[-2:])
        _text(sheet, name, (col * tile + 4, 14), 0.45)
        _text(sheet, size, (col * tile + 4, 29), 0.4)
    for row, face in enumerate(faces):
        top = HEADER + row * tile
        big_face = cv2.resize(face, (tile, tile), interpolation=cv2.INTER_CUBIC)
        sheet[top : top + tile, :tile] = big_face
        for col, attention in enumerate(shown.values(), start=1):
            left = col * tile
            m = attention[row]
            sheet[top : top + tile, left : left + tile] = _overlay(big_face, m)
            _text(sheet, f"{m.min():.2f}-{m.max():.2f}", (left + 4, top + tile - 6), 0.4, boxed=True)
    return sheet


def _overlay(face: np.ndarray, attention: np.ndarray) -> np.ndarray:
    import cv2

    size = face.shape[0]
    span = float(attention.max() - attention.min())
    stretched = (attention - attention.min()) / span if span > 0 else np.zeros_like(attention)
    upsampled = cv2.resize(stretched.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    coloured = cv2.applyColorMap(np.clip(upsampled * 255 + 0.5, 0, 255).astype(np.uint8), cv2.COLORMAP_TURBO)
    coloured = cv2.cvtColor(coloured, cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(coloured, OVERLAY_ALPHA, face, 1 - OVERLAY_ALPHA, 0)


def _text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float, boxed: bool = False) -> None:
    """Black label; ``boxed`` puts it on a white patch so it reads over any colour."""
    import cv2

    font = cv2.FONT_HERSHEY_SIMPLEX
    if boxed:
        (w, h), base = cv2.getTextSize(text, font, scale, 1)
        x, y = origin
        cv2.rectangle(image, (x - 2, y - h - 2), (x + w + 2, y + base), (255, 255, 255), -1)
    cv2.putText(image, text, origin, font, scale, (0, 0, 0), 1, cv2.LINE_AA)


def mouth_attention_share(maps: Mapping[str, np.ndarray | torch.Tensor], mouth_box_96: Box) -> dict[str, tuple[float, float]]:
    """Per block: (share of the map's total weight inside the box, the box's share of the area).

    ``maps`` are (N, h, w) or (N, 1, h, w) with h, w dividing 96 (every map of this generator);
    ``mouth_box_96`` is (x1, y1, x2, y2) in crop pixels, end exclusive. Each map cell counts for
    the crop pixels it covers, so the shares are exact, with all N faces pooled together.
    """
    x1, y1, x2, y2 = check_box(mouth_box_96)
    inside = np.zeros((CROP, CROP), bool)
    inside[y1:y2, x1:x2] = True
    area_share = float(inside.mean())
    shares = {}
    for name, m in maps.items():
        array = np.asarray(m.detach().cpu() if hasattr(m, "detach") else m, dtype=np.float64)
        h, w = array.shape[-2:]
        if CROP % h or CROP % w:
            raise ValueError(f"map {name} is {h}x{w}; its sides must divide {CROP}")
        cells = array.reshape(-1, h, w).sum(axis=0)
        pixels = np.repeat(np.repeat(cells, CROP // h, axis=0), CROP // w, axis=1)
        total = float(pixels.sum())
        shares[name] = (float(pixels[inside].sum()) / total if total > 0 else area_share, area_share)
    return shares


def check_box(box: Box) -> Box:
    """A mouth box must be inside the 96x96 crop with positive size (ConfigError otherwise)."""
    x1, y1, x2, y2 = (int(v) for v in box)
    if not (0 <= x1 < x2 <= CROP and 0 <= y1 < y2 <= CROP):
        raise ConfigError(f"mouth box must satisfy 0 <= x1 < x2 <= {CROP} and 0 <= y1 < y2 <= {CROP}, got {box}")
    return x1, y1, x2, y2


def _check_faces(faces_rgb96: np.ndarray) -> np.ndarray:
    faces = np.asarray(faces_rgb96)
    if faces.ndim != 4 or faces.shape[1:] != (CROP, CROP, 3) or faces.dtype != np.uint8:
        raise ValueError(f"expected uint8 faces of shape (N, {CROP}, {CROP}, 3), got {faces.dtype} {faces.shape}")
    return faces
