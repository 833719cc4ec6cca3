"""Spatial attention maps over face crops (the paper's Fig. 3) and how much of them fall on the mouth.

The paper claims spatial attention learns to weight the lip region most. ``attention_figure``
draws every block's map over the crops so anyone can look; ``mouth_attention_share`` puts a
number on it: the share of a map's total weight inside a mouth box, against the box's share of
the crop's area (equal shares mean the map ignores the mouth; a uniform map gives exactly that).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from .audio import MEL_WINDOW, N_MELS, SILENCE, load_audio, mel_window_starts, mel_windows_at, melspectrogram
from .checkpoints import load_model
from .errors import ConfigError, NoFaceError
from .eval_mode import eval_mode
from .faces import TrackConfig, create_detector, crop_face, pad_boxes
from .faces.boxes import areas, int_box
from .video import iter_frames, probe

if TYPE_CHECKING:
    import torch

CROP = 96
MIN_MAP_SIZE = 12  # coarser maps (6x6, 3x3, 1x1) say nothing about where the mouth is
OVERLAY_ALPHA = 0.5  # weight of the colour-mapped attention over the face
TILE_SCALE = 2  # tiles are drawn at 192 px so the labels stay readable
HEADER = 34  # px above the first row for the column labels
DEFAULT_FRAMES = 4  # rows for a video (evenly spaced frames) or for an image with speech

Box = tuple[int, int, int, int]
# Lower-middle region of a crop: the lips sit here under the package's box convention with the
# default 10 px chin pad (astronaut: mouth corners at x 23 and 69, lips y 57-71). 13.5% of the area.
DEFAULT_MOUTH_BOX: Box = (22, 54, 74, 78)


def generator_inputs(faces_rgb96: np.ndarray, mels: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The generator's (mels, faces) for still crops, as float32 arrays.

    Each face is its own reference and its own masked target (lower half zeroed), as at
    inference. Without ``mels`` every row hears silence: a window of the mel front end's floor
    value, which is what digital silence maps to.
    """
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

    mel_array, face_array = generator_inputs(faces_rgb96, mels)
    param = next(generator.parameters())
    with eval_mode(generator), torch.no_grad():
        maps = generator.spatial_attention_maps(
            torch.from_numpy(mel_array).to(param.device, param.dtype),
            torch.from_numpy(face_array).to(param.device, param.dtype),
        )
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
        raise ConfigError(f"no attention map is at least {min_size}x{min_size}")
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


def mouth_attention_share(
    maps: Mapping[str, np.ndarray | torch.Tensor], mouth_box_96: Box | Sequence[Box]
) -> dict[str, tuple[float, float]]:
    """Per block: (share of the map's total weight inside the box, the box's share of the area).

    ``maps`` are (N, h, w) or (N, 1, h, w) with h, w dividing 96 (every map of this generator);
    ``mouth_box_96`` is (x1, y1, x2, y2) in crop pixels, end exclusive, for every face, or one
    such box per face (a mouth that moves within its crop). Each map cell counts for the crop
    pixels it covers, so the shares are exact, with all N faces pooled together.
    """
    boxes = np.asarray(mouth_box_96, dtype=np.int64).reshape(-1, 4)
    inside = np.zeros((len(boxes), CROP, CROP), bool)
    for row, box in enumerate(boxes):
        x1, y1, x2, y2 = check_box(tuple(box))
        inside[row, y1:y2, x1:x2] = True
    area_share = float(inside.mean())
    shares = {}
    for name, m in maps.items():
        array = np.asarray(m.detach().cpu() if hasattr(m, "detach") else m, dtype=np.float64)
        h, w = array.shape[-2:]
        if CROP % h or CROP % w:
            raise ValueError(f"map {name} is {h}x{w}; its sides must divide {CROP}")
        cells = array.reshape(-1, h, w)
        if len(boxes) > 1 and len(boxes) != len(cells):
            raise ValueError(f"{len(boxes)} mouth boxes for {len(cells)} faces in map {name}")
        if len(boxes) == 1:
            cells = cells.sum(axis=0, keepdims=True)
        pixels = np.repeat(np.repeat(cells, CROP // h, axis=1), CROP // w, axis=2)
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


@dataclass(frozen=True)
class AttentionReport:
    """What ``attention_report`` found: the figure, the per-block mouth shares and what was used."""

    figure: np.ndarray  # uint8 (H, W, 3) RGB
    shares: dict[str, tuple[float, float]]  # block -> (attention share in the box, area share)
    mouth_boxes: tuple[Box, ...]  # one per row: the same fixed box, or each frame's true SynthTalk mouth
    frames: tuple[int, ...]  # source frame index of each row (0 for a still image)
    audio: str  # where the rows' speech came from: a file name, or "silence"


def attention_report(
    checkpoint: str | os.PathLike[str],
    face: str | os.PathLike[str],
    audio: str | os.PathLike[str] | None = None,
    mouth_box: Box | None = None,
    frames: int = DEFAULT_FRAMES,
    min_size: int = MIN_MAP_SIZE,
    synthtalk_truth: str | os.PathLike[str] | None = None,
) -> AttentionReport:
    """Attention figure and mouth shares of a generator checkpoint on a face image or video.

    Rows: for a video, ``frames`` evenly spaced frames with their own mel windows (from ``audio``,
    else the video's own track, else silence); for an image with ``audio``, the same face with
    ``frames`` evenly spaced windows of that speech; for an image alone, one row on silence.
    Faces are found with ``attnwav2lip.faces`` (largest face, the default 10 px chin pad) and
    frames without one are left out. ``mouth_box`` defaults to DEFAULT_MOUTH_BOX. For a SynthTalk
    clip, ``synthtalk_truth`` (its ``clips/<id>.npz``) gives each row the true mouth box instead:
    the rendered lips' bounds, mapped into that row's crop.
    """
    if synthtalk_truth is not None and mouth_box is not None:
        raise ConfigError("give a mouth box or a SynthTalk truth file, not both")
    box = check_box(mouth_box or DEFAULT_MOUTH_BOX)
    if frames < 1:
        raise ConfigError(f"frames must be >= 1, got {frames}")
    generator = load_model(checkpoint, kind="generator")
    info = probe(face)
    if synthtalk_truth is not None and info.is_image:
        raise ConfigError(f"{face}: a SynthTalk truth file describes a clip; pass the clip's video, not an image")
    indices, images = _sample_frames(face, info.num_frames, 1 if info.is_image else frames)
    found, crops, crop_boxes = _crop_largest_faces(images)
    if not found:
        raise NoFaceError(f"{face}: no face found in the {len(indices)} frame(s) examined")
    indices = [indices[i] for i in found]
    speech = audio if audio is not None else (face if info.has_audio and not info.is_image else None)
    mels = None
    if speech is not None:
        mels = _mel_rows(speech, indices, info.fps, frames, generator.config.mel_offset)
        if info.is_image:
            crops = np.repeat(crops, len(mels), axis=0)
            indices = [0] * len(mels)
    if synthtalk_truth is None:
        boxes = [box] * len(crops)
    else:
        boxes = _true_mouth_boxes(synthtalk_truth, indices, crop_boxes, face)
    maps = spatial_maps(generator, crops, mels)
    return AttentionReport(
        figure=render_attention_figure(crops, maps, min_size),
        shares=mouth_attention_share(large_maps(maps, min_size), boxes),
        mouth_boxes=tuple(boxes),
        frames=tuple(indices),
        audio="silence" if speech is None else os.fspath(speech),
    )


def _sample_frames(path: str | os.PathLike[str], num_frames: int, count: int) -> tuple[list[int], list[np.ndarray]]:
    """``count`` evenly spaced frames (first and last included), streamed: only those are kept."""
    wanted = sorted({int(i) for i in np.linspace(0, max(num_frames - 1, 0), count).round()})
    kept: list[np.ndarray] = []
    for index, frame in enumerate(iter_frames(path)):
        if index == wanted[len(kept)]:
            kept.append(frame)
            if len(kept) == len(wanted):
                break
    return wanted[: len(kept)], kept


def _crop_largest_faces(images: list[np.ndarray]) -> tuple[list[int], np.ndarray, list[tuple[int, int, int, int]]]:
    """Positions of the images with a face, the 96x96 crop of each one's largest face, and each
    crop's pixel bounds in its image (x1, y1, x2, y2)."""
    with create_detector("auto") as detector:
        detections = detector.detect(images)
    found, crops, bounds = [], [], []
    for i, (image, found_here) in enumerate(zip(images, detections)):
        if len(found_here):
            largest = found_here.boxes[int(np.argmax(areas(found_here.boxes)))]
            box = pad_boxes(largest, TrackConfig().pads, *image.shape[:2])[0]
            found.append(i)
            crops.append(crop_face(image, box, CROP))
            bounds.append(int_box(box, *image.shape[:2]))
    return found, np.stack(crops) if crops else np.zeros((0, CROP, CROP, 3), np.uint8), bounds


def _true_mouth_boxes(
    truth: str | os.PathLike[str], indices: list[int], crop_boxes: list[tuple[int, int, int, int]],
    face: str | os.PathLike[str],
) -> list[Box]:
    """Each row's SynthTalk mouth box (frame pixels, from the truth file) in its crop's 96x96 pixels, rounded outward."""
    from .synth.lip_boxes import clip_lip_boxes

    mouths = clip_lip_boxes(truth)
    if max(indices) >= len(mouths):
        raise ConfigError(f"{truth}: has {len(mouths)} frames, {face} at least {max(indices) + 1}; is it this clip's truth?")
    boxes = []
    for index, (cx1, cy1, cx2, cy2) in zip(indices, crop_boxes):
        x1, y1, x2, y2 = mouths[index]
        sx, sy = CROP / (cx2 - cx1), CROP / (cy2 - cy1)
        corners = np.array([np.floor((x1 - cx1) * sx), np.floor((y1 - cy1) * sy), np.ceil((x2 - cx1) * sx), np.ceil((y2 - cy1) * sy)])
        boxes.append(check_box(tuple(int(v) for v in np.clip(corners, 0, CROP))))
    return boxes


def _mel_rows(
    path: str | os.PathLike[str], indices: list[int], fps: float, count: int, mel_offset: int
) -> np.ndarray:
    """(N, 1, 80, 16) mel windows: at the video frames ``indices``, or ``count`` evenly spaced ones (fps 0: a still)."""
    mel = melspectrogram(load_audio(path))
    if fps > 0:
        starts = mel_window_starts(max(indices) + 1, fps, mel_offset)[indices]
    else:
        starts = np.linspace(0, max(mel.shape[1] - MEL_WINDOW, 0), count).round().astype(np.int64)
    return mel_windows_at(mel, starts)[:, None]
