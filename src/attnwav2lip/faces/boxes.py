"""Box arithmetic on (K, 4) float arrays of x1, y1, x2, y2 in pixels (half-open pixel extents).

Pure numpy so that tracking, caching and geometry share one definition of IoU, padding and
clipping; the S3FD-specific inclusive-pixel IoU lives with S3FD's NMS, where it belongs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def as_boxes(boxes: np.ndarray | list) -> np.ndarray:
    """``boxes`` as a float32 (K, 4) array (a single box becomes K = 1)."""
    out = np.asarray(boxes, dtype=np.float32)
    return out.reshape(-1, 4)


def areas(boxes: np.ndarray) -> np.ndarray:
    """Areas of (K, 4) boxes; degenerate boxes have area 0."""
    b = as_boxes(boxes)
    return np.maximum(b[:, 2] - b[:, 0], 0) * np.maximum(b[:, 3] - b[:, 1], 0)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) intersection-over-union of two box sets (continuous coordinates)."""
    a, b = as_boxes(a)[:, None, :], as_boxes(b)[None, :, :]
    low = np.maximum(a[..., :2], b[..., :2])
    high = np.minimum(a[..., 2:], b[..., 2:])
    inter = np.prod(np.maximum(high - low, 0), axis=-1)
    area_a = np.prod(np.maximum(a[..., 2:] - a[..., :2], 0), axis=-1)
    area_b = np.prod(np.maximum(b[..., 2:] - b[..., :2], 0), axis=-1)
    union = area_a + area_b - inter
    return (inter / np.maximum(union, 1e-12)).astype(np.float32)


def clip_boxes(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Clip boxes to the frame [0, width] x [0, height]."""
    b = as_boxes(boxes).copy()
    b[:, [0, 2]] = np.clip(b[:, [0, 2]], 0, width)
    b[:, [1, 3]] = np.clip(b[:, [1, 3]], 0, height)
    return b


def pad_boxes(boxes: np.ndarray, pads: tuple[int, int, int, int], height: int, width: int) -> np.ndarray:
    """Grow boxes by ``pads`` = (top, bottom, left, right) pixels and clip to the frame.

    This is the original inference's ``--pads`` (reference §A.9 step 3); (0, 10, 0, 0) adds chin.
    """
    top, bottom, left, right = pads
    b = as_boxes(boxes).copy()
    b += np.array([-left, -top, right, bottom], dtype=np.float32)
    return clip_boxes(b, height, width)


def int_box(box: np.ndarray, height: int, width: int) -> tuple[int, int, int, int]:
    """A float box as integer slice bounds (x1, y1, x2, y2) inside the frame, at least 1 px wide.

    Truncation toward zero, as the original's ``int()`` on non-negative values.
    """
    x1, y1, x2, y2 = (int(v) for v in np.clip(as_boxes(box)[0], 0, [width, height, width, height]))
    x1, y1 = min(x1, width - 1), min(y1, height - 1)
    return x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)


@dataclass(frozen=True)
class BoxAdjust:
    """Maps a detector's native box onto the package's box convention (see ``faces`` docstring).

    The centre moves by (dx·w, dy·h) and the sides are multiplied by (sw, sh).
    """

    dx: float = 0.0
    dy: float = 0.0
    sw: float = 1.0
    sh: float = 1.0

    def apply(self, boxes: np.ndarray) -> np.ndarray:
        b = as_boxes(boxes)
        w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        cx = (b[:, 0] + b[:, 2]) / 2 + self.dx * w
        cy = (b[:, 1] + b[:, 3]) / 2 + self.dy * h
        hw, hh = w * self.sw / 2, h * self.sh / 2
        return np.stack([cx - hw, cy - hh, cx + hw, cy + hh], axis=1).astype(np.float32)


def merge_overlapping(boxes: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Indices kept by greedy suppression on intersection over the smaller box's area.

    Used to merge detections of overlapping tiles, where a face cut by a tile edge yields a
    partial box inside the full one (low IoU, but high intersection over the smaller area).
    """
    b = as_boxes(boxes)
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep: list[int] = []
    for i in order:
        if keep:
            x1 = np.maximum(b[i, 0], b[keep, 0])
            y1 = np.maximum(b[i, 1], b[keep, 1])
            x2 = np.minimum(b[i, 2], b[keep, 2])
            y2 = np.minimum(b[i, 3], b[keep, 3])
            inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
            smaller = np.maximum(np.minimum(areas(b[i : i + 1]), areas(b[keep])), 1e-12)
            if np.any(inter / smaller > threshold):
                continue
        keep.append(int(i))
    return np.array(keep, dtype=np.int64)


def lower_face(boxes: np.ndarray) -> np.ndarray:
    """The lower half of each face box (x1, y1, x2, y2): the region the generator rewrites."""
    x1, y1, x2, y2 = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).T
    return np.stack([x1, (y1 + y2) / 2, x2, y2], axis=1)
